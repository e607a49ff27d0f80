"""The worker thread: owns the model state, waits for whole hops, runs the step, stamps the result.

It is the only reader of the input ring and the only writer of processed hops. It never talks to the
callback except through the rings and their counters, so a slow hop costs a counted deadline miss (the
callback plays the delay-aligned dry input) and never a stall of the audio thread.
"""

from __future__ import annotations

import threading
import time

import numba
import numpy as np

from rtmusic.engine import state as S
from rtmusic.engine.cores import pin_thread, request_realtime_priority, thread_core
from rtmusic.engine.ring import ring_load, ring_store
from rtmusic.processor import Processor

COMPUTE_LOG = 1 << 16  # per-hop compute times kept (about 5 minutes at 5 ms hops)
CATCH_UP_SECONDS = 0.25  # a backlog beyond this is skipped rather than processed late
AUX_RING = 512  # per-hop aux rows kept for readers such as the label display (2.56 s at 5 ms hops)
@numba.njit(cache=True, nogil=True)
def store_hop(out_buf, hop_index, hop_samples):
    """Write hop `hop_index` into its slot; the caller stamps it afterwards (publishes it)."""
    hop = hop_samples.shape[0]
    nslots = out_buf.shape[0] // hop
    base = (hop_index % nslots) * hop
    for i in range(hop):
        out_buf[base + i] = hop_samples[i]


class Worker(threading.Thread):
    """Runs `processor` on every hop the callback delivers. Keeps its exception in `.error`."""

    def __init__(self, processor: Processor, state: S.EngineState, *, stall: tuple[float, float] | None = None,
                 core: int | None = None):
        super().__init__(name="rtmusic-worker", daemon=True)
        self.core = core  # pin this thread to that core when it starts (see rtmusic.engine.cores); None: do not
        self.processor = processor
        self.state = state
        self.hop = processor.hop
        self._hop_in = np.zeros(self.hop, np.float32)
        self.compute_us = np.zeros(COMPUTE_LOG, np.float32)  # ring of per-hop step times
        self.aux_latest = np.zeros(max(len(processor.model.aux_names), 1), np.float32)
        # Every hop's aux, for other threads (single writer: this worker; no locks): row i % AUX_RING holds
        # the i-th row written, `aux_count` [1] counts rows and is advanced after the row is complete.
        self.aux_rows = np.zeros((AUX_RING, max(len(processor.model.aux_names), 1)), np.float32)
        self.aux_hops = np.full(AUX_RING, -1, np.int64)  # hop index (input position // hop) of each row
        self.aux_count = np.zeros(1, np.int64)
        self.error: BaseException | None = None
        self._stop_event = threading.Event()
        self._stall = stall  # (at_seconds, duration_seconds): test hook, provokes deadline misses
        self._catch_up = int(CATCH_UP_SECONDS * processor.samplerate)
        # after a skip, hops run but not published until the step's memories (analysis tail, delay line,
        # overlap-add tail, look-ahead: the step's delay) hold the input just before the next published hop
        self._prime_hops = -(-processor.model.delay // processor.hop)
        self._priming = 0
        self.realtime = False  # whether the OS granted real-time scheduling to this thread
        self.pinned_core: int | None = None  # the one core this thread runs on, once started (None: several)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def compute_times_us(self) -> np.ndarray:
        done = int(self.state.ctl[S.HOPS_DONE])
        return self.compute_us[: min(done, COMPUTE_LOG)].copy()

    def aux_since(self, since: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Aux rows written after the first `since` rows: (rows [k, n_aux], hop indices [k], new count).

        Safe from any thread while the worker runs: rows the worker may have overwritten during the copy are
        dropped (only if the reader fell more than AUX_RING hops behind).
        """
        count = int(self.aux_count[0])
        first = max(since, count - AUX_RING)
        index = np.arange(first, count)
        rows, hops = self.aux_rows[index % AUX_RING].copy(), self.aux_hops[index % AUX_RING].copy()
        keep = index > int(self.aux_count[0]) - AUX_RING  # the row being written now reuses slot count - AUX_RING
        return rows[keep], hops[keep], count

    def run(self) -> None:
        pin_thread(self.core)
        self.pinned_core = thread_core()
        self.realtime = request_realtime_priority()
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - kept for the main thread to re-raise
            self.error = exc

    def process_available(self) -> int:
        """Process every whole hop waiting in the input ring; returns how many (used by tests too)."""
        ctl, hop = self.state.ctl, self.hop
        done = 0
        while True:
            read = int(ctl[S.IN_R])
            backlog = int(ctl[S.IN_W]) - read
            if backlog > self._catch_up:
                skip = (backlog // hop - 1 - self._prime_hops) * hop
                ctl[S.SKIPPED_HOPS] += skip // hop + self._prime_hops
                ctl[S.IN_R] = read + skip
                self._priming = self._prime_hops
                continue
            if backlog < hop:
                return done
            ring_load(self.state.in_buf, read, self._hop_in)
            ctl[S.IN_R] = read + hop
            hop_index = read // hop
            started = time.perf_counter()
            result = self.processor.process_hop(self._hop_in)
            elapsed = time.perf_counter() - started
            if self._priming:  # its output follows stale memories: leave the callback's dry path
                self._priming -= 1
            else:
                store_hop(self.state.out_buf, hop_index, result.out)
                self.state.stamps[hop_index % self.state.stamps.shape[0]] = hop_index  # publish
            n = int(ctl[S.HOPS_DONE])
            self.compute_us[n % COMPUTE_LOG] = elapsed * 1e6
            if result.aux.size:
                self.aux_latest[: result.aux.size] = result.aux
                row = int(self.aux_count[0])
                self.aux_rows[row % AUX_RING, : result.aux.size] = result.aux
                self.aux_hops[row % AUX_RING] = hop_index
                self.aux_count[0] = row + 1  # publish
            if result.nonfinite_reset:
                ctl[S.NONFINITE_RESETS] += 1
            ctl[S.HOPS_DONE] = n + 1
            done += 1

    def _loop(self) -> None:
        ctl, hop, rate = self.state.ctl, self.hop, self.processor.samplerate
        started = time.monotonic()
        while not self._stop_event.is_set():
            if self._stall is not None and time.monotonic() - started >= self._stall[0]:
                time.sleep(self._stall[1])  # provoked stall (test hook)
                self._stall = None
            if self.process_available() == 0:
                missing = hop - (int(ctl[S.IN_W]) - int(ctl[S.IN_R]))
                time.sleep(min(max(missing, 1) / rate, 0.001))


def warm_up_engine_functions(hop: int) -> None:
    """Compile every Numba function of the audio path for the types it will see, before a stream starts."""
    from rtmusic.engine.callback import run_block

    state = S.EngineState.create(hop=hop, prefill=hop, step_delay=hop)
    block = np.zeros((hop, 1), np.float32)
    run_block(state, block, np.zeros((hop, 2), np.float32))
    run_block(state, block, np.zeros((hop, 1), np.float32))
    ring_load(state.in_buf, 0, np.zeros(hop, np.float32))
    ring_store(state.in_buf, 0, np.zeros(hop, np.float32))
    store_hop(state.out_buf, 0, np.zeros(hop, np.float32))
