"""Synthetic noises: the things the denoiser must remove, made from seeds so nothing is downloaded.

Each generator is ``fn(rng, n_samples, sr=48000) -> float32 [n_samples]`` at roughly unit RMS;
:func:`make_noise` picks one by name and sets its level, :func:`vary_level` makes the level move
over time (drifts, steps, gaps), and :func:`render_noise_clip` builds one clip of the stored noise
bank (a main type, sometimes a second one underneath, a random tilt, a moving level).

Babble is the one generator that needs material: pass ``speech=`` a list of float32 speech clips of
the same split, so validation babble never contains a training voice.

Noise-only lead-ins (noise before the music or speech starts) are made by the mixer, which owns the
clean signal; see :mod:`train.mixer`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np
from scipy import signal

from train.datapaths import SAMPLE_RATE, SAMPLES_PER_FRAME

NoiseFn = Callable[..., np.ndarray]


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return (x / rms).astype(np.float32) if rms > 0 else x.astype(np.float32)


def _colored(rng: np.random.Generator, n: int, sr: int, exponent: float, f_min: float = 5.0) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**exponent above ``f_min`` (flat below it)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n, 1.0 / sr), f_min)
    spectrum *= freqs ** (-exponent / 2.0)
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n)


def _smooth_random(rng: np.random.Generator, n: int, sr: int, period_s: float, depth: float) -> np.ndarray:
    """A slow random curve around 0 (knots every ~``period_s``, linearly joined), amplitude ``depth``."""
    n_knots = max(2, int(n / sr / period_s) + 2)
    return np.interp(np.arange(n), np.linspace(0, n, n_knots), rng.uniform(-depth, depth, n_knots))


def _butter(kind: str, freq, sr: int, order: int = 2):
    nyq = sr / 2.0
    freq = np.clip(np.atleast_1d(freq), 10.0, nyq * 0.95)
    return signal.butter(order, freq / nyq if len(freq) > 1 else freq[0] / nyq, btype=kind, output="sos")


def _filter(x: np.ndarray, kind: str, freq, sr: int, order: int = 2) -> np.ndarray:
    return signal.sosfilt(_butter(kind, freq, sr, order), x)


def _events(rng: np.random.Generator, n: int, sr: int, rate_hz: float) -> np.ndarray:
    """Sample positions of a Poisson process with ``rate_hz`` events per second."""
    count = rng.poisson(rate_hz * n / sr)
    return np.sort(rng.integers(0, n, size=count))


def _impulses(n: int, positions: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    out = np.zeros(n)
    np.add.at(out, positions, amplitudes)
    return out


def _decaying_noise(rng: np.random.Generator, length: int, decay: int) -> np.ndarray:
    return rng.standard_normal(length) * np.exp(-np.arange(length) / max(1, decay))


def _damped_sine(freq: float, decay_s: float, sr: int, length_s: float | None = None) -> np.ndarray:
    t = np.arange(int((length_s or 5 * decay_s) * sr)) / sr
    return np.sin(2 * np.pi * freq * t) * np.exp(-t / decay_s)


def _sparse_convolve(rng, n: int, positions: np.ndarray, amplitudes: np.ndarray, kernels: list[np.ndarray]) -> np.ndarray:
    """Place a randomly chosen kernel at each event: events split among kernels, one FFT each."""
    out = np.zeros(n)
    if not len(positions):
        return out
    choice = rng.integers(len(kernels), size=len(positions))
    for k, kernel in enumerate(kernels):
        sel = choice == k
        if sel.any():
            out += signal.fftconvolve(_impulses(n, positions[sel], amplitudes[sel]), kernel)[:n]
    return out


# --------------------------------------------------------------------------- generators


def white(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Flat-spectrum Gaussian noise."""
    return rng.standard_normal(n_samples).astype(np.float32)


def pink(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """1/f noise: equal energy per octave, like many natural backgrounds."""
    return _unit_rms(_colored(rng, n_samples, sr, 1.0))


def brown(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """1/f^2 (Brownian) noise: a deep rumble, without DC drift below 20 Hz."""
    return _unit_rms(_colored(rng, n_samples, sr, 2.0, f_min=20.0))


def hiss(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Tape/preamp hiss: noise tilted towards the highs, gently band-limited."""
    x = _colored(rng, n_samples, sr, rng.uniform(-1.0, -0.2))
    x = _filter(x, "highpass", rng.uniform(300, 2500), sr, 1)
    return _unit_rms(_filter(x, "lowpass", rng.uniform(9000, 20000), sr, 2))


def hum(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Mains hum and buzz: 50 or 60 Hz with random harmonics, slight drift, sometimes a rasp."""
    f0 = float(rng.choice([50.0, 60.0])) * (1 + rng.uniform(-0.004, 0.004))
    t = np.arange(n_samples) / sr
    phase = 2 * np.pi * f0 * (t + np.cumsum(_smooth_random(rng, n_samples, sr, 2.0, 0.002)) / sr)
    x = np.zeros(n_samples)
    n_harm = int(rng.integers(1, 25))
    decay = rng.uniform(0.3, 1.5)
    for k in range(1, n_harm + 1):
        odd = 1.0 if k % 2 else rng.uniform(0.1, 1.0)
        x += odd * rng.uniform(0.3, 1.0) * k ** (-decay) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.3:  # buzz: a clipped, rectified version with sharp edges
        buzz = np.clip(np.sin(2 * phase) * rng.uniform(2, 20), -1, 1)
        x += rng.uniform(0.1, 0.5) * _filter(buzz, "highpass", 100, sr)
    return _unit_rms(x)


def fan(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A fan or computer: filtered airflow noise, slow wobble, blade-pass tone and motor whine."""
    air = _filter(_colored(rng, n_samples, sr, rng.uniform(0.0, 1.0)), "lowpass", rng.uniform(400, 4000), sr)
    air = _unit_rms(air) * (1 + _smooth_random(rng, n_samples, sr, 1.5, 0.15))
    t = np.arange(n_samples) / sr
    blade = rng.uniform(60, 400) * (1 + _smooth_random(rng, n_samples, sr, 3.0, 0.01))
    phase = 2 * np.pi * np.cumsum(blade) / sr
    tone = sum(rng.uniform(0.2, 1.0) / k * np.sin(k * phase) for k in range(1, int(rng.integers(2, 6))))
    whine = np.sin(2 * np.pi * rng.uniform(1000, 8000) * t) * rng.uniform(0.0, 0.15)
    return _unit_rms(air + rng.uniform(0.05, 0.5) * tone + whine)


def hvac(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Air conditioning / ventilation: low rumble plus duct hiss, slowly breathing."""
    rumble = _unit_rms(_filter(_colored(rng, n_samples, sr, 1.5, 15.0), "lowpass", rng.uniform(80, 300), sr))
    duct = _unit_rms(_filter(white(rng, n_samples, sr), "bandpass", sorted(rng.uniform(200, 6000, 2)) , sr))
    mod = 1 + _smooth_random(rng, n_samples, sr, rng.uniform(2, 8), 0.25)
    return _unit_rms((rumble + rng.uniform(0.1, 0.8) * duct) * mod)


def babble(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE, *,
           speech: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Many overlapping talkers (4 to 16), from the speech clips passed in ``speech``."""
    if not speech:
        raise ValueError("babble needs speech clips of the same split: pass speech=[float32 arrays].")
    out = np.zeros(n_samples)
    for _ in range(int(rng.integers(4, 17))):
        clip = speech[int(rng.integers(len(speech)))]
        if len(clip) >= n_samples:
            start = int(rng.integers(0, len(clip) - n_samples + 1))
            piece = clip[start: start + n_samples]
        else:  # loop short clips, starting anywhere
            piece = np.resize(np.roll(clip, int(rng.integers(len(clip)))), n_samples)
        out += _unit_rms(piece) * 10 ** (rng.uniform(-10, 0) / 20)
    if rng.random() < 0.6:  # far-away talkers: muffled
        out = _filter(out, "lowpass", rng.uniform(1500, 6000), sr)
    return _unit_rms(out)


def clicks(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Random clicks and pops (bad cables, digital glitches), heavy-tailed loudness."""
    pos = _events(rng, n_samples, sr, rng.uniform(1, 25))
    if not len(pos):
        pos = np.array([int(rng.integers(n_samples))])
    amp = (np.minimum(rng.pareto(2.0, len(pos)), 10.0) + 0.2) * rng.choice([-1, 1], len(pos))
    kernels = [_decaying_noise(rng, int(sr * 0.004), int(rng.uniform(2, 60))) for _ in range(4)] + [np.array([1.0])]
    return _unit_rms(_sparse_convolve(rng, n_samples, pos, amp, kernels) + 1e-4 * rng.standard_normal(n_samples))


def keyboard(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Typing on a keyboard: bursts of key presses and releases, word gaps, louder space bar."""
    kernels = []
    for _ in range(6):
        press = _decaying_noise(rng, int(0.02 * sr), int(rng.uniform(0.001, 0.004) * sr))
        press = _filter(press, "bandpass", sorted(rng.uniform(800, 7000, 2)), sr)
        thump = _damped_sine(rng.uniform(120, 400), 0.008, sr, 0.02) * rng.uniform(0.2, 1.0)
        kernels.append(press + thump)
    positions, amplitudes = [], []
    t = rng.uniform(0, 0.5)
    keys_per_s = rng.uniform(4, 10)
    while t < n_samples / sr:
        for _ in range(int(rng.integers(2, 9))):  # one word
            positions += [t, t + rng.uniform(0.05, 0.12)]  # press, release
            loud = rng.uniform(0.5, 1.0)
            amplitudes += [loud, loud * rng.uniform(0.2, 0.5)]
            t += rng.exponential(1.0 / keys_per_s) + 0.03
        positions.append(t)  # space bar
        amplitudes.append(rng.uniform(1.0, 1.6))
        t += rng.uniform(0.1, 0.4) + (rng.uniform(0.5, 3.0) if rng.random() < 0.15 else 0.0)
    pos = (np.array(positions) * sr).astype(int)
    keep = pos < n_samples
    out = _sparse_convolve(rng, n_samples, pos[keep], np.array(amplitudes)[keep], kernels)
    return _unit_rms(out + 1e-4 * rng.standard_normal(n_samples))


def vinyl(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Record surface: crackle, pops once per turn, surface hiss and low rumble."""
    pos = _events(rng, n_samples, sr, rng.uniform(5, 80))
    amp = (np.minimum(rng.pareto(1.5, len(pos)), 15.0) + 0.05) * rng.choice([-1, 1], len(pos))
    kernels = [_filter(_decaying_noise(rng, int(0.003 * sr), int(rng.uniform(3, 40))), "highpass", 800, sr)
               for _ in range(4)]
    crackle = _sparse_convolve(rng, n_samples, pos, amp, kernels)
    turn = 60.0 / float(rng.choice([33.333, 45.0, 78.0]))
    pops = np.arange(rng.uniform(0, turn), n_samples / sr, turn)
    crackle += _sparse_convolve(rng, n_samples, (pops * sr).astype(int), np.full(len(pops), rng.uniform(0, 8)), kernels)
    surface = _filter(_colored(rng, n_samples, sr, 0.5), "highpass", 1000, sr) * rng.uniform(0.05, 0.4)
    rumble = _filter(white(rng, n_samples, sr), "lowpass", 40, sr) * rng.uniform(0.0, 2.0)
    return _unit_rms(_unit_rms(crackle) + surface + rumble)


def rain(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Rain: a dense bed plus thousands of small droplet pings of random pitch."""
    pos = _events(rng, n_samples, sr, rng.uniform(200, 3000))
    amp = np.minimum(rng.pareto(2.5, len(pos)), 10.0) + 0.1
    kernels = [_damped_sine(rng.uniform(1000, 9000), rng.uniform(0.0005, 0.004), sr) for _ in range(8)]
    drops = _unit_rms(_sparse_convolve(rng, n_samples, pos, amp, kernels))
    bed = _unit_rms(_filter(_colored(rng, n_samples, sr, 0.7), "highpass", rng.uniform(200, 1500), sr))
    mod = 1 + _smooth_random(rng, n_samples, sr, 4.0, 0.2)
    return _unit_rms((drops + rng.uniform(0.3, 1.5) * bed) * mod)


def applause(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Applause: many hand claps, swelling and fading, sometimes in bursts."""
    rate = rng.uniform(15, 250)
    envelope = np.clip(1 + _smooth_random(rng, n_samples, sr, rng.uniform(1, 4), 0.9), 0.05, None)
    pos = _events(rng, n_samples, sr, rate * 1.5)
    pos = pos[rng.random(len(pos)) < envelope[pos] / envelope.max()]
    amp = rng.uniform(0.3, 1.0, len(pos))
    kernels = [_filter(_decaying_noise(rng, int(0.03 * sr), int(rng.uniform(0.002, 0.008) * sr)),
                       "bandpass", sorted(rng.uniform(500, 5000, 2)), sr) for _ in range(8)]
    return _unit_rms(_sparse_convolve(rng, n_samples, pos, amp, kernels) + 1e-3 * rng.standard_normal(n_samples))


def knocks(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Knocks, bumps and thuds: groups of damped low resonances with a click on top."""
    kernels = []
    for _ in range(5):
        body = _damped_sine(rng.uniform(60, 400), rng.uniform(0.01, 0.12), sr)
        click = _decaying_noise(rng, len(body), int(0.001 * sr)) * rng.uniform(0.1, 0.6)
        kernels.append(body + click)
    starts = _events(rng, n_samples, sr, rng.uniform(0.2, 2.0))
    if not len(starts):
        starts = np.array([int(rng.integers(n_samples))])
    pos, amp = [], []
    for s in starts:
        for k in range(int(rng.integers(1, 5))):  # a knock group: knock-knock-knock
            pos.append(s + int(k * rng.uniform(0.12, 0.3) * sr))
            amp.append(rng.uniform(0.4, 1.0))
    pos, amp = np.array(pos), np.array(amp)
    keep = pos < n_samples
    out = _sparse_convolve(rng, n_samples, pos[keep], amp[keep], kernels)
    return _unit_rms(out + 1e-4 * rng.standard_normal(n_samples))


def wind(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Wind: low roaring noise with strong gusts (and microphone-buffeting lows)."""
    x = _colored(rng, n_samples, sr, rng.uniform(1.0, 2.0), 10.0)
    x = _filter(x, "lowpass", rng.uniform(300, 3000), sr)
    gust = np.exp(_smooth_random(rng, n_samples, sr, rng.uniform(0.5, 3.0), rng.uniform(0.5, 1.6)))
    return _unit_rms(x * gust)


def traffic(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Street traffic: distant rumble with vehicles passing by."""
    rumble = _unit_rms(_filter(_colored(rng, n_samples, sr, 1.5, 20.0), "lowpass", 500, sr))
    out = rumble * rng.uniform(0.2, 1.0)
    t = np.arange(n_samples) / sr
    for centre in rng.uniform(-3, n_samples / sr + 3, int(rng.poisson(n_samples / sr / 5) + 1)):
        width = rng.uniform(1.0, 4.0)
        env = np.exp(-0.5 * ((t - centre) / width) ** 2)
        car = _filter(_colored(rng, n_samples, sr, 1.0), "bandpass", sorted(rng.uniform(60, 2500, 2)), sr)
        out += _unit_rms(car) * env * rng.uniform(0.5, 2.0)
    return _unit_rms(out)


def whine(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Electronic whine: thin high tones that wander and switch on and off (coils, chargers, CRTs)."""
    out = np.zeros(n_samples)
    for _ in range(int(rng.integers(1, 4))):
        freq = rng.uniform(1500, 16000) * (1 + _smooth_random(rng, n_samples, sr, rng.uniform(0.3, 3), 0.03))
        tone = np.sin(2 * np.pi * np.cumsum(freq) / sr)
        gate = (_smooth_random(rng, n_samples, sr, rng.uniform(0.5, 3), 1.0) > rng.uniform(-1.0, 0.3))
        out += tone * _filter(gate.astype(float), "lowpass", 50, sr, 1) * rng.uniform(0.3, 1.0)
    return _unit_rms(out + 1e-3 * rng.standard_normal(n_samples))


NOISE_TYPES: dict[str, NoiseFn] = {
    "white": white, "pink": pink, "brown": brown, "hiss": hiss, "hum": hum, "fan": fan, "hvac": hvac,
    "babble": babble, "clicks": clicks, "keyboard": keyboard, "vinyl": vinyl, "rain": rain,
    "applause": applause, "knocks": knocks, "wind": wind, "traffic": traffic, "whine": whine,
}
"""Every noise type by name. All take ``(rng, n_samples, sr)``; babble also needs ``speech=``."""


# --------------------------------------------------------------------------- level and clips


def make_noise(rng: np.random.Generator, noise_type: str, n_samples: int, sr: int = SAMPLE_RATE, *,
               rms_db: float = -30.0, speech: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """One noise of ``noise_type`` at an RMS level of ``rms_db`` dBFS; float32 [n_samples]."""
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"unknown noise type {noise_type!r}; choose one of {', '.join(NOISE_TYPES)}.")
    if n_samples <= 0:
        raise ValueError(f"n_samples must be positive, got {n_samples}.")
    fn = NOISE_TYPES[noise_type]
    x = fn(rng, n_samples, sr, speech=speech) if noise_type == "babble" else fn(rng, n_samples, sr)
    return (_unit_rms(np.asarray(x, dtype=np.float64)) * 10 ** (rms_db / 20)).astype(np.float32)


def vary_level(rng: np.random.Generator, noise: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Make a noise's level move: slow drifts (±6 dB), sometimes a step, sometimes silent gaps."""
    n = len(noise)
    gain_db = _smooth_random(rng, n, sr, rng.uniform(0.5, 4.0), 6.0)
    if rng.random() < 0.3:  # someone turns something on or off
        step_at = int(rng.integers(n))
        gain_db[step_at:] += rng.uniform(-12, 12)
    gain = 10 ** (gain_db / 20)
    if rng.random() < 0.3:  # the noise stops for a while
        mask = np.ones(n)
        for _ in range(int(rng.integers(1, 4))):
            start = int(rng.integers(n))
            mask[start: start + int(rng.uniform(0.3, 3.0) * sr)] = 0.0
        ramp = np.hanning(int(0.04 * sr) + 1)
        mask = np.convolve(mask, ramp / ramp.sum(), mode="same")
        gain = gain * np.maximum(mask, 0.0)
    return (noise * gain).astype(np.float32)


@dataclasses.dataclass
class NoiseClip:
    """Audio of one noise-bank clip and a JSON-able description of how it was made."""

    audio: np.ndarray  # float32 [samples], 48 kHz, length a multiple of 480
    meta: dict


def render_noise_clip(seed: int, noise_type: str, seconds: float, *,
                      speech: Sequence[np.ndarray] | None = None) -> NoiseClip:
    """One noise-bank clip: ``noise_type``, maybe a second type beneath, a random tilt, moving level."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SAMPLE_RATE / SAMPLES_PER_FRAME)) * SAMPLES_PER_FRAME
    x = make_noise(rng, noise_type, n, rms_db=0.0, speech=speech).astype(np.float64)
    meta: dict = {"source": noise_type, "noise_type": noise_type, "seed": seed}
    if rng.random() < 0.3:
        others = [t for t in NOISE_TYPES if t != noise_type and (t != "babble" or speech)]
        second = str(rng.choice(others))
        level = float(rng.uniform(-18, -3))
        x += make_noise(rng, second, n, rms_db=level, speech=speech)
        meta.update(second_type=second, second_db=round(level, 1))
    if rng.random() < 0.5:  # a random tone colour
        kind = str(rng.choice(["lowpass", "highpass"]))
        cutoff = float(rng.uniform(2000, 12000) if kind == "lowpass" else rng.uniform(50, 600))
        x = _filter(x, kind, cutoff, SAMPLE_RATE, 1)
        meta.update(tilt=kind, tilt_hz=round(cutoff))
    if rng.random() < 0.6:
        x = vary_level(rng, x)
        meta["level_varies"] = True
    return NoiseClip(_unit_rms(x), meta)
