"""rtmusic.bench.quality and .competitors (and the bench.quality CLI): metrics with known answers, the runner end to end, skipping competitors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench import quality as quality_cli
from rtmusic.bench import competitors as comp
from rtmusic.bench import quality

SR = 48_000


def _orthogonal_noise(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    """Zero-mean noise with no component along the zero-mean clean signal, unit power."""
    noise = np.random.default_rng(seed).standard_normal(clean.size)
    noise -= noise.mean()
    c = clean - clean.mean()
    noise -= (noise @ c) / (c @ c) * c
    return noise / np.sqrt(np.mean(noise ** 2))


def _tone(n: int, f: float = 440.0) -> np.ndarray:
    t = np.arange(n) / SR
    return 0.1 * (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 2.7 * f * t))


def test_sisdr_of_a_known_mixture_and_its_improvement():
    clean = _tone(SR)
    noise = _orthogonal_noise(clean) * np.sqrt(np.mean((clean - clean.mean()) ** 2)) / math.sqrt(10.0)  # 10 dB
    noisy = clean + noise
    assert quality.clean_sisdr(noisy, clean) == pytest.approx(10.0, abs=1e-6)
    assert quality.clean_sisdr(3.0 * noisy, clean) == pytest.approx(10.0, abs=1e-6)  # scale-invariant
    half = clean + 0.5 * noise  # half the noise amplitude: +6.02 dB
    assert quality.sisdr_improvement(half, clean, noisy) == pytest.approx(20 * math.log10(2), abs=1e-6)


def test_identity_preserves_music_and_clean_input():
    clean = _tone(SR).astype(np.float32)
    noisy = (clean + 0.05 * _orthogonal_noise(clean)).astype(np.float32)
    record = quality.clip_metrics(noisy, clean, noisy, 0, 15.0, SR)
    assert record["kind"] == "music" and record["sisdri"] == 0.0
    summary, _ = quality.aggregate([record])
    assert summary["music_preservation_15db"] == 0.0
    clean_record = quality.clip_metrics(clean, clean, clean, 0, math.inf, SR)
    assert clean_record["snr_db"] == "clean" and clean_record["clean_sisdr"] > 80


def test_the_first_tenth_of_a_second_is_ignored():
    clean = _tone(SR).astype(np.float32)
    noisy = (clean + 0.05 * _orthogonal_noise(clean)).astype(np.float32)
    spoiled = clean.copy()
    spoiled[: quality.skip_samples(SR)] = 1.0  # garbage during warm-up only
    assert quality.clip_metrics(spoiled, clean, noisy, 1, 5.0, SR, perceptual=False)["sisdri"] == \
        quality.clip_metrics(clean, clean, noisy, 1, 5.0, SR, perceptual=False)["sisdri"]


def test_noise_only_attenuation():
    noise = (0.1 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32)
    record = quality.clip_metrics(0.1 * noise, np.zeros_like(noise), noise, 3, -math.inf, SR)
    assert record["attenuation_db"] == pytest.approx(20.0, abs=1e-4)


def test_perceptual_metrics_or_nan():
    clean = quality.to_16k(_tone(SR, 220.0).astype(np.float32), SR)
    if quality.perceptual_missing().get("stoi"):
        assert math.isnan(quality.stoi(clean, clean))
    else:
        assert quality.stoi(clean, clean) == pytest.approx(1.0, abs=1e-3)


def test_delay_measured_and_compensated():
    def late(x: np.ndarray) -> np.ndarray:  # a pure 123-sample delay, same length
        return np.concatenate([np.zeros(123, np.float32), x])[: len(x)]

    delay, peak = comp.measure_delay(late)
    assert delay == 123 and peak > 0.9
    denoiser = comp.Denoiser("late", late, delay, peak, comp.Competitor("late", "", (), lambda: late))
    x = comp.delay_probe(0.2)
    np.testing.assert_array_equal(denoiser(x), x)


GHOST = comp.Competitor("ghost", "a competitor whose package is not installed", ("rtmusic_ghost_denoiser_pkg",),
                        factory=lambda: (lambda x: x), install="pip install ghost")


def test_missing_competitor_is_named_not_raised():
    assert "rtmusic_ghost_denoiser_pkg not installed (pip install ghost)" in comp.missing(GHOST)
    with pytest.raises(comp.CompetitorUnavailable, match="ghost: module rtmusic_ghost_denoiser_pkg not installed"):
        comp.load(GHOST)
    with pytest.raises(comp.CompetitorUnavailable, match="no such competitor; known: rnnoise, webrtc"):
        comp.load("nosuch")
    files = comp.Competitor("nofile", "", (), lambda: None, files=(comp.DTLN_DIR / "absent.onnx",))
    assert "absent.onnx not found" in comp.missing(files)


def _tiny_set() -> dict:
    n = SR // 2
    rng = np.random.default_rng(3)
    clean = np.stack([_tone(n, 330.0), _tone(n, 180.0), _tone(n, 520.0), _tone(n, 260.0)]).astype(np.float32)
    noise = (0.03 * rng.standard_normal(clean.shape)).astype(np.float32)
    snr = np.array([15.0, 0.0, np.inf, 5.0], np.float32)
    noisy = clean + noise * np.isfinite(snr)[:, None]
    return {"noisy": noisy, "clean": clean, "kind": np.array([0, 1, 0, 2], np.int32), "snr_db": snr}


def test_runner_with_bypass_writes_table_json_and_plots(tmp_path):
    results = quality.run(_tiny_set(), ["bypass"], [GHOST], perceptual=False, progress=False, log=lambda s: None)
    assert set(results["systems"]) == {quality.INPUT, "rtmusic:bypass"}
    assert "ghost" in results["skipped"] and "not installed" in results["skipped"]["ghost"]
    bypass = results["systems"]["rtmusic:bypass"]
    assert bypass["summary"]["sisdri"] == {"music": 0.0, "speech": 0.0, "mixed": 0.0}  # bit-exact after delay
    assert bypass["summary"]["music_preservation_15db"] == 0.0
    assert bypass["realtime_factor"] > 0 and bypass["delay_samples"] == 240 and len(bypass["params_sha256"]) == 64
    assert len(bypass["clips"]) == 4 and set(bypass["per_snr"]) == {"music", "speech", "mixed"}

    paths = quality.write_outputs(results, tmp_path)
    assert {p.name for p in paths} == {"results.json", "summary.md", "sisdri_vs_snr.png", "music_preservation.png"}
    stored = json.loads((tmp_path / "results.json").read_text())
    assert {"created", "machine", "data", "metrics", "systems", "skipped", "run_seconds"} <= set(stored)
    assert {"cpu", "cores", "load_average", "jax"} <= set(stored["machine"])
    assert {"summary", "per_snr", "clips", "realtime_factor", "model", "params_sha256"} <= set(stored["systems"]["rtmusic:bypass"])
    assert stored["data"]["clips"] == 4 and stored["data"]["clean_only_clips"] == 1
    table = (tmp_path / "summary.md").read_text()
    assert "| system | SI-SDRi music | SI-SDRi speech | SI-SDRi mixed | PESQ-WB | STOI |" in table
    assert "| rtmusic:bypass | 0.00 | 0.00 | 0.00 |" in table
    assert "Skipped ghost" in table and "## SI-SDRi (dB) by input SNR" in table


def test_a_competitor_that_breaks_is_skipped_too():
    def factory():
        calls = []

        def run(x):
            calls.append(1)
            if len(calls) > 1:  # the delay probe passes, the first clip fails
                raise RuntimeError("boom")
            return x

        return run

    flaky = comp.Competitor("flaky", "", (), factory)
    results = quality.run(_tiny_set(), [], [flaky], perceptual=False, progress=False, log=lambda s: None)
    assert "flaky" not in results["systems"] and "RuntimeError: boom" in results["skipped"]["flaky"]


def test_cli_rejects_unknown_competitors(capsys):
    with pytest.raises(SystemExit):
        quality_cli.main(["--competitors", "rnnoise,nosuch"])
    assert "unknown competitor(s) nosuch" in capsys.readouterr().err


def test_models_are_compared_clip_by_clip_with_a_standard_error():
    """The second model's per-clip gains over the first: mean, standard error, wins; rows per kind and at 15 dB."""
    def clips(gains):
        kinds = ["music", "music", "music", "speech", "speech"]
        snrs = [15.0, 15.0, 0.0, 5.0, 10.0]
        return [{"clip": i, "kind": k, "snr_db": s, "sisdri": g} for i, (k, s, g) in enumerate(zip(kinds, snrs, gains))]

    def system(gains):
        return {"kind": "rtmusic", "clips": clips(gains)}

    results = {"systems": {quality.INPUT: {"kind": "reference", "clips": clips([0.0] * 5)},
                           "rtmusic:a": system([5.0, 6.0, 7.0, 8.0, 9.0]),
                           "rtmusic:b": system([6.0, 6.5, 6.0, 8.0, 10.0])}}
    paired = quality.paired_differences(results)
    assert set(paired) == {"rtmusic:b"}
    music = paired["rtmusic:b"]["music"]
    assert music["n"] == 3 and music["mean_db"] == pytest.approx(0.5 / 3)
    assert music["se_db"] == pytest.approx(np.std([1.0, 0.5, -1.0], ddof=1) / math.sqrt(3))
    assert music["wins"] == pytest.approx(2 / 3)
    assert paired["rtmusic:b"]["music at 15 dB"]["mean_db"] == pytest.approx(0.75)
    assert paired["rtmusic:b"]["speech"] == {"mean_db": 0.5, "n": 2, "wins": 0.5, "se_db": pytest.approx(0.5)}
    assert "mixed" not in paired["rtmusic:b"]
    assert quality.paired_differences({"systems": {"rtmusic:a": system([1.0] * 5)}}) == {}


def test_via_rate_leaves_nothing_above_the_source_nyquist_in_noisy_and_clean():
    rng = np.random.default_rng(3)
    data = {"noisy": rng.standard_normal((2, SR)).astype(np.float32),
            "clean": rng.standard_normal((2, SR)).astype(np.float32), "kind": np.array([0, 1]),
            "snr_db": np.array([0.0, 5.0])}
    limited = quality_cli.via_rate(data, 32000)
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    for key in ("noisy", "clean"):
        assert limited[key].shape == data[key].shape
        power = np.abs(np.fft.rfft(limited[key], axis=1)) ** 2
        assert power[:, freqs > 16500].sum() < 1e-5 * power.sum()  # white noise had a third of its power there
        low = freqs < 14000  # below the filter's edge the clip is unchanged
        before = np.fft.rfft(data[key], axis=1)[:, low]
        after = np.fft.rfft(limited[key], axis=1)[:, low]
        assert np.abs(after - before).max() < 0.05 * np.abs(before).max()
    assert limited["via_rate"] == 32000 and "**Via 32000 Hz**" in quality_cli.music_note(limited)


def test_noise_via_rate_band_limits_the_noise_alone_at_the_same_snr():
    rng = np.random.default_rng(4)
    clean = rng.standard_normal((2, SR)).astype(np.float32)
    noise = rng.standard_normal((2, SR)).astype(np.float32)
    data = {"noisy": clean + noise, "clean": clean, "kind": np.array([0, 1]), "snr_db": np.array([0.0, 5.0])}
    limited = quality_cli.noise_via_rate(data, 16000)
    assert limited["clean"] is clean  # the clean part is untouched
    new_noise = limited["noisy"] - clean
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    power = np.abs(np.fft.rfft(new_noise, axis=1)) ** 2
    assert power[:, freqs > 8500].sum() < 1e-5 * power.sum()  # white noise had two thirds of its power there
    np.testing.assert_allclose(np.mean(new_noise ** 2, axis=1), np.mean(noise ** 2, axis=1), rtol=1e-4)
    assert "**Noise via 16000 Hz**" in quality_cli.music_note(limited)


def test_cli_rejects_a_via_rate_at_or_above_the_model_rate(capsys):
    with pytest.raises(SystemExit):
        quality_cli.main(["--via-rate", "48000", "--competitors", "none"])
    assert "--via-rate must be from 8000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        quality_cli.main(["--noise-via-rate", "4000", "--competitors", "none"])
    assert "--noise-via-rate must be from 8000" in capsys.readouterr().err
