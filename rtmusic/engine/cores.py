"""Which CPU core the live path runs on: the worker and JAX's runtime threads on one core, the rest free.

Measured on this project's 2-core VM (shipped denoiser, single-threaded XLA, idle machine), p50 of one
`Processor.process_hop`: 150-254 us unpinned, 166-213 us with only the calling thread pinned, 136 us with
every thread moved to one core at run time, 96 us with the process pinned before JAX loaded. XLA sizes its
thread pools from the CPU affinity it sees when it starts and hands work between its threads; pinned before
it loads, it starts fewer threads and none of them wakes up on another core. With this module, `python -m
bench.compute` times the 192-unit default at p50 / p99 103 / 193 us, against 160 / 283 us unpinned.

So the caller pins its own thread before the first JAX import (threads JAX starts inherit the mask),
compiles, then restores its mask, so the UI and the audio server's client thread stay free; the worker pins
itself to the same core when it starts (`CorePlacement`). JAX's threads still take a little of each step
(about 5 % of the CPU time, on its Eigen thread): pinned beside a busy process at normal priority, they made
the real-time worker wait for them (live hop p99 2-5 ms under `rtmusic bench`'s CPU stress on that core), so
they get the worker's real-time priority too.

`auto` (the default) pins only where it cannot hurt: with more than one core, and only if the worker may
run with real-time priority. A pinned worker without it could not move away from a busy neighbour.
"""

from __future__ import annotations

import os
import threading

from rtmusic.errors import ParameterError

CORE_CHOICES_HELP = ("a core number, auto (the last core, if there are several and real-time priority is "
                     "allowed) or none")
WORKER_RT_PRIORITY = 1  # SCHED_FIFO: above every normal process, below the audio server's threads


def request_realtime_priority(priority: int = WORKER_RT_PRIORITY) -> bool:
    """Ask Linux to run the *calling thread* with SCHED_FIFO; False where not permitted (no rtprio)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (AttributeError, PermissionError, OSError):
        return False


def realtime_permitted() -> bool:
    """Whether a thread of this process may take real-time priority (tried on a throwaway thread)."""
    granted: list[bool] = []
    probe = threading.Thread(target=lambda: granted.append(request_realtime_priority()), name="rtmusic-rt-probe")
    probe.start()
    probe.join()
    return bool(granted and granted[0])


def usable_cores() -> list[int]:
    """Cores this thread may run on (all of them where Linux affinity is unavailable)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def resolve_core(request: str | int | None) -> int | None:
    """The core for `--cpu-core`: an int, "auto" (the last usable core if pinning is safe, see above) or
    "none"/None (do not pin).

    Raises:
        ParameterError: not a core this process may use, or pinning is unsupported here.
    """
    if request is None or str(request).lower() == "none":
        return None
    if str(request).lower() == "auto":
        cores = usable_cores()
        safe = hasattr(os, "sched_setaffinity") and len(cores) > 1 and realtime_permitted()
        return cores[-1] if safe else None
    if not hasattr(os, "sched_setaffinity"):
        raise ParameterError("--cpu-core needs Linux CPU affinity (os.sched_setaffinity); use --cpu-core none")
    cores = usable_cores()
    try:
        core = int(request)
    except ValueError:
        raise ParameterError(f"--cpu-core must be {CORE_CHOICES_HELP}, got {request!r}") from None
    if core not in cores:
        raise ParameterError(f"--cpu-core {core}: this process may run on cores {', '.join(map(str, cores))} only")
    return core


def pin_thread(core: int | None) -> frozenset[int] | None:
    """Pin the calling thread to `core`; return its previous mask for `restore_thread_cores` (None: no-op)."""
    if core is None:
        return None
    previous = frozenset(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})  # pid 0: the calling thread only; threads it starts from now inherit it
    return previous


def restore_thread_cores(previous: frozenset[int] | None) -> None:
    """Undo `pin_thread` for the calling thread."""
    if previous is not None:
        os.sched_setaffinity(0, previous)


def thread_core() -> int | None:
    """The calling thread's core if it is pinned to exactly one, else None."""
    cores = usable_cores()
    return cores[0] if len(cores) == 1 else None


def thread_ids() -> set[int]:
    """Kernel ids of this process's threads (empty where /proc is unavailable)."""
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:
        return set()


class CorePlacement:
    """Threads started between `pin()` and `release()` (JAX's runtime threads) run on `core`, at the worker's
    real-time priority where allowed; the calling thread runs there only in between. `core` None: no-op."""

    def __init__(self, core: int | None):
        self.core = core
        self._before: set[int] = set()
        self._previous: frozenset[int] | None = None
        self.promoted = 0  # threads given real-time priority by `release`

    def pin(self) -> CorePlacement:
        if self.core is not None:
            self._before = thread_ids()
            self._previous = pin_thread(self.core)
        return self

    def release(self) -> None:
        if self._previous is None:
            return
        restore_thread_cores(self._previous)
        self._previous = None
        for tid in thread_ids() - self._before:
            try:
                os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(WORKER_RT_PRIORITY))
                self.promoted += 1
            except OSError:  # no rtprio, or the thread ended
                pass
