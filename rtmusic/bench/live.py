"""`rtmusic run` in a JACK loop: measured lag vs declared latency, xruns, deadline misses, drift, memory.

The process under test is a real ``python -m rtmusic run`` subprocess on the JACK ``system`` device, as a
user runs it. A `FarEnd` (created *before* it, so its ports are told apart) plays a periodic chirp into it
and records its output. The lag is measured by cross-correlation at the start and at the end of the take;
the reference run through a same-cycle `Passthrough` gives the JACK loop's own lag, so

    added latency = lag(rtmusic in the loop) - lag(passthrough)

which must equal rtmusic's declared engine latency (``latency.engine_samples`` in ``--stats-json``) to
the sample. Counters come from ``--stats-json`` at exit; their times from the status line rtmusic prints
every 5 s when stderr is not a terminal (so deadline-miss times have 5 s resolution: no per-event log is
added to the audio callback). JACK xruns are also timed exactly, by the far end's JACK xrun callback (the
server's xruns: every client's, not only rtmusic's). Resident memory is sampled from /proc/PID/status (VmRSS) once a second.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from rtmusic.bench.jackloop import FarEnd, JackBenchError, Passthrough, measure_lags

START_TIMEOUT_S = 120.0
STATUS = re.compile(r"misses (\d+) \| xruns (\d+) \| +([\d.]+) s")


def vm_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def passthrough_lag(server: str, seconds: float = 2.0) -> dict:
    """The JACK loop's own lag (far end -> same-cycle passthrough -> far end)."""
    with FarEnd(server) as far, Passthrough(server):
        far.connect(Passthrough.NAME)
        take = far.play(seconds)
        return {**measure_lags(take), "period": far.period}


class CpuStress:
    """Busy-loop subprocesses, one per core except the first (pinned with taskset when it exists)."""

    def __init__(self, processes: int | None = None) -> None:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
        others = cores[1:] or cores
        self.cores = others if processes is None else [others[i % len(others)] for i in range(processes)]
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> CpuStress:
        pin = shutil.which("taskset")
        for core in self.cores:
            cmd = [sys.executable, "-c", "while True: pass"]
            self.procs.append(subprocess.Popen(["taskset", "-c", str(core), *cmd] if pin else cmd,
                                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(5)


def rtmusic_in_loop(server: str, *, model: str = "default", task: str = "denoise", seconds: float = 3.0,
                    extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None, say=None,
                    during_take=None, after_first_status=None) -> dict:
    """Run ``rtmusic run`` on `server` with a far end in the loop for `seconds` of chirp; return the figures.

    `during_take`: a context manager entered once rtmusic runs and the loop is wired, left when the take
    ends (`CpuStress()`: the load covers the measured take, not rtmusic's start-up).
    `after_first_status`: a context manager entered when rtmusic prints its first status line (t = 5 s,
    with the counters so far) and left when the take ends: one run measures an unstressed phase (up to that
    line) and a stressed one (after it); `split_at_first_status` separates their counters exactly.
    """
    import contextlib

    say = say or (lambda text: None)
    workdir = tempfile.mkdtemp(prefix="rtmusic-bench-")
    stats_path = os.path.join(workdir, "stats.json")
    duration = seconds + 2.0  # the take starts after the far end wires itself in
    args = [sys.executable, "-m", "rtmusic", "run", "-i", "system", "-o", "system", "--model", model, "--task", task,
            "--duration", f"{duration:g}", "--stats-json", stats_path, *extra_args]
    env = {**os.environ, **(env or {}), "JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": server}
    lines: list[str] = []
    samples: list[dict] = []  # counters from the status lines, and VmRSS
    running = threading.Event()
    running_at: list[float] = []
    with FarEnd(server) as far:
        proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        started = time.monotonic()

        def read() -> None:
            for line in proc.stderr:
                line = line.rstrip("\n")
                lines.append(line)
                if line.startswith("rtmusic: running"):
                    running_at.append(time.monotonic())  # the origin of rtmusic's own elapsed time (+- 50 ms)
                    running.set()
                m = STATUS.search(line)
                if m:
                    samples.append({"t": float(m.group(3)), "deadline_misses": int(m.group(1)), "xruns": int(m.group(2))})
                    with phase_lock:
                        if after_first_status is not None and len(samples) == 1 and not take_done:
                            after_first_status.__enter__()
                            phase_started.append(time.monotonic() - started)

        phase_started: list[float] = []
        phase_lock = threading.Lock()
        take_done: list[bool] = []  # non-empty once the take ended: the second phase must not start after it

        def end_phase() -> None:
            with phase_lock:
                if not take_done:
                    take_done.append(True)
                    if phase_started:
                        after_first_status.__exit__(None, None, None)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        rss: list[tuple[float, int]] = []
        stop_rss = threading.Event()

        def sample_rss() -> None:
            while not stop_rss.wait(1.0):
                kib = vm_rss_kib(proc.pid)
                if kib is not None and running.is_set():
                    rss.append((round(time.monotonic() - started, 1), kib))

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        take_ended = None
        try:
            while not running.wait(0.1):
                if proc.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                    reader.join(2)
                    raise JackBenchError("rtmusic run did not start:\n" + "\n".join(lines[-15:]))
            say(f"rtmusic running ({time.monotonic() - started:.1f} s to start); playing {seconds:g} s of chirp ...")
            far.connect()
            take_started = time.monotonic() - started
            with during_take if during_take is not None else contextlib.nullcontext():
                take = far.play(seconds)
            take_ended = time.monotonic() - started
            end_phase()
            proc.wait(duration + 60)
        finally:
            end_phase()
            stop_rss.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            reader.join(5)
        if proc.returncode != 0:
            raise JackBenchError(f"rtmusic run exited with {proc.returncode}:\n" + "\n".join(lines[-15:]))
        period = far.period
        jack_xruns = [round(t - running_at[0], 3) for t in far.xrun_times]  # on rtmusic's clock (status lines)
    with open(stats_path) as f:
        stats = json.load(f)
    shutil.rmtree(workdir, ignore_errors=True)
    lags = measure_lags(take)
    lags["added_start"] = None if lags["start_lag"] is None else lags["start_lag"] - period  # minus the JACK loop
    lags["added_end"] = None if lags["end_lag"] is None else lags["end_lag"] - period
    return {"period": period, "model": stats["model"], "task": task, "seconds": seconds, "lags": lags,
            "latency": stats["latency"], "counters": stats["counters"], "compute_us": stats["compute_us"],
            "duration_s": stats["duration_s"], "status_samples": samples,
            "jack_xrun_times_s": jack_xruns,  # exact, from the far end's JACK xrun callback (whole server)
            "take_window_s": [round(take_started, 1), round(take_ended, 1)], "rss_kib": rss,
            "second_phase_started_s": round(phase_started[0], 2) if phase_started else None,
            **_rss_summary(rss, take_started, take_ended),
            "worker_realtime": stats.get("worker_realtime"), "compiled_after_start": stats.get("compiled_after_start")}


def split_at_first_status(run: dict) -> tuple[dict, dict]:
    """(phase 1, phase 2) counters of a run with `after_first_status`: up to the first status line, after it."""
    first = run["status_samples"][0] if run["status_samples"] else None
    if first is None:
        raise JackBenchError("rtmusic printed no status line: the run was shorter than 5 s")
    total = run["counters"]
    one = {"xruns": first["xruns"], "deadline_misses": first["deadline_misses"], "seconds": first["t"]}
    two = {"xruns": total["xruns"] - first["xruns"], "deadline_misses": total["deadline_misses"] - first["deadline_misses"],
           "seconds": round(run["duration_s"] - first["t"], 2)}
    return one, two


def _rss_summary(rss: list[tuple[float, int]], take_started: float, take_ended: float) -> dict:
    """Resident memory growth over the take: its last sample minus its first one, 1 s after it started
    (start-up allocations and the memory released at shutdown are not growth)."""
    during = [kib for t, kib in rss if take_started + 1.0 <= t <= take_ended]
    return {"rss_first_kib": during[0] if during else None, "rss_last_kib": during[-1] if during else None,
            "rss_max_kib": max(during) if during else None,
            "rss_growth_kib": during[-1] - during[0] if len(during) > 1 else None}


def added_latency(loop: dict, reference: dict) -> dict:
    """Measured added latency vs rtmusic's declared engine latency (samples and ms)."""
    measured = None if loop["lags"]["start_lag"] is None else loop["lags"]["start_lag"] - reference["start_lag"]
    declared = loop["latency"]["engine_samples"]
    return {"measured_added_samples": measured, "declared_engine_samples": declared,
            "measured_added_ms": None if measured is None else round(measured / 48.0, 3),
            "declared_engine_ms": round(declared / 48.0, 3), "match": measured == declared,
            "loop_lag_with_rtmusic": loop["lags"]["start_lag"], "loop_lag_passthrough": reference["start_lag"],
            "device_in_ms": loop["latency"]["device_in_ms"], "device_out_ms": loop["latency"]["device_out_ms"]}
