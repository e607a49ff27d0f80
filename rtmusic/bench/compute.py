"""Per-hop compute cost of a model and of the whole live engine (moved here from bench/compute.py).

- `bench_step`: wall time of each `Processor.process_hop` call (the compiled step plus the copy of its
  output to NumPy: exactly what the live worker pays per hop); p50 / p99 / max us, RTF = p50 / hop.
- `bench_engine`: `emulate_stream` per hop with fixed host blocks: callback body + worker on one thread.
- `bench_callback`: the callback body alone per host block (dry path, called from Python).

JAX is imported inside the functions only. `select_platform` validates ``--platform`` before any timing.
"""

from __future__ import annotations

import os
import platform as _platform
import time

import numpy as np

from rtmusic.errors import ParameterError

PLATFORMS = ("cpu", "gpu", "tpu")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_info() -> dict:
    import jax
    import numba

    cpu = _platform.processor() or _platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_average": load_average(),
        "platform": _platform.platform(),
        "python": _platform.python_version(),
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "numba": numba.__version__,
        "numpy": np.__version__,
    }


def available_platforms() -> list[str]:
    """JAX platforms that have at least one device here ("cpu" always)."""
    import jax

    found = []
    for name in PLATFORMS:
        try:
            if jax.devices(name):
                found.append(name)
        except RuntimeError:
            pass
    return found


def select_platform(requested: str | None):
    """The JAX device to time on: `requested` (cpu|gpu|tpu) or the best available (tpu > gpu > cpu).

    Raises:
        ParameterError: unknown name, or no device of that platform (the message lists what exists).
    """
    if requested is not None and requested not in PLATFORMS:
        raise ParameterError(f"--platform must be one of {', '.join(PLATFORMS)}, got {requested!r}")
    import jax

    available = available_platforms()
    if requested is None:
        requested = next(p for p in ("tpu", "gpu", "cpu") if p in available)
    if requested not in available:
        raise ParameterError(f"--platform {requested}: JAX has no {requested} device on this machine "
                             f"(available: {', '.join(available)}); install the matching jax plugin or pick "
                             f"--platform {available[0]}")
    return jax.devices(requested)[0]


def percentiles(us: np.ndarray, hop_us: float) -> dict:
    p50, p99 = np.percentile(us, [50, 99])
    return {
        "hops": int(us.size),
        "mean_us": round(float(us.mean()), 1),
        "p50_us": round(float(p50), 1),
        "p99_us": round(float(p99), 1),
        "max_us": round(float(us.max()), 1),
        "realtime_factor": round(float(p50) / hop_us, 4),
        "p99_pct_of_hop": round(100.0 * float(p99) / hop_us, 1),
    }


def count_params(weights) -> int:
    import jax

    return int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(weights)))


def step_times_us(processor, hops: int, warmup: int = 100, paced: bool = False) -> np.ndarray:
    """[hops] wall time in us of `process_hop` calls on varied input (noise bursts, silence).

    Back to back by default (the usual figure, comparable across machines). `paced`: one call per hop
    duration, sleeping in between as the live worker waits for its next hop. On some machines (sessions
    7-8's 2 GHz EPYC VM) a call after a pause costs 2-3x a back-to-back one: caches and branch predictors
    have gone cold, and that, not the back-to-back figure, is what the live stream pays.
    """
    rng = np.random.default_rng(0)
    inputs = (rng.standard_normal((64, processor.hop)) * rng.uniform(0, 0.3, (64, 1))).astype(np.float32)
    inputs[::8] = 0.0
    processor.prepare(warmup_hops=warmup)
    times = np.empty(hops, np.float64)
    clock = time.perf_counter
    period = processor.hop / processor.samplerate if paced else 0.0
    deadline = clock()
    for i in range(hops):
        x = inputs[i & 63]
        if paced:
            deadline += period
            wait = deadline - clock()
            if wait > 0:
                time.sleep(wait)
        started = clock()
        processor.process_hop(x)
        times[i] = clock() - started
    processor.reset()
    return times * 1e6


def bench_step(processor, hops: int, warmup: int = 100, keep_times: bool = False, paced: bool = False) -> dict:
    """Time `hops` `process_hop` calls (back to back, or `paced` at the hop rate); percentiles (and the raw
    times if `keep_times`)."""
    us = step_times_us(processor, hops, warmup, paced)
    result = percentiles(us, 1e6 * processor.hop / processor.samplerate)
    if keep_times:
        result["times_us"] = us
    return result


def bench_engine(processor, hops: int, blocksize: int, runs: int = 3) -> dict:
    """Whole-engine cost per hop: `emulate_stream` over `hops` hops of noise in `blocksize`-frame blocks."""
    from rtmusic.engine import state as S
    from rtmusic.engine.emulate import emulate_stream

    prefill = processor.hop + blocksize + 48
    signal = (0.1 * np.random.default_rng(1).standard_normal(hops * processor.hop)).astype(np.float32)
    emulate_stream(processor, signal[: 64 * processor.hop], [blocksize], prefill)  # compile / warm up
    per_hop = []
    for _ in range(runs):
        started = time.perf_counter()
        _, state = emulate_stream(processor, signal, [blocksize], prefill)
        elapsed = time.perf_counter() - started
        per_hop.append(1e6 * elapsed / int(state.ctl[S.HOPS_DONE]))
        counters = state.counters()
    hop_us = 1e6 * processor.hop / processor.samplerate
    best, median = min(per_hop), float(np.median(per_hop))
    return {
        "blocksize": blocksize,
        "hops": counters["hops"],
        "callbacks": counters["callbacks"],
        "runs": runs,
        "best_us_per_hop": round(best, 1),
        "median_us_per_hop": round(median, 1),
        "realtime_factor": round(median / hop_us, 4),
        "deadline_misses": counters["deadline_misses"],
    }


def bench_callback(hop: int, blocksize: int, blocks: int = 5000) -> dict:
    """The callback body alone (`run_block`, called from Python as the emulation does), per host block.

    No worker runs, so every sample takes the dry path: the callback's most expensive branch. The
    figure includes the Python-to-Numba call (a few us) that the compiled C callback does not pay.
    """
    from rtmusic.engine import state as S
    from rtmusic.engine.callback import run_block

    state = S.EngineState.create(hop=hop, prefill=hop + blocksize, step_delay=hop, max_block=blocksize)
    inp = (0.1 * np.random.default_rng(2).standard_normal((blocksize, 1))).astype(np.float32)
    out = np.zeros((blocksize, 2), np.float32)
    for _ in range(100):
        run_block(state, inp, out)
    times = np.empty(blocks, np.float64)
    clock = time.perf_counter
    for i in range(blocks):
        started = clock()
        run_block(state, inp, out)
        times[i] = clock() - started
    us = times * 1e6
    p50, p99 = np.percentile(us, [50, 99])
    return {"blocksize": blocksize, "blocks": blocks, "p50_us": round(float(p50), 2),
            "p99_us": round(float(p99), 2), "max_us": round(float(us.max()), 1),
            "p50_pct_of_block": round(100.0 * float(p50) / (1e6 * blocksize / 48000), 3)}


def measure_model(name: str, task: str = "denoise", *, hops: int, engine_hops: int | None, blocksize: int,
                  engine_runs: int, device=None, keep_times: bool = False, say=None) -> dict:
    """Conventions, step and (optionally) engine figures of one model for one task ("denoise", ...)."""
    import jax

    from rtmusic.bench.conventions import model_conventions
    from rtmusic.processor import Processor, model_for_tasks

    say = say or (lambda text: None)
    say(f"{name} [{task}]: loading ...")
    model = model_for_tasks(task, name)
    device = device or jax.devices()[0]
    with jax.default_device(device):
        processor = Processor(model)
        say(f"{name} [{task}]: compiling and timing {hops} hops on {device.platform} ...")
        step = bench_step(processor, hops, keep_times=keep_times)
        engine = None
        if engine_hops:
            say(f"{name} [{task}]: whole engine, {engine_hops} hops in {blocksize}-frame blocks ...")
            engine = bench_engine(processor, engine_hops, blocksize, runs=engine_runs)
    return {
        "model_name": model.name,
        "task": task,
        "kind": model.kind,
        "device": device.platform,
        "samplerate": model.samplerate,
        "hop": model.hop,
        "hop_us": round(1e6 * model.hop / model.samplerate, 1),
        "window": model.window,
        "lookahead": model.lookahead,
        "delay": model.delay,  # step-level lag of the output, samples (what offline scoring compensates)
        "conventions": model_conventions(model).as_dict(),
        "parameters": count_params(model.weights),
        "config": model.config,
        "step": step,
        "engine": engine,
    }
