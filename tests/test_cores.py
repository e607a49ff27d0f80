"""`--cpu-core`: resolving the request, pinning a thread and giving its cores back, the worker pinning itself.

The live placement of JAX's threads is tested through JACK in test_live_jack.py.
"""

from __future__ import annotations

import os
import threading

import pytest

from rtmusic.engine import state as S
from rtmusic.engine.cores import (pin_thread, realtime_permitted, resolve_core, restore_thread_cores, thread_core,
                                  usable_cores)
from rtmusic.engine.worker import Worker
from rtmusic.errors import ParameterError
from rtmusic.processor import Processor, load_model


def in_thread(fn):
    """fn() run on a fresh thread (pinning must not leak into the test runner's own thread)."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join(10)
    return result[0]


def test_resolve_core_accepts_numbers_auto_and_none():
    cores = usable_cores()
    assert resolve_core(None) is None and resolve_core("none") is None and resolve_core("NONE") is None
    assert resolve_core(str(cores[0])) == cores[0] and resolve_core(cores[0]) == cores[0]


def test_auto_pins_only_with_several_cores_and_real_time_priority():
    cores = usable_cores()
    assert resolve_core("auto") == (cores[-1] if len(cores) > 1 and realtime_permitted() else None)

    def auto_on_one_core():
        pin_thread(cores[0])
        return resolve_core("auto")

    assert in_thread(auto_on_one_core) is None  # one core: nothing to choose, nothing to gain


@pytest.mark.parametrize("bad, message", [("fast", "a core number, auto"), ("-1", "may run on cores"),
                                          (str(os.cpu_count() + 8), "may run on cores")])
def test_resolve_core_rejects_what_cannot_be_pinned_and_says_which_cores_can(bad, message):
    with pytest.raises(ParameterError, match=message):
        resolve_core(bad)


def test_pin_thread_pins_only_the_calling_thread_and_restores_it():
    before = set(os.sched_getaffinity(0))
    core = usable_cores()[-1]

    def pin_and_restore():
        previous = pin_thread(core)
        pinned, seen = thread_core(), set(os.sched_getaffinity(0))
        child = in_thread(thread_core)  # a thread started now inherits the pin (as JAX's threads do)
        restore_thread_cores(previous)
        return previous, pinned, seen, child, set(os.sched_getaffinity(0))

    previous, pinned, seen, child, after = in_thread(pin_and_restore)
    assert previous == before and pinned == core and seen == {core} and child == core and after == before
    assert set(os.sched_getaffinity(0)) == before  # the test's own thread was never touched
    assert pin_thread(None) is None  # "none": nothing changes
    assert set(os.sched_getaffinity(0)) == before


def test_worker_pins_itself_to_its_core():
    proc = Processor(load_model("bypass")).prepare(warmup_hops=2)
    core = usable_cores()[-1]
    for requested, expected in ((core, core), (None, thread_core())):
        state = S.EngineState.create(hop=proc.hop, prefill=proc.hop, step_delay=proc.hop)
        worker = Worker(proc, state, core=requested)
        worker.start()
        try:
            for _ in range(200):
                if worker.native_id is not None and worker.pinned_core == expected:
                    break
                threading.Event().wait(0.01)
            assert worker.pinned_core == expected
            assert set(os.sched_getaffinity(worker.native_id)) == ({core} if requested is not None
                                                                   else set(usable_cores()))
        finally:
            worker.stop()
