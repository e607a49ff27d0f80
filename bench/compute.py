"""Per-hop compute cost of rtmusic's models and of the whole live engine.

Three figures per model (and per task with `--tasks`: `classify` times the shipped classifier, `denoise,classify`
the combined step a stream with both tasks runs; rows `NAME[TASK]`):

- **step**: wall time of one `Processor.process_hop` call (the compiled JAX step plus the device-to-host
  copy of its output), exactly what the live worker pays per hop. Timed hop by hop after a warm-up;
  p50 / p99 / max in microseconds, real-time factor = p50 / hop duration, and p99 as a % of the hop.
- **paced**: the same call once per hop duration (up to 4000 hops, 20 s), sleeping in between as the live
  worker waits for its next hop; on machines whose caches go cold in a 5 ms pause this is the higher, and
  the live, figure.
- **engine**: wall time of `emulate_stream` per hop with fixed host blocks (default 128 frames): the
  Numba callback body (input sanitising, ring writes, output selection, counters) + the worker's ring
  reads, step and slot writes, all on one thread. Mean per hop, from the best and the median of a few runs.

The machine is recorded with the results (CPU model, cores, load average, library versions): on a shared
machine other jobs inflate p99 and max far more than p50.

    python -m bench.compute                 # 20000 hops per model, writes bench/results/compute.json
    python -m bench.compute --quick         # 5000 hops, under 30 s
    python -m bench.compute --models default --tasks denoise classify denoise,classify
    python -m bench.compute --models default --device-rate 44100   # as live on a 44.1 kHz device
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path


DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "compute.json"
MODELS = ("lstm-random", "bypass")
PACED_HOPS = 4000  # 20 s of audio at the 5 ms hop

from bench.common import script_parser  # noqa: E402
from rtmusic.bench.compute import (  # noqa: E402 - the measuring code lives in the library (rtmusic bench)
    bench_callback,
    bench_engine,
    bench_step,
    count_params as _count_params,
    machine_info,
)


def measure(models=MODELS, hops: int = 20000, engine_hops: int | None = None, blocksize: int = 128,
            engine_runs: int = 3, progress=None, tasks=("denoise",), device_rate: int | None = None) -> dict:
    """Run every measurement; returns the JSON-ready results (one row per model and task).

    `device_rate`: time the step as a device at that rate runs it (rtmusic.engine.rate_bridge: resampling both
    ways, hops spanning whole model hops); rows `NAME@RATE`.
    """
    from rtmusic.engine.rate_bridge import RateBridge
    from rtmusic.processor import Processor, model_for_tasks

    say = progress or (lambda text: None)
    engine_hops = engine_hops or max(hops // 4, 1000)
    results = {"machine": machine_info(), "models": {},
               "settings": {"hops": hops, "engine_hops": engine_hops, "engine_runs": engine_runs, "blocksize": blocksize}}
    for name, task in itertools.product(models, tasks):
        model = model_for_tasks(task, name)
        row = name if task == "denoise" else f"{name}[{task}]"
        processor = Processor(model)
        if device_rate and device_rate != model.samplerate:
            processor = RateBridge(processor, device_rate)
            row += f"@{device_rate}"
        say(f"{row}: loaded")
        say(f"{row}: compiling and timing {hops} hops ...")
        step = bench_step(processor, hops)
        paced_hops = min(hops, PACED_HOPS)
        say(f"{row}: {paced_hops} hops paced at the hop rate, as the live worker calls it ...")
        paced = bench_step(processor, paced_hops, paced=True)
        say(f"{row}: whole engine, {engine_hops} hops in {blocksize}-frame blocks ...")
        engine = bench_engine(processor, engine_hops, blocksize, runs=engine_runs)
        results["models"][row] = {
            "task": task,
            "kind": model.kind,
            "samplerate": processor.samplerate,
            "hop": processor.hop,
            "hop_us": round(1e6 * processor.hop / processor.samplerate, 1),
            "window": model.window,
            "parameters": _count_params(model.weights),
            "config": model.config,
            "step": step,
            "step_paced": paced,
            "engine": engine,
        }
    say(f"callback body alone, {blocksize}-frame blocks ...")
    results["callback"] = bench_callback(240, blocksize)
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def format_table(results: dict) -> str:
    m = results["machine"]
    w = max([12] + [len(name) + 2 for name in results["models"]])  # the name column
    lines = [
        f"{m['cpu']} | {m['cores']} cores ({m['usable_cores']} usable"
        + ("" if m.get("cpu_core") is None else f", pinned to core {m['cpu_core']}") + f") | load {m['load_average']} -> "
        f"{m['load_average_after']} | jax {m['jax']} ({m['jax_backend']}), numba {m['numba']}",
        "",
        f"{'model':<{w}}{'params':>9}  {'what':<8}{'hops':>7}{'p50 us':>9}{'p99 us':>9}{'max us':>9}"
        f"{'RTF(p50)':>10}{'p99 % hop':>11}",
    ]
    for name, r in results["models"].items():
        s, e = r["step"], r["engine"]
        lines.append(f"{name:<{w}}{r['parameters']:>9}  {'step':<8}{s['hops']:>7}{s['p50_us']:>9.1f}"
                     f"{s['p99_us']:>9.1f}{s['max_us']:>9.1f}{s['realtime_factor']:>10.4f}{s['p99_pct_of_hop']:>10.1f}%")
        if "step_paced" in r:
            s = r["step_paced"]
            lines.append(f"{'':<{w}}{'':>9}  {'paced':<8}{s['hops']:>7}{s['p50_us']:>9.1f}{s['p99_us']:>9.1f}"
                         f"{s['max_us']:>9.1f}{s['realtime_factor']:>10.4f}{s['p99_pct_of_hop']:>10.1f}%")
        lines.append(f"{'':<{w}}{'':>9}  {'engine':<8}{e['hops']:>7}{e['median_us_per_hop']:>9.1f}"
                     f"{'':>9}{'':>9}{e['realtime_factor']:>10.4f}{'':>11}"
                     f"   (mean/hop, {e['blocksize']}-frame blocks, best {e['best_us_per_hop']:.1f} us)")
    c = results["callback"]
    lines.append(f"{'callback':<{w}}{'':>9}  {'body':<8}{c['blocks']:>7}{c['p50_us']:>9.1f}{c['p99_us']:>9.1f}"
                 f"{c['max_us']:>9.1f}   (per {c['blocksize']}-frame block, dry path, from Python)")
    hop_us = next(iter(results["models"].values()))["hop_us"] if results["models"] else 0
    lines.append(f"\nhop = {hop_us:.0f} us; RTF = time / hop duration (below 1 keeps up with real time)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = script_parser("bench.compute", __doc__)
    parser.add_argument("--quick", action="store_true", help="5000 hops per model (under 30 s)")
    parser.add_argument("--hops", type=int, default=None, help="timed hops per model (default 20000, --quick 5000)")
    parser.add_argument("--blocksize", type=int, default=128, help="host block size for the engine figure")
    parser.add_argument("--models", nargs="+", default=list(MODELS), metavar="NAME", help="models to time")
    parser.add_argument("--tasks", nargs="+", default=["denoise"], metavar="TASKS",
                        help="tasks to time each model on: denoise, classify, denoise,classify (default: denoise)")
    parser.add_argument("--device-rate", type=int, default=None, metavar="HZ",
                        help="time the step as a device at this rate runs it live: resampled both ways, e.g. "
                             "44100 (hops of 10 ms)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default: %(default)s)")
    parser.add_argument("--cpu-core", default="auto", metavar="CORE",
                        help="time on this core, as `rtmusic run --cpu-core` runs the model: a number, auto or none "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    from rtmusic.registry import parse_tasks

    try:
        tasks = [",".join(parse_tasks(task)) for task in args.tasks]
    except ValueError as exc:
        parser.error(str(exc))
    from rtmusic.engine.cores import pin_thread, resolve_core
    from rtmusic.engine.jaxenv import configure_jax_for_live, set_live_xla_flags

    core = resolve_core(args.cpu_core)
    pin_thread(core)  # before JAX loads (rtmusic.engine.cores)
    set_live_xla_flags()  # time the step exactly as the live worker runs it
    configure_jax_for_live()
    t0 = time.perf_counter()
    hops = args.hops or (5000 if args.quick else 20000)
    if hops < 1 or args.blocksize < 1:
        parser.error("--hops and --blocksize must be positive")
    results = measure(args.models, hops=hops, tasks=tasks, engine_hops=1000 if args.quick else None,
                      blocksize=args.blocksize, engine_runs=2 if args.quick else 3, device_rate=args.device_rate,
                      progress=lambda text: print(f"[{time.perf_counter() - t0:5.1f} s] {text}", file=sys.stderr, flush=True))
    results["machine"]["cpu_core"] = core  # None: not pinned
    print(format_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
