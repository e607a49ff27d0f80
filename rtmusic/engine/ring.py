"""Single-producer/single-consumer sample rings, compiled with Numba.

A ring is a preallocated float32 buffer whose length is a power of two plus two monotonically increasing
int64 counters (total samples written, total samples read) kept in a shared control array. Only the
producer stores the write counter and only the consumer stores the read counter, and each side publishes
its counter *after* touching the samples, so no lock is needed. Counters never wrap (int64 at 48 kHz
lasts six million years), and positions are absolute: slot = position & (capacity - 1).
"""

from __future__ import annotations

import numba
import numpy as np


def ring_capacity(min_samples: int) -> int:
    """Smallest power of two >= min_samples."""
    return 1 << max(int(min_samples - 1).bit_length(), 1)


@numba.njit(cache=True, nogil=True)
def ring_store(buf, position, data):  # RT-SAFE: no allocation, no Python objects
    """Copy `data` into `buf` starting at absolute `position` (the caller publishes the counter)."""
    mask = buf.shape[0] - 1
    for i in range(data.shape[0]):
        buf[(position + i) & mask] = data[i]


@numba.njit(cache=True, nogil=True)
def ring_load(buf, position, out):  # RT-SAFE
    """Copy `out.shape[0]` samples from absolute `position` of `buf` into `out`."""
    mask = buf.shape[0] - 1
    for i in range(out.shape[0]):
        out[i] = buf[(position + i) & mask]


@numba.njit(cache=True, nogil=True)
def ring_write(buf, ctl, write_index, read_index, data):  # RT-SAFE
    """Producer side: append `data` if it fits; returns the number of samples dropped (0 when it fits)."""
    capacity = buf.shape[0]
    written = ctl[write_index]
    free = capacity - (written - ctl[read_index])
    n = data.shape[0]
    take = n if n <= free else free
    mask = capacity - 1
    for i in range(take):
        buf[(written + i) & mask] = data[i]
    ctl[write_index] = written + take
    return n - take


@numba.njit(cache=True, nogil=True)
def ring_read(buf, ctl, write_index, read_index, out):
    """Consumer side: read up to out.shape[0] samples; returns how many were read."""
    capacity = buf.shape[0]
    read = ctl[read_index]
    available = ctl[write_index] - read
    n = out.shape[0] if out.shape[0] <= available else available
    mask = capacity - 1
    for i in range(n):
        out[i] = buf[(read + i) & mask]
    ctl[read_index] = read + n
    return n


def new_ring(min_samples: int) -> np.ndarray:
    return np.zeros(ring_capacity(min_samples), np.float32)
