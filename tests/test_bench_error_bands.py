"""bench.error_bands: a denoiser's remaining error split over bands and music- or noise-led bins."""

from __future__ import annotations

import numpy as np

from bench.error_bands import BAND_EDGES_HZ, EDGE, TAIL, error_split, markdown, selected_clips


def test_noise_left_in_is_counted_in_its_band_and_in_the_noise_led_bins():
    """A 1.5 kHz tone under a 100 Hz hum: an output keeping a tenth of the hum has all its error in the lowest band's
    noise-led bins, 20 dB below the input's there; an output that also drops a 3 kHz partial of the music puts
    error in the music-led bins of that partial's band (a scale alone, which SI-SDR forgives, would not)."""
    t = np.arange(48000) / 48000.0
    clean = (0.1 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32)
    hum = (0.5 * np.sin(2 * np.pi * 100 * t)).astype(np.float32)
    split = error_split(clean + 0.1 * hum, clean, clean + hum)
    lowest, tone_band = 0, next(b for b in range(len(BAND_EDGES_HZ) - 1) if BAND_EDGES_HZ[b + 1] > 1500)
    assert split["output"][lowest, 1] > 0.99 * split["output"].sum()
    assert abs(10 * np.log10(split["input"][lowest, 1] / split["output"][lowest, 1]) - 20.0) < 0.5
    assert split["clean"][tone_band] > 0.99 * split["clean"].sum()
    assert error_split(0.5 * (clean + 0.1 * hum), clean, clean + hum)["output"][tone_band].sum() < 1e-9
    partial = (0.05 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    damaged = error_split(clean + 0.1 * hum, clean + partial, clean + partial + hum)
    partial_band = next(b for b in range(len(BAND_EDGES_HZ) - 1) if BAND_EDGES_HZ[b + 1] > 3000)
    assert damaged["output"][partial_band, 0] > 0.3 * damaged["output"].sum()
    assert split["output"][partial_band].sum() < 1e-9


def test_the_summary_names_each_band_and_its_shares():
    split = error_split(*(np.random.default_rng(0).standard_normal((3, 24000)).astype(np.float32)))
    results = {"clips": 1, "models": {"default": {"music": {"clips": 1, **{k: np.asarray(v).tolist()
                                                                          for k, v in split.items()}}}}}
    text = markdown(results)
    assert "## default: music (1 clips" in text and "| 250-500 Hz |" in text and "| 8000-24000 Hz |" in text


def test_clips_are_selected_by_kind_and_snr_and_clean_or_silent_ones_left_out():
    snr = np.array([-5.0, 15.0, 20.0, np.inf, 20.0, 15.0])
    kind = np.array([1, 1, 1, 1, 0, 1])
    clean = np.ones((6, EDGE + TAIL + 480), np.float32)
    clean[5] = 0.0  # silent after the edges: nothing to score against
    val = {"snr_db": snr, "kind": kind, "clean": clean}
    assert selected_clips(val, 1).tolist() == [0, 1, 2]
    assert selected_clips(val, 1, (15.0, 20.0)).tolist() == [1, 2]
    assert selected_clips(val, 0, (15.0, 20.0)).tolist() == [4]
    assert selected_clips(val, 1, (0.0, 10.0)).size == 0
    results = {"clips": 2, "snr_range_db": [15.0, 20.0], "models": {}}
    assert "(2 validation clips, mixed at 15 to 20 dB SNR)" in markdown(results)
