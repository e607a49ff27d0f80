"""bench.preservation: whole music clips at 15 dB SNR, clip by clip, end to end on a tiny rendered data set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import preservation
from train import datapaths


def _val_music_clips(root) -> int:
    return len(json.loads(datapaths.index_path(root, "val", "music").read_text())["clips"])


def test_set_takes_each_clip_whole_with_seeded_noise_at_15_db(quick_data):
    data = preservation.make_set(quick_data, "val", clips=2)
    again = preservation.make_set(quick_data, "val", clips=2)
    n_clips, draws, samples = data["noisy"].shape
    assert n_clips == min(2, _val_music_clips(quick_data)) and draws == preservation.NOISE_DRAWS and data["clean"].shape == (n_clips, samples)
    assert all(np.array_equal(data[k], again[k]) for k in ("clean", "noisy"))  # seeded: paired across runs
    for clean, noisy in zip(data["clean"].astype(np.float64), data["noisy"].astype(np.float64)):
        for x in noisy:
            assert 10 * np.log10(np.sum(clean ** 2) / np.sum((x - clean) ** 2)) == pytest.approx(15.0, abs=0.05)
        assert np.abs(noisy).max() <= 10 ** (-6 / 20) + 1e-6
    assert len(data["name"]) == len(data["drums"]) == n_clips and all(isinstance(d, bool) for d in data["drums"])


def test_summary_splits_drums_from_the_rest():
    clips = [{"clip": "a", "drums": True, "sisdri_15db": -2.0, "clean_sisdr": 20.0},
             {"clip": "b", "drums": False, "sisdri_15db": 4.0, "clean_sisdr": 40.0},
             {"clip": "c", "drums": False, "sisdri_15db": 2.0, "clean_sisdr": 30.0}]
    summary = preservation.summarise(clips)
    assert summary["all"] == {"clips": 3, "sisdri_15db": pytest.approx(4 / 3), "worst": -2.0,
                              "damaged": pytest.approx(1 / 3), "clean_sisdr": pytest.approx(30.0)}
    assert summary["drums"]["damaged"] == 1.0 and summary["no drums"]["sisdri_15db"] == pytest.approx(3.0)


def test_cli_scores_bypass_at_zero_and_writes_the_report(quick_data, tmp_path):
    out = tmp_path / "report"
    assert preservation.main(["--model", "bypass", "--sources", "val", "--clips", "2",
                              "--data-dir", str(quick_data), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    clips = results["systems"]["rtmusic:bypass"]["sources"]["val"]["clips"]
    assert len(clips) == min(2, _val_music_clips(quick_data))
    assert all(abs(c["sisdri_15db"]) < 1e-3 and c["clean_sisdr"] > 60 for c in clips)  # a compensated delay
    assert f"| rtmusic:bypass | val | {len(clips)} |" in (out / "summary.md").read_text()
    assert (out / "preservation.png").stat().st_size > 1000
    with pytest.raises(SystemExit):
        preservation.main(["--clips", "0", "--data-dir", str(quick_data)])
    assert preservation.main(["--model", "no-such-model", "--sources", "val", "--clips", "1",
                              "--data-dir", str(quick_data), "--out", str(out)]) == 2
