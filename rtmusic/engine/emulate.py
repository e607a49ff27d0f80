"""Drive the live engine without an audio device: the real callback body and worker, a simulated clock.

Used to prove that live output equals offline output for any host block size, and to measure the whole
engine's cost per hop. The worker is run synchronously after every block ("always on time"), so the
result is deterministic.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from rtmusic.engine import state as S
from rtmusic.engine.callback import run_block
from rtmusic.engine.worker import Worker
from rtmusic.processor import Processor


def emulate_stream(processor: Processor, signal: np.ndarray, block_sizes: Iterable[int], prefill: int,
                   out_channels: int = 1) -> tuple[np.ndarray, S.EngineState]:
    """Stream mono `signal` through the engine in blocks cycling over `block_sizes`.

    Returns the output stream [len(signal) + total_delay] (so every input sample has come out) and the
    engine state (counters). Output[t] corresponds to signal[t - total_delay].
    """
    sizes = list(block_sizes)
    state = S.EngineState.create(hop=processor.hop, prefill=prefill, step_delay=processor.delay_samples,
                                 max_block=max(sizes))
    processor.reset()
    worker = Worker(processor, state)
    total = signal.shape[0] + int(state.ctl[S.TOTAL_DELAY])
    padded = np.zeros(total, np.float32)
    padded[: signal.shape[0]] = signal
    out = np.zeros((total, out_channels), np.float32)
    pos, i = 0, 0
    while pos < total:
        n = min(sizes[i % len(sizes)], total - pos)
        i += 1
        run_block(state, padded[pos:pos + n, None], out[pos:pos + n], samplerate=processor.samplerate)
        worker.process_available()
        pos += n
    return out[:, 0], state
