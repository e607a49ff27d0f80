"""`rtmusic bench`: convention arithmetic, lag estimation, platform errors, and a quick run on real JACK."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rtmusic.bench.conventions import conventions
from rtmusic.bench.jackloop import Take, chirp, measure_lags
from rtmusic.errors import ParameterError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_conventions_on_known_numbers():
    c = conventions(samplerate=48000, window=480, hop=240, lookahead=0)
    assert c.samples() == {"window_minus_hop": 240, "window_plus_lookahead": 480, "window_hop_lookahead": 720}
    assert c.as_dict()["ms"] == {"window_minus_hop": 5.0, "window_plus_lookahead": 10.0, "window_hop_lookahead": 15.0}
    d = conventions(samplerate=16000, window=512, hop=128, lookahead=128)
    assert d.samples() == {"window_minus_hop": 384, "window_plus_lookahead": 640, "window_hop_lookahead": 768}
    assert d.as_dict()["ms"]["window_hop_lookahead"] == 48.0


@pytest.mark.parametrize("kwargs", [dict(window=240, hop=480), dict(window=480, hop=0), dict(window=480, hop=240, lookahead=-1)])
def test_conventions_reject_bad_input(kwargs):
    with pytest.raises(ParameterError):
        conventions(samplerate=48000, **{"lookahead": 0, **kwargs})


def test_the_shipped_models_algorithmic_latency_is_the_block_io_convention():
    from rtmusic.bench.conventions import model_conventions
    from rtmusic.processor import load_model

    for name in ("default", "lookahead", "bypass"):
        model = load_model(name)
        assert model_conventions(model).samples()["window_plus_lookahead"] == model.algorithmic_latency


@pytest.mark.parametrize("lag", [128, 880, 1777])
def test_lag_estimate_is_exact_at_start_and_end(lag):
    period, cycles = 128, 4 * 48000 // 128
    take = Take(period, cycles, 2 * 48000, chirp())
    played = take.played(-lag, cycles * period - lag)  # recorded[k] = played[k - lag], zeros before the onset
    take.head[:] = played[: take.head_frames]
    take.cycles = cycles
    tail_start = cycles * period - take.head_frames
    take.tail[:] = np.roll(played[tail_start:], tail_start % take.head_frames)
    lags = measure_lags(take)
    assert (lags["start_lag"], lags["end_lag"], lags["drift"]) == (lag, lag, 0)


def test_unavailable_platform_is_a_clear_error():
    from rtmusic.bench.compute import available_platforms, select_platform

    missing = [p for p in ("tpu", "gpu") if p not in available_platforms()]
    if not missing:
        pytest.skip("this machine has every platform")
    with pytest.raises(ParameterError, match=f"no {missing[0]} device.*available: cpu"):
        select_platform(missing[0])
    result = subprocess.run([sys.executable, "-m", "rtmusic", "bench", "--platform", missing[0], "--no-live"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("rtmusic: error:")]
    assert len(errors) == 1 and f"--platform {missing[0]}" in errors[0], result.stderr


def test_bad_periods_are_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "rtmusic", "bench", "--periods", "100"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "powers of two" in result.stderr


@pytest.mark.parametrize("name", ["default", "lookahead"])
def test_quick_run_on_jack_measures_the_declared_engine_latency(jack_server, tmp_path, name):
    """Both shipped denoisers add, through a real JACK loop, exactly the latency they declare (look-ahead too)."""
    out = tmp_path / "bench"
    env = {**os.environ, **jack_server.env}
    result = subprocess.run(
        [sys.executable, "-m", "rtmusic", "bench", "--quick", "--model", name, "--hops", "300", "--no-stress",
         "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert {"compute", "live", "load_average_before", "load_average_after", "options"} <= set(results)
    model = results["compute"]["models"][name]
    assert set(model["conventions"]["samples"]) == {"window_minus_hop", "window_plus_lookahead", "window_hop_lookahead"}
    assert {"p50_us", "p99_us", "max_us", "realtime_factor"} <= set(model["step"])
    rt = results["live"]["roundtrip"]
    assert rt["server"] == jack_server.name and not rt["started_server"]
    assert rt["loop_lag_passthrough"] == jack_server.period  # the JACK loop alone: one period
    assert rt["measured_added_samples"] == rt["declared_engine_samples"], rt
    assert rt["match"] and {"device_in_ms", "device_out_ms"} <= set(rt)
    (run,) = results["live"]["load_runs"]
    assert run["lags"]["drift"] == 0 and {"xruns", "deadline_misses"} <= set(run["counters"])
    for name in ("summary.md", "step_hist.png", "latency_breakdown.png", "xruns_vs_period.png"):
        assert (out / name).stat().st_size > 0
    assert "match to the sample" in result.stdout


def test_counters_split_at_the_first_status_line_and_memory_growth_over_the_take():
    from rtmusic.bench.live import _rss_summary, split_at_first_status

    run = {"status_samples": [{"t": 5.0, "xruns": 1, "deadline_misses": 4}, {"t": 10.0, "xruns": 3, "deadline_misses": 9}],
           "counters": {"xruns": 3, "deadline_misses": 10}, "duration_s": 11.0}
    assert split_at_first_status(run) == ({"xruns": 1, "deadline_misses": 4, "seconds": 5.0},
                                          {"xruns": 2, "deadline_misses": 6, "seconds": 6.0})
    rss = [(1.0, 900), (2.5, 500), (3.5, 510), (6.0, 530), (8.0, 100)]  # start-up peak, take 2-7 s, shutdown
    assert _rss_summary(rss, take_started=1.5, take_ended=7.0) == {
        "rss_first_kib": 500, "rss_last_kib": 530, "rss_max_kib": 530, "rss_growth_kib": 30}
