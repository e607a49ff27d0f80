"""Streaming STFT analysis and overlap-add synthesis, written as pure JAX functions on one hop.

Why streaming and not `jnp.fft` over a whole file: the same code must run live (one hop at a time, state
in the carry) and offline (scanned over hops), so live output equals offline output. The analysis and
synthesis windows are both sqrt-Hann (periodic); with 50 % overlap their product sums to exactly one, so
a gain of one reconstructs the input delayed by ``window - hop`` samples.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def sqrt_hann(window: int) -> np.ndarray:
    """Periodic sqrt-Hann window of `window` samples; its square overlap-adds to 1 at hop = window/2."""
    n = np.arange(window)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * n / window)).astype(np.float32)


def analysis_frame(frame_tail: jnp.ndarray, hop_samples: jnp.ndarray):
    """Append one hop to the analysis memory.

    Args:
      frame_tail: [window - hop] the most recent input samples before this hop.
      hop_samples: [hop] new input.

    Returns:
      (new_tail [window - hop], frame [window]) where frame is the latest `window` input samples.
    """
    frame = jnp.concatenate([frame_tail, hop_samples])
    keep = frame_tail.shape[0]
    return frame[frame.shape[0] - keep :], frame


def stft_frame(frame: jnp.ndarray, window: jnp.ndarray) -> jnp.ndarray:
    """[window] samples -> [window // 2 + 1] complex spectrum of the windowed frame."""
    return jnp.fft.rfft(frame * window)


def overlap_add(ola_tail: jnp.ndarray, spectrum: jnp.ndarray, window: jnp.ndarray):
    """Synthesise one frame and overlap-add it; emit the hop that is now complete.

    Args:
      ola_tail: [window - hop] the part of earlier frames not yet emitted.
      spectrum: [window // 2 + 1] complex spectrum of this frame.
      window: [window] synthesis window.

    Returns:
      (new_ola_tail [window - hop], out_hop [hop]).
    """
    n = window.shape[0]
    tail_len = ola_tail.shape[0]
    hop = n - tail_len
    frame = jnp.fft.irfft(spectrum, n) * window
    acc = frame + jnp.concatenate([ola_tail, jnp.zeros((hop,), frame.dtype)])
    return acc[hop:], acc[:hop]


def power_db(spectrum: jnp.ndarray, floor_db: float = -120.0) -> jnp.ndarray:
    """Per-bin power in dB, floored so silence gives finite features."""
    power = jnp.real(spectrum) ** 2 + jnp.imag(spectrum) ** 2
    return 10.0 * jnp.log10(power + 10.0 ** (floor_db / 10.0))


def sanitize(hop_samples: jnp.ndarray, limit: float = 8.0) -> jnp.ndarray:
    """Replace NaN/Inf with 0 and clip huge values so a bad input sample cannot poison the state."""
    finite = jnp.where(jnp.isfinite(hop_samples), hop_samples, 0.0)
    return jnp.clip(finite, -limit, limit)
