"""`rtmusic run` on a JACK server at 44.1 kHz: the device's own rate is found, the worker resamples, and the
lag is exactly what rtmusic declares (tests/test_rate_bridge.py has the same parts without a device).

The server runs beside the session's 48 kHz one under another pooled name; nothing in this process talks to
it through PortAudio, so it needs none of conftest's PortAudio care.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from far_end import LOOP_LATENCY_PERIODS
from jackserver import JackServer
from test_live_jack import CycleFarEnd, describe, first_nonzero, jax_cache, lag_by_xcorr, play_through, read_stats  # noqa: F401

RATE = 44100
F0 = 25.0  # Hz: the test tone's period, 1764 samples, is longer than the lags searched
PERIOD = round(RATE / F0)


@pytest.fixture(scope="module")
def jack_44k1():
    server = JackServer(rate=RATE, period=128)  # the first free pooled name
    server.start(export=False)
    yield server
    server.stop()


@pytest.fixture
def env_44k1(jack_44k1, jax_cache):
    import os

    return {**os.environ, **jack_44k1.env, **jax_cache}


def low_tone(seconds: float) -> np.ndarray:
    """Harmonics of 25 Hz up to 2 kHz, random phases: sharp correlation peaks, far inside every passband."""
    t = np.arange(round(seconds * RATE)) / RATE
    phases = np.random.default_rng(5).uniform(0, 2 * np.pi, 80)
    x = sum(np.cos(2 * np.pi * F0 * k * t + p) for k, p in zip(range(1, 81), phases))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def test_bypass_at_44k1_comes_back_at_the_declared_lag(jack_44k1, env_44k1, tmp_path):
    stats_path = tmp_path / "stats.json"
    signal = low_tone(3.0)
    with CycleFarEnd(servername=jack_44k1.name) as far_end:
        assert far_end.samplerate == RATE
        cli, take = play_through(far_end, ["--model", "bypass", "--duration", "4.5", "--stats-json", str(stats_path)],
                                 env_44k1, signal)
    stats = read_stats(stats_path)
    assert stats["samplerate"] == RATE and stats["hop"] == 441, stats  # found on its own: no --samplerate
    assert any("resampled to the model's 48000 Hz" in line for line in cli.err_lines), cli.stderr
    expected = stats["latency"]["engine_samples"] + LOOP_LATENCY_PERIODS * far_end.period
    onset = first_nonzero(take.recorded)
    start_at = onset + PERIOD + RATE // 4
    lag = lag_by_xcorr(take.played, take.recorded, start_at, 2 * RATE, range(onset, onset + PERIOD))
    print(f"44.1 kHz bypass: lag {lag}, expected {expected}; counters {stats['counters']}")
    assert lag == expected, describe(cli, stats, take)
    # resampled twice, the tone is itself (and so are hops the callback played dry): 60 dB and better
    played = take.played[start_at - lag:start_at - lag + 2 * RATE].astype(np.float64)
    error = take.recorded[start_at:start_at + 2 * RATE] - played
    assert 10 * np.log10(np.mean(played ** 2) / np.mean(error ** 2)) > 60.0, describe(cli, stats, take)
    assert stats["compiled_after_start"] == 0


def test_denoise_and_classify_at_44k1_stream_labels_in_device_time(jack_44k1, env_44k1, tmp_path):
    stats_path, labels_path = tmp_path / "stats.json", tmp_path / "labels.jsonl"
    with CycleFarEnd(servername=jack_44k1.name) as far_end:
        play_through(far_end, ["--task", "denoise,classify", "--duration", "3", "--stats-json", str(stats_path),
                               "--labels-jsonl", str(labels_path)], env_44k1, low_tone(2.0))
    stats = read_stats(stats_path)
    assert stats["samplerate"] == RATE and stats["hop"] == 441, stats
    lines = [json.loads(line) for line in labels_path.read_text().splitlines()]
    assert len(lines) >= 20, lines[:3]  # one per 100 ms of input
    assert all(line["hops"] <= 10 for line in lines)  # 10 ms hops at 44.1 kHz
    ends = np.array([line["t"] for line in lines])
    assert np.allclose(np.diff(ends), 0.1), ends[:5]
    assert stats["labels"]["hops"] == stats["details"]["hops"]
