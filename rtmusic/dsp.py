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


def feature_taper(window: int, feature_window: int) -> np.ndarray:
    """Taper of the classifier's feature frame, scaled so white noise has the level it has in `window`.

    At feature_window == window it is the denoiser's sqrt-Hann, so the features are the v1 classifier's
    bit for bit; a longer frame gets a Hann window (side lobes -31 dB instead of -23 dB, so a strong
    harmonic does not bury its weaker neighbours), scaled to the same sum of squares as the sqrt-Hann.
    """
    if feature_window == window:
        return sqrt_hann(window)
    n = np.arange(feature_window)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / feature_window)
    return (hann * np.sqrt(0.5 * window / np.sum(hann**2))).astype(np.float32)


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


def low_delay_windows(analysis: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric analysis and synthesis windows (Mauler & Martin, 2007) for hop = window / 2.

    The analysis window spans `analysis` samples (e.g. 40 ms: 25 Hz bins) and rises slowly through the past;
    the synthesis window is non-zero only in its last `window` samples, so the output lags the input by
    window - hop, exactly as with the `window`-long sqrt-Hann pair. Their product is the Hann window of
    `window` samples at the frame's end, which overlap-adds to one at hop = window / 2.

    Returns (analysis window [analysis], the synthesis window's non-zero tail [window]).
    """
    hop = window // 2
    if analysis <= window or window % 2:
        raise ValueError(f"a low-delay analysis window must be longer than the even window {window}, got {analysis}")
    long_hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(2 * (analysis - hop)) / (2 * (analysis - hop)))
    short_hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window) / window)
    wa = np.concatenate([np.sqrt(long_hann[: analysis - hop]), np.sqrt(short_hann[hop:])])
    rising = long_hann[analysis - window : analysis - hop]
    ws_tail = np.concatenate([short_hann[:hop] / np.sqrt(rising), np.sqrt(short_hann[hop:])])
    return wa.astype(np.float32), ws_tail.astype(np.float32)


def overlap_add_tail(ola_tail: jnp.ndarray, spectrum: jnp.ndarray, n_fft: int, synthesis_tail: jnp.ndarray):
    """`overlap_add` for a frame of `n_fft` samples whose synthesis window is zero but for its last
    len(synthesis_tail) samples (the low-delay windows): only that tail is synthesised into the memory."""
    n = synthesis_tail.shape[0]
    hop = n - ola_tail.shape[0]
    frame = jnp.fft.irfft(spectrum, n_fft)[n_fft - n :] * synthesis_tail
    acc = frame + jnp.concatenate([ola_tail, jnp.zeros((hop,), frame.dtype)])
    return acc[hop:], acc[:hop]


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


def mel_band_matrix(window: int, samplerate: int, bands: int, low_hz: float = 0.0) -> np.ndarray:
    """[window // 2 + 1, bands] triangular mel-spaced filters from `low_hz` to Nyquist, each summing to 1.

    At a 10 ms window the STFT bins are 100 Hz apart, narrower than low mel bands would be; so the lowest
    band edges sit one bin apart (linear) from `low_hz` up to where mel spacing becomes wider than a bin,
    and mel spacing takes over from there to Nyquist. Every band therefore covers at least one bin.
    """
    bins = window // 2 + 1
    bin_hz = samplerate / window
    top = (bins - 1) * bin_hz

    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)

    points = bands + 2  # band j rises from points[j] to points[j + 1] and falls to points[j + 2]
    for linear in range(points):
        start_hz = low_hz + linear * bin_hz
        mel_points = hz(np.linspace(mel(start_hz), mel(top), points - linear))
        if linear == points - 1 or mel_points[1] - mel_points[0] >= bin_hz:
            edges = np.concatenate([low_hz + np.arange(linear) * bin_hz, mel_points]) / bin_hz  # in bins
            break
    if np.any(np.diff(edges) < 1.0 - 1e-9) or edges[-1] > bins - 1 + 1e-9:
        raise ValueError(f"{bands} bands above {low_hz:g} Hz do not fit into {bins} bins at one bin per band")
    k = np.arange(bins, dtype=np.float64)[:, None]
    lo, mid, hi = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    weights = np.maximum(0.0, np.minimum((k - lo) / (mid - lo), (hi - k) / (hi - mid)))
    return (weights / weights.sum(axis=0, keepdims=True)).astype(np.float32)
