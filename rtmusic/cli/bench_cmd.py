"""`rtmusic bench`: latency you can trust — algorithmic conventions, per-hop compute, a measured JACK
round trip (added latency vs declared, to the sample), xruns and deadline misses under load, soak."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EPILOG = """examples:
  rtmusic bench --quick                      # compute + one 128-frame round trip + a short load run, < 60 s
  rtmusic bench                              # periods 64..512, 20 s each, with and without CPU stress
  rtmusic bench --model default --platform cpu --no-live
  rtmusic bench --soak 30 --out soak/        # 30 minutes: memory growth, lag drift, xrun times
  rtmusic bench --compare                    # + RNNoise, WebRTC NS, noisereduce (and DTLN) side by side
  rtmusic bench --quick --compare --compare-clips 0 --competitors rnnoise
  rtmusic bench --cpu-core none --no-live    # the compute figures with the model's threads unpinned
Writes results.json, summary.md and PNG plots to --out (default: rtmusic-bench/).
Starts its own dummy jackd (rtmusic-bench-PERIOD) unless JACK_DEFAULT_SERVER / --server answers.
"""


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure latency, compute and robustness", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", nargs="+", default=["default", "bypass"], metavar="NAME|PATH",
                   help="models to time (live runs use the first; default: default bypass)")
    p.add_argument("--task", nargs="+", default=["denoise"], metavar="TASKS",
                   help="tasks to time: denoise, classify, denoise,classify (default: denoise)")
    p.add_argument("--platform", choices=("cpu", "gpu", "tpu"), default=None,
                   help="JAX platform for the compute figures (default: best available)")
    p.add_argument("--quick", action="store_true", help="compute + one round trip at 128 frames + a short load run")
    p.add_argument("--hops", type=int, default=None, help="timed hops per model (default 20000, --quick 2000)")
    p.add_argument("--periods", type=int, nargs="+", default=None, metavar="FRAMES",
                   help="JACK periods of the load runs (default 64 128 256 512; --quick 128)")
    p.add_argument("--seconds", type=float, default=None, help="length of each load run (default 20, --quick 3)")
    p.add_argument("--no-stress", action="store_true", help="skip the runs with a CPU-stress subprocess")
    p.add_argument("--no-live", action="store_true", help="compute figures only (no JACK)")
    p.add_argument("--soak", type=float, default=0.0, metavar="MINUTES", help="also a soak run of this length")
    p.add_argument("--server", metavar="NAME", help="existing JACK server for the round trip")
    p.add_argument("--cpu-core", default="auto", metavar="CORE",
                   help="time the models, and run rtmusic run, with the model on this core (as rtmusic run "
                        "--cpu-core: a number, auto or none; default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("rtmusic-bench"), help="output directory (default: %(default)s)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    g = p.add_argument_group("competitors (optional extra: pip install -e \".[compare]\")")
    g.add_argument("--compare", action="store_true",
                   help="also time RNNoise, WebRTC NS, noisereduce (DTLN if its files exist) and score them on the "
                        "validation set, as ratios to the first model (adds 2-4 min)")
    g.add_argument("--competitors", metavar="A,B", default=None,
                   help="which competitors --compare runs (default: every one that can load here)")
    g.add_argument("--compare-clips", type=int, default=21, metavar="N",
                   help="validation clips scored per system (21 = each kind x SNR once; 0 = no quality; default 21)")
    g.add_argument("--data-dir", metavar="DIR", default=None,
                   help="rendered training data for the quality figures (default: $RTMUSIC_DATA or ~/.cache/rtmusic/data)")
    p.set_defaults(handler=run)


def options_from_args(args):
    from rtmusic.bench.suite import BenchOptions
    from rtmusic.engine.cores import resolve_core
    from rtmusic.registry import parse_tasks

    tasks = tuple(",".join(parse_tasks(t)) for t in args.task)
    overrides = {"models": tuple(args.model), "tasks": tasks, "platform": args.platform, "live": not args.no_live,
                 "stress": not args.no_stress, "soak_minutes": args.soak, "server": args.server,
                 "compare": args.compare, "compare_clips": args.compare_clips, "data_dir": args.data_dir,
                 "cpu_core": resolve_core(args.cpu_core),
                 "competitors": tuple(c.strip() for c in (args.competitors or "").split(",") if c.strip())}
    if args.hops is not None:
        overrides["hops"] = args.hops
        overrides["engine_hops"] = max(args.hops // 4, 100)
        overrides["compare_frames"] = args.hops
    if args.periods is not None:
        overrides["periods"] = tuple(args.periods)
    if args.seconds is not None:
        overrides["load_seconds"] = args.seconds
    opts = BenchOptions.quick(**overrides) if args.quick else BenchOptions(**overrides)
    opts.validate()
    return opts


def run(args) -> int:
    from rich.console import Console
    from rich.markup import escape

    from rtmusic.bench import report
    from rtmusic.bench.suite import run_all

    opts = options_from_args(args)  # every usage error before JAX loads
    console = Console(stderr=True)
    t0 = time.monotonic()
    with console.status("rtmusic bench: starting ...") as status:
        def say(text: str) -> None:
            console.log(escape(f"[{time.monotonic() - t0:5.1f} s] {text}"))
            status.update(escape(f"rtmusic bench: {text}"))

        results = run_all(opts, say)
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_json(results, args.out / "results.json")
    md = report.summary_markdown(results)
    (args.out / "summary.md").write_text(md)
    written = [] if args.no_plots else report.plots(results, args.out)
    print(md)
    print(f"wrote {args.out / 'results.json'}, {args.out / 'summary.md'}"
          + "".join(f", {p}" for p in written) + f" ({time.monotonic() - t0:.1f} s)", file=sys.stderr)
    rt = (results.get("live") or {}).get("roundtrip")
    return 1 if rt and not rt["match"] else 0
