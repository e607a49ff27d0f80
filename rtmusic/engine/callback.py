"""The audio callback: copy input in, copy output out, count. Nothing else.

`process_block` is the whole callback body, a Numba function on preallocated arrays. `c_callback` wraps it
as a C function with PortAudio's `PaStreamCallback` signature, so PortAudio's audio thread runs compiled
code that never takes the GIL: a worker running Python or JAX cannot delay it. Tests and the offline
emulation call `process_block` directly with NumPy arrays: same code, no audio device.

Output rule, per sample at output position m (input and output positions advance together):
  - m < PREFILL: silence (the declared pre-fill latency);
  - otherwise the processed sample of hop k = (m - PREFILL) // HOP if the worker has stamped that hop;
  - else the delay-aligned dry input input[m - TOTAL_DELAY] (a deadline miss, counted once per hop).
Either way output[m] depends on input[m - TOTAL_DELAY]: a late hop never shifts the timeline.
"""

from __future__ import annotations

import ctypes
import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from rtmusic.engine import state as S

_CLIP = 8.0


@numba.njit(cache=True, nogil=True)
def process_block(inp, has_input, out, frames, status, now, ctl, in_buf, out_buf, stamps,
                  rec_buf, recin_buf, levels, times, samplerate):  # RT-SAFE: no allocation, locks or I/O
    """One host block. inp: [frames, in_channels] float32; out: [frames, out_channels] float32."""
    callbacks = ctl[S.CALLBACKS]
    ctl[S.CALLBACKS] = callbacks + 1
    if frames < ctl[S.FRAMES_MIN]:
        ctl[S.FRAMES_MIN] = frames
    if frames > ctl[S.FRAMES_MAX]:
        ctl[S.FRAMES_MAX] = frames
    if status & (S.PA_INPUT_UNDERFLOW | S.PA_INPUT_OVERFLOW | S.PA_OUTPUT_UNDERFLOW | S.PA_OUTPUT_OVERFLOW):
        ctl[S.XRUNS] += 1
        if status & S.PA_INPUT_UNDERFLOW:
            ctl[S.FLAG_INPUT_UNDERFLOW] += 1
        if status & S.PA_INPUT_OVERFLOW:
            ctl[S.FLAG_INPUT_OVERFLOW] += 1
        if status & S.PA_OUTPUT_UNDERFLOW:
            ctl[S.FLAG_OUTPUT_UNDERFLOW] += 1
        if status & S.PA_OUTPUT_OVERFLOW:
            ctl[S.FLAG_OUTPUT_OVERFLOW] += 1
    times[callbacks & (times.shape[0] - 1)] = now
    ctl[S.TIMES_W] = callbacks + 1

    # ---- input: sanitise into the input ring (the worker's source and the dry path's delay line)
    in_mask = in_buf.shape[0] - 1
    written = ctl[S.IN_W]
    if written + frames - ctl[S.IN_R] > in_buf.shape[0]:
        ctl[S.INPUT_OVERFLOWS] += 1
    channel = ctl[S.IN_CHANNEL]
    record_input = ctl[S.RECORD_INPUT] != 0
    recin_mask = recin_buf.shape[0] - 1
    recin_w = ctl[S.RECIN_W]
    recin_room = recin_buf.shape[0] - (recin_w - ctl[S.RECIN_R])
    peak_in = 0.0
    for i in range(frames):
        x = inp[i, channel] if has_input else 0.0
        if record_input and i < recin_room:
            recin_buf[(recin_w + i) & recin_mask] = x
        if not math.isfinite(x):
            x = 0.0
        elif x > _CLIP:
            x = _CLIP
        elif x < -_CLIP:
            x = -_CLIP
        in_buf[(written + i) & in_mask] = x
        if abs(x) > peak_in:
            peak_in = abs(x)
    if record_input:
        if frames > recin_room:
            ctl[S.REC_DROPPED] += frames - recin_room
            ctl[S.RECIN_W] = recin_w + recin_room
        else:
            ctl[S.RECIN_W] = recin_w + frames
    ctl[S.IN_W] = written + frames

    # ---- output: processed hop if stamped, else delay-aligned dry input
    position = ctl[S.OUT_POS]
    prefill = ctl[S.PREFILL]
    total_delay = ctl[S.TOTAL_DELAY]
    hop = ctl[S.HOP]
    nslots = ctl[S.NSLOTS]
    span = nslots * hop
    out_channels = out.shape[1]
    record = ctl[S.RECORD] != 0
    rec_mask = rec_buf.shape[0] - 1
    rec_w = ctl[S.REC_W]
    rec_room = rec_buf.shape[0] - (rec_w - ctl[S.REC_R])
    used_dry = False
    peak_out = 0.0
    for i in range(frames):
        m = position + i
        s = m - prefill
        y = np.float32(0.0)
        if s >= 0:
            k = s // hop
            if stamps[k % nslots] == k:
                y = out_buf[s % span]
            else:
                d = m - total_delay
                if d >= 0:
                    y = in_buf[d & in_mask]
                used_dry = True
                if k != ctl[S.LAST_MISSED_HOP]:
                    ctl[S.DEADLINE_MISSES] += 1
                    ctl[S.LAST_MISSED_HOP] = k
        for c in range(out_channels):
            out[i, c] = y
        if record and i < rec_room:
            rec_buf[(rec_w + i) & rec_mask] = y
        if abs(y) > peak_out:
            peak_out = abs(y)
    if record:
        if frames > rec_room:
            ctl[S.REC_DROPPED] += frames - rec_room
            ctl[S.REC_W] = rec_w + rec_room
        else:
            ctl[S.REC_W] = rec_w + frames
    ctl[S.OUT_POS] = position + frames
    if used_dry:
        ctl[S.DRY_BLOCKS] += 1

    # ---- meters: decaying peaks (about 300 ms)
    decay = math.exp(-frames / (0.3 * samplerate))
    levels[0] = max(peak_in, levels[0] * decay)
    levels[1] = max(peak_out, levels[1] * decay)


def _pointer_intrinsic(element_type):
    ptr_type = types.CPointer(element_type)

    @intrinsic
    def as_pointer(typingctx, address):
        sig = ptr_type(types.intp)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr_type))

        return sig, codegen

    return as_pointer


@intrinsic
def _void_ptr(typingctx, address):
    sig = types.voidptr(types.intp)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return sig, codegen


_clock_gettime = ctypes.CDLL(None, use_errno=False).clock_gettime
_clock_gettime.argtypes = [ctypes.c_int, ctypes.c_void_p]
_clock_gettime.restype = ctypes.c_int
_CLOCK_MONOTONIC = 1

_i64_ptr = _pointer_intrinsic(types.int64)
_f32_ptr = _pointer_intrinsic(types.float32)
_f64_ptr = _pointer_intrinsic(types.float64)

# int PaStreamCallback(const void *input, void *output, unsigned long frameCount,
#                      const PaStreamCallbackTimeInfo *timeInfo, PaStreamCallbackFlags statusFlags, void *userData)
# Pointers are taken as integers (same ABI on 64-bit) so NULL input can be tested.
_SIGNATURE = types.int32(types.intp, types.intp, types.uint64, types.intp, types.uint64, types.intp)
N_ADDRESSES = 8
META_SIZE = 17  # addresses, channel counts, capacities, rate, clock scratch: see `callback_userdata`


@numba.cfunc(_SIGNATURE, nopython=True)  # not cacheable: it calls clock_gettime through ctypes
def c_callback(input_ptr, output_ptr, frame_count, time_info, status_flags, user_data):  # RT-SAFE
    meta = numba.carray(_i64_ptr(user_data), META_SIZE)
    clock = numba.carray(_i64_ptr(meta[16]), 2)
    _clock_gettime(_CLOCK_MONOTONIC, _void_ptr(meta[16]))
    entered_ns = clock[0] * 1_000_000_000 + clock[1]
    ctl = numba.carray(_i64_ptr(meta[0]), S.N_CTL)
    in_channels = meta[8]
    out_channels = meta[9]
    frames = np.int64(frame_count)
    in_buf = numba.carray(_f32_ptr(meta[1]), meta[10])
    out_buf = numba.carray(_f32_ptr(meta[2]), meta[11])
    stamps = numba.carray(_i64_ptr(meta[3]), meta[12])
    rec_buf = numba.carray(_f32_ptr(meta[4]), meta[13])
    recin_buf = numba.carray(_f32_ptr(meta[5]), meta[13])
    levels = numba.carray(_f32_ptr(meta[6]), 2)
    times = numba.carray(_f64_ptr(meta[7]), meta[14])
    samplerate = meta[15]
    out = numba.carray(_f32_ptr(output_ptr), (frames, out_channels))
    has_input = input_ptr != 0
    if has_input:
        inp = numba.carray(_f32_ptr(input_ptr), (frames, in_channels))
    else:
        inp = numba.carray(_f32_ptr(output_ptr), (frames, out_channels))  # unread placeholder
    process_block(inp, has_input, out, frames, np.int64(status_flags), entered_ns * 1e-9, ctl, in_buf, out_buf,
                  stamps, rec_buf, recin_buf, levels, times, samplerate)
    _clock_gettime(_CLOCK_MONOTONIC, _void_ptr(meta[16]))
    spent = clock[0] * 1_000_000_000 + clock[1] - entered_ns
    if spent > ctl[S.CALLBACK_MAX_NS]:
        ctl[S.CALLBACK_MAX_NS] = spent
    return 0  # paContinue


def callback_userdata(state: S.EngineState, in_channels: int, out_channels: int, samplerate: int) -> np.ndarray:
    """The int64 block the C callback receives as userData: addresses, channel counts, capacities."""
    meta = np.zeros(META_SIZE, np.int64)
    meta[:N_ADDRESSES] = state.addresses
    meta[8] = in_channels
    meta[9] = out_channels
    meta[10] = state.in_buf.shape[0]
    meta[11] = state.out_buf.shape[0]
    meta[12] = state.stamps.shape[0]
    meta[13] = state.rec_buf.shape[0]
    meta[14] = state.times.shape[0]
    meta[15] = samplerate
    meta[16] = state.clock_scratch.ctypes.data
    return meta


def run_block(state: S.EngineState, inp: np.ndarray, out: np.ndarray, status: int = 0, now: float = 0.0,
              samplerate: int = 48000) -> None:
    """Call the callback body from Python (tests, offline emulation): inp [frames, ch], out [frames, ch]."""
    process_block(inp, True, out, inp.shape[0], status, now, state.ctl, state.in_buf, state.out_buf,
                  state.stamps, state.rec_buf, state.recin_buf, state.levels, state.times, samplerate)
