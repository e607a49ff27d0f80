"""bench.oracle: the ideal mask reconstructs clean input exactly, removes noise it knows, and reports per set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import noise_types, oracle
from rtmusic.metrics import si_sdr


@pytest.mark.parametrize("window", [480, 1920, "1920/480"])
def test_the_ideal_mask_passes_clean_audio_unchanged_and_removes_most_white_noise(window):
    rng = np.random.default_rng(3)
    t = np.arange(48_000) / 48_000
    clean = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    np.testing.assert_allclose(oracle.mask_output(clean, clean, window), clean, atol=1e-6)
    noisy = clean + 0.1 * rng.standard_normal(t.size)
    out = oracle.mask_output(noisy, clean, window)
    assert si_sdr(out, clean) - si_sdr(noisy, clean) > 15.0  # a tone in white noise: nearly every bin is noise


def test_scores_per_kind_and_snr_and_per_noise_type(quick_data, tmp_path):
    out = tmp_path / "oracle"
    assert oracle.main(["--clips", "6", "--windows", "480", "--low-delay", "1920", "--data-dir", str(quick_data),
                        "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    for window in ("480", "1920/480"):
        per_kind = results["validation"][window]
        assert per_kind and all(np.isfinite(v["all"]) and v["all"] > 0 for v in per_kind.values())
    summary = (out / "summary.md").read_text()
    assert "| 10 ms |" in summary and "| 40 ms low-delay (10 ms latency) |" in summary
    assert (out / "oracle.png").stat().st_size > 0

    data = noise_types.make_set(quick_data, clips=1, seconds=0.5, snrs_db=(0.0,))
    table = oracle.score_noise_types(data, [480])["480"]
    assert set(table) == set(noise_types.KINDS)
    assert all(cell["0"] > 0 for per_type in table.values() for cell in per_type.values())


def test_odd_windows_are_refused(capsys):
    with pytest.raises(SystemExit):
        oracle.main(["--windows", "481"])
    assert "--windows must be even" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        oracle.main(["--low-delay", "1000"])
    assert "--low-delay must be a multiple" in capsys.readouterr().err


def test_the_low_delay_rows_reach_above_the_frame_on_a_low_rumble_under_a_bass_line(tmp_path):
    """A 110 Hz bass note under brown-ish rumble: the 40 ms low-delay analysis' ideal mask, at the frame's 10 ms
    latency, beats the 10 ms frame's, whose 100 Hz bins hold the note and the rumble around it together."""
    rng = np.random.default_rng(4)
    t = np.arange(48_000) / 48_000
    clean = 0.3 * np.sin(2 * np.pi * 110 * t)
    rumble = np.cumsum(rng.standard_normal(t.size))
    rumble = 0.3 * (rumble - np.convolve(rumble, np.ones(480) / 480, mode="same"))  # drift removed: 50-300 Hz
    noisy = clean + rumble * np.std(clean) / np.std(rumble)
    gains = {w: si_sdr(oracle.mask_output(noisy, clean, w), clean) for w in (480, "1920/480")}
    assert gains["1920/480"] > gains[480] + 1.0, gains  # +1.7 dB with this seed
