"""Everything the audio callback touches, preallocated before the stream starts.

One int64 control array holds the ring counters, the counters the callback keeps, and the engine's fixed
settings; float buffers hold samples. Each slot of `ctl` has exactly one writer (noted below), which is
what makes the engine lock-free. `addresses` packs the buffers' addresses for the compiled C callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rtmusic.engine.ring import ring_capacity

# --- ctl slots -------------------------------------------------------------------------------------------
# ring counters (absolute sample positions)
IN_W = 0  # callback: input samples written
IN_R = 1  # worker: input samples consumed
OUT_POS = 2  # callback: output samples emitted (equals IN_W after every callback)
REC_W = 3  # callback: processed-output samples written to the recording ring
REC_R = 4  # recorder thread
RECIN_W = 5  # callback: raw-input samples written to the input-recording ring
RECIN_R = 6  # recorder thread
# callback counters
CALLBACKS = 7
FRAMES_MIN = 8
FRAMES_MAX = 9
XRUNS = 10  # callbacks with any PortAudio over/underflow flag
FLAG_INPUT_UNDERFLOW = 11
FLAG_INPUT_OVERFLOW = 12
FLAG_OUTPUT_UNDERFLOW = 13
FLAG_OUTPUT_OVERFLOW = 14
DEADLINE_MISSES = 15  # hops whose result was not ready when the callback needed it
LAST_MISSED_HOP = 16
DRY_BLOCKS = 17  # callbacks that emitted any delay-aligned dry samples (engine output underflow)
INPUT_OVERFLOWS = 18  # callbacks that overwrote input the worker had not read
REC_DROPPED = 19  # recording samples dropped because the recorder fell behind
TIMES_W = 20  # callback timestamps written
# worker counters
SKIPPED_HOPS = 21  # hops the worker skipped to catch up after a long stall
HOPS_DONE = 22
NONFINITE_RESETS = 23
# fixed settings (written once before start)
PREFILL = 24  # zeros emitted before the first processed sample: declared latency
TOTAL_DELAY = 25  # prefill + step delay: output[t] = f(input[t - TOTAL_DELAY])
HOP = 26
NSLOTS = 27
IN_CHANNEL = 28
RECORD = 29
RECORD_INPUT = 30
CALLBACK_MAX_NS = 31  # callback: longest time spent inside the compiled callback (ns)
N_CTL = 32

# PortAudio status flags
PA_INPUT_UNDERFLOW = 1
PA_INPUT_OVERFLOW = 2
PA_OUTPUT_UNDERFLOW = 4
PA_OUTPUT_OVERFLOW = 8

TIMES_CAPACITY = 1 << 14  # callback timestamps kept (about 44 s at 128-frame periods)


@dataclass
class EngineState:
    """The callback's whole world. Build with `EngineState.create`; never reallocate while streaming."""

    ctl: np.ndarray  # [N_CTL] int64
    in_buf: np.ndarray  # [in_capacity] float32 input ring (also the dry path's delay line)
    out_buf: np.ndarray  # [nslots * hop] float32 processed hops, slot = hop index % nslots
    stamps: np.ndarray  # [nslots] int64 hop index held by each slot (-1 = none)
    rec_buf: np.ndarray  # [rec_capacity] float32 processed output for --record
    recin_buf: np.ndarray  # [rec_capacity] float32 raw input for --record-input
    levels: np.ndarray  # [2] float32 decaying peak of input and output, for meters
    times: np.ndarray  # [TIMES_CAPACITY] float64 CLOCK_MONOTONIC seconds at each callback's entry
    clock_scratch: np.ndarray  # [2] int64 struct timespec the C callback reads the clock into
    addresses: np.ndarray = field(default=None)  # [8] int64 buffer addresses for the C callback

    @classmethod
    def create(cls, *, hop: int, prefill: int, step_delay: int, max_block: int = 8192,
               record: bool = False, record_input: bool = False, input_channel: int = 0,
               record_seconds: float = 20.0, samplerate: int = 48000) -> "EngineState":
        total_delay = prefill + step_delay
        in_capacity = ring_capacity(max(total_delay + 4 * max_block, samplerate))
        nslots = max(64, 2 * (prefill + max_block) // hop + 8)
        rec_capacity = ring_capacity(int(record_seconds * samplerate)) if (record or record_input) else 1
        ctl = np.zeros(N_CTL, np.int64)
        ctl[FRAMES_MIN] = np.iinfo(np.int64).max
        ctl[LAST_MISSED_HOP] = -1
        ctl[PREFILL] = prefill
        ctl[TOTAL_DELAY] = total_delay
        ctl[HOP] = hop
        ctl[NSLOTS] = nslots
        ctl[IN_CHANNEL] = input_channel
        ctl[RECORD] = int(record)
        ctl[RECORD_INPUT] = int(record_input)
        state = cls(
            ctl=ctl,
            in_buf=np.zeros(in_capacity, np.float32),
            out_buf=np.zeros(nslots * hop, np.float32),
            stamps=np.full(nslots, -1, np.int64),
            rec_buf=np.zeros(rec_capacity, np.float32),
            recin_buf=np.zeros(rec_capacity, np.float32),
            levels=np.zeros(2, np.float32),
            times=np.zeros(TIMES_CAPACITY, np.float64),
            clock_scratch=np.zeros(2, np.int64),
        )
        state.addresses = np.array(
            [a.ctypes.data for a in (state.ctl, state.in_buf, state.out_buf, state.stamps, state.rec_buf,
                                     state.recin_buf, state.levels, state.times)], np.int64)
        return state

    @property
    def max_block(self) -> int:
        """Largest host block the dry path can serve (input history beyond the total delay)."""
        return (self.in_buf.shape[0] - int(self.ctl[TOTAL_DELAY])) // 4

    def counters(self) -> dict[str, int]:
        """A snapshot of the counters (values may be one callback apart from each other)."""
        c = self.ctl.copy()
        return {
            "callbacks": int(c[CALLBACKS]),
            "frames_min": int(c[FRAMES_MIN]) if c[CALLBACKS] else 0,
            "frames_max": int(c[FRAMES_MAX]),
            "xruns": int(c[XRUNS]),
            "input_underflow_flags": int(c[FLAG_INPUT_UNDERFLOW]),
            "input_overflow_flags": int(c[FLAG_INPUT_OVERFLOW]),
            "output_underflow_flags": int(c[FLAG_OUTPUT_UNDERFLOW]),
            "output_overflow_flags": int(c[FLAG_OUTPUT_OVERFLOW]),
            "deadline_misses": int(c[DEADLINE_MISSES]),
            "output_underflows": int(c[DRY_BLOCKS]),
            "input_overflows": int(c[INPUT_OVERFLOWS]),
            "skipped_hops": int(c[SKIPPED_HOPS]),
            "hops": int(c[HOPS_DONE]),
            "nonfinite_resets": int(c[NONFINITE_RESETS]),
            "recording_dropped": int(c[REC_DROPPED]),
            "callback_max_us": round(int(c[CALLBACK_MAX_NS]) / 1000.0, 1),
        }

    def callback_times(self) -> np.ndarray:
        """CLOCK_MONOTONIC entry times of the most recent callbacks (oldest first), seconds."""
        n = int(self.ctl[TIMES_W])
        cap = self.times.shape[0]
        if n <= cap:
            return self.times[:n].copy()
        start = n % cap
        return np.concatenate([self.times[start:], self.times[:start]])
