"""Training losses: the extra term on the cells the clean signal leads (session 37) and the SI-SDR term (session 40)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rtmusic.metrics import si_sdr
from train.losses import clean_led_loss, denoise_loss, negative_si_sdr_db, spectral_loss

SR = 48000


def _tone(freq: float, amplitude: float, n: int = 4800) -> jnp.ndarray:
    t = np.arange(n) / SR
    return jnp.asarray(amplitude * np.sin(2 * np.pi * freq * t)[None, :], jnp.float32)


def test_damage_where_the_clean_signal_leads_counts_and_noise_left_where_the_noise_leads_does_not():
    clean, noise = _tone(1000.0, 0.5), _tone(6000.0, 0.5)
    noisy = clean + noise
    kept_noise = clean + noise  # the clean tone intact, the noise tone left in (its cells are noise-led)
    damaged = 0.5 * clean  # the noise removed, the clean tone halved (its cells are clean-led)
    assert float(clean_led_loss(kept_noise, clean, noisy)) < 1e-3 * float(spectral_loss(kept_noise, clean))
    assert float(clean_led_loss(damaged, clean, noisy)) > 0.5 * float(spectral_loss(damaged, clean))


def test_with_no_noise_every_cell_is_clean_led_and_with_no_clean_signal_none_is():
    clean, estimate = _tone(1000.0, 0.5), _tone(1000.0, 0.3)
    np.testing.assert_allclose(float(clean_led_loss(estimate, clean, clean + 1e-6 * _tone(3000.0, 1.0))),
                               float(spectral_loss(estimate, clean)), rtol=1e-3)
    silence = jnp.zeros_like(clean)
    assert float(clean_led_loss(estimate, silence, estimate)) == 0.0


def test_the_term_is_off_by_default_and_adds_its_weight_times_its_part():
    clean, noisy = _tone(1000.0, 0.5), _tone(1000.0, 0.5) + _tone(6000.0, 0.2)
    estimate = 0.7 * clean
    plain, parts = denoise_loss(estimate, clean, noisy, 1.0, 0.5)
    assert "clean_led" not in parts
    weighted, weighted_parts = denoise_loss(estimate, clean, noisy, 1.0, 0.5, clean_led_weight=2.0)
    assert float(weighted_parts["clean_led"]) > 0
    np.testing.assert_allclose(float(weighted), float(plain) + 2.0 * float(weighted_parts["clean_led"]), rtol=1e-5)


def test_the_si_sdr_term_is_the_benchmarks_figure_and_ignores_the_output_scale():
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((3, 4800)).astype(np.float32)
    estimate = clean + 0.3 * rng.standard_normal((3, 4800)).astype(np.float32)
    term = -float(negative_si_sdr_db(jnp.asarray(estimate), jnp.asarray(clean)))
    np.testing.assert_allclose(term, float(np.mean(si_sdr(estimate, clean))), atol=1e-3)
    np.testing.assert_allclose(-float(negative_si_sdr_db(jnp.asarray(0.4 * estimate), jnp.asarray(clean))), term,
                               atol=1e-3)
    # the SNR term does punish the scale: that is the difference
    noisy = jnp.asarray(clean + rng.standard_normal((3, 4800)).astype(np.float32))
    _, full = denoise_loss(jnp.asarray(estimate), jnp.asarray(clean), noisy, 1.0, 0.0, sisdr_weight=1.0)
    _, shrunk = denoise_loss(jnp.asarray(0.4 * estimate), jnp.asarray(clean), noisy, 1.0, 0.0, sisdr_weight=1.0)
    assert float(shrunk["snr_db"]) < float(full["snr_db"]) - 3.0
    np.testing.assert_allclose(float(shrunk["si_sdr_db"]), float(full["si_sdr_db"]), atol=1e-3)


def test_the_si_sdr_term_is_off_by_default_and_adds_its_weight_times_its_part():
    clean, noisy = _tone(1000.0, 0.5), _tone(1000.0, 0.5) + _tone(6000.0, 0.2)
    estimate = 0.7 * clean + _tone(6000.0, 0.05)
    plain, parts = denoise_loss(estimate, clean, noisy, 1.0, 0.5)
    assert "si_sdr_db" not in parts
    weighted, weighted_parts = denoise_loss(estimate, clean, noisy, 1.0, 0.5, sisdr_weight=2.0)
    np.testing.assert_allclose(float(weighted), float(plain) - 2.0 * float(weighted_parts["si_sdr_db"]) / 10.0,
                               rtol=1e-5)
