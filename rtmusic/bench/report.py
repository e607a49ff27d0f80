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
             f"{m['cpu']}, {m['cores']} cores; JAX {m['jax']} on {c['device']}"
             + ("" if c.get("cpu_core") is None else f"; model and JAX threads on core {c['cpu_core']} (--cpu-core)")
             + f"; load average {la[0][0]} -> {la[1][0]} "
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
    if results.get("compare"):
        lines += ["", *compare_markdown(results["compare"])]
    return "\n".join(lines) + "\n"


def _num(value, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def _times(value) -> str:
    return "–" if value is None else f"{value:g}×"


def _signed(value) -> str:
    return "–" if value is None else f"{value:+.1f}"


def compare_markdown(cmp: dict) -> list[str]:
    """The side-by-side section: compute and latency (ratios to rtmusic), then quality (differences)."""
    ref = cmp["reference"]
    rc = ref["conventions"]["ms"]
    lines = ["## Side by side with the alternatives", "",
             f"Reference: rtmusic `{ref['model']}` ({ref['model_name']}); ratios are competitor / rtmusic "
             "(above 1: rtmusic is cheaper or has less latency). Load average "
             f"{cmp['load_average'][0][0]} -> {cmp['load_average'][-1][0]} during this part ({cmp.get('wall_s', 0):g} s).", "",
             "| system | native frame | µs per frame p50 / p99 | µs per 5 ms audio | RTF | compute × rtmusic | "
             "algorithmic ms: W−H / W+A / W+H+A | latency × rtmusic (W+A) | measured delay ms | delay × rtmusic |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| **rtmusic {ref['model']}** | {ref['hop']} @ {ref['samplerate'] // 1000} kHz | {ref['p50_us']:.0f} / {ref['p99_us']:.0f} | "
             f"{ref['per_5ms_us']:.0f} | {ref['realtime_factor']:.3f} | 1× | {rc['window_minus_hop']:g} / "
             f"{rc['window_plus_lookahead']:g} / {rc['window_hop_lookahead']:g} | 1× | {ref['delay_ms']:g} | 1× |"]
    for name, r in cmp["competitors"].items():
        c, ra = r["compute"], r["ratios"]
        frame = f"{c['frame']} @ {c['samplerate'] // 1000} kHz" if c["streaming"] else "offline (whole signal)"
        per_frame = f"{c['p50_us']:.0f} / {c['p99_us']:.0f}" if c["streaming"] else "–"
        ms = (r["conventions"] or {}).get("ms")
        alg = f"{ms['window_minus_hop']:g} / {ms['window_plus_lookahead']:g} / {ms['window_hop_lookahead']:g}" if ms \
            else "none (non-causal)"
        lat = _times((ra.get("latency") or {}).get("window_plus_lookahead"))
        lines.append(f"| {name} | {frame} | {per_frame} | {c['per_5ms_us']:.0f} | {c['realtime_factor']:.3f} | "
                     f"{_times(ra['compute_per_5ms'])} | {alg} | {lat} | {r['delay_ms']:g}{'' if c['streaming'] else ' (offline)'} | "
                     f"{_times(ra['delay'])} |")
    lines += ["", "W = analysis window, H = hop, A = look-ahead (`rtmusic.bench.conventions`). Streaming systems are "
              "timed call by call on their native frame (16 kHz ones at 16 kHz, resampling excluded), rtmusic on "
              "its 5 ms hop; noisereduce's RTF is offline wall time / audio time. Measured delay: GCC-PHAT of the "
              "output against the input (rtmusic: its step delay)."]
    q = cmp.get("quality")
    if q and q.get("systems"):
        rows = q["systems"]
        base = rows.get(ref["model"], {})
        lines += ["", f"Quality on {q['clips']} validation clips ({', '.join(f'{k} {v}' for k, v in q['clips_per_kind'].items())}; "
                  "SI-SDR improvement in dB, Δ = competitor − rtmusic, below 0: rtmusic is better):", "",
                  "| system | SI-SDRi music | Δ | SI-SDRi speech | Δ | music @15 dB | Δ |", "|---|---|---|---|---|---|---|"]
        for name, row in rows.items():
            own = name == ref["model"]
            cells = []
            for key in ("music", "speech", "music_15db"):
                delta = None if own or row[key] is None or base.get(key) is None else row[key] - base[key]
                cells += [_num(row[key], 2), "" if own else _signed(delta)]
            lines.append(f"| {'**rtmusic ' + name + '**' if own else name} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("music @15 dB = SI-SDRi on music at 15 dB SNR: music preservation (below 0: the music got worse); "
                     "21 clips hold one clip of each kind x SNR cell, so single clips carry these means.")
    elif q and q.get("skipped"):
        lines += ["", f"Quality not measured: {q['skipped']}"]
    for name, why in cmp["skipped"].items():
        lines.append(f"Skipped {name}: {why}")
    return lines


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
    if results.get("compare"):
        written.append(compare_plot(results["compare"], outdir / "compare.png"))
    return written


def compare_plot(cmp: dict, path: Path) -> Path:
    """Bars per system: compute per 5 ms of audio, latency (algorithmic and measured), quality vs rtmusic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = cmp["reference"]
    names = [f"rtmusic {ref['model']}", *cmp["competitors"]]
    rows = [None, *cmp["competitors"].values()]
    q = (cmp.get("quality") or {}).get("systems") or {}
    fig, axes = plt.subplots(1, 3 if q else 2, figsize=(13 if q else 9, 4))
    x = np.arange(len(names))
    per5 = [ref["per_5ms_us"], *(r["compute"]["per_5ms_us"] for r in rows[1:])]
    bars = axes[0].bar(x, per5, color=["tab:blue"] + ["tab:gray"] * (len(names) - 1))
    axes[0].bar_label(bars, labels=[f"{v:.0f}" for v in per5], fontsize=7)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("µs per 5 ms of audio (p50; noisereduce offline)")
    axes[0].set_title("compute (lower is better)", fontsize=9)
    alg = [ref["conventions"]["ms"]["window_plus_lookahead"],
           *(((r["conventions"] or {}).get("ms") or {}).get("window_plus_lookahead", np.nan) for r in rows[1:])]
    measured = [ref["delay_ms"], *(r["delay_ms"] for r in rows[1:])]
    axes[1].bar(x - 0.2, alg, 0.4, label="algorithmic W+A (none: non-causal)")
    axes[1].bar(x + 0.2, measured, 0.4, label="measured delay of the output")
    for i, r in enumerate(rows):
        if r is not None and not r["compute"]["streaming"]:
            axes[1].text(i, 0.5, "offline\n(non-causal)", ha="center", va="bottom", fontsize=7)
    axes[1].set_ylabel("ms")
    axes[1].set_title("latency (lower is better)", fontsize=9)
    axes[1].legend(fontsize=7)
    for ax in axes[:2]:
        ax.set_xticks(x, names, rotation=25, ha="right", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    if q:
        base = q.get(ref["model"], {})
        keys = (("music", "SI-SDRi music"), ("speech", "SI-SDRi speech"), ("music_15db", "music @15 dB"))
        comps = [n for n in cmp["competitors"] if n in q]
        xs = np.arange(len(comps))
        for i, (key, label) in enumerate(keys):
            deltas = [np.nan if q[n][key] is None or base.get(key) is None else q[n][key] - base[key] for n in comps]
            axes[2].bar(xs + (i - 1) * 0.27, deltas, 0.27, label=label)
        axes[2].axhline(0, color="k", lw=0.6)
        axes[2].set_xticks(xs, comps, rotation=25, ha="right", fontsize=8)
        axes[2].set_ylabel("dB, competitor − rtmusic")
        axes[2].set_title(f"quality vs rtmusic on {(cmp.get('quality') or {}).get('clips')} clips (below 0: rtmusic better)",
                          fontsize=9)
        axes[2].legend(fontsize=7)
        axes[2].grid(alpha=0.3, axis="y")
    fig.suptitle(f"rtmusic vs alternatives (load average {cmp['load_average'][0][0]})", fontsize=10)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
