"""The low-delay analysis (DenoiserConfig.analysis_window): 25 Hz bins shaped at the 10 ms frame's latency."""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtmusic import dsp
from rtmusic.errors import ParameterError
from rtmusic.models import DenoiserConfig, init_mask_net, mask_net
from rtmusic.processor import Processor
from rtmusic.step import denoiser_model, scan_hops
from train.warmstart import warm_start

PLAIN = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=512, fine_bins=40, df_bins=12)
LOW_DELAY = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=512, fine_bins=40, df_bins=12,
                           analysis_window=512)


def _scan(model, params, hops):
    return jax.jit(lambda p, c, x: scan_hops(model.step, p, c, x))(params, model.init_carry(), hops)


def test_low_delay_windows_overlap_add_to_one_over_the_frames_last_samples():
    analysis, synthesis_tail = dsp.low_delay_windows(1920, 480)
    assert analysis.shape == (1920,) and synthesis_tail.shape == (480,) and analysis[0] == 0.0
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(480) / 480)
    np.testing.assert_allclose(analysis[-480:] * synthesis_tail, hann, atol=1e-6)
    np.testing.assert_allclose(hann[:240] + hann[240:], 1.0, atol=1e-6)  # so hop 240 overlap-adds to one
    with pytest.raises(ValueError, match="longer than"):
        dsp.low_delay_windows(480, 480)


def _passes_the_input_through(model, seed: int) -> None:
    """Live one hop at a time = the offline scan = the input delayed by the model's delay = file processing."""
    x = (0.3 * np.random.default_rng(seed).standard_normal(64 * 40)).astype(np.float32)
    hops = jnp.asarray(x.reshape(-1, 64))
    step, carry, live = jax.jit(model.step), model.init_carry(), []
    for h in hops:
        carry, (out, _) = step(model.params(), carry, h)
        live.append(np.asarray(out))
    _, (offline, _) = _scan(model, model.params(), hops)
    np.testing.assert_allclose(np.stack(live), np.asarray(offline), atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.asarray(offline).reshape(-1)[model.delay:], x[:-model.delay], atol=1e-5, rtol=0)
    np.testing.assert_allclose(Processor(model).process(x).out, x, atol=1e-5, rtol=0)


def test_unity_gains_reconstruct_the_input_at_the_frames_latency_live_as_offline():
    """Gains biased open (the fine correction and the deep filter start at zero): the output is the input delayed by
    window - hop samples, exactly the 10 ms frame's delay, though each frame analyses 4 times as many samples."""
    model = denoiser_model(LOW_DELAY, init_mask_net(replace(LOW_DELAY, gain_bias_init=40.0), seed=1))
    assert model.delay == 64 and model.algorithmic_latency == 128
    assert model.init_carry().df_history.shape == (2, 2, 48)  # the filter covers 12 frame bins = 48 finer bins
    _passes_the_input_through(model, seed=2)


def test_with_look_ahead_the_analysis_ends_with_the_shaped_frame_live_as_offline():
    """Two hops of look-ahead: the low-delay analysis of the frame two hops back, so unity gains give the input
    delayed by window - hop + 2 hops, and file processing aligns it exactly."""
    config = replace(LOW_DELAY, lookahead_hops=2, gain_bias_init=40.0)
    model = denoiser_model(config, init_mask_net(config, seed=6))
    assert model.delay == 64 + 128 and model.algorithmic_latency == 128 + 128
    assert model.init_carry().frame_tail.shape == (512 + 128 - 64,)
    _passes_the_input_through(model, seed=7)


def test_a_warm_start_keeps_the_frame_gains_on_the_finer_bins_they_line_up_with():
    """From a net without it: every 4th finer bin gets exactly the old bin's gain and deep-filter taps, the bins
    between are interpolated, and the correction's output layer starts at zero but gets gradient."""
    rng = np.random.default_rng(3)
    old = jax.tree_util.tree_map(lambda a: jnp.asarray(0.3 * rng.standard_normal(np.shape(a)), jnp.float32),
                                 init_mask_net(PLAIN, seed=4))
    new = warm_start(init_mask_net(LOW_DELAY, seed=5), old)
    assert set(new) == set(old) | {"fine_in", "fine_out"} and not np.any(np.asarray(new["fine_out"]["kernel"]))
    features = jnp.asarray(rng.standard_normal(2 * PLAIN.bins + 2 * 40), jnp.float32)
    _, coarse = mask_net(PLAIN).apply({"params": old}, mask_net(PLAIN).initialize_carry(), features)
    _, finer = mask_net(LOW_DELAY).apply({"params": new}, mask_net(LOW_DELAY).initialize_carry(), features)
    coarse, finer = np.asarray(coarse), np.asarray(finer)
    assert finer.shape == (LOW_DELAY.shaped_bins + 4 * PLAIN.df_outputs,)
    np.testing.assert_allclose(finer[:LOW_DELAY.shaped_bins:4], coarse[:PLAIN.bins], atol=1e-6)
    left, right, middle = finer[0:253:4], finer[4:257:4], finer[2:255:4]  # each bin halfway between two aligned ones
    assert np.all((np.minimum(left, right) - 1e-6 <= middle) & (middle <= np.maximum(left, right) + 1e-6))
    taps_old = coarse[PLAIN.bins:].reshape(6, 12)
    taps_new = finer[LOW_DELAY.shaped_bins:].reshape(6, 48)
    np.testing.assert_allclose(taps_new[:, ::4], taps_old, atol=1e-6)
    hops = jnp.asarray(0.2 * rng.standard_normal((30, 64)), jnp.float32)
    model = denoiser_model(LOW_DELAY, new)
    grads = jax.grad(lambda w: jnp.sum(_scan(model, {**model.params(), "net": w}, hops)[1][0] ** 2))(
        jax.tree_util.tree_map(jnp.asarray, new))
    assert np.abs(np.asarray(grads["fine_out"]["kernel"])).max() > 0


def _grown_from_trained(old_config, new_config, seed: int):
    """A trained-like net of `old_config` warm-started into `new_config`: (old weights, grown weights, the
    grown net's gradients); asserts that both compute the same output on random input."""
    rng = np.random.default_rng(seed)
    trained = jax.tree_util.tree_map(lambda a: jnp.asarray(0.3 * rng.standard_normal(np.shape(a)), jnp.float32),
                                     init_mask_net(old_config, seed=seed + 1))
    grown = warm_start(init_mask_net(new_config, seed=seed + 2), trained)
    hops = jnp.asarray(0.2 * rng.standard_normal((30, 64)), jnp.float32)
    old_model, new_model = denoiser_model(old_config, trained), denoiser_model(new_config, grown)
    np.testing.assert_allclose(np.asarray(_scan(new_model, new_model.params(), hops)[1][0]),
                               np.asarray(_scan(old_model, old_model.params(), hops)[1][0]), atol=1e-6)
    grads = jax.grad(lambda w: jnp.sum(_scan(new_model, {**new_model.params(), "net": w}, hops)[1][0] ** 2))(
        jax.tree_util.tree_map(jnp.asarray, grown))
    return trained, grown, grads


def test_a_wider_correction_with_context_starts_out_computing_what_the_narrower_one_did():
    """Growing the per-fine-bin correction (more channels, the LSTM's output as context) from a trained narrower
    one: the new channels' output weights and the context projection start at zero, so the outputs are unchanged,
    and both get gradient."""
    trained, wider, grads = _grown_from_trained(LOW_DELAY, replace(LOW_DELAY, fine_gain_channels=24,
                                                                    fine_gain_context=True), seed=8)
    assert set(wider) == set(trained) | {"fine_ctx"} and wider["fine_in"]["kernel"].shape[-1] == 24
    assert np.abs(np.asarray(grads["fine_ctx"]["kernel"])).max() > 0
    assert np.abs(np.asarray(grads["fine_out"]["kernel"][8:])).max() > 0


def test_the_fine_floor_starts_out_silent_gets_gradient_and_sits_on_a_steady_tone():
    """Adding the fine bins' noise floor to a trained causal net: its embedding rows and the correction's new inputs
    start at zero, so the outputs are unchanged; both get gradient; and on a steady tone the floor settles on the
    tone's level (the feature near 0 dB) while a tone that just began stands above it."""
    wide = replace(LOW_DELAY, fine_gain_channels=12, fine_gain_context=True)
    floor_config = replace(wide, fine_floor_rise_db_per_s=5.0)
    trained, grown, grads = _grown_from_trained(wide, floor_config, seed=11)
    assert grown["embed"]["kernel"].shape[0] == trained["embed"]["kernel"].shape[0] + 40
    assert grown["fine_in"]["kernel"].shape[0] == trained["fine_in"]["kernel"].shape[0] + 5  # one level per kernel bin
    assert np.abs(np.asarray(grads["embed"]["kernel"][-40:])).max() > 0
    assert np.abs(np.asarray(grads["fine_in"]["kernel"][-5:])).max() > 0

    t = np.arange(64 * 400) / 48000.0  # a steady tone in fine bin 10 (94 Hz apart at hop 64, history 512)
    tone = (0.3 * np.sin(2 * np.pi * 10 * 48000 / 512 * t)).astype(np.float32)
    floor_model = denoiser_model(floor_config, grown)
    carry, _ = _scan(floor_model, floor_model.params(), jnp.asarray(tone.reshape(-1, 64)))
    level = np.asarray(dsp.power_db(dsp.stft_frame(jnp.asarray(tone[-512:]), dsp.feature_taper(128, 512))[:40]))
    assert abs(level[10] - float(carry.fine_floor_db[10])) < 1.0
    assert denoiser_model(wide, trained).init_carry().fine_floor_db.shape == (0,)  # nets without it carry nothing


def test_a_fine_gain_head_starts_out_silent_and_gets_gradient():
    """The LSTM's direct logits for the lowest fine bins start at zero, so a warm-started net computes exactly what
    it did; they get gradient, and only those bins' logits depend on them."""
    head_config = replace(LOW_DELAY, fine_head_bins=20)
    trained, grown, grads = _grown_from_trained(LOW_DELAY, head_config, seed=21)
    assert set(grown) == set(trained) | {"fine_head"} and grown["fine_head"]["kernel"].shape == (32, 20)
    assert np.abs(np.asarray(grads["fine_head"]["kernel"])).max() > 0
    features = jnp.asarray(np.random.default_rng(22).standard_normal(2 * 65 + 2 * 40), jnp.float32)
    net = mask_net(head_config)
    nudged = {**grown, "fine_head": {"kernel": jnp.ones((32, 20)), "bias": jnp.ones(20)}}
    gains = [np.asarray(net.apply({"params": w}, net.initialize_carry(), features)[1][:LOW_DELAY.shaped_bins])
             for w in (grown, nudged)]
    assert np.all(gains[1][:20] != gains[0][:20]) and np.allclose(gains[1][40:], gains[0][40:])


def test_a_look_ahead_net_grows_the_fine_gain_head_as_the_causal_one_does():
    """The head reads the LSTM's output, not the frames' features, so a trained look-ahead net (whose input holds
    several frames side by side) takes it too and starts out computing what it did."""
    lookahead = replace(LOW_DELAY, lookahead_hops=1)
    trained, grown, grads = _grown_from_trained(lookahead, replace(lookahead, fine_head_bins=20), seed=23)
    assert set(grown) == set(trained) | {"fine_head"}
    assert np.abs(np.asarray(grads["fine_head"]["kernel"])).max() > 0


def test_a_second_hop_of_look_ahead_starts_out_as_the_one_hop_net_one_hop_later():
    """Growing a trained 1-hop look-ahead net (the shipped design) to 2 hops: its input holds the frames side by
    side, oldest first, so the start's rows land on the two older frames and the newest frame's rows start at zero.
    The grown net then computes the 1-hop net's output one hop later, and the newest frame's rows get gradient."""
    shipped_like = replace(LOW_DELAY, fine_gain_channels=12, fine_gain_context=True, fine_head_bins=20,
                           lookahead_hops=1)
    rng = np.random.default_rng(41)
    trained = jax.tree_util.tree_map(lambda a: jnp.asarray(0.3 * rng.standard_normal(np.shape(a)), jnp.float32),
                                     init_mask_net(shipped_like, seed=42))
    two_hops = replace(shipped_like, lookahead_hops=2)
    grown = warm_start(init_mask_net(two_hops, seed=43), trained)
    hops = jnp.asarray(0.2 * rng.standard_normal((30, 64)), jnp.float32)
    old_model, new_model = denoiser_model(shipped_like, trained), denoiser_model(two_hops, grown)
    assert new_model.algorithmic_latency == old_model.algorithmic_latency + 64
    old_out = np.asarray(_scan(old_model, old_model.params(), hops)[1][0]).reshape(-1)
    new_out = np.asarray(_scan(new_model, new_model.params(), hops)[1][0]).reshape(-1)
    assert np.abs(old_out).max() > 1e-3
    np.testing.assert_allclose(new_out[64:], old_out[:-64], atol=1e-6)
    grads = jax.grad(lambda w: jnp.sum(_scan(new_model, {**new_model.params(), "net": w}, hops)[1][0] ** 2))(
        jax.tree_util.tree_map(jnp.asarray, grown))
    newest_rows = grown["embed"]["kernel"].shape[0] // 3
    assert np.abs(np.asarray(grown["embed"]["kernel"][-newest_rows:])).max() == 0
    assert np.abs(np.asarray(grads["embed"]["kernel"][-newest_rows:])).max() > 0


@pytest.mark.parametrize("lookahead_hops", [0, 1])
def test_a_wider_lstm_under_the_fine_gain_head_starts_out_computing_what_the_narrower_one_did(lookahead_hops):
    """Widening the shipped design (fine gain head, correction with the LSTM's output as context, deep filter) adds
    hidden units whose weights out start at zero: every head reads [LSTM output, embedding], so the embedding's rows
    move up past the new units, and the output is unchanged; the weights out of the new units get gradient. The
    look-ahead net (several frames' features side by side in its input) widens the same way."""
    shipped_like = replace(LOW_DELAY, fine_gain_channels=12, fine_gain_context=True, fine_head_bins=20,
                           lookahead_hops=lookahead_hops)
    trained, wider, grads = _grown_from_trained(shipped_like, replace(shipped_like, hidden=24), seed=31)
    assert wider["fine_head"]["kernel"].shape == (48, 20) and wider["fine_ctx"]["kernel"].shape == (24, 12)
    for head in ("gain", "df", "fine_head"):
        assert np.abs(np.asarray(grads[head]["kernel"][16:24])).max() > 0  # the new units' weights out learn


def _tone_residual_db(x, keep, gains, window, hop, analysis=0):
    """Stream x through fixed gains (the 10 ms frame's sqrt-Hann pair, or the low-delay windows) and return the
    output's difference from `keep` in dB below it, past the first quarter second."""
    if analysis:
        taper, synthesis = (jnp.asarray(w) for w in dsp.low_delay_windows(analysis, window))
    else:
        taper = synthesis = jnp.asarray(dsp.sqrt_hann(window))
    memory, ola, out = jnp.zeros((analysis or window) - hop), jnp.zeros(window - hop), []
    for h in x.reshape(-1, hop):
        memory, frame = dsp.analysis_frame(memory, jnp.asarray(h))
        shaped = dsp.stft_frame(frame, taper) * gains
        ola, wet = (dsp.overlap_add_tail(ola, shaped, analysis, synthesis) if analysis
                    else dsp.overlap_add(ola, shaped, synthesis))
        out.append(np.asarray(wet))
    skip = x.size // 4
    y, reference = np.concatenate(out)[window - hop:][skip:], keep[skip:x.size - (window - hop)]
    return 10 * np.log10(np.mean((y - reference) ** 2) / np.mean(reference ** 2))


def test_finer_bins_remove_a_tone_50_hz_beside_a_kept_one_at_the_frames_latency():
    """1000 Hz kept, 1050 Hz removed. At 48 kHz the 10 ms frame's bins are 100 Hz apart: whichever of the two
    bins around them it shuts, it either keeps much of the 1050 Hz tone or loses the 1000 Hz one. The low-delay
    analysis' 25 Hz bins shut the one bin at 1050 Hz, at the same 10 ms latency."""
    rate, window, hop = 48000, 480, 240
    t = np.arange(rate // 2) / rate
    keep = np.sin(2 * np.pi * 1000 * t)
    x = (keep + np.sin(2 * np.pi * 1050 * t)).astype(np.float32)
    frame_best = min(_tone_residual_db(x, keep, np.where(np.arange(241) == k, 0.0, 1.0).astype(np.float32),
                                       window, hop) for k in (10, 11))
    finer = _tone_residual_db(x, keep, np.where(np.arange(961) == 42, 0.0, 1.0).astype(np.float32), window, hop,
                              analysis=1920)
    assert finer < -9.0 and finer < frame_best - 3.0, (finer, frame_best)


@pytest.mark.parametrize("kwargs", [
    {"analysis_window": 1000, "feature_window": 1000},  # not a multiple of the window
    {"analysis_window": 480},  # no longer than the window
    {"analysis_window": 1920, "feature_window": 960, "fine_bins": 100},  # fine features from another history
    {"analysis_window": 1920, "fine_gain_kernel": 4},
    {"analysis_window": 1920, "fine_gain_channels": 0},
    {"fine_floor_rise_db_per_s": 5.0},  # a fine floor without fine bins
    {"fine_head_bins": 40},  # a fine head without the low-delay analysis
    {"feature_window": 1920, "fine_bins": 160, "analysis_window": 1920, "fine_head_bins": 1000},
    {"feature_window": 1920, "fine_bins": 160, "fine_floor_rise_db_per_s": -1.0},
])
def test_low_delay_config_rejects_bad_values(kwargs):
    with pytest.raises(ParameterError, match="analysis_window|fine_gain_kernel|fine_gain_channels|fine_floor|fine_head"):
        DenoiserConfig(**kwargs)
