"""The classifier and the combined model: step contract, pass-through, scan == step, the engine's aux ring,
loading, label windows and the live label monitor, and the classification metrics."""

from __future__ import annotations

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtmusic import checkpoint
from rtmusic.dsp import mel_band_matrix
from rtmusic.engine import state as S
from rtmusic.engine.callback import run_block
from rtmusic.engine.worker import AUX_RING, Worker
from rtmusic.errors import CheckpointError, ParameterError
from rtmusic.labels import LabelMonitor, label_columns, labels_document, window_probabilities, window_targets
from rtmusic.metrics import (
    average_precision,
    f1_per_label,
    macro_f1,
    mean_average_precision,
    per_label_average_precision,
)
from rtmusic.models import CLASSIFIER_LABELS, ClassifierConfig, DenoiserConfig, init_label_net, init_mask_net
from rtmusic.processor import Processor, load_classifier, load_model, model_for_tasks, model_from_checkpoint
from rtmusic.registry import parse_tasks
from rtmusic.step import bypass_model, classifier_model, combined_model, denoiser_model, scan_hops

SMALL = ClassifierConfig(bands=16, hidden=16, layers=1)  # the shipped hop/window, a small net
LONG = ClassifierConfig(bands=48, hidden=16, layers=1, feature_window=1920, band_low_hz=40.0)  # v2 features
SMALL_DENOISER = DenoiserConfig(hidden=16, layers=1)
HOP = 240


def _signal(n: int, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _scan(model, params, hops):
    return jax.jit(lambda p, c, h: scan_hops(model.step, p, c, h))(params, model.init_carry(), jnp.asarray(hops))


@pytest.fixture(scope="module")
def small():
    return classifier_model(SMALL, init_label_net(SMALL, seed=5), name="small-classifier")


@pytest.fixture(scope="module")
def small_denoiser():
    return denoiser_model(SMALL_DENOISER, init_mask_net(SMALL_DENOISER, seed=6), name="small-denoiser")


# ---- model and step ------------------------------------------------------------------------------------
def test_labels_are_the_training_data_labels_plus_speech_noise_silence():
    from train.datapaths import LABEL_NAMES

    assert CLASSIFIER_LABELS == LABEL_NAMES + ("speech", "noise", "silence")
    assert ClassifierConfig().labels == CLASSIFIER_LABELS and ClassifierConfig().n_labels == 15


def test_mel_bands_cover_every_bin_range_and_sum_to_one():
    bands = mel_band_matrix(480, 48000, 64)
    assert bands.shape == (241, 64)
    np.testing.assert_allclose(bands.sum(axis=0), 1.0, atol=1e-5)
    assert np.all((bands > 0).sum(axis=0) >= 1)
    peaks = np.argmax(bands, axis=0)
    assert np.all(np.diff(peaks) >= 0) and peaks[0] <= 2 and peaks[-1] >= 200  # low to high, to Nyquist
    with pytest.raises(ParameterError, match="bands"):
        ClassifierConfig(bands=300)


def test_probabilities_in_unit_interval_and_audio_is_the_bypass_bit_exact(small):
    x = _signal(60 * HOP, seed=1, scale=0.3)
    x[5000:5100] = 0.0
    _, (out, aux) = _scan(small, small.params(), x.reshape(-1, HOP))
    values = np.asarray(aux.values)
    assert values.shape == (60, 15) and np.all((values >= 0) & (values <= 1))
    assert small.aux_names == CLASSIFIER_LABELS and small.delay == 240 and small.algorithmic_latency == 480
    bypass = bypass_model()
    _, (expected, _) = _scan(bypass, bypass.params(), x.reshape(-1, HOP))
    assert np.array_equal(np.asarray(out), np.asarray(expected))


def test_the_builtin_classifier_passes_audio_through_bit_exactly_offline():
    x = _signal(48000 + 77, seed=2, scale=0.5)
    out = Processor(load_model("classifier-random")).process(x)
    assert np.array_equal(out.out, x)  # delay-compensated pass-through == the input itself
    assert out.aux.shape[1] == 15 and np.all((out.aux >= 0) & (out.aux <= 1))


def test_classifier_scan_equals_repeated_step_calls(small):
    x = _signal(40 * HOP, seed=3, scale=0.3).reshape(-1, HOP)
    params = small.params()
    carry_scan, (out_scan, aux_scan) = _scan(small, params, x)
    step = jax.jit(small.step)
    carry, outs, auxes = small.init_carry(), [], []
    for h in x:
        carry, (out, aux) = step(params, carry, jnp.asarray(h))
        outs.append(np.asarray(out))
        auxes.append(np.asarray(aux.values))
    np.testing.assert_array_equal(np.stack(outs), out_scan)
    np.testing.assert_allclose(np.stack(auxes), aux_scan.values, atol=1e-5, rtol=0)
    for a, b in zip(jax.tree_util.tree_leaves(carry), jax.tree_util.tree_leaves(carry_scan)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


def test_logits_mode_is_the_same_step_before_the_sigmoid(small):
    x = _signal(20 * HOP, seed=4).reshape(-1, HOP)
    logit_model = classifier_model(SMALL, small.weights, logits=True)
    _, (_, probs) = _scan(small, small.params(), x)
    _, (_, logits) = _scan(logit_model, logit_model.params(), x)
    np.testing.assert_allclose(jax.nn.sigmoid(logits.values), probs.values, atol=1e-6)


def test_classifier_is_causal(small):
    x = _signal(30 * HOP, seed=5).reshape(-1, HOP)
    y = x.copy()
    y[20:] = _signal(10 * HOP, seed=99).reshape(-1, HOP)  # change the future only
    _, (_, a) = _scan(small, small.params(), x)
    _, (_, b) = _scan(small, small.params(), y)
    np.testing.assert_array_equal(np.asarray(a.values)[:20], np.asarray(b.values)[:20])
    assert not np.array_equal(np.asarray(a.values)[20:], np.asarray(b.values)[20:])


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e30])
def test_nonfinite_input_keeps_probabilities_finite(small, bad):
    step = jax.jit(small.step)
    carry = small.init_carry()
    x = _signal(8 * HOP, seed=6).reshape(-1, HOP)
    x[3, 7] = bad
    x[5] = bad
    for h in x:
        carry, (out, aux) = step(small.params(), carry, jnp.asarray(h))
        values = np.asarray(aux.values)
        assert np.all(np.isfinite(np.asarray(out))) and np.all((values >= 0) & (values <= 1))


def test_poisoned_carry_is_reset_and_flagged(small):
    step = jax.jit(small.step)
    carry = small.init_carry()
    carry = carry._replace(level_db=carry.level_db + jnp.nan)
    new_carry, (out, aux) = step(small.params(), carry, jnp.asarray(_signal(HOP, seed=7)))
    assert bool(aux.nonfinite_reset) and np.all(np.isfinite(np.asarray(out)))
    assert float(np.max(np.asarray(aux.values))) < 1e-6  # a reset hop says "nothing"
    for got, fresh in zip(jax.tree_util.tree_leaves(new_carry), jax.tree_util.tree_leaves(small.init_carry())):
        assert np.array_equal(np.asarray(got), np.asarray(fresh))


def _assert_steps_equal_the_scan(model, hops):
    """Call the jitted step hop by hop and check its label probabilities against the scan's; (out, aux) of the scan."""
    params = model.params()
    _, (out_scan, aux_scan) = _scan(model, params, hops)
    step = jax.jit(model.step)
    carry, auxes = model.init_carry(), []
    for h in hops:
        carry, (_, aux) = step(params, carry, jnp.asarray(h))
        auxes.append(np.asarray(aux.values))
    np.testing.assert_allclose(np.stack(auxes), aux_scan.values, atol=1e-5, rtol=0)
    return out_scan, aux_scan


@pytest.fixture(scope="module")
def long_history():
    return classifier_model(LONG, init_label_net(LONG, seed=8), name="long-history-classifier")


def test_long_feature_history_streams_like_the_scan_with_the_same_bit_exact_delay(long_history):
    assert long_history.delay == 240 and long_history.window == 480 and long_history.algorithmic_latency == 480
    assert long_history.init_carry().frame_tail.shape == (1920 - HOP,)
    x = _signal(40 * HOP, seed=13, scale=0.3).reshape(-1, HOP)
    out_scan, _ = _assert_steps_equal_the_scan(long_history, x)
    bypass = bypass_model()
    _, (expected, _) = _scan(bypass, bypass.params(), x)
    assert np.array_equal(np.asarray(out_scan), np.asarray(expected))
    sig = _signal(48000 + 77, seed=14, scale=0.5)
    assert np.array_equal(Processor(long_history).process(sig).out, sig)  # delay-compensated: the input itself


def test_long_feature_history_is_causal_and_combines_with_the_denoiser(long_history, small_denoiser):
    x = _signal(30 * HOP, seed=15).reshape(-1, HOP)
    y = x.copy()
    y[20:] = _signal(10 * HOP, seed=98).reshape(-1, HOP)
    _, (_, a) = _scan(long_history, long_history.params(), x)
    _, (_, b) = _scan(long_history, long_history.params(), y)
    np.testing.assert_array_equal(np.asarray(a.values)[:20], np.asarray(b.values)[:20])
    assert not np.array_equal(np.asarray(a.values)[20:], np.asarray(b.values)[20:])
    assert combined_model(small_denoiser, long_history).delay == small_denoiser.delay


def test_long_feature_window_is_hann_at_the_sqrt_hann_noise_level_and_bands_start_at_low_hz():
    from rtmusic.dsp import feature_taper, sqrt_hann

    assert np.array_equal(feature_taper(480, 480), sqrt_hann(480))  # v1 features, bit for bit
    taper = feature_taper(480, 1920)
    assert taper.shape == (1920,) and np.argmax(taper) == 960
    np.testing.assert_allclose(np.sum(taper.astype(np.float64) ** 2), 240.0, rtol=1e-5)
    assert np.array_equal(mel_band_matrix(480, 48000, 64), mel_band_matrix(480, 48000, 64, low_hz=0.0))
    bands = mel_band_matrix(1920, 48000, 128, low_hz=40.0)  # 25 Hz bins
    assert bands.shape == (961, 128) and np.all(bands[:2] == 0) and bands[2, 0] > 0  # nothing below 40 Hz
    assert np.all((bands > 0).sum(axis=0) >= 1)
    np.testing.assert_allclose(bands.sum(axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"feature_window": 240}, "at least window"),
    ({"feature_window": 2048}, "multiple of hop"),
    ({"feature_window": 1920, "bands": 1000}, "bands must be between 8 and"),
    ({"bands": 200, "band_low_hz": 8000.0}, "bands must be between 8 and"),
    ({"band_low_hz": -1.0}, "band_low_hz"),
])
def test_feature_window_and_band_settings_are_validated(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        ClassifierConfig(**kwargs)


CONV = ClassifierConfig(bands=16, hidden=16, layers=1, conv_channels=(4, 6), conv_kernel=3)


def test_band_convolution_is_a_same_padded_convolution_along_the_bands():
    from rtmusic.models import BandConv

    x = np.random.default_rng(0).standard_normal((12, 3)).astype(np.float32)
    for kernel in (1, 4, 5):
        conv = BandConv(features=2, kernel=kernel)
        params = conv.init(jax.random.PRNGKey(1), jnp.asarray(x))["params"]
        params = {"kernel": jax.random.normal(jax.random.PRNGKey(2), params["kernel"].shape),
                  "bias": jnp.asarray([0.5, -1.0])}
        got = np.asarray(conv.apply({"params": params}, jnp.asarray(x)))
        w = np.asarray(params["kernel"]).reshape(kernel, 3, 2)  # tap, channel, feature
        left = (kernel - 1) // 2
        want = np.zeros((12, 2))
        for band in range(12):
            for tap in range(kernel):
                src = band + tap - left
                if 0 <= src < 12:
                    want[band] += x[src] @ w[tap]
        np.testing.assert_allclose(got, want + [0.5, -1.0], atol=1e-5)


def test_conv_classifier_streams_like_the_scan_is_causal_and_round_trips(tmp_path):
    model = classifier_model(CONV, init_label_net(CONV, seed=9), name="conv-classifier")
    assert model.weights["conv0"]["kernel"].shape == (3 * 3, 4) and model.weights["conv1"]["kernel"].shape == (3 * 4, 6)
    assert model.weights["embed"]["kernel"].shape == (16 // 4 * 6, 16)  # two poolings of band pairs
    x = _signal(30 * HOP, seed=21, scale=0.3).reshape(-1, HOP)
    _, aux_scan = _assert_steps_equal_the_scan(model, x)
    y = x.copy()
    y[20:] = _signal(10 * HOP, seed=22).reshape(-1, HOP)
    _, (_, aux_y) = _scan(model, model.params(), y)
    np.testing.assert_array_equal(np.asarray(aux_y.values)[:20], np.asarray(aux_scan.values)[:20])
    path = checkpoint.save(tmp_path / "conv.rtm", jax.device_get(model.weights), kind="classifier",
                           config=json.loads(json.dumps(CONV.to_dict())))  # the header is JSON: a list
    loaded = model_from_checkpoint(path)
    assert ClassifierConfig.from_dict(loaded.config) == CONV
    sig = _signal(4800, seed=23)
    np.testing.assert_array_equal(Processor(loaded).process(sig).aux, Processor(model).process(sig).aux)


@pytest.mark.parametrize("kwargs", [{"bands": 18, "conv_channels": (4, 4)}, {"conv_channels": (0,)},
                                    {"conv_channels": (4,), "conv_kernel": 0}])
def test_conv_settings_are_validated(kwargs):
    with pytest.raises(ParameterError, match="conv_channels"):
        ClassifierConfig(**kwargs)


FINE = ClassifierConfig(bands=16, hidden=16, layers=1, conv_channels=(4, 6), conv_kernel=3, fine_window=1920,
                        fine_bins=40)


def test_fine_bins_stream_like_the_scan_keep_the_bypass_delay_and_are_causal():
    model = classifier_model(FINE, init_label_net(FINE, seed=10), name="fine-classifier")
    assert model.init_carry().frame_tail.shape == (1920 - HOP,) and model.init_carry().fine_level_db.shape == (40,)
    assert model.weights["embed"]["kernel"].shape == (16 // 4 * 6 + 2 * 40, 16)  # fine bins bypass the convolutions
    x = _signal(30 * HOP, seed=24, scale=0.3).reshape(-1, HOP)
    out_scan, aux_scan = _assert_steps_equal_the_scan(model, x)
    bypass = bypass_model()
    _, (expected, _) = _scan(bypass, bypass.params(), x)
    assert np.array_equal(np.asarray(out_scan), np.asarray(expected))
    y = x.copy()
    y[20:] = _signal(10 * HOP, seed=25).reshape(-1, HOP)
    _, (_, aux_y) = _scan(model, model.params(), y)
    np.testing.assert_array_equal(np.asarray(aux_y.values)[:20], np.asarray(aux_scan.values)[:20])


def test_a_fine_classifier_warm_started_from_a_plain_one_computes_what_it_did():
    from dataclasses import replace

    from train.warmstart import warm_start

    plain = replace(FINE, fine_window=0, fine_bins=0)
    old = classifier_model(plain, init_label_net(plain, seed=11))
    new = classifier_model(FINE, warm_start(init_label_net(FINE, seed=12), old.weights))
    x = _signal(30 * HOP, seed=26, scale=0.3).reshape(-1, HOP)
    _, (out_old, aux_old) = _scan(old, old.params(), x)
    _, (out_new, aux_new) = _scan(new, new.params(), x)
    assert np.array_equal(np.asarray(out_old), np.asarray(out_new))
    np.testing.assert_allclose(np.asarray(aux_new.values), np.asarray(aux_old.values), atol=1e-6, rtol=0)
    assert np.all(np.asarray(new.weights["embed"]["kernel"])[-80:] == 0)  # the new inputs start with no say


@pytest.mark.parametrize("kwargs", [{"fine_window": 1920}, {"fine_bins": 40}, {"fine_window": 480, "fine_bins": 40},
                                    {"fine_window": 2000, "fine_bins": 40}, {"fine_window": 960, "fine_bins": 482}])
def test_fine_bin_settings_are_validated(kwargs):
    with pytest.raises(ParameterError, match="fine_window"):
        ClassifierConfig(**kwargs)


def test_configs_without_the_feature_keys_are_the_v1_classifier():
    old = {k: v for k, v in ClassifierConfig().to_dict().items() if k not in ("feature_window", "band_low_hz")}
    config = ClassifierConfig.from_dict(old)
    assert config.feature_window == config.window == 480 and config.band_low_hz == 0.0
    from rtmusic.registry import SHIPPED_CLASSIFIER, shipped_weights_path

    path = shipped_weights_path(SHIPPED_CLASSIFIER)
    if path is not None:  # the shipped weights load with the history their features need (fine bins: 40 ms)
        model = load_classifier("default")
        shipped = ClassifierConfig.from_dict(model.config)
        assert model.init_carry().frame_tail.shape == (shipped.history - model.hop,)


def test_combined_model_audio_is_the_denoisers_and_aux_is_both(small, small_denoiser):
    both = combined_model(small_denoiser, small)
    assert both.kind == "combined" and both.delay == small_denoiser.delay == small.delay
    assert both.aux_names == ("gain_db",) + CLASSIFIER_LABELS
    x = _signal(50 * HOP, seed=8, scale=0.3).reshape(-1, HOP)
    _, (out, aux) = _scan(both, both.params(), x)
    _, (den_out, den_aux) = _scan(small_denoiser, small_denoiser.params(), x)
    _, (_, cls_aux) = _scan(small, small.params(), x)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(den_out))  # bit-exact: the same ops on the same hop
    np.testing.assert_allclose(np.asarray(aux.values)[:, :1], den_aux.values, atol=1e-4)
    np.testing.assert_allclose(np.asarray(aux.values)[:, 1:], cls_aux.values, atol=1e-5)
    # and offline through the Processor: the same samples as the denoiser alone
    sig = _signal(20000, seed=9, scale=0.3)
    np.testing.assert_array_equal(Processor(both).process(sig).out, Processor(small_denoiser).process(sig).out)


def test_combined_model_knobs_reach_the_denoiser(small, small_denoiser):
    from rtmusic.step import make_knobs

    both = combined_model(small_denoiser, small)
    x = _signal(30 * HOP, seed=10).reshape(-1, HOP)
    _, (out, _) = _scan(both, both.params(make_knobs(mix=1.0)), x)
    expected = np.concatenate([np.zeros(240, np.float32), x.reshape(-1)])[: x.size]
    np.testing.assert_allclose(np.asarray(out).reshape(-1), expected, atol=1e-6)


def test_combined_model_rejects_mismatched_parts(small, small_denoiser):
    with pytest.raises(ParameterError, match="classifier second"):
        combined_model(small, small_denoiser)
    with pytest.raises(ParameterError, match="hop"):
        combined_model(bypass_model(hop=120, window=240), small)


def test_combined_model_takes_a_look_ahead_denoisers_delay_and_labels_on_time(small):
    """A denoiser with look-ahead lags the classifier: the audio keeps the denoiser's delay, the labels stay the
    classifier's own (a few ms early against the audio, never late)."""
    ahead_config = DenoiserConfig(hidden=16, layers=1, lookahead_hops=1)
    ahead = denoiser_model(ahead_config, init_mask_net(ahead_config, seed=7))
    both = combined_model(ahead, small)
    assert both.delay == ahead.delay == small.delay + HOP
    x = _signal(30 * HOP, seed=10, scale=0.3).reshape(-1, HOP)
    _, (out, aux) = _scan(both, both.params(), x)
    _, (den_out, _) = _scan(ahead, ahead.params(), x)
    _, (_, cls_aux) = _scan(small, small.params(), x)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(den_out))
    np.testing.assert_allclose(np.asarray(aux.values)[:, 1:], cls_aux.values, atol=1e-5)
    with pytest.raises(ParameterError, match="may not lag"):  # labels later than the audio: refused
        combined_model(bypass_model(), dataclasses.replace(small, delay=small.delay + HOP))


# ---- loading ---------------------------------------------------------------------------------------------
def test_default_classifier_uses_shipped_weights_when_present(small, tmp_path, monkeypatch):
    import rtmusic.registry as registry

    assert "untrained" in load_classifier("default").name or registry.shipped_weights_path("classifier.rtm")
    path = checkpoint.save(tmp_path / "classifier.rtm", jax.device_get(small.weights), kind="classifier",
                           config=SMALL.to_dict())
    monkeypatch.setattr(registry, "shipped_weights_path", lambda name: path if name == "classifier.rtm" else None)
    model = load_classifier("default")
    assert model.name == "default classifier" and model.config == SMALL.to_dict()


def test_builtin_names_tasks_and_checkpoints(small, tmp_path):
    assert load_model("classifier-random").kind == "classifier"
    default = load_classifier("default")
    assert default.kind == "classifier" and default.aux_names == CLASSIFIER_LABELS
    assert parse_tasks("classify,denoise") == ("denoise", "classify")
    with pytest.raises(ParameterError, match="unknown task 'sing'"):
        parse_tasks("denoise,sing")
    assert model_for_tasks("classify", classifier="classifier-random").kind == "classifier"
    assert model_for_tasks("denoise", model="bypass").kind == "bypass"
    both = model_for_tasks("denoise,classify", model="bypass", classifier="classifier-random")
    assert both.kind == "combined" and both.aux_names == CLASSIFIER_LABELS  # bypass has no aux
    path = checkpoint.save(tmp_path / "c.rtm", jax.device_get(small.weights), kind="classifier", config=SMALL.to_dict())
    loaded = model_from_checkpoint(path)
    assert loaded.kind == "classifier" and loaded.config == SMALL.to_dict() and loaded.name == "c"
    assert load_classifier(str(path)).kind == "classifier"
    x = _signal(4800, seed=11)
    np.testing.assert_array_equal(Processor(loaded).process(x).aux, Processor(small).process(x).aux)
    den = checkpoint.save(tmp_path / "d.rtm", jax.device_get(init_mask_net(SMALL_DENOISER)), kind="denoiser",
                          config=SMALL_DENOISER.to_dict())
    with pytest.raises(CheckpointError, match="not a classifier"):
        load_classifier(str(den))
    with pytest.raises(CheckpointError, match="no classifier named 'nosuch'"):
        load_classifier("nosuch")


# ---- the engine: aux rows through the live worker ------------------------------------------------------
def _stream_aux(proc, signal, sizes, read_every: int = 1):
    state = S.EngineState.create(hop=proc.hop, prefill=proc.hop + 4096, step_delay=proc.delay_samples,
                                 max_block=max(sizes))
    proc.reset()
    worker = Worker(proc, state)
    total = signal.size + int(state.ctl[S.TOTAL_DELAY])
    padded = np.zeros(total, np.float32)
    padded[: signal.size] = signal
    out = np.zeros((total, 1), np.float32)
    rows, hops, since, pos, i = [], [], 0, 0, 0
    while pos < total:
        n = min(sizes[i % len(sizes)], total - pos)
        run_block(state, padded[pos:pos + n, None], out[pos:pos + n], samplerate=proc.samplerate)
        worker.process_available()
        if i % read_every == 0:
            r, h, since = worker.aux_since(since)
            rows.append(r)
            hops.append(h)
        pos += n
        i += 1
    r, h, since = worker.aux_since(since)
    return np.concatenate(rows + [r]), np.concatenate(hops + [h]), out[:, 0], state


def test_streamed_aux_equals_offline_aux_for_odd_blocks(small):
    proc = Processor(small).prepare(warmup_hops=2)
    signal = _signal(48000 + 77, seed=12, scale=0.3)
    rows, hops, out, state = _stream_aux(proc, signal, (1, 7, 64, 65, 128, 480, 1000, 4096))
    assert np.array_equal(hops, np.arange(hops.size))  # every hop once, in order
    offline = proc.process(signal).aux
    n = min(rows.shape[0], offline.shape[0])
    assert n >= signal.size // HOP
    np.testing.assert_allclose(rows[:n], offline[:n], atol=1e-5, rtol=0)
    delay = int(state.ctl[S.TOTAL_DELAY])
    assert np.array_equal(out[delay:], signal)  # audio untouched
    assert state.counters()["deadline_misses"] == 0


def test_a_slow_aux_reader_gets_the_latest_rows_with_their_hop_indices(small):
    proc = Processor(small).prepare(warmup_hops=2)
    signal = _signal(3 * 48000, seed=13)  # 600 hops > AUX_RING
    rows, hops, _, _ = _stream_aux(proc, signal, (4096,), read_every=10 ** 9)  # read after block 0 and at the end
    first = 4096 // HOP  # rows of the first read
    assert hops[:first].tolist() == list(range(first))
    last = hops[first:]
    assert 0 < last.size <= AUX_RING and np.all(np.diff(last) == 1) and last[0] > first  # older rows were dropped
    offline = proc.process(signal).aux
    known = hops < offline.shape[0]  # the stream ran on past the end (the engine's pre-fill of zeros)
    assert known.sum() > 100
    np.testing.assert_allclose(rows[known], offline[hops[known]], atol=1e-5, rtol=0)


# ---- windows and the monitor ---------------------------------------------------------------------------
def test_window_probabilities_take_the_95th_percentile_per_second():
    hops_per_s = 200
    probs = np.zeros((2 * hops_per_s + 60 + 3, 2), np.float32)  # 2.3 s of hops, + 3 padding hops
    probs[hops_per_s + 20: hops_per_s + 40, 0] = 0.9  # 100 ms of "on" in the second window: counts
    probs[5, 1] = 1.0  # one spiky hop in the first window: does not
    probs[-3:] = 1.0  # hops after the end of the signal (delay padding): ignored
    starts, ends, win = window_probabilities(probs, 240, 48000, duration_s=2.3)
    np.testing.assert_allclose(starts, [0, 1, 2])
    np.testing.assert_allclose(ends, [1, 2, 2.3])
    assert win[1, 0] == pytest.approx(0.9) and win[0, 0] == 0 and win[2, 0] == 0
    assert win[0, 1] < 0.01 and win[2, 1] == 0
    truth = window_targets((probs > 0.5).astype(np.float32), 240, 48000, 2.3)
    assert truth[:, 0].tolist() == [0, 1, 0] and truth[:, 1].tolist() == [0, 0, 0]
    doc = labels_document(("a", "b"), starts, ends, win)
    assert doc["labels"] == ["a", "b"] and doc["windows"][1] == {"start": 1.0, "end": 2.0, "probs": {"a": 0.9, "b": 0.0}}
    json.dumps(doc)


def test_label_columns_of_each_kind(small, small_denoiser):
    assert label_columns(small) == (CLASSIFIER_LABELS, slice(0, 15))
    assert label_columns(combined_model(small_denoiser, small)) == (CLASSIFIER_LABELS, slice(1, 16))
    assert label_columns(small_denoiser) is None


def test_label_monitor_smooths_and_writes_one_line_per_100ms(tmp_path):
    path = tmp_path / "labels.jsonl"
    monitor = LabelMonitor(("a", "b"), slice(1, 3), 240, 48000, jsonl=path)

    class FakeWorker:  # the worker's aux ring, as aux_since hands it out
        def __init__(self, rows):
            self.rows = rows

        def aux_since(self, since):
            return self.rows[since:], np.arange(since, len(self.rows)), len(self.rows)

    rows = np.zeros((100, 3), np.float32)  # 0.5 s; column 0 is another model's aux
    rows[:, 1] = 1.0
    rows[40:, 2] = np.linspace(0, 1, 60)
    rows[:, 0] = 99.0
    worker = FakeWorker(rows)
    assert monitor.update(worker) == 100 and monitor.update(worker) == 0
    assert monitor.top(1)[0][0] == "a" and monitor.top(2)[0][1] == pytest.approx(1 - math.exp(-0.5 / 0.3), abs=1e-3)
    assert 0 < monitor.smoothed[1] < 0.7  # the EMA lags the ramp
    assert len(monitor.bar_lines(2)) == 2 and monitor.summary_line().startswith("labels: a 0.8")
    monitor.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["t"] for line in lines] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert all(line["hops"] == 20 and set(line["probs"]) == {"a", "b"} for line in lines)
    assert lines[0]["probs"] == {"a": 1.0, "b": 0.0}
    assert lines[-1]["probs"]["b"] == pytest.approx(rows[80:100, 2].mean(), abs=1e-4)


# ---- metrics -------------------------------------------------------------------------------------------
def test_average_precision_on_known_rankings():
    assert average_precision([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([0.1, 0.9, 0.3], [0, 1, 0]) == 1.0
    assert average_precision([0.5, 0.5], [1, 0]) == 0.5  # a tie is one threshold
    assert average_precision([0.9, 0.1, 0.5], [0, 1, 0]) == pytest.approx(1 / 3)
    assert math.isnan(average_precision([0.2, 0.3], [0, 0]))


def test_map_and_f1_over_labels():
    scores = np.array([[0.9, 0.2, 0.1], [0.8, 0.7, 0.2], [0.1, 0.6, 0.3], [0.2, 0.1, 0.4]])
    targets = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]])
    ap = per_label_average_precision(scores, targets)
    # label 1 ranked: 0.7 (pos), 0.6, 0.2, 0.1 (pos): precision 1 at recall 1/2, 2/4 at recall 1
    assert ap[0] == 1.0 and ap[1] == pytest.approx(0.5 * 1 + 0.5 * 2 / 4) and math.isnan(ap[2])
    assert mean_average_precision(scores, targets) == pytest.approx((1 + 0.75) / 2)
    f1 = f1_per_label(scores, targets, 0.5)  # label 1: predicted {1, 2}, true {1, 3}: tp 1 fp 1 fn 1
    assert f1[0] == 1.0 and f1[1] == pytest.approx(0.5) and math.isnan(f1[2])
    assert macro_f1(scores, targets) == pytest.approx(0.75)
    assert f1_per_label(np.array([[0.9]]), np.array([[0]]))[0] == 0.0  # a false alarm only


def test_decision_latency_and_onsets():
    from bench.classify_eval import decision_latencies, onsets

    hop_s = 0.005
    target = np.zeros(1000)
    target[300:500] = 1  # onset after 1.5 s off
    target[520:600] = 1  # only 100 ms off before: not an onset with a 0.5 s gap
    target[800:] = 1
    assert onsets(target, 100).tolist() == [300, 800]
    probs = np.zeros(1000)
    probs[310:] = 0.7  # crosses 0.5 at hop 310 -> 11 hops after the onset hop began
    probs[800:] = 0.0  # never again: the onset at 800 is missed
    lat = decision_latencies(probs, target, hop_s, gap_s=0.5, max_wait_s=2.0)
    assert lat[0] == pytest.approx(11 * hop_s) and math.isnan(lat[1])


def test_evaluation_counts_onsets_labelled_within_500_ms():
    from bench.classify_eval import ONSET_TARGET_S, evaluate

    hops, hop = 1000, 240  # 5 s at 48 kHz
    targets = np.zeros((3, hops, 1), np.float32)
    probs = [np.zeros((hops, 1), np.float32) for _ in range(3)]
    for clip, delay_hops in enumerate((10, 140, None)):  # 55 ms, 705 ms, never
        targets[clip, 300:, 0] = 1
        if delay_hops is not None:
            probs[clip][300 + delay_hops:, 0] = 0.9
    report = evaluate(probs, targets, ("piano",), hop, 48000)
    label = report["per_label"]["piano"]
    assert ONSET_TARGET_S == 0.5
    assert (label["onsets"], label["detected"], label["within_target"]) == (3, 2, 1)
    assert report["detection_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["within_target_rate"] == pytest.approx(1 / 3, abs=1e-4)


def test_bar_order_only_changes_when_a_label_clearly_overtakes():
    monitor = LabelMonitor(("a", "b", "c"), slice(0, 3), 240, 48000)
    monitor.smoothed[:] = [0.50, 0.49, 0.10]
    assert [line.split()[0] for line in monitor.bar_lines(2)] == ["a", "b"]
    monitor.smoothed[:] = [0.49, 0.50, 0.10]  # b edges ahead: the display keeps its order
    assert [line.split()[0] for line in monitor.bar_lines(2)] == ["a", "b"]
    monitor.smoothed[:] = [0.40, 0.50, 0.45]  # b clearly ahead, c overtakes a
    assert [line.split()[0] for line in monitor.bar_lines(2)] == ["b", "c"]


def test_classifier_level_warmup_starts_at_the_first_full_frame_and_streams_like_the_scan():
    from rtmusic import dsp

    warm = dataclasses.replace(FINE, level_warmup=True, level_tau_s=0.05)
    model = classifier_model(warm, init_label_net(warm, seed=13), name="warm-classifier")
    x = _signal(30 * HOP, seed=27, scale=0.3)
    _assert_steps_equal_the_scan(model, x.reshape(-1, HOP))
    step, carry = jax.jit(model.step), model.init_carry()
    for h in x.reshape(-1, HOP)[:2]:  # the first full frame (480 samples) after 2 hops: the level is its level
        carry, _ = step(model.params(), carry, jnp.asarray(h))
    bands = mel_band_matrix(480, 48000, warm.bands, warm.band_low_hz)
    spectrum = np.asarray(dsp.stft_frame(jnp.asarray(x[:480]), jnp.asarray(dsp.feature_taper(480, 480))))
    np.testing.assert_allclose(np.asarray(carry.level_db), 10 * np.log10(np.abs(spectrum) ** 2 @ bands + 1e-12),
                               atol=1e-3)
    for h in x.reshape(-1, HOP)[2:8]:  # the fine history (1920 samples) is full after 8
        carry, _ = step(model.params(), carry, jnp.asarray(h))
    fine = dsp.power_db(dsp.stft_frame(jnp.asarray(x[:1920]), jnp.asarray(dsp.feature_taper(480, 1920))))[:40]
    np.testing.assert_allclose(np.asarray(carry.fine_level_db), np.asarray(fine), atol=1e-3)
    old = {k: v for k, v in warm.to_dict().items() if k != "level_warmup"}
    assert ClassifierConfig.from_dict(old).level_warmup is False  # configs from before the key: the fixed start
