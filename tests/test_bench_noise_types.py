"""bench.noise_types: the per-noise-type set and report, end to end on a tiny rendered data set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import noise_types


def test_set_mixes_the_same_clean_crops_with_every_noise_type_at_the_asked_snr(quick_data):
    data = noise_types.make_set(quick_data, clips=2, seconds=0.5, snrs_db=(0.0, 10.0))
    types = sorted(set(data["noise_type"]))
    assert len(data["noisy"]) == 2 * len(types) * 2 * 2  # kinds x types x SNRs x clips
    for kind in noise_types.KINDS:
        sel = [i for i, k in enumerate(data["kind"]) if k == kind]
        first = [i for i in sel if data["noise_type"][i] == types[0] and data["snr_db"][i] == 0.0]
        last = [i for i in sel if data["noise_type"][i] == types[-1] and data["snr_db"][i] == 10.0]
        for a, b in zip(first, last):  # the same clean crop under another noise, up to the level
            ca, cb = data["clean"][a], data["clean"][b]
            np.testing.assert_allclose(ca / np.abs(ca).max(), cb / np.abs(cb).max(), atol=1e-5)
    for i in range(len(data["noisy"])):
        clean, noise = data["clean"][i].astype(np.float64), (data["noisy"][i] - data["clean"][i]).astype(np.float64)
        snr = 10 * np.log10(np.sum(clean ** 2) / np.sum(noise ** 2))
        assert snr == pytest.approx(data["snr_db"][i], abs=0.05)
        assert np.abs(data["noisy"][i]).max() <= 10 ** (-6 / 20) + 1e-6


def test_cli_scores_bypass_at_zero_and_writes_the_report(quick_data, tmp_path):
    out = tmp_path / "report"
    code = noise_types.main(["--model", "bypass", "--clips", "1", "--seconds", "0.5", "--snr", "5",
                             "--data-dir", str(quick_data), "--out", str(out), "--no-progress"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    cells = results["systems"]["rtmusic:bypass"]["sisdri"]
    assert set(cells) == set(noise_types.KINDS)
    for kind in noise_types.KINDS:
        assert sorted(cells[kind]) == results["data"]["noise_types"]
        assert all(abs(v["5"]) < 1e-3 for v in cells[kind].values())  # a pure delay, compensated: no change
    summary = (out / "summary.md").read_text()
    assert "rtmusic:bypass @ 5 dB" in summary and all(t in summary for t in results["data"]["noise_types"])
    assert (out / "noise_types.png").stat().st_size > 1000


def test_cli_rejects_bad_arguments(quick_data):
    with pytest.raises(SystemExit):
        noise_types.main(["--clips", "0", "--data-dir", str(quick_data)])
    with pytest.raises(SystemExit):
        noise_types.main(["--competitors", "nosuch", "--data-dir", str(quick_data)])
    assert noise_types.main(["--model", "no-such-model", "--clips", "1", "--seconds", "0.5",
                             "--data-dir", str(quick_data), "--no-progress"]) == 2
