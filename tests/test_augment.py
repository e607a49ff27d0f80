"""Training-music augmentation (train.augment): each transformation on signals whose answer is known, without
rendered data (the sampler-level checks are in test_train_classify.py and test_train_data.py)."""

from __future__ import annotations

import numpy as np
import pytest

from train.augment import (
    MUSIC_AUGMENTS, RESAMPLE_UP, MusicAugment, apply_augment, pitch_ratio, random_breath, random_jitter,
    random_lowpass, random_room, random_saturation, random_sweep, resample_crop, source_samples,
)

SR = 48000
FRAME = 480


def _block_rms(x: np.ndarray, block: int = 4800) -> np.ndarray:
    return np.sqrt(np.mean(x[: x.size // block * block].reshape(-1, block).astype(np.float64) ** 2, axis=1))


def _peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1: k + 2] + 1e-30)  # parabolic interpolation between bins
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / x.size


def test_pitch_ratio_stays_in_range_and_is_seeded():
    downs = np.array([pitch_ratio(np.random.default_rng(seed), 1.5) for seed in range(400)])
    semitones = 12 * np.log2(downs / RESAMPLE_UP)
    assert np.all(np.abs(semitones) <= 1.5 + 0.04) and semitones.min() < -1.3 and semitones.max() > 1.3
    assert abs(np.mean(semitones)) < 0.2  # both directions alike
    assert pitch_ratio(np.random.default_rng(9), 1.5) == pitch_ratio(np.random.default_rng(9), 1.5)
    assert {pitch_ratio(np.random.default_rng(s), 0.0) for s in range(5)} == {RESAMPLE_UP}


@pytest.mark.parametrize("semitones", [-1.5, -0.6, 0.9, 1.5])
def test_resampling_moves_pitch_and_keeps_labels_on_their_notes(semitones):
    down = int(round(RESAMPLE_UP * 2 ** (semitones / 12)))
    ratio = down / RESAMPLE_UP
    n_out = 3 * SR
    n_in = source_samples(n_out, down)
    assert n_in % FRAME == 0 and n_in >= n_out * ratio
    # A 1 kHz tone that starts at source frame 137 and stops at frame 251; the labels say so (column 3).
    t = np.arange(n_in) / SR
    audio = (0.5 * np.sin(2 * np.pi * 1000 * t) * ((t >= 1.37) & (t < 2.51))).astype(np.float32)
    labels = np.zeros((n_in // FRAME, 12), np.uint8)
    labels[137:251, 3] = 1
    out, out_labels = resample_crop(audio, labels, n_out, down)
    assert out.shape == (n_out,) and out.dtype == np.float32
    assert out_labels.shape == (n_out // FRAME, 12) and out_labels.dtype == np.uint8
    assert out_labels[:, [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]].sum() == 0
    # the pitch moved by the ratio (within 0.5 %), and the tone sounds where its labels are
    assert _peak_hz(out[int(1.6 * SR / ratio): int(2.3 * SR / ratio)]) == pytest.approx(1000 * ratio, rel=5e-3)
    level = np.sqrt(np.mean(out[: n_out // FRAME * FRAME].reshape(-1, FRAME) ** 2, axis=1))
    sounding = np.flatnonzero(level > 0.1)
    labelled = np.flatnonzero(out_labels[:, 3])
    assert abs(sounding[0] - labelled[0]) <= 1 and abs(sounding[-1] - labelled[-1]) <= 1
    assert abs(labelled[0] - 137 / ratio) <= 1 and abs(labelled[-1] + 1 - 251 / ratio) <= 1
    assert np.abs(out).max() < 0.55  # band-limited: no overshoot beyond the filter's ripple
    none, no_labels = resample_crop(audio, None, n_out, down)
    assert no_labels is None and np.array_equal(none, out)


def test_sweep_glides_between_two_eq_gains():
    t = np.arange(3 * SR) / SR  # whole cycles: each sine sits on one FFT bin, the EQ scales it exactly
    for seed in range(12):
        x = np.sin(2 * np.pi * 500 * t).astype(np.float32)
        y = random_sweep(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        env = _block_rms(y) / _block_rms(x)  # the gain at 500 Hz, per 100 ms
        start, end = env[0], env[-1]
        # a blend of the two curves: every instant between the gains at the start and at the end, monotonic
        assert np.all(env >= min(start, end) * 0.98) and np.all(env <= max(start, end) * 1.02)
        steps = np.diff(env) * np.sign(end - start)
        assert np.all(steps >= -0.02 * max(start, end))
        assert np.all(np.abs(20 * np.log10(env)) <= 2 * np.log2(1000 / 500) + 27 + 0.2)
    x = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    assert np.array_equal(random_sweep(x, np.random.default_rng(4)), random_sweep(x, np.random.default_rng(4)))
    moved = [np.ptp(20 * np.log10(_block_rms(random_sweep(x, np.random.default_rng(s)))[[0, -1]]))
             for s in range(12)]
    assert max(moved) > 3.0  # the EQ really moves within a crop


def test_saturation_is_odd_monotonic_bounded_and_adds_odd_harmonics():
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    for seed in range(10):
        y = random_saturation(x, np.random.default_rng(seed))
        assert y.dtype == np.float32 and np.abs(y).max() <= 1.0 + 1e-6
        assert np.allclose(random_saturation(-x, np.random.default_rng(seed)), -y, atol=1e-6)  # odd
        order = np.argsort(x, kind="stable")
        assert np.all(np.diff(y[order]) >= -1e-6)  # monotonic: no fold-over
        spectrum = np.abs(np.fft.rfft(y))
        third, second = spectrum[600] / spectrum[200], spectrum[400] / spectrum[200]
        assert 10 ** (-45 / 20) < third < 0.5 and second < 1e-4  # odd harmonics only, from mild to overdriven


def test_room_is_causal_decays_and_keeps_the_dry_sound_on_top():
    x = np.zeros(2 * SR, np.float32)
    x[SR // 4] = 1.0
    for seed in range(10):
        y, room = random_room(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        assert 0.1 <= room["rt60_s"] <= 0.6 and -20 <= room["wet_db"] <= -6
        assert np.abs(y[: SR // 4]).max() < 1e-6 and y[SR // 4] == pytest.approx(1.0, abs=1e-6)  # causal (FFT round-off); direct sound
        tail = y[SR // 4 + 1:]
        assert np.abs(tail[: room["predelay"] - 1]).max() < 1e-6  # nothing before the pre-delay
        assert 10 * np.log10(np.sum(tail.astype(np.float64) ** 2)) == pytest.approx(room["wet_db"], abs=0.1)
        end = room["predelay"] + int(room["rt60_s"] * SR)
        assert np.abs(tail[end:]).max() < 1e-6  # the room is at most RT60 long (FFT round-off)
        first, last = (np.sum(tail[room["predelay"]:end][s] ** 2) for s in (slice(0, 2000), slice(-2000, None)))
        assert last < 1e-3 * first  # decays by tens of dB
    noise = np.random.default_rng(1).standard_normal(SR).astype(np.float32)
    a, _ = random_room(noise, np.random.default_rng(2))
    b, _ = random_room(noise, np.random.default_rng(2))
    assert np.array_equal(a, b)


def test_recipes():
    assert MUSIC_AUGMENTS["none"] == MusicAugment()
    assert MUSIC_AUGMENTS["colour"] == MusicAugment(colour=0.7)  # v1's recipe, unchanged
    timbre = MUSIC_AUGMENTS["timbre"]
    assert timbre.colour == 0.7 and timbre.pitch > 0 and timbre.room > 0 and timbre.saturate > 0 and timbre.sweep > 0
    with pytest.raises(ValueError, match="shares"):
        MusicAugment(pitch=1.5)


def test_random_lowpass_keeps_the_band_below_its_cutoff_and_removes_the_top():
    t = np.arange(SR) / SR
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 20000 * t)
    for seed in range(10):
        y_low = random_lowpass(low.astype(np.float32), np.random.default_rng(seed))
        y_high = random_lowpass(high.astype(np.float32), np.random.default_rng(seed))
        assert y_low.dtype == np.float32 and y_low.shape == low.shape
        inner = slice(SR // 10, -SR // 10)  # away from the filter's edge transients
        assert abs(20 * np.log10(np.std(y_low[inner]) / np.std(low[inner]))) < 0.1  # 1 kHz untouched
        assert 20 * np.log10(np.std(y_high[inner]) / np.std(high[inner])) < -20  # 20 kHz gone (cutoff <= 16 kHz)


def test_apply_augment_returns_unit_rms_and_draws_nothing_for_an_empty_recipe():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SR).astype(np.float32)
    x /= np.sqrt(np.mean(x.astype(np.float64) ** 2))
    untouched = np.random.default_rng(7)
    assert apply_augment(x, untouched, MusicAugment()) is x
    assert untouched.random() == np.random.default_rng(7).random()  # no draw
    every = MusicAugment(colour=1.0, sweep=1.0, saturate=1.0, room=1.0, lowpass=1.0, jitter=1.0, breath=1.0)
    for seed in range(5):
        y = apply_augment(x, np.random.default_rng(seed), every)
        assert y.dtype == np.float32 and abs(np.sqrt(np.mean(y.astype(np.float64) ** 2)) - 1.0) < 1e-4
        assert not np.allclose(y, x)
    assert MUSIC_AUGMENTS["denoise"].lowpass > 0 and MUSIC_AUGMENTS["denoise"].max_semitones > 1.5


def test_jitter_wobbles_the_pitch_by_its_drawn_depth_and_keeps_the_ends():
    t = np.arange(2 * SR) / SR
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    for seed in range(4):
        y, depth = random_jitter(tone, np.random.default_rng(seed))
        assert y.shape == tone.shape and y.dtype == np.float32 and 0.003 <= depth <= 0.015
        assert y[0] == tone[0] and abs(float(y[-1]) - float(tone[-1])) < 1e-4  # the warp starts and ends in place
        peaks = [_peak_hz(y[i: i + 2400]) for i in range(0, y.size - 2400, 1200)]  # 50 ms windows
        deviation = np.abs(np.array(peaks) / 1000.0 - 1.0)
        assert deviation.max() < depth * 1.3 + 0.002  # never further than the drawn depth
        assert deviation.max() > depth * 0.4  # and it does wander
    again, _ = random_jitter(tone, np.random.default_rng(0))
    assert np.array_equal(again, random_jitter(tone, np.random.default_rng(0))[0])


def test_breath_adds_noise_at_its_level_shaped_by_the_signal():
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    voiced = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 14)).astype(np.float32)  # up to ~2 kHz
    voiced *= (t < 1.0).astype(np.float32)  # a second of voice, then silence
    y, level_db = random_breath(voiced, rng)
    added = (y - voiced).astype(np.float64)
    assert y.shape == voiced.shape and -25.0 <= level_db <= -12.0
    assert abs(10 * np.log10(np.sum(added ** 2) / np.sum(voiced.astype(np.float64) ** 2)) - level_db) < 0.05
    assert np.sum(added[int(1.1 * SR):] ** 2) < 1e-4 * np.sum(added ** 2)  # no breath where the voice is silent
    spectrum = np.abs(np.fft.rfft(added[: SR])) ** 2
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    assert spectrum[freqs < 2500].sum() > 20 * spectrum[freqs > 6000].sum()  # where the voice has energy


def test_natural_speech_recipe_is_the_speech_recipe_with_jitter_and_breath():
    natural, speech = MUSIC_AUGMENTS["speech-natural"], MUSIC_AUGMENTS["speech"]
    assert natural.jitter > 0 and natural.breath > 0 and speech.jitter == speech.breath == 0
    assert MusicAugment(**{**natural.__dict__, "jitter": 0.0, "breath": 0.0}) == speech
