"""Training losses: the extra term on the cells the clean signal leads (session 37)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from train.losses import clean_led_loss, denoise_loss, spectral_loss

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
