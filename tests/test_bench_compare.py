"""`rtmusic bench --compare`: missing competitors and data degrade to one-line reasons; RNNoise for real."""

from __future__ import annotations

import importlib.util

import pytest

from rtmusic.bench import competitors as comp
from rtmusic.bench.compare import INSTALL_HINT, run_compare
from rtmusic.bench.report import compare_markdown, compare_plot
from rtmusic.errors import ParameterError


@pytest.fixture(scope="module")
def bypass_figures():
    """rtmusic's reference figures, measured (a few hops of the bypass model: compiles in seconds)."""
    from rtmusic.bench.compute import measure_model

    return measure_model("bypass", hops=20, engine_hops=None, blocksize=128, engine_runs=1)


def test_missing_competitors_and_data_are_skipped_with_what_to_do(bypass_figures, monkeypatch, tmp_path):
    monkeypatch.setattr(comp, "missing", lambda c: f"{c.name}: module {c.modules[0]} not installed ({c.install})")
    ghost = comp.Competitor("ghost", "not installed", ("rtmusic_ghost_pkg",), lambda: None, install="pip install ghost")
    out = run_compare("bypass", bypass_figures, ("rnnoise", ghost), clips=1, data_dir=tmp_path)
    assert out["competitors"] == {}
    assert set(out["skipped"]) == {"rnnoise", "ghost"}
    assert "pip install pyrnnoise" in out["skipped"]["rnnoise"] and INSTALL_HINT in out["skipped"]["ghost"]
    assert "python -m train.build_data" in out["quality"]["skipped"]
    text = "\n".join(compare_markdown(out))
    assert "| **rtmusic bypass**" in text and "Skipped ghost: ghost: module rtmusic_ghost_pkg not installed" in text
    assert "Quality not measured" in text
    assert compare_plot(out, tmp_path / "compare.png").stat().st_size > 0


def test_a_short_real_comparison_with_rnnoise(bypass_figures, tmp_path):
    assert importlib.util.find_spec("pyrnnoise") is not None, 'RNNoise is missing: run `bash scripts/setup.sh --test`'
    from rtmusic.bench.quality import load_data

    try:
        load_data(None, 1)
        clips = 1  # clip 0 of the validation set: music at -5 dB
    except FileNotFoundError:
        clips = 0
    out = run_compare("bypass", bypass_figures, ("rnnoise",), frames=50, clips=clips)
    row, ref = out["competitors"]["rnnoise"], out["reference"]
    assert row["delay_samples"] == 960 and row["compute"]["frame"] == 480 and row["compute"]["frames_timed"] == 50
    assert row["conventions"]["ms"] == {"window_minus_hop": 10.0, "window_plus_lookahead": 20.0, "window_hop_lookahead": 30.0}
    assert row["ratios"]["latency"]["window_plus_lookahead"] == round(20.0 / ref["conventions"]["ms"]["window_plus_lookahead"], 2)
    assert row["ratios"]["compute_per_5ms"] == round(row["compute"]["per_5ms_us"] / ref["per_5ms_us"], 2) > 0
    assert row["compute"]["per_5ms_us"] == pytest.approx(row["compute"]["p50_us"] / 2, abs=0.1)  # 10 ms frames
    text = "\n".join(compare_markdown(out))
    assert "| rnnoise | 480 @ 48 kHz |" in text
    if clips:
        systems = out["quality"]["systems"]
        assert set(systems) == {"bypass", "rnnoise"} and systems["bypass"]["music"] == pytest.approx(0.0, abs=0.05)
        assert row["ratios"]["quality_delta_db"]["music"] == pytest.approx(systems["rnnoise"]["music"], abs=0.06)
        assert "| rnnoise | " in text.split("Quality on 1 validation clips")[1]


def test_unknown_competitor_and_classify_only_are_usage_errors():
    from rtmusic.cli import build_parser
    from rtmusic.cli.bench_cmd import options_from_args

    parser = build_parser()
    with pytest.raises(ParameterError, match="unknown nosuch; known: rnnoise, webrtc, noisereduce, dtln"):
        options_from_args(parser.parse_args(["bench", "--compare", "--competitors", "rnnoise,nosuch"]))
    with pytest.raises(ParameterError, match="first --task must include denoise"):
        options_from_args(parser.parse_args(["bench", "--compare", "--task", "classify"]))
    opts = options_from_args(parser.parse_args(["bench", "--quick"]))
    assert not opts.compare  # --quick stays under 60 s: competitors only on request
