"""Re-timbring of training music: EQ, resampling, band limits, saturation and a room, drawn per crop.

Every training note comes from one soundfont (FluidR3), whose fixed fingerprint a model can learn in place of
the instrument: a classifier that knows FluidR3's trumpet, a denoiser that keeps FluidR3's snare and removes
another kit's as noise. Another soundfont, a microphone or a room changes exactly these things, so both
trainers move their training music through them at random (validation music never is), and the cues left
to learn are the ones real instruments share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

from train.datapaths import SAMPLE_RATE, SAMPLES_PER_FRAME

_EPS = 1e-12


@dataclass(frozen=True)
class MusicAugment:
    """How training music crops are re-timbred (validation music never is). Each share is the probability,
    drawn per crop, of one transformation; a share of 0 draws nothing, so a recipe without it makes exactly
    the examples it made before it existed.

    Order: resampling (`pitch`, it decides how much audio the crop takes), then the source's own changes
    (`jitter`, `breath`), EQ (`colour`, moving with `sweep`), band limit (`lowpass`), saturation, room; the
    crop is then set back to unit RMS.
    """

    colour: float = 0.0  # a random smooth EQ (`random_colour`)
    sweep: float = 0.0  # of the coloured crops: the EQ glides to a second random curve (`random_sweep`)
    pitch: float = 0.0  # resampled by up to +-max_semitones: pitch, formants and tempo move together
    max_semitones: float = 1.5
    saturate: float = 0.0  # soft saturation (`random_saturation`)
    room: float = 0.0  # a short synthetic room (`random_room`)
    lowpass: float = 0.0  # band-limited to 4-16 kHz (`random_lowpass`)
    jitter: float = 0.0  # played at a wobbling speed, pitch wandering by a few cents (`random_jitter`)
    breath: float = 0.0  # with aspiration: noise shaped by its own spectrum (`random_breath`)

    def __post_init__(self):
        shares = (self.colour, self.sweep, self.pitch, self.saturate, self.room, self.lowpass, self.jitter,
                  self.breath)
        if not all(0.0 <= s <= 1.0 for s in shares) or not 0.0 <= self.max_semitones <= 12.0:
            raise ValueError(f"augment shares must be in [0, 1] and max_semitones in [0, 12]: {self}")


MUSIC_AUGMENTS = {  # named recipes (the classify and denoise configs pick one by name)
    "none": MusicAugment(),
    "colour": MusicAugment(colour=0.7),  # the v1 recipe (from its step 4000)
    # Every training note comes from one soundfont: resampling moves its samples' formants, a moving EQ,
    # saturation and a room change its spectral fingerprint, so the cues left to learn are the ones another
    # soundfont (or a real instrument) shares.
    "timbre": MusicAugment(colour=0.7, sweep=0.5, pitch=0.5, saturate=0.2, room=0.3),
    # "colour" plus band limits: TimGM6mb, a small soundfont, has 6 dB less energy at 11-16 kHz than FluidR3 on the
    # same excerpts and 11 dB less above 16 kHz (val_unseen_sf against val_excerpts); a microphone or an old
    # recording cuts the top too.
    "colour+band": MusicAugment(colour=0.7, lowpass=0.35),
    # The denoiser's recipe: it must keep music that no FluidR3 sample sounds like (another soundfont's drum kit,
    # a band-limited sample set, a real instrument through a microphone), so its training music is moved
    # further, and drums above all (a kit resampled by up to a fourth is another kit): all of "timbre" plus
    # band limits.
    "denoise": MusicAugment(colour=0.6, sweep=0.4, pitch=0.5, max_semitones=5.0, saturate=0.15, room=0.25,
                            lowpass=0.25),
    # For the denoiser's training speech (`speech_augment`): espeak-ng's few dozen voices are all one synthesiser.
    # Resampling by up to a major third moves pitch and formants together (a longer or shorter vocal tract:
    # another speaker), EQ and band limits stand for another microphone or line, a room for where they speak.
    "speech": MusicAugment(colour=0.5, sweep=0.2, pitch=0.6, max_semitones=4.0, saturate=0.1, room=0.3,
                           lowpass=0.2),
    # "speech" plus what a human voice has and espeak-ng's formant synthesis lacks: a pitch that never holds
    # still (jitter) and breath noise under the voicing. Session 43: on Festival's and Flite's voices, made from
    # recordings of real speakers, the denoiser trained on "speech" gains about 1 dB less than on espeak-ng's.
    "speech-natural": MusicAugment(colour=0.5, sweep=0.2, pitch=0.6, max_semitones=4.0, saturate=0.1, room=0.3,
                                   lowpass=0.2, jitter=0.5, breath=0.4),
}
RESAMPLE_UP = 240  # resampling ratios are RESAMPLE_UP / down: steps of about 0.07 semitone


def _eq_gain_db(freqs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random smooth EQ curve [freqs] in dB (see `random_colour`)."""
    octaves = np.log2(np.maximum(freqs, 20.0) / 1000.0)
    gain_db = rng.uniform(-2.0, 2.0) * octaves
    for _ in range(int(rng.integers(1, 4))):
        centre = rng.uniform(np.log2(80 / 1000), np.log2(10000 / 1000))
        width = rng.uniform(1 / 3, 1.5)
        gain_db += rng.uniform(-9.0, 9.0) * np.exp(-0.5 * ((octaves - centre) / width) ** 2)
    return gain_db


def random_colour(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`x` [T] through a random smooth EQ: a tilt of up to +-2 dB per octave about 1 kHz and one to three
    bell-shaped bands of +-9 dB, 1/3 to 1.5 octaves wide, centred 80 Hz - 10 kHz.

    Every training note comes from one soundfont, whose fixed spectral fingerprint a classifier can learn
    instead of the instrument; another soundfont, a microphone or a room colours the same instrument
    differently. Colouring each crop at random leaves the cues that survive such changes (harmonic
    structure, envelopes, pitch range) as the ones worth learning.
    """
    gain_db = _eq_gain_db(np.fft.rfftfreq(x.shape[0], 1.0 / SAMPLE_RATE), rng)
    coloured = np.fft.irfft(np.fft.rfft(x) * 10.0 ** (gain_db / 20.0), n=x.shape[0])
    return coloured.astype(np.float32)


def random_sweep(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`x` [T] through an EQ that glides between two random `random_colour` curves.

    Two zero-phase EQs of the whole crop, cross-faded by a raised cosine from a random start to a random
    end inside the crop (at least a fifth of it long): at every instant the response is a blend of the two
    curves, so its gain at each frequency stays between theirs. A filter sweep, a player moving, a
    brightness that follows the dynamics: a timbre that changes within a note, as one soundfont's does not.
    """
    n = x.shape[0]
    spectrum = scipy.fft.rfft(x)
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    first, second = (scipy.fft.irfft(spectrum * (10.0 ** (_eq_gain_db(freqs, rng) / 20.0)).astype(np.float32), n=n)
                     for _ in range(2))
    start = int(rng.uniform(0.0, 0.8) * n)
    stop = int(rng.uniform(start + 0.2 * n, n))
    ramp = np.zeros(n, np.float32)
    ramp[stop:] = 1.0
    ramp[start:stop] = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, stop - start, dtype=np.float32))
    return (first + ramp * (second - first)).astype(np.float32)


def pitch_ratio(rng: np.random.Generator, max_semitones: float) -> int:
    """A random resampling `down` for `resample_crop` (up = RESAMPLE_UP): a shift of at most
    +-max_semitones, uniform in semitones."""
    return int(round(RESAMPLE_UP * 2.0 ** (rng.uniform(-max_semitones, max_semitones) / 12.0)))


def source_samples(n_out: int, down: int) -> int:
    """The whole 10 ms frames of source audio `resample_crop` needs to make `n_out` samples."""
    frames = -(-(n_out * down // RESAMPLE_UP + 33) // SAMPLES_PER_FRAME)  # + the filter's reach past the end
    return frames * SAMPLES_PER_FRAME


def resample_crop(audio: np.ndarray, labels: np.ndarray | None, n_out: int, down: int):
    """Source audio [S] (S >= source_samples(n_out, down)) and its label frames [S / 480, 12] -> `n_out`
    samples played faster by down / RESAMPLE_UP (higher by 12 log2(down / up) semitones, and shorter), and
    the labels of the output's frames: output frame f takes the source frame under its centre.

    A band-limited polyphase resampler (`scipy.signal.resample_poly`, Kaiser window): a different pitch,
    formants (a soundfont's sample of an instrument played back at another rate, as samplers do between
    their key zones) and tempo, every note still where its labels say.
    """
    out = scipy.signal.resample_poly(audio[:source_samples(n_out, down)], RESAMPLE_UP, down)[:n_out]
    if labels is None:
        return out.astype(np.float32), None
    frames = n_out // SAMPLES_PER_FRAME
    centres = ((np.arange(frames) + 0.5) * down / RESAMPLE_UP).astype(np.int64)
    return out.astype(np.float32), labels[np.minimum(centres, labels.shape[0] - 1)]


def random_jitter(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """`x` [T] played at a speed that wobbles by 0.3-1.5 % (peak) about its own, as a smooth random curve
    (three sinusoids of 2-12 Hz at random phases): every pitch wanders by up to about 25 cents and back, as a
    voice's does between its glottal cycles and syllables. Length kept: the warp starts and ends in place.
    Returns the audio and the peak speed deviation drawn (for tests)."""
    n = x.shape[0]
    t = np.arange(n) / SAMPLE_RATE
    curve = sum(np.sin(2 * np.pi * rng.uniform(2.0, 12.0) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3))
    depth = rng.uniform(0.003, 0.015)
    rate = 1.0 + depth * curve / max(float(np.max(np.abs(curve))), _EPS)
    position = np.concatenate([[0.0], np.cumsum(rate[:-1])])
    position *= (n - 1) / position[-1]
    return np.interp(position, np.arange(n), x).astype(np.float32), float(depth)


def random_breath(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """`x` [T] with breath: noise whose short-time spectrum follows x's own (smoothed over about 400 Hz, tilted
    up by 3 dB per octave above 1 kHz, where aspiration lives), 12-25 dB under it in energy. Voiced speech from a
    throat carries such noise between its harmonics; a formant synthesiser's does not. Returns the audio and the
    breath level drawn in dB (for tests)."""
    n = x.shape[0]
    _, _, spec = scipy.signal.stft(x, fs=SAMPLE_RATE, nperseg=1024, noverlap=768, boundary="even")
    freqs = np.fft.rfftfreq(1024, 1.0 / SAMPLE_RATE)
    envelope = scipy.ndimage.uniform_filter1d(np.abs(spec), size=9, axis=0)
    tilt = 10.0 ** (3.0 * np.log2(np.maximum(freqs, 1000.0) / 1000.0) / 20.0)
    phase = np.exp(2j * np.pi * rng.random(spec.shape))
    _, noise = scipy.signal.istft(envelope * tilt[:, None] * phase, fs=SAMPLE_RATE, nperseg=1024, noverlap=768,
                                  boundary=True)
    noise = np.resize(noise, n) if noise.shape[0] < n else noise[:n]
    level_db = -rng.uniform(12.0, 25.0)
    scale = np.sqrt(np.sum(x.astype(np.float64) ** 2) / max(float(np.sum(noise ** 2)), _EPS)) * 10 ** (level_db / 20)
    return (x + scale * noise).astype(np.float32), float(level_db)


def random_saturation(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`x` [T] through a soft clipper, tanh(d x / peak) / tanh(d) with a drive d of 0.5..3: from barely
    touched (d = 0.5: 3rd harmonic about 34 dB under a full-scale sine) to a warm overdrive (d = 3).
    Odd, monotonic, and within [-1, 1]: an amplifier, a loud recording, a brighter attack."""
    drive = rng.uniform(0.5, 3.0)
    peak = max(float(np.max(np.abs(x))), _EPS)
    return (np.tanh(x * np.float32(drive / peak)) / np.float32(np.tanh(drive))).astype(np.float32)


def random_room(x: np.ndarray, rng: np.random.Generator, max_rt60_s: float = 0.6) -> tuple[np.ndarray, dict]:
    """`x` [T] in a short synthetic room: the dry signal plus exponentially decaying noise (RT60 0.1-`max_rt60_s`,
    its high frequencies damped by a one-pole low-pass of 2-12 kHz) after a 2-15 ms pre-delay, the
    reverberation 6-20 dB below the direct sound in energy. Causal and as long as `x`.
    Returns the audio and the room drawn (rt60_s, predelay, wet_db) for tests."""
    rt60 = rng.uniform(0.1, max_rt60_s)
    predelay = int(rng.uniform(0.002, 0.015) * SAMPLE_RATE)
    wet_db = -rng.uniform(6.0, 20.0)
    n_ir = int(rt60 * SAMPLE_RATE)
    tail = rng.standard_normal(n_ir) * np.exp(-6.9078 * np.arange(n_ir) / n_ir)  # -60 dB at n_ir
    pole = np.exp(-2 * np.pi * rng.uniform(2000.0, 12000.0) / SAMPLE_RATE)
    tail = scipy.signal.lfilter([1.0 - pole], [1.0, -pole], tail)
    tail *= 10 ** (wet_db / 20) / np.sqrt(np.sum(tail ** 2))
    ir = np.zeros(predelay + n_ir, np.float32)
    ir[0] = 1.0
    ir[predelay:] += tail.astype(np.float32)
    out = scipy.signal.oaconvolve(x, ir)[:x.shape[0]]
    return out.astype(np.float32), {"rt60_s": rt60, "predelay": predelay, "wet_db": wet_db}


def random_lowpass(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`x` [T] band-limited at a random 4-16 kHz (log-uniform), by a zero-phase 8th-order Butterworth.

    Small soundfonts store samples at 22 or 32 kHz, old recordings and cheap microphones stop at 8-15 kHz:
    music with nothing above a few kHz is still music, and must not be taken for a dull noise.
    """
    cutoff = float(np.exp(rng.uniform(np.log(4000.0), np.log(16000.0))))
    sos = scipy.signal.butter(4, cutoff, fs=SAMPLE_RATE, output="sos")
    return scipy.signal.sosfiltfilt(sos, x).astype(np.float32)


def augment_recipe(recipe: "str | MusicAugment", what: str = "music_augment") -> MusicAugment:
    """A `MusicAugment`, given one or a name of MUSIC_AUGMENTS (an unknown name raises ValueError listing them,
    naming the setting `what`)."""
    if isinstance(recipe, MusicAugment):
        return recipe
    if recipe not in MUSIC_AUGMENTS:
        raise ValueError(f"{what} must be one of {sorted(MUSIC_AUGMENTS)}, got {recipe!r}")
    return MUSIC_AUGMENTS[recipe]


def apply_augment(music: np.ndarray, rng: np.random.Generator, aug: MusicAugment) -> np.ndarray:
    """A unit-RMS music crop [T] re-timbred by `aug` (resampling is the caller's: it decides the crop), unit
    RMS. A share of 0 draws nothing from `rng`."""
    changed = False
    if aug.jitter and rng.random() < aug.jitter:
        music, changed = random_jitter(music, rng)[0], True
    if aug.breath and rng.random() < aug.breath:
        music, changed = random_breath(music, rng)[0], True
    if aug.colour and rng.random() < aug.colour:
        music = random_sweep(music, rng) if aug.sweep and rng.random() < aug.sweep else random_colour(music, rng)
        changed = True
    if aug.lowpass and rng.random() < aug.lowpass:
        music, changed = random_lowpass(music, rng), True
    if aug.saturate and rng.random() < aug.saturate:
        music, changed = random_saturation(music, rng), True
    if aug.room and rng.random() < aug.room:
        music, changed = random_room(music, rng)[0], True
    if changed:
        rms = float(np.sqrt(np.mean(np.square(music, dtype=np.float64))))
        music = music / np.float32(max(rms, _EPS))
    return music
