"""The classifier's spectro-temporal front end (ClassifierConfig.tf_channels): convolutions over the fine bins and
three taps in time, their past inputs in the carry. Grown onto a trained net it changes nothing until trained;
it is causal, and it streams exactly as it processes a file."""

from __future__ import annotations

import json
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtmusic import checkpoint
from rtmusic.errors import ParameterError
from rtmusic.models import ClassifierConfig, SpectroTemporal, init_label_net, spectro_temporal_past
from rtmusic.processor import Processor, model_from_checkpoint
from rtmusic.step import classifier_model, scan_hops

PLAIN = ClassifierConfig(bands=16, hidden=16, layers=2, conv_channels=(4,), conv_kernel=3, fine_window=960,
                         fine_bins=24)
TF = replace(PLAIN, tf_channels=(4, 6), tf_dilations=(1, 3), tf_kernel=3)


def _probabilities(config, weights, audio):
    model = classifier_model(config, weights)
    _, (_, aux) = scan_hops(model.step, model.params(), model.init_carry(), jnp.asarray(audio.reshape(-1, config.hop)))
    return np.asarray(aux.values)


def _audio(seconds=0.6, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 48000)) / 48000
    return (0.3 * np.sin(2 * np.pi * 330 * t) * (t > 0.2) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def test_a_front_end_grown_onto_a_trained_classifier_starts_out_computing_what_it_did(tmp_path):
    from train.classify import initial_weights
    from train.configs.classify import get_config

    trained = init_label_net(PLAIN, seed=3)
    path = checkpoint.save(tmp_path / "plain.rtm", jax.device_get(trained), kind="classifier",
                           config=json.loads(json.dumps(PLAIN.to_dict())))
    grown = initial_weights(replace(get_config("tiny"), model=TF), path)
    assert set(grown) == set(trained) | {"tf"} and set(grown["tf"]) == {"layer0", "layer1"}
    assert np.asarray(grown["embed"]["kernel"]).shape[0] == np.asarray(trained["embed"]["kernel"]).shape[0] + TF.tf_features
    audio = _audio()
    before, after = _probabilities(PLAIN, trained, audio), _probabilities(TF, grown, audio)
    assert np.ptp(before) > 0.01
    np.testing.assert_allclose(after, before, atol=1e-6)
    with pytest.raises(SystemExit, match="spectro-temporal"):  # a front end cannot be taken away again
        initial_weights(replace(get_config("tiny"), model=PLAIN), checkpoint.save(
            tmp_path / "tf.rtm", jax.device_get(grown), kind="classifier", config=json.loads(json.dumps(TF.to_dict()))))


def test_the_front_end_is_causal_and_reaches_back_as_far_as_its_taps():
    """Fed one hop's fine levels at a time, its output at hop t depends on hops t - 2 (d0 + d1) .. t and no others."""
    front = SpectroTemporal(TF.tf_channels, TF.tf_dilations, TF.tf_kernel)
    past = spectro_temporal_past(TF.fine_bins, TF.tf_channels, TF.tf_dilations)
    fine = np.random.default_rng(5).standard_normal((40, 2 * TF.fine_bins)).astype(np.float32)
    params = front.init(jax.random.PRNGKey(0), past, jnp.asarray(fine[0]))
    run = jax.jit(lambda p, f: jax.lax.scan(lambda c, x: front.apply(p, c, x)[::-1], past, f)[1])
    k, reach = 10, 2 * sum(TF.tf_dilations)
    changed = fine.copy()
    changed[k] += 1.0
    differs = np.abs(np.asarray(run(params, fine)) - np.asarray(run(params, changed))).max(axis=1) > 1e-6
    assert differs[k] and differs[k + reach] and not differs[:k].any() and not differs[k + reach + 1:].any()


def test_a_classifier_with_the_front_end_steps_like_the_scan_and_round_trips(tmp_path):
    """Hop by hop, as the live engine calls it, the step gives the scan's probabilities; and a checkpoint of it
    processes a file exactly as the model it was saved from."""
    model = classifier_model(TF, init_label_net(TF, seed=6), name="tf-classifier")
    hops = _audio(seconds=0.3, seed=2).reshape(-1, TF.hop)
    step, params, carry, live = jax.jit(model.step), model.params(), model.init_carry(), []
    for h in hops:
        carry, (_, aux) = step(params, carry, jnp.asarray(h))
        live.append(np.asarray(aux.values))
    np.testing.assert_allclose(np.stack(live), _probabilities(TF, model.weights, hops.reshape(-1)), atol=1e-5)
    path = checkpoint.save(tmp_path / "tf.rtm", jax.device_get(model.weights), kind="classifier",
                           config=json.loads(json.dumps(TF.to_dict())))
    signal = _audio(seconds=0.5, seed=3)
    np.testing.assert_array_equal(Processor(model_from_checkpoint(path)).process(signal).aux,
                                  Processor(model).process(signal).aux)


def test_front_end_settings_are_checked():
    with pytest.raises(ParameterError, match="tf_dilations"):
        replace(PLAIN, tf_channels=(4, 6), tf_dilations=(1,))
    with pytest.raises(ParameterError, match="multiple of 2"):
        replace(PLAIN, fine_bins=20, tf_channels=(4, 4, 4), tf_dilations=(1, 2, 4))
    with pytest.raises(ParameterError, match="fine_bins"):
        replace(PLAIN, fine_window=0, fine_bins=0, tf_channels=(4,), tf_dilations=(1,))
    assert ClassifierConfig.from_dict(json.loads(json.dumps(TF.to_dict()))) == TF
