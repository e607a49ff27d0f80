"""Which CPU core the live path runs on: the worker and JAX's runtime threads on one core, the rest free.

Measured on this project's 2-core VM (shipped denoiser, single-threaded XLA, idle machine), p50 of one
`Processor.process_hop`: 150-254 us unpinned, 166-213 us with only the calling thread pinned, 136 us with
every thread moved to one core at run time, 96 us with the process pinned before JAX loaded. XLA sizes its
thread pools from the CPU affinity it sees when it starts and hands work between its threads; pinned before
it loads, it starts fewer threads and none of them wakes up on another core.

So the caller pins its own thread before the first JAX import (threads JAX starts inherit the mask),
compiles, then restores its mask (`restore_thread_cores`), so the UI and the audio server's client thread
stay free; the worker pins itself to the same core when it starts.

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
