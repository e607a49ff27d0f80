"""Results of `rtmusic bench` as JSON, a markdown summary and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items() if k != "times_us"}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def write_json(results: dict, path: Path) -> None:
    path.write_text(json.dumps(_jsonable(results), indent=2) + "\n")


def summary_markdown(results: dict) -> str:
    c = results["compute"]
    m = c["machine"]
    la = results["load_average_before"], results["load_average_after"]
    lines = [f"# rtmusic bench — {results['started_utc']}", "",
             f"{m['cpu']}, {m['cores']} cores; JAX {m['jax']} on {c['device']}; load average {la[0][0]} -> {la[1][0]} "
             f"(1 min) on {results['cores']} cores: other processes' load is in these figures, above all in p99/max "
             "and deadline misses.", "",
             "## Algorithmic latency and per-hop compute", "",
             "| model | window−hop | window+look-ahead | window+hop+look-ahead | step p50 µs | p99 µs | max µs | RTF (p50) | engine µs/hop |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in c["models"].items():
        ms = r["conventions"]["ms"]
        s, e = r["step"], r["engine"]
        if r["model_name"] != name.split("[")[0]:
            name = r["model_name"] if r["model_name"].startswith(name) else f"{name} ({r['model_name']})"
        lines.append(f"| {name} | {ms['window_minus_hop']:.2f} ms | {ms['window_plus_lookahead']:.2f} ms | "
                     f"{ms['window_hop_lookahead']:.2f} ms | {s['p50_us']:.0f} | {s['p99_us']:.0f} | {s['max_us']:.0f} | "
                     f"{s['realtime_factor']:.3f} | {e['median_us_per_hop']:.0f} |" if e else
                     f"| {name} | ... | | | {s['p50_us']:.0f} | {s['p99_us']:.0f} | {s['max_us']:.0f} | {s['realtime_factor']:.3f} | |")
    live = results.get("live")
    if live and live.get("roundtrip"):
        rt = live["roundtrip"]
        lines += ["", f"## Round trip through JACK ({rt['period']}-frame periods, server {rt['server']!r})", "",
                  "| loop | measured lag | |", "|---|---|---|",
                  f"| passthrough (same-cycle copy) | {rt['loop_lag_passthrough']} samples | the JACK loop itself |",
                  f"| rtmusic run --model {results['options']['models'][0]} | {rt['loop_lag_with_rtmusic']} samples | |",
                  f"| **added by rtmusic (measured)** | **{rt['measured_added_samples']} samples = {rt['measured_added_ms']} ms** | |",
                  f"| rtmusic's declared engine latency | {rt['declared_engine_samples']} samples = {rt['declared_engine_ms']} ms | "
                  f"{'match to the sample' if rt['match'] else '**MISMATCH**'} |",
                  f"| PortAudio device latency in / out | {rt['device_in_ms']} / {rt['device_out_ms']} ms | reported, not measured |"]
    if live and live.get("load_runs"):
        lines += ["", "## Under load", "",
                  "| period | CPU stress | seconds | xruns | deadline misses | added start → end (declared) | drift | hop p99 µs | load avg |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in live["load_runs"]:
            lg = r["lags"]
            lines.append(f"| {r['period']} | {'yes (' + str(r['stress_processes']) + ')' if r['stress'] else 'no'} | "
                         f"{r['seconds']:g} | {r['counters']['xruns']} | {r['counters']['deadline_misses']} | "
                         f"{lg.get('added_start')} → {lg.get('added_end')} ({r['latency']['engine_samples']}) | {lg['drift']} | {r['compute_us']['p99']:.0f}{'*' if r.get('phase') else ''} | "
                         f"{r['load_average'][0][0]} |")
        lines += ["", "Added = measured loop lag - 1 JACK period (the passthrough's loop lag); declared = rtmusic's "
                  "`latency.engine_samples`."]
        if any(r.get("phase") for r in live["load_runs"]):
            lines += ["Rows of one run split at rtmusic's first status line (t = 5 s): CPU stress ran after it. "
                      "Counters are exact per phase; `*` lag and hop p99 are over the whole run."]
    if live and live.get("soak"):
        s = live["soak"]
        lines += ["", f"## Soak ({s['seconds'] / 60:g} min at {s['period']} frames)", "",
                  f"resident memory growth {s['rss_growth_kib']} KiB (VmRSS {s['rss_first_kib']} -> {s['rss_last_kib']} KiB, "
                  f"max {s['rss_max_kib']}, over the take); "
                  f"lag drift {s['lags']['drift']} samples; xruns {s['counters']['xruns']}, deadline misses "
                  f"{s['counters']['deadline_misses']}; event times at {s['event_time_resolution_s']:g} s resolution "
                  "(status-line counters):", "",
                  "| t (s) | xruns (cumulative) | deadline misses (cumulative) |", "|---|---|---|"]
        if s.get("jack_xrun_times_s"):
            lines[-3:-3] = ["", f"JACK xruns at (s since the stream started, as in the status lines; exact to ~50 ms, server-wide): "
                            f"{', '.join(f'{t:.2f}' for t in s['jack_xrun_times_s'])}"]
        last = None
        for row in s["status_samples"]:
            key = (row["xruns"], row["deadline_misses"])
            if key != last:
                lines.append(f"| {row['t']:.0f} | {row['xruns']} | {row['deadline_misses']} |")
                last = key
    return "\n".join(lines) + "\n"


def plots(results: dict, outdir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    models = results["compute"]["models"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, r in models.items():
        times = r["step"].get("times_us")
        if times is not None:
            ax.hist(np.clip(times, 0, np.percentile(times, 99.9)), bins=100, alpha=0.6, label=name)
    ax.set_xlabel("per-hop step time (µs)")
    ax.set_ylabel("hops")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title(f"per-hop compute (hop = 5000 µs); load avg {results['load_average_before'][0]}")
    written.append(_save(fig, outdir / "step_hist.png"))

    rt = (results.get("live") or {}).get("roundtrip")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    first = next(iter(models.values()))
    parts = {"algorithmic (window+look-ahead)": first["conventions"]["ms"]["window_plus_lookahead"]}
    if rt:
        lat = rt["rtmusic"]["latency"]
        parts = {"algorithmic": lat["algorithmic_ms"], "pre-fill": lat["prefill_ms"],
                 "device in+out": lat["device_in_ms"] + lat["device_out_ms"],
                 "JACK loop (1 period)": round(1000 * rt["loop_lag_passthrough"] / 48000, 3)}
    left = 0.0
    for label, value in parts.items():
        ax.barh([0], [value], left=left, label=f"{label} {value:.2f} ms")
        left += value
    if rt:
        ax.axvline(1000 * rt["loop_lag_with_rtmusic"] / 48000, color="k", ls="--", label="measured loop lag")
    ax.set_yticks([])
    ax.set_xlabel("ms")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
    ax.set_title("latency breakdown (callback in -> out, plus the JACK loop)")
    written.append(_save(fig, outdir / "latency_breakdown.png"))

    runs = (results.get("live") or {}).get("load_runs") or []
    if runs:
        fig, ax = plt.subplots(figsize=(7, 4))
        for stress, marker in ((False, "o"), (True, "s")):
            sel = [r for r in runs if r["stress"] == stress]
            if sel:
                ax.plot([r["period"] for r in sel], [r["counters"]["xruns"] for r in sel], marker + "-",
                        label=f"xruns{' (stress)' if stress else ''}")
                ax.plot([r["period"] for r in sel], [r["counters"]["deadline_misses"] for r in sel], marker + "--",
                        label=f"deadline misses{' (stress)' if stress else ''}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("JACK period (frames)")
        ax.set_ylabel("count per run")
        ax.legend()
        ax.set_title(f"xruns vs period ({runs[0]['seconds']:g} s runs)")
        written.append(_save(fig, outdir / "xruns_vs_period.png"))
    return written


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
