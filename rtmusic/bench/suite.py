"""The whole `rtmusic bench` run: compute, round trip, load, soak; returns one JSON-ready dict.

Every section records the load average around it: on a shared machine the tails (p99, max, deadline
misses) measure the neighbours as much as rtmusic.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from rtmusic.errors import ParameterError

PERIODS = (64, 128, 256, 512)


@dataclass
class BenchOptions:
    models: tuple[str, ...] = ("default", "bypass")
    tasks: tuple[str, ...] = ("denoise",)
    platform: str | None = None
    hops: int = 20000
    engine_hops: int = 5000
    engine_runs: int = 3
    blocksize: int = 128
    live: bool = True
    roundtrip_seconds: float = 4.0
    periods: tuple[int, ...] = PERIODS
    load_seconds: float = 20.0
    stress: bool = True
    soak_minutes: float = 0.0
    server: str | None = None  # an existing JACK server for the round trip (None: JACK_DEFAULT_SERVER or our own)
    keep_times: bool = True
    compare: bool = False  # competitors side by side (rtmusic.bench.compare)
    competitors: tuple[str, ...] = ()  # () = every known one
    compare_clips: int = 21  # validation clips scored per system (0: no quality)
    compare_frames: int = 2000  # native frames timed per streaming competitor
    data_dir: str | None = None  # rendered data for the quality figures (None: $RTMUSIC_DATA or the cache)
    cpu_core: int | None = None  # compute timed, and `rtmusic run` run, with the model on this core (engine.cores)
    extra: dict = field(default_factory=dict)

    @classmethod
    def quick(cls, **overrides) -> BenchOptions:
        base = dict(hops=1500, engine_hops=400, engine_runs=1, roundtrip_seconds=3.0, periods=(128,),
                    load_seconds=3.0, stress=True)
        base.update(overrides)
        return cls(**base)

    def validate(self) -> None:
        if self.hops < 10 or self.engine_hops < 0:
            raise ParameterError(f"--hops must be at least 10, got {self.hops}")
        bad = [p for p in self.periods if p < 16 or p & (p - 1)]
        if bad:
            raise ParameterError(f"--periods must be powers of two >= 16, got {bad}")
        if self.load_seconds <= 0 or self.roundtrip_seconds < 2.5:
            raise ParameterError("--seconds must be positive and the round trip at least 2.5 s")
        if self.soak_minutes < 0:
            raise ParameterError(f"--soak must be >= 0 minutes, got {self.soak_minutes:g}")
        if self.compare_clips < 0 or self.compare_frames < 10:
            raise ParameterError(f"--compare-clips must be >= 0 (got {self.compare_clips}) and at least 10 frames "
                                 f"timed (got {self.compare_frames})")
        if self.compare and "denoise" not in self.tasks[0].split(","):
            raise ParameterError(f"--compare compares denoisers: the first --task must include denoise, got {self.tasks[0]!r}")
        from rtmusic.bench.competitors import COMPETITORS

        unknown = [c for c in self.competitors if c not in COMPETITORS]
        if unknown:
            raise ParameterError(f"--competitors: unknown {', '.join(unknown)}; known: {', '.join(COMPETITORS)}")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_compute(opts: BenchOptions, say) -> dict:
    from rtmusic.engine.cores import CorePlacement

    placement = CorePlacement(opts.cpu_core).pin()  # as `rtmusic run --cpu-core`: JAX's threads on that core
    try:
        return _timed_models(opts, say)
    finally:
        placement.release()  # the JACK servers and clients started next must not inherit the pin


def _timed_models(opts: BenchOptions, say) -> dict:
    from rtmusic.bench.compute import bench_callback, machine_info, measure_model, select_platform
    from rtmusic.engine.jaxenv import configure_jax_for_live, set_live_xla_flags

    set_live_xla_flags()
    device = select_platform(opts.platform)  # raises before any timing
    configure_jax_for_live()
    from rtmusic.processor import enable_compilation_cache

    enable_compilation_cache()
    out = {"machine": machine_info(), "device": device.platform, "cpu_core": opts.cpu_core, "models": {}}
    for model in opts.models:
        for task in opts.tasks:
            key = model if task == "denoise" else f"{model}[{task}]"
            if task != "denoise" and model == "bypass":
                continue
            out["models"][key] = measure_model(model, task, hops=opts.hops, engine_hops=opts.engine_hops,
                                               blocksize=opts.blocksize, engine_runs=opts.engine_runs,
                                               device=device, keep_times=opts.keep_times, say=say)
    say("callback body alone ...")
    out["callback"] = bench_callback(240, opts.blocksize, blocks=2000)
    out["load_average_after"] = _load()
    return out


def _existing_server(opts: BenchOptions) -> str | None:
    from rtmusic.bench.jackloop import server_answers

    for name in (opts.server, os.environ.get("JACK_DEFAULT_SERVER")):
        if name and server_answers(name):
            return name
    if opts.server:
        raise ParameterError(f"--server {opts.server}: no JACK server answers under that name")
    return None


def _phases(run: dict) -> list[dict]:
    """The load-run rows of one run: itself, or its unstressed and stressed phases."""
    from rtmusic.bench.live import split_at_first_status

    if run.get("second_phase_started_s") is None:
        return [{**run, "stress": run["stress_processes"] > 0}]
    one, two = split_at_first_status(run)
    return [{**run, "stress": False, "stress_processes": 0, "counters": {**run["counters"], **one}, "seconds": one["seconds"],
             "phase": "before the first status line"},
            {**run, "stress": True, "counters": {**run["counters"], **two}, "seconds": two["seconds"],
             "phase": "after the first status line (CPU stress during the rest of the take; the last ~1.5 s of "
                      "the run, after the take, are unstressed)"}]


def _live_run(server: str, opts: BenchOptions, seconds: float, say, stress: bool = False,
              stress_second_phase: bool = False) -> dict:
    from rtmusic.bench.live import CpuStress, rtmusic_in_loop

    load_before = _load()
    task = opts.tasks[0]
    pinned = () if opts.cpu_core is None else ("--cpu-core", str(opts.cpu_core))
    if stress_second_phase:
        cpu = CpuStress()
        result = rtmusic_in_loop(server, model=opts.models[0], task=task, seconds=seconds, say=say,
                                 after_first_status=cpu, extra_args=pinned)
        result["stress_processes"] = len(cpu.procs)
    elif stress:
        cpu = CpuStress()
        result = rtmusic_in_loop(server, model=opts.models[0], task=task, seconds=seconds, say=say, during_take=cpu,
                                 extra_args=pinned)
        result["stress_processes"] = len(cpu.procs)
    else:
        result = rtmusic_in_loop(server, model=opts.models[0], task=task, seconds=seconds, say=say, extra_args=pinned)
        result["stress_processes"] = 0
    result["load_average"] = [load_before, _load()]
    return result


def run_live(opts: BenchOptions, say) -> dict:
    """Round trip at 128 frames (or the existing server's period), then the load runs, then the soak."""
    from rtmusic.bench.jackloop import DummyJack
    from rtmusic.bench.live import added_latency, passthrough_lag

    out: dict = {"load_runs": [], "soak": None}
    existing = _existing_server(opts)
    server = DummyJack("rtmusic-bench-128", 128) if existing is None else None
    name = existing or server.start().name
    try:
        say(f"round trip on JACK server {name!r} ({'ours' if server else 'already running'}): passthrough ...")
        reference = passthrough_lag(name, seconds=1.5)
        quick_load = opts.periods == (reference["period"],)
        both = quick_load and opts.stress
        seconds = max(opts.roundtrip_seconds, 5.0) + opts.load_seconds if both else opts.roundtrip_seconds
        say(f"round trip: rtmusic run --model {opts.models[0]} in the loop"
            + (f"; CPU stress from its first status line (5 s) for {opts.load_seconds:g} s" if both else "") + " ...")
        loop = _live_run(name, opts, seconds, say, stress_second_phase=both)
        if server is not None:
            loop["jackd_xruns_logged"] = server.xruns_logged()
        out["roundtrip"] = {"server": name, "started_server": server is not None, "period": reference["period"],
                            "passthrough": reference, "rtmusic": loop, **added_latency(loop, reference)}
        quick_load = opts.periods == (reference["period"],)
        if quick_load:  # the round trip is the unstressed run at this period; its second phase the stressed one
            out["load_runs"].extend(_phases(loop))
            if loop.get("second_phase_started_s") is None and opts.stress:
                say(f"load: {opts.load_seconds:g} s at {reference['period']} frames with CPU stress ...")
                out["load_runs"].append({**_live_run(name, opts, opts.load_seconds, say, stress=True), "stress": True})
    finally:
        if server is not None:
            server.stop()
    if not quick_load:
        for period in opts.periods:
            with DummyJack(f"rtmusic-bench-{period}", period) as srv:
                for stress in (False, True) if opts.stress else (False,):
                    say(f"load: {opts.load_seconds:g} s at {period} frames{' with CPU stress' if stress else ''} ...")
                    run = _live_run(srv.name, opts, opts.load_seconds, say, stress=stress)
                    run["jackd_xruns_logged"] = srv.xruns_logged()
                    out["load_runs"].append({**run, "stress": stress})
    if opts.soak_minutes > 0:
        with DummyJack("rtmusic-bench-128", 128) as srv:
            say(f"soak: {opts.soak_minutes:g} min at 128 frames ...")
            run = _live_run(srv.name, opts, opts.soak_minutes * 60.0, say)
            run["jackd_xruns_logged"] = srv.xruns_logged()
            run["event_time_resolution_s"] = 5.0
            out["soak"] = run
    return out


def run_compare_section(opts: BenchOptions, compute: dict, say) -> dict:
    """Competitors side by side with the first model, reusing its compute figures from this run."""
    from rtmusic.bench.compare import run_compare
    from rtmusic.bench.competitors import COMPETITORS

    model = opts.models[0]
    key = model if opts.tasks[0] == "denoise" else f"{model}[{opts.tasks[0]}]"
    return run_compare(model, compute["models"][key], opts.competitors or tuple(COMPETITORS),
                       frames=opts.compare_frames, clips=opts.compare_clips, data_dir=opts.data_dir, say=say)


def run_all(opts: BenchOptions, say=None) -> dict:
    say = say or (lambda text: None)
    opts.validate()
    started = time.monotonic()
    results: dict = {"version": 1, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "load_average_before": _load(), "cores": os.cpu_count(),
                     "options": {k: v for k, v in opts.__dict__.items() if k != "extra"}}
    results["compute"] = run_compute(opts, say)
    if opts.live:
        results["live"] = run_live(opts, say)
    if opts.compare:
        results["compare"] = run_compare_section(opts, results["compute"], say)
    results["load_average_after"] = _load()
    results["wall_s"] = round(time.monotonic() - started, 1)
    return results
