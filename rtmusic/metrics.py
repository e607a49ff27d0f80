"""Quality figures shared by training validation and the benchmarks (NumPy, per example)."""

from __future__ import annotations

import numpy as np


def si_sdr(estimate: np.ndarray, reference: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """Scale-invariant SDR in dB over the last axis (zero-mean). Shapes [..., T] -> [...]."""
    est = estimate - estimate.mean(axis=-1, keepdims=True)
    ref = reference - reference.mean(axis=-1, keepdims=True)
    scale = (est * ref).sum(-1, keepdims=True) / ((ref * ref).sum(-1, keepdims=True) + eps)
    target = scale * ref
    noise = est - target
    return 10.0 * np.log10(((target * target).sum(-1) + eps) / ((noise * noise).sum(-1) + eps))


def snr(estimate: np.ndarray, reference: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """Plain SNR in dB (gain errors count as noise)."""
    noise = estimate - reference
    return 10.0 * np.log10(((reference * reference).sum(-1) + eps) / ((noise * noise).sum(-1) + eps))
