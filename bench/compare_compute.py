"""Compute cost and latency of rtmusic side by side with the denoisers users would pick instead.

For each rtmusic model: the live per-hop step (p50, as `rtmusic bench` measures it) and the offline
real-time factor of `Processor.process` over the same noise; for each competitor of `rtmusic.bench.competitors`
that can run here: its offline real-time factor over the same noise and its measured delay (GCC-PHAT,
measured again at load). Ratios are competitor / rtmusic (above 1: rtmusic is cheaper / has less delay).
Competitors whose package is missing are listed with the reason (`pip install -e ".[compare]"`).

    python -m bench.compare_compute [--seconds 10] [--models default] [--out bench/results/compare_compute.json]

Offline RTF = wall time / audio duration, median of 3 runs, one thread of a shared machine: the load
average is recorded; the ratios are more stable than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "compare_compute.json"


def _median_wall(fn, x: np.ndarray, runs: int = 3) -> float:
    fn(x[:48000])  # warm-up (compiles, loads)
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        fn(x)
        walls.append(time.perf_counter() - started)
    return float(np.median(walls))


def measure(models=("default",), competitors=None, seconds: float = 10.0, hops: int = 3000, say=print) -> dict:
    from rtmusic.bench import competitors as comp
    from rtmusic.bench.compute import load_average, machine_info, measure_model
    from rtmusic.processor import Processor, load_model

    x = (0.1 * np.random.default_rng(3).standard_normal(int(seconds * 48000))).astype(np.float32)
    results = {"machine": machine_info(), "seconds": seconds, "rtmusic": {}, "competitors": {}, "skipped": {}}
    for name in models:
        say(f"rtmusic {name} ...")
        live = measure_model(name, hops=hops, engine_hops=None, blocksize=128, engine_runs=1)
        processor = Processor(load_model(name))
        wall = _median_wall(processor.process, x)
        results["rtmusic"][name] = {"model_name": live["model_name"], "step_p50_us": live["step"]["p50_us"],
                                    "step_rtf": live["step"]["realtime_factor"], "offline_rtf": round(wall / seconds, 4),
                                    "algorithmic_ms": live["conventions"]["ms"]["window_plus_lookahead"],
                                    "step_delay_ms": round(1000 * processor.model.delay / 48000, 3)}
    for name in competitors or comp.COMPETITORS:
        try:
            say(f"competitor {name} ...")
            denoiser = comp.load(name)
        except comp.CompetitorUnavailable as exc:
            results["skipped"][name] = str(exc)
            continue
        wall = _median_wall(denoiser.raw, x)
        results["competitors"][name] = {"offline_rtf": round(wall / seconds, 4), "delay_samples": denoiser.delay,
                                        "delay_ms": round(1000 * denoiser.delay / 48000, 3),
                                        "delay_peak": round(denoiser.delay_peak, 3)}
    ref = next(iter(results["rtmusic"].values()))
    for r in results["competitors"].values():
        r["rtf_ratio_vs_rtmusic"] = round(r["offline_rtf"] / ref["offline_rtf"], 2) if ref["offline_rtf"] else None
        r["delay_ratio_vs_rtmusic"] = round(r["delay_ms"] / ref["step_delay_ms"], 2) if ref["step_delay_ms"] else None
    results["machine"]["load_average_after"] = load_average()
    return results


def format_table(results: dict) -> str:
    la = results["machine"]["load_average"], results["machine"]["load_average_after"]
    lines = [f"load average {la[0][0]} -> {la[1][0]} on {results['machine']['cores']} cores "
             "(other jobs inflate every RTF alike; compare the ratios)", "",
             "| system | offline RTF | delay ms | RTF ratio (x rtmusic) | delay ratio | live step p50 us |",
             "|---|---|---|---|---|---|"]
    for name, r in results["rtmusic"].items():
        lines.append(f"| rtmusic {r['model_name']} | {r['offline_rtf']:.4f} | {r['step_delay_ms']:.2f} | 1 | 1 | "
                     f"{r['step_p50_us']:.0f} |")
    for name, r in results["competitors"].items():
        lines.append(f"| {name} | {r['offline_rtf']:.4f} | {r['delay_ms']:.2f} | {r['rtf_ratio_vs_rtmusic']} | "
                     f"{r['delay_ratio_vs_rtmusic']} | |")
    for name, why in results["skipped"].items():
        lines.append(f"| {name} | skipped: {why} | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare_compute", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["default"])
    parser.add_argument("--competitors", nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    from rtmusic.engine.jaxenv import configure_jax_for_live, set_live_xla_flags

    set_live_xla_flags()
    configure_jax_for_live()
    results = measure(args.models, args.competitors, args.seconds, say=lambda t: print(t, file=sys.stderr))
    print(format_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
