"""rtmusic.step: the pure step contract, its knobs, its scan, and its guard against non-finite state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtmusic.errors import ParameterError
from rtmusic.models import DenoiserConfig, init_mask_net
from rtmusic.processor import Processor
from rtmusic.step import bypass_model, denoiser_model, frames_of, make_knobs, scan_hops

SMALL = DenoiserConfig(hop=64, window=128, hidden=16, layers=1)  # same code path, fast to compile


def _signal(n_hops: int, hop: int, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(n_hops * hop)).astype(np.float32)


def _tree_finite(tree) -> bool:
    return all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree_util.tree_leaves(tree))


@pytest.fixture(scope="module")
def small():
    return denoiser_model(SMALL, init_mask_net(SMALL, seed=3), name="small")


@pytest.fixture(scope="module")
def small_step(small):
    return jax.jit(small.step)


@pytest.fixture(scope="module")
def small_scan(small):
    return jax.jit(lambda params, carry, hops: scan_hops(small.step, params, carry, hops))


def _live_equals_scan(model, params, hops):
    """Run `hops` one step at a time (live) and as one scan (offline); assert they agree and return
    (the live carry after the last hop, the scan's output [n_hops, hop])."""
    step, carry, outs = jax.jit(model.step), model.init_carry(), []
    for h in hops:
        carry, (out, _) = step(params, carry, h)
        outs.append(np.asarray(out))
    _, (out_scan, _) = jax.jit(lambda p, c, x: scan_hops(model.step, p, c, x))(params, model.init_carry(), hops)
    np.testing.assert_allclose(np.stack(outs), out_scan, atol=1e-5, rtol=0)
    return carry, np.asarray(out_scan)


def _closing_weights(weights, bias: float = -20.0):
    """The same net with its gain head biased shut: gains ~ sigmoid(-20), i.e. about -170 dB."""
    closed = jax.tree_util.tree_map(lambda a: a, weights)
    closed["gain"]["bias"] = jnp.full_like(weights["gain"]["bias"], bias)
    return closed


def test_bypass_is_a_bit_exact_delay():
    model = bypass_model()
    assert model.delay == model.window - model.hop == 240
    x = _signal(50, model.hop, seed=1)
    carry, (out, aux) = jax.jit(lambda c, h: scan_hops(model.step, model.params(), c, h))(
        model.init_carry(), jnp.asarray(x.reshape(-1, model.hop)))
    expected = np.concatenate([np.zeros(model.delay, np.float32), x])[: x.size]
    assert np.array_equal(np.asarray(out).reshape(-1), expected)
    assert not bool(np.any(aux.nonfinite_reset)) and aux.values.shape == (50, 0)
    assert np.array_equal(np.asarray(carry.line), x[-model.delay:])


def test_denoiser_with_full_dry_mix_is_the_delayed_input(small, small_scan):
    x = _signal(60, SMALL.hop, seed=2)
    params = small.params(make_knobs(mix=1.0))
    _, (out, _) = small_scan(params, small.init_carry(), jnp.asarray(x.reshape(-1, SMALL.hop)))
    expected = np.concatenate([np.zeros(small.delay, np.float32), x])[: x.size]
    np.testing.assert_allclose(np.asarray(out).reshape(-1), expected, atol=1e-6, rtol=0)


def test_denoiser_without_dry_mix_differs_from_the_input(small, small_scan):
    """Guards the test above: with a closed gain head the wet path really is not the dry input."""
    x = _signal(60, SMALL.hop, seed=2)
    params = {"net": _closing_weights(small.weights), "knobs": make_knobs(mix=0.0)}
    _, (out, _) = small_scan(params, small.init_carry(), jnp.asarray(x.reshape(-1, SMALL.hop)))
    assert np.max(np.abs(np.asarray(out))) < 1e-3 * np.max(np.abs(x))


@pytest.mark.parametrize("lim_db", [6.0, 12.0, 30.0])
def test_attenuation_limit_is_a_floor_on_the_gain(small, small_scan, lim_db):
    noise = jnp.asarray(_signal(80, SMALL.hop, seed=4).reshape(-1, SMALL.hop))
    closed = _closing_weights(small.weights)
    _, (_, free) = small_scan({"net": closed, "knobs": make_knobs()}, small.init_carry(), noise)
    assert float(np.max(free.values[1:])) < -100.0  # unlimited: the closed head attenuates enormously
    _, (_, limited) = small_scan({"net": closed, "knobs": make_knobs(atten_lim_db=lim_db)}, small.init_carry(), noise)
    gain_db = np.asarray(limited.values)[1:, 0]  # hop 0 sees only half a frame of signal
    assert np.all(gain_db >= -lim_db - 0.01)
    np.testing.assert_allclose(gain_db, -lim_db, atol=0.05)  # every bin sits on the floor


def test_knobs_reject_bad_values():
    with pytest.raises(ParameterError, match="--atten-lim"):
        make_knobs(atten_lim_db=-1.0)
    with pytest.raises(ParameterError, match="--mix"):
        make_knobs(mix=1.5)
    assert float(make_knobs(atten_lim_db=20.0).min_gain) == pytest.approx(0.1)
    assert float(make_knobs().min_gain) == 0.0


def test_scan_equals_repeated_step_calls(small, small_step, small_scan):
    x = _signal(40, SMALL.hop, seed=5, scale=0.3)
    hops = jnp.asarray(x.reshape(-1, SMALL.hop))
    params = small.params(make_knobs(atten_lim_db=20.0, mix=0.1))
    carry_scan, (out_scan, aux_scan) = small_scan(params, small.init_carry(), hops)
    carry, outs, auxes = small.init_carry(), [], []
    for h in hops:
        carry, (out, aux) = small_step(params, carry, h)
        outs.append(np.asarray(out))
        auxes.append(np.asarray(aux.values))
    np.testing.assert_allclose(np.stack(outs), out_scan, atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.stack(auxes), aux_scan.values, atol=1e-3, rtol=0)
    for a, b in zip(jax.tree_util.tree_leaves(carry), jax.tree_util.tree_leaves(carry_scan)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e30])
def test_nonfinite_or_huge_input_never_poisons_output_or_carry(small, small_step, bad):
    params = small.params()
    carry = small.init_carry()
    x = _signal(12, SMALL.hop, seed=6).reshape(-1, SMALL.hop)
    x[3, 5] = bad  # one bad sample
    x[6, :] = bad  # a whole bad hop
    for h in x:
        carry, (out, aux) = small_step(params, carry, jnp.asarray(h))
        assert bool(jnp.all(jnp.isfinite(out))) and _tree_finite(carry)
        assert np.all(np.isfinite(np.asarray(aux.values)))
        assert np.max(np.abs(np.asarray(out))) <= 16.0  # input clipped to +-8 before analysis


@pytest.mark.parametrize("field", ["frame_tail", "ola_tail", "level_db", "lstm", "floor_db"])
def test_nonfinite_carry_is_reset_and_flagged(small, small_step, field):
    params = small.params()
    carry = small.init_carry()
    for h in _signal(4, SMALL.hop, seed=7).reshape(-1, SMALL.hop):
        carry, _ = small_step(params, carry, jnp.asarray(h))
    poisoned = carry._replace(**{field: jax.tree_util.tree_map(lambda a: a + jnp.nan, getattr(carry, field))})
    hop = jnp.asarray(_signal(1, SMALL.hop, seed=8))
    new_carry, (out, aux) = small_step(params, poisoned, hop)
    assert bool(aux.nonfinite_reset)
    assert bool(jnp.all(jnp.isfinite(out)))
    for got, fresh in zip(jax.tree_util.tree_leaves(new_carry), jax.tree_util.tree_leaves(small.init_carry())):
        assert np.array_equal(np.asarray(got), np.asarray(fresh))
    _, (_, aux_next) = small_step(params, new_carry, hop)  # and the next hop runs normally again
    assert not bool(aux_next.nonfinite_reset)


def test_knobs_change_output_without_recompiling(small):
    proc = Processor(denoiser_model(SMALL, _closing_weights(small.weights, bias=-2.0), name="small"))
    hop = _signal(1, SMALL.hop, seed=9, scale=0.5)
    outputs = []
    for lim, mix in [(None, 0.0), (3.0, 0.0), (None, 0.7), (10.0, 1.0)]:
        proc.set_knobs(atten_lim_db=lim, mix=mix)
        proc.reset()
        proc.process_hop(hop)
        outputs.append(proc.process_hop(hop).out)
    assert proc._step._cache_size() == 1
    for i in range(len(outputs)):
        for j in range(i + 1, len(outputs)):
            assert np.max(np.abs(outputs[i] - outputs[j])) > 1e-4, (i, j)


def test_frames_of_pads_enough_for_the_delay():
    hops, n = frames_of(np.ones(1000, np.float32), hop=240, delay=240)
    assert n == 1000 and hops.shape == (6, 240)  # 1000 + 240 samples need ceil(1240 / 240) = 6 hops
    assert hops.reshape(-1)[:1000].sum() == 1000 and hops.reshape(-1)[1000:].sum() == 0


FLOOR = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, floor_rise_db_per_s=5.0)


def test_noise_floor_feature_streams_like_the_scan_and_tracks_the_quietest_level():
    from rtmusic.models import feature_size

    assert feature_size(FLOOR) == 3 * FLOOR.bins
    model = denoiser_model(FLOOR, init_mask_net(FLOOR, seed=3))
    params = model.params()
    loud, quiet = _signal(30, FLOOR.hop, seed=11, scale=0.5), _signal(30, FLOOR.hop, seed=12, scale=0.005)
    hops = jnp.asarray(np.concatenate([loud, quiet, loud]).reshape(-1, FLOOR.hop))
    step = jax.jit(model.step)
    carry, outs, floors = model.init_carry(), [], []
    for h in hops:
        carry, (out, _) = step(params, carry, h)
        outs.append(np.asarray(out))
        floors.append(np.asarray(carry.floor_db))
    _, (out_scan, _) = jax.jit(lambda p, c, x: scan_hops(model.step, p, c, x))(params, model.init_carry(), hops)
    np.testing.assert_allclose(np.stack(outs), out_scan, atol=1e-5, rtol=0)
    floors = np.stack(floors)
    rise_per_hop = FLOOR.floor_rise_db_per_s * FLOOR.hop / FLOOR.samplerate
    assert floors[0].max() < 50.0  # dropped at once from its start to the first level heard
    assert np.all(np.diff(floors, axis=0) <= rise_per_hop + 1e-4)  # never rises faster than its rate
    assert floors[59].mean() < floors[29].mean() - 30.0  # 40 dB quieter input: the floor follows it down


def test_floor_config_rejects_a_negative_rise():
    with pytest.raises(ParameterError, match="floor_rise_db_per_s"):
        DenoiserConfig(floor_rise_db_per_s=-1.0)


FINE = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=512, fine_bins=40)


def test_fine_features_stream_like_the_scan_and_keep_the_frame_latency():
    """A longer feature history changes neither the delay nor which samples the gains shape."""
    from rtmusic.models import feature_size

    assert feature_size(FINE) == 2 * FINE.bins + 2 * 40
    model = denoiser_model(FINE, init_mask_net(FINE, seed=4))
    assert model.delay == FINE.window - FINE.hop and model.algorithmic_latency == FINE.window
    carry = model.init_carry()
    assert carry.frame_tail.shape == (512 - 64,) and carry.fine_level_db.shape == (40,)
    hops = jnp.asarray(_signal(40, FINE.hop, seed=13, scale=0.3).reshape(-1, FINE.hop))
    _live_equals_scan(model, model.params(), hops)
    # with the mix knob at 1 the output is the dry input, delayed by exactly window - hop samples
    _, (dry_out, _) = jax.jit(lambda p, c, x: scan_hops(model.step, p, c, x))(
        model.params(make_knobs(mix=1.0)), model.init_carry(), hops)
    flat_in, flat_out = np.asarray(hops).reshape(-1), np.asarray(dry_out).reshape(-1)
    np.testing.assert_allclose(flat_out[model.delay:], flat_in[: flat_in.size - model.delay], atol=1e-6, rtol=0)


def test_fine_features_see_harmonics_the_short_frame_cannot_separate():
    """Two tones 100 Hz apart: one lump in the 10 ms frame's bins, two peaks with a deep dip in the fine bins."""
    from rtmusic import dsp

    rate, window, history = 48000, 480, 1920
    t = np.arange(history) / rate
    x = (np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 1100 * t)).astype(np.float32)
    short = np.asarray(dsp.power_db(dsp.stft_frame(jnp.asarray(x[-window:]), jnp.asarray(dsp.sqrt_hann(window)))))
    fine = np.asarray(dsp.power_db(dsp.stft_frame(jnp.asarray(x), jnp.asarray(dsp.feature_taper(window, history)))))
    assert min(fine[40], fine[44]) > fine[42] + 40.0  # 1000 and 1100 Hz stand apart at 25 Hz bins
    peaks = [k for k in range(1, short.size - 1) if short[k] > short[k - 1] and short[k] > short[k + 1]
             and short[k] > short.max() - 20.0]
    assert len(peaks) == 1  # at 100 Hz bins they are one lump


@pytest.mark.parametrize("kwargs, match", [
    ({"feature_window": 200}, "feature_window"),
    ({"feature_window": -240}, "feature_window"),
    ({"feature_window": 500}, "feature_window"),
    ({"fine_bins": 10}, "fine_bins"),  # fine bins need a longer history than the frame
    ({"feature_window": 1920, "fine_bins": 962}, "fine_bins"),
])
def test_fine_feature_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        DenoiserConfig(**kwargs)


DF = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=256, fine_bins=20, df_bins=12, df_order=3)


def _with_df_head(weights, scale: float = 0.5, seed: int = 0):
    """The model's weights with a random (non-zero) deep-filter head, so the filter path does something."""
    rng = np.random.default_rng(seed)
    df = {k: jnp.asarray(scale * rng.standard_normal(np.shape(v)), jnp.float32) for k, v in weights["df"].items()}
    return {**weights, "df": df}


def test_deep_filter_streams_like_the_scan_and_keeps_past_low_bins_in_its_carry():
    model = denoiser_model(DF, _with_df_head(init_mask_net(DF, seed=5)))
    hops = jnp.asarray(_signal(30, DF.hop, seed=14, scale=0.3).reshape(-1, DF.hop))
    assert model.init_carry().df_history.shape == (2, 2, 12)
    carry, out_scan = _live_equals_scan(model, model.params(), hops)
    # the history holds the low bins of the last two 128-sample frames, newest first
    flat = np.asarray(hops).reshape(-1)
    from rtmusic import dsp
    for i in range(2):
        end = flat.size - i * DF.hop
        spec = np.fft.rfft(flat[end - DF.window:end] * dsp.sqrt_hann(DF.window))[:12]
        np.testing.assert_allclose(np.asarray(carry.df_history[i, 0]), spec.real, atol=1e-4)
        np.testing.assert_allclose(np.asarray(carry.df_history[i, 1]), spec.imag, atol=1e-4)
    plain = denoiser_model(DF, init_mask_net(DF, seed=5))  # the zero head: the filter adds nothing
    _, (out_plain, _) = jax.jit(lambda p, c, x: scan_hops(plain.step, p, c, x))(plain.params(), plain.init_carry(), hops)
    assert np.max(np.abs(np.asarray(out_plain) - out_scan)) > 1e-3


def test_deep_filter_attenuation_limit_zero_db_passes_the_input():
    model = denoiser_model(DF, _with_df_head(init_mask_net(DF, seed=6), scale=2.0))
    hops = jnp.asarray(_signal(20, DF.hop, seed=15, scale=0.3).reshape(-1, DF.hop))
    _, (out, _) = jax.jit(lambda p, c, x: scan_hops(model.step, p, c, x))(
        model.params(make_knobs(atten_lim_db=0.0)), model.init_carry(), hops)
    flat_in, flat_out = np.asarray(hops).reshape(-1), np.asarray(out).reshape(-1)
    np.testing.assert_allclose(flat_out[model.delay:], flat_in[: flat_in.size - model.delay], atol=1e-5, rtol=0)


def test_deep_filter_carry_is_reset_when_non_finite():
    model = denoiser_model(DF, _with_df_head(init_mask_net(DF, seed=7)))
    step = jax.jit(model.step)
    carry = model.init_carry()
    for h in _signal(4, DF.hop, seed=16).reshape(-1, DF.hop):
        carry, _ = step(model.params(), carry, jnp.asarray(h))
    poisoned = carry._replace(df_history=carry.df_history + jnp.nan)
    new_carry, (out, aux) = step(model.params(), poisoned, jnp.asarray(_signal(1, DF.hop, seed=17)))
    assert bool(aux.nonfinite_reset) and bool(jnp.all(jnp.isfinite(out)))
    assert np.array_equal(np.asarray(new_carry.df_history), np.zeros((2, 2, 12), np.float32))


def test_deep_filter_config_rejects_bad_values():
    with pytest.raises(ParameterError, match="df_bins"):
        DenoiserConfig(df_bins=300)
    with pytest.raises(ParameterError, match="df_order"):
        DenoiserConfig(df_bins=10, df_order=0)


AHEAD = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, df_bins=12, lookahead_hops=2)


def test_look_ahead_streams_like_the_scan_and_delays_the_shaped_frame_by_its_hops():
    """Two hops of look-ahead: 128 more samples of delay, the step one hop at a time equals the offline scan
    (file processing included), and the dry mix is the input delayed by exactly that delay."""
    model = denoiser_model(AHEAD, _with_df_head(init_mask_net(AHEAD, seed=8)))
    assert model.delay == AHEAD.window - AHEAD.hop + 2 * AHEAD.hop and model.algorithmic_latency == 128 + 128
    assert model.lookahead == 128
    carry = model.init_carry()
    assert carry.frame_tail.shape == (AHEAD.window + 2 * AHEAD.hop - AHEAD.hop,)  # the shaped frame and two hops
    assert carry.lookahead_features.shape == (2, 2 * AHEAD.bins)
    x = _signal(40, AHEAD.hop, seed=18, scale=0.3)
    _, out_scan = _live_equals_scan(model, model.params(), jnp.asarray(x.reshape(-1, AHEAD.hop)))
    file_out = Processor(model).process(x).out  # delay-compensated: aligned with the input
    np.testing.assert_allclose(file_out[: x.size - model.delay], out_scan.reshape(-1)[model.delay:], atol=1e-5)
    dry = Processor(model, mix=1.0).process(x).out
    np.testing.assert_allclose(dry, x, atol=1e-6, rtol=0)


def test_look_ahead_sees_what_follows_the_shaped_frame():
    """An impulse one hop after the shaped frame changes its gains with look-ahead and cannot without it."""
    weights = init_mask_net(AHEAD, seed=9)
    weights = {**weights, "embed": {**weights["embed"], "kernel": jnp.asarray(
        np.random.default_rng(3).standard_normal(np.shape(weights["embed"]["kernel"])), jnp.float32)}}
    model = denoiser_model(AHEAD, weights)
    quiet = _signal(30, AHEAD.hop, seed=19, scale=0.05)
    loud = quiet.copy()
    loud[-AHEAD.hop:] += 1.0  # only the newest hop differs: after the shaped frame
    run = jax.jit(lambda p, c, h: scan_hops(model.step, p, c, h))
    _, (a, _) = run(model.params(), model.init_carry(), jnp.asarray(quiet.reshape(-1, AHEAD.hop)))
    _, (b, _) = run(model.params(), model.init_carry(), jnp.asarray(loud.reshape(-1, AHEAD.hop)))
    assert np.max(np.abs(np.asarray(a)[-1] - np.asarray(b)[-1])) > 1e-4
    np.testing.assert_array_equal(np.asarray(a)[:-1], np.asarray(b)[:-1])  # and nothing before it


def test_look_ahead_config_rejects_a_negative_count():
    with pytest.raises(ParameterError, match="lookahead_hops"):
        DenoiserConfig(lookahead_hops=-1)


# Level warm-up: tau 10 ms at 64-sample hops, so the running mean's weight reaches its decay after 8 hops.
WARM = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=512, fine_bins=40, level_tau_s=0.01,
                      level_warmup=True)


def _levels_per_hop(model, params, hops):
    step, carry, levels, fine_levels = jax.jit(model.step), model.init_carry(), [], []
    for h in hops:
        carry, _ = step(params, carry, h)
        levels.append(np.asarray(carry.level_db))
        fine_levels.append(np.asarray(carry.fine_level_db))
    return np.stack(levels), np.stack(fine_levels)


def test_level_warmup_starts_the_running_levels_as_the_mean_of_the_full_frames_heard():
    """The first full frame sets the level (not a fixed -30 dB start), then the mean of the full frames so far,
    then the running mean: a file's first second is normalised as its later ones are."""
    from dataclasses import replace

    from rtmusic import dsp

    model = denoiser_model(WARM, init_mask_net(WARM, seed=4))
    x = _signal(40, WARM.hop, seed=14, scale=0.3)
    hops = jnp.asarray(x.reshape(-1, WARM.hop))
    _live_equals_scan(model, model.params(), hops)
    levels, fine_levels = _levels_per_hop(model, model.params(), hops)
    win, taper = jnp.asarray(dsp.sqrt_hann(WARM.window)), jnp.asarray(dsp.feature_taper(WARM.window, 512))
    frame_db = np.stack([np.asarray(dsp.power_db(dsp.stft_frame(jnp.asarray(x[(k + 1) * 64 - 128:(k + 1) * 64]), win)))
                         for k in range(1, 40)])  # the full 10 ms frames: hop 1 on
    fine_db = np.asarray(dsp.power_db(dsp.stft_frame(jnp.asarray(x[:512]), taper)))[:40]  # the first full history
    np.testing.assert_allclose(levels[1], frame_db[0], atol=1e-4)  # the first full frame, as it is
    np.testing.assert_allclose(levels[5], frame_db[:5].mean(axis=0), atol=1e-3)  # the mean of the five so far
    np.testing.assert_allclose(fine_levels[7], fine_db, atol=1e-4)
    decay = np.exp(-WARM.hop / (WARM.samplerate * WARM.level_tau_s))
    np.testing.assert_allclose(levels[30], decay * levels[29] + (1 - decay) * frame_db[29], atol=1e-3)  # then the
    # running mean, as without the warm-up; which starts tens of dB away from a steady input's level
    cold = denoiser_model(replace(WARM, level_warmup=False), model.weights)
    cold_levels, _ = _levels_per_hop(cold, cold.params(), hops)
    assert np.abs(cold_levels[1] - frame_db[0]).mean() > 10.0 > np.abs(levels[1] - frame_db[0]).mean()


def test_configs_without_the_warmup_key_keep_the_fixed_start():
    old = {k: v for k, v in DenoiserConfig().to_dict().items() if k != "level_warmup"}
    assert DenoiserConfig.from_dict(old).level_warmup is False


def test_feature_top_hz_keeps_the_top_band_out_of_the_gains():
    """Above feature_top_hz the level features are held at zero: what sounds there (the synthesised noise's
    22-24 kHz band, which real recordings lack) no longer moves the gains of the bins below."""
    from dataclasses import replace

    cut = replace(SMALL, feature_top_hz=20000.0)
    weights = init_mask_net(SMALL, seed=5)
    n = 64 * 60
    t = np.arange(n) / SMALL.samplerate
    freqs = np.fft.rfftfreq(n, 1 / SMALL.samplerate)
    noise = np.fft.rfft(np.random.default_rng(6).standard_normal(n))
    low = np.fft.irfft(np.where(freqs < 20000, noise, 0.0), n).astype(np.float32) * 0.1  # every bin below heard
    top = (0.1 * np.sin(2 * np.pi * 23250 * t)).astype(np.float32)  # a bin's centre: its leakage below is far down
    spectrum_low = freqs < 10000

    def low_band_change(config):
        model = denoiser_model(config, weights)
        run = jax.jit(lambda p, c, h: scan_hops(model.step, p, c, h))
        _, (a, _) = run(model.params(), model.init_carry(), jnp.asarray(low.reshape(-1, 64)))
        _, (b, _) = run(model.params(), model.init_carry(), jnp.asarray((low + top).reshape(-1, 64)))
        taper = np.hanning(n)  # so the top tone left in `b` does not leak into the low bins of the comparison
        a, b = np.fft.rfft(np.ravel(a) * taper), np.fft.rfft(np.ravel(b) * taper)
        return np.abs(a - b)[spectrum_low].max() / np.abs(a)[spectrum_low].max()

    plain, seen_below = low_band_change(SMALL), low_band_change(cut)
    assert plain > 1e-2  # the plain net's gains follow the top band
    assert seen_below < 1e-4
    with pytest.raises(ParameterError, match="feature_top_hz"):
        DenoiserConfig(feature_top_hz=30000.0)
