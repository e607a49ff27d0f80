"""rtmusic.dsp: the sqrt-Hann streaming STFT reconstructs exactly; sanitize keeps the state finite."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtmusic import dsp


@pytest.mark.parametrize("window", [128, 480])
def test_sqrt_hann_squared_overlap_adds_to_one(window):
    w32 = dsp.sqrt_hann(window)
    assert w32.dtype == np.float32 and w32.shape == (window,) and w32[0] == 0.0  # periodic: starts at 0
    w = w32.astype(np.float64)
    hop = window // 2
    np.testing.assert_allclose(w[:hop] ** 2 + w[hop:] ** 2, 1.0, atol=1e-6)


def _unity_ola(signal: np.ndarray, window: int) -> np.ndarray:
    """Analysis -> unity gain -> synthesis, one hop at a time, exactly as the step does it."""
    hop = window // 2
    win = jnp.asarray(dsp.sqrt_hann(window))

    @jax.jit
    def run(hops):
        def one(carry, x):
            frame_tail, ola_tail = carry
            frame_tail, frame = dsp.analysis_frame(frame_tail, x)
            ola_tail, out = dsp.overlap_add(ola_tail, dsp.stft_frame(frame, win), win)
            return (frame_tail, ola_tail), out

        zeros = jnp.zeros((window - hop,), jnp.float32)
        return jax.lax.scan(one, (zeros, zeros), hops)[1]

    return np.asarray(run(jnp.asarray(signal.reshape(-1, hop)))).reshape(-1)


@pytest.mark.parametrize("window", [128, 480])
def test_unity_gain_reconstructs_input_delayed_by_window_minus_hop(window):
    hop = window // 2
    rng = np.random.default_rng(1)
    x = (0.5 * rng.standard_normal(40 * hop)).astype(np.float32)
    y = _unity_ola(x, window)
    delay = window - hop
    assert np.max(np.abs(y[:delay])) < 1e-6  # only FFT round-off before the first frame is complete
    np.testing.assert_allclose(y[delay:], x[:-delay], atol=1e-6, rtol=0)


def test_analysis_frame_keeps_latest_window():
    tail = jnp.arange(4, dtype=jnp.float32)
    new_tail, frame = dsp.analysis_frame(tail, jnp.arange(4, 8, dtype=jnp.float32))
    np.testing.assert_array_equal(frame, np.arange(8))
    np.testing.assert_array_equal(new_tail, np.arange(4, 8))


def test_power_db_is_finite_on_silence():
    level = dsp.power_db(jnp.zeros(5, jnp.complex64))
    np.testing.assert_allclose(level, -120.0, atol=1e-3)


def test_sanitize_maps_nonfinite_to_zero_and_clips():
    x = jnp.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.25, -9.0, 8.0], jnp.float32)
    y = np.asarray(dsp.sanitize(x))
    np.testing.assert_array_equal(y, [0.0, 0.0, 0.0, 8.0, -8.0, 0.25, -8.0, 8.0])
    np.testing.assert_array_equal(dsp.sanitize(x, limit=1.0), [0.0, 0.0, 0.0, 1.0, -1.0, 0.25, -1.0, 1.0])
