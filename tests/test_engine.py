"""rtmusic.engine: the real callback body and worker, driven without a device.

The central property: for any host block size, the engine's output is the offline output delayed by the
declared total delay (pre-fill + step delay). A late hop is replaced by the delay-aligned dry input, never
by a shifted timeline.
"""

from __future__ import annotations

import numpy as np
import pytest

from rtmusic.engine import state as S
from rtmusic.engine.callback import run_block
from rtmusic.engine.emulate import emulate_stream
from rtmusic.engine.ring import ring_capacity, ring_load, ring_read, ring_store, ring_write
from rtmusic.engine.worker import Worker
from rtmusic.processor import Processor, load_model

HOP = 240
ODD_BLOCKS = (1, 7, 64, 65, 128, 480, 1000, 4096)
N = 2 * 48000 + 77  # every test uses this length, so the offline scan compiles once


@pytest.fixture(scope="module")
def bypass():
    return Processor(load_model("bypass")).prepare(warmup_hops=2)


@pytest.fixture(scope="module")
def lstm():
    return Processor(load_model("lstm-random")).prepare(warmup_hops=2)


@pytest.fixture(scope="module")
def signal():
    t = np.arange(N) / 48000
    tone = 0.3 * np.sin(2 * np.pi * 330 * t) * (t % 0.5 < 0.3)
    return (tone + 0.05 * np.random.default_rng(0).standard_normal(N)).astype(np.float32)


def _reference(proc: Processor, signal: np.ndarray, total_delay: int) -> np.ndarray:
    """What the engine must emit: silence for the pre-fill, then the step's output stream.

    That stream is the delay-compensated offline output preceded by the first `delay` samples the step
    emits before any input has come through (zero for bypass; for a mask model, the tail of the first
    frame, which offline processing trims).
    """
    delay = proc.delay_samples
    ref = np.zeros(signal.size + total_delay, np.float32)
    ref[total_delay:] = proc.process(signal).out
    proc.reset()
    ref[total_delay - delay:total_delay] = proc.process_hop(signal[:proc.hop]).out[:delay]
    return ref


def _random_blocks(seed: int, total: int) -> list[int]:
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(1, 4097)))
    return sizes


# ---- streaming equivalence ------------------------------------------------------------------------------

@pytest.mark.parametrize("blocks", ["cycle", "random"])
def test_bypass_stream_is_sample_exact(bypass, signal, blocks):
    sizes = ODD_BLOCKS if blocks == "cycle" else _random_blocks(1, N + 8192)
    out, state = emulate_stream(bypass, signal, sizes, prefill=HOP + 4096)
    total_delay = int(state.ctl[S.TOTAL_DELAY])
    assert total_delay == HOP + 4096 + bypass.delay_samples
    assert np.array_equal(out, _reference(bypass, signal, total_delay))
    assert np.array_equal(out[total_delay:], signal)  # and the reference is the input itself
    c = state.counters()
    assert c["deadline_misses"] == 0 and c["output_underflows"] == 0 and c["input_overflows"] == 0
    assert c["hops"] == (N + total_delay) // HOP  # every whole hop that came in was processed
    assert c["frames_max"] == max(sizes[: c["callbacks"]]) and c["frames_min"] >= 1


@pytest.mark.parametrize("blocks", ["cycle", "random"])
def test_lstm_stream_equals_offline(lstm, signal, blocks):
    sizes = ODD_BLOCKS if blocks == "cycle" else _random_blocks(2, N + 8192)
    out, state = emulate_stream(lstm, signal, sizes, prefill=HOP + 4096)
    total_delay = int(state.ctl[S.TOTAL_DELAY])
    ref = _reference(lstm, signal, total_delay)
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)
    assert np.max(np.abs(ref[total_delay:] - signal)) > 1e-3  # the model changes the signal
    assert state.counters()["deadline_misses"] == 0


def test_stereo_output_duplicates_the_processed_channel(bypass, signal):
    out, _ = emulate_stream(bypass, signal[:20000], (128, 333), prefill=HOP + 512, out_channels=2)
    assert out.shape == (20000 + HOP + 512 + bypass.delay_samples,)  # emulate returns channel 0
    state = S.EngineState.create(hop=HOP, prefill=HOP, step_delay=HOP)
    stereo = np.full((64, 2), np.nan, np.float32)
    run_block(state, signal[:64, None], stereo)
    assert np.array_equal(stereo[:, 0], stereo[:, 1]) and np.all(np.isfinite(stereo))


# ---- deadline misses ------------------------------------------------------------------------------------

def _drive(proc, signal, sizes, prefill, stalled=()):
    """emulate_stream with a worker that does not run after the blocks in `stalled` (a late worker).

    Returns (output, state, missed) where `missed` [total] marks samples whose hop was not stamped in time.
    """
    state = S.EngineState.create(hop=proc.hop, prefill=prefill, step_delay=proc.delay_samples,
                                 max_block=max(sizes))
    proc.reset()
    worker = Worker(proc, state)
    total_delay = int(state.ctl[S.TOTAL_DELAY])
    total = signal.size + total_delay
    padded = np.zeros(total, np.float32)
    padded[: signal.size] = signal
    out = np.zeros((total, 1), np.float32)
    missed = np.zeros(total, bool)
    pos, b = 0, 0
    while pos < total:
        n = min(sizes[b % len(sizes)], total - pos)
        done_before = int(state.ctl[S.IN_R]) // proc.hop  # hops stamped before this block
        m = np.arange(pos, pos + n)
        k = (m - prefill) // proc.hop
        missed[pos:pos + n] = (m >= prefill) & (k >= done_before)
        run_block(state, padded[pos:pos + n, None], out[pos:pos + n], samplerate=proc.samplerate)
        if b not in stalled:
            worker.process_available()
        pos += n
        b += 1
    return out[:, 0], state, missed


def _check_miss_semantics(proc, signal, out, state, missed, prefill):
    total_delay = int(state.ctl[S.TOTAL_DELAY])
    assert total_delay == prefill + proc.delay_samples  # the timeline never moves
    assert missed.any() and (~missed[prefill:]).any()
    # missed samples: the delay-aligned dry input, exactly
    dry = np.concatenate([np.zeros(total_delay, np.float32), signal])
    assert np.array_equal(out[missed], dry[missed])
    # every other sample: the processed output on the same, unchanged timeline
    ref = _reference(proc, signal, total_delay)
    np.testing.assert_allclose(out[~missed], ref[~missed], atol=1e-5, rtol=0)
    # misses are counted once per hop, and once per callback that used the dry path
    missed_hops = np.unique((np.flatnonzero(missed) - prefill) // proc.hop)
    c = state.counters()
    assert c["deadline_misses"] == missed_hops.size
    return ref


@pytest.mark.parametrize("block", [1000, 4096])
def test_prefill_too_small_plays_dry_input_on_time(lstm, signal, block):
    prefill = HOP  # a block larger than the pre-fill cannot be served by processed hops in time
    out, state, missed = _drive(lstm, signal, [block], prefill)
    ref = _check_miss_semantics(lstm, signal, out, state, missed, prefill)
    assert np.max(np.abs(out[missed] - ref[missed])) > 1e-3  # the dry path is really dry
    positions = np.arange(out.size)
    blocks_with_misses = np.unique(positions[missed] // block)
    assert state.counters()["output_underflows"] == blocks_with_misses.size


def test_stalled_worker_recovers_without_shifting_the_timeline(lstm, signal):
    prefill = HOP + 128 + 48
    out, state, missed = _drive(lstm, signal, [128], prefill, stalled=set(range(100, 140)))
    _check_miss_semantics(lstm, signal, out, state, missed, prefill)
    first, last = np.flatnonzero(missed)[[0, -1]]
    assert 100 * 128 <= first and last < 141 * 128 + prefill  # only around the stall
    assert state.counters()["skipped_hops"] == 0  # a short stall is caught up, not skipped


def test_long_stall_skips_hops_and_keeps_the_delay(bypass, signal):
    prefill = HOP + 128 + 48
    stall = set(range(50, 50 + 200))  # 200 * 128 samples = 0.53 s > the worker's 0.25 s catch-up limit
    out, state, missed = _drive(bypass, signal, [128], prefill, stalled=stall)
    c = state.counters()
    assert c["skipped_hops"] > 0 and c["deadline_misses"] > c["skipped_hops"]
    total_delay = int(state.ctl[S.TOTAL_DELAY])
    dry = np.concatenate([np.zeros(total_delay, np.float32), signal])
    # bypass == dry on the same timeline, before, during and after the skip: the worker does not publish
    # the hops that run on stale memories (delay line) right after it skipped ahead
    assert np.array_equal(out, dry)


# ---- rings and counters ---------------------------------------------------------------------------------

def test_ring_capacity_is_a_power_of_two():
    assert [ring_capacity(n) for n in (1, 2, 3, 8, 9, 48000)] == [2, 2, 4, 8, 16, 65536]


def test_ring_write_read_wrap_around():
    buf, ctl = np.zeros(8, np.float32), np.zeros(2, np.int64)
    data = np.arange(1, 31, dtype=np.float32)
    got, pos = [], 0
    for n in (5, 3, 6, 7, 2, 7):  # crosses the end of the buffer several times
        assert ring_write(buf, ctl, 0, 1, data[pos:pos + n]) == 0
        out = np.zeros(8, np.float32)
        k = ring_read(buf, ctl, 0, 1, out)
        assert k == n
        got.append(out[:k])
        pos += n
    assert np.array_equal(np.concatenate(got), data)
    assert ctl[0] == ctl[1] == 30  # absolute counters never wrap


def test_ring_overflow_is_accounted_not_overwritten():
    buf, ctl = np.zeros(8, np.float32), np.zeros(2, np.int64)
    assert ring_write(buf, ctl, 0, 1, np.arange(6, dtype=np.float32)) == 0
    assert ring_write(buf, ctl, 0, 1, np.arange(6, 11, dtype=np.float32)) == 3  # only 2 fit
    out = np.zeros(16, np.float32)
    assert ring_read(buf, ctl, 0, 1, out) == 8
    assert np.array_equal(out[:8], np.arange(8))  # the unread data was kept intact
    assert ring_read(buf, ctl, 0, 1, out) == 0  # empty ring reads nothing


def test_ring_store_load_at_absolute_positions():
    buf = np.zeros(16, np.float32)
    ring_store(buf, 1_000_000_013, np.arange(10, dtype=np.float32))
    out = np.zeros(10, np.float32)
    ring_load(buf, 1_000_000_013, out)
    assert np.array_equal(out, np.arange(10))
    assert buf[1_000_000_013 % 16] == 0 and buf[(1_000_000_013 + 9) % 16] == 9


def test_callback_counts_input_overflow_when_the_worker_is_gone(bypass):
    state = S.EngineState.create(hop=HOP, prefill=HOP + 4096, step_delay=HOP, max_block=4096)
    capacity = state.in_buf.shape[0]
    block = np.zeros((4096, 1), np.float32)
    out = np.zeros((4096, 1), np.float32)
    n_blocks = capacity // 4096 + 3
    for _ in range(n_blocks):
        run_block(state, block, out)
    assert state.counters()["input_overflows"] == 3
    worker = Worker(bypass, state)
    worker.process_available()  # a huge backlog is skipped, not processed late
    c = state.counters()
    assert c["skipped_hops"] > 0 and int(state.ctl[S.IN_W]) - int(state.ctl[S.IN_R]) < HOP


def test_status_flags_are_counted():
    state = S.EngineState.create(hop=HOP, prefill=HOP, step_delay=HOP)
    block, out = np.zeros((32, 1), np.float32), np.zeros((32, 1), np.float32)
    for status in (0, S.PA_INPUT_UNDERFLOW, S.PA_INPUT_OVERFLOW | S.PA_OUTPUT_UNDERFLOW, S.PA_OUTPUT_OVERFLOW,
                   S.PA_OUTPUT_UNDERFLOW, 16, 0):  # 16 = paPrimingOutput: not an xrun
        run_block(state, block, out, status=status, now=1.5)
    c = state.counters()
    assert c["callbacks"] == 7 and c["xruns"] == 4
    assert (c["input_underflow_flags"], c["input_overflow_flags"]) == (1, 1)
    assert (c["output_underflow_flags"], c["output_overflow_flags"]) == (2, 1)
    assert (c["frames_min"], c["frames_max"]) == (32, 32)
    assert int(state.ctl[S.TIMES_W]) == 7 and np.all(state.times[:7] == 1.5)


def test_block_sizes_are_tracked():
    state = S.EngineState.create(hop=HOP, prefill=HOP, step_delay=HOP)
    assert state.counters()["frames_min"] == 0  # no callback yet
    for n in (64, 7, 300):
        run_block(state, np.zeros((n, 1), np.float32), np.zeros((n, 1), np.float32))
    c = state.counters()
    assert (c["callbacks"], c["frames_min"], c["frames_max"]) == (3, 7, 300)
    assert int(state.ctl[S.IN_W]) == int(state.ctl[S.OUT_POS]) == 371


@pytest.mark.parametrize("model", ["bypass", "lstm"])
def test_nonfinite_input_in_the_callback_gives_finite_output(request, signal, model):
    proc = request.getfixturevalue(model)
    x = signal[:30000].copy()
    x[1000] = np.nan
    x[2000:2240] = np.inf
    x[5000] = -np.inf
    x[7000] = 1e30
    x[9000:9500] = np.nan
    out, state = emulate_stream(proc, x, (1, 64, 65, 480), prefill=HOP + 480)
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 16.0
    assert state.counters()["nonfinite_resets"] == 0  # the callback sanitised it before the model saw it
    if model == "bypass":  # sanitised: NaN/Inf -> 0, clipped to +-8, then exactly delayed
        clean = np.clip(np.where(np.isfinite(x), x, 0.0), -8.0, 8.0).astype(np.float32)
        total_delay = int(state.ctl[S.TOTAL_DELAY])
        assert np.array_equal(out[total_delay:], clean)
