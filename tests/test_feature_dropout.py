"""Structured feature dropout (train.feature_dropout): which features a mask hides, and that the step applies it."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rtmusic.models import ClassifierConfig, classifier_feature_size, init_label_net
from train.classify import make_forward
from train.feature_dropout import FeatureDropout, feature_frequencies, sample_masks

CONFIG = ClassifierConfig(conv_channels=(8, 16), fine_window=1920, fine_bins=160)  # the shipped layout


def _blocks(mask: np.ndarray, config: ClassifierConfig = CONFIG):
    b, f = config.bands, config.fine_bins
    return mask[:b], mask[b:2 * b], mask[2 * b:3 * b], mask[3 * b:3 * b + f], mask[3 * b + f:]


def test_no_dropout_keeps_every_feature():
    masks = sample_masks(CONFIG, FeatureDropout(), 8, np.random.default_rng(0))
    assert not FeatureDropout().active
    assert masks.shape == (8, classifier_feature_size(CONFIG)) and np.all(masks == 1.0)


def test_frequency_masks_hide_one_stretch_of_the_spectrum_in_every_feature():
    spec = FeatureDropout(masked_share=1.0, max_masks=1, octaves=(0.5, 1.0))
    band_hz, fine_hz = feature_frequencies(CONFIG)
    assert np.all(np.diff(band_hz) > 0) and fine_hz[1] == 25.0 and len(fine_hz) == 160
    masks = sample_masks(CONFIG, spec, 64, np.random.default_rng(1))
    assert set(np.unique(masks)) <= {0.0, 1.0} and masks.dtype == np.float32
    for mask in masks:
        norm, level, change, fine_norm, fine_level = _blocks(mask)
        assert np.array_equal(norm, level) and np.array_equal(norm, change)  # the band's three features go together
        assert np.array_equal(fine_norm, fine_level)
        hidden = np.flatnonzero(norm == 0)
        if hidden.size:  # one contiguous stretch, at most an octave wide
            assert np.all(np.diff(hidden) == 1)
            assert band_hz[hidden[-1]] / band_hz[hidden[0]] <= 2.0 + 1e-9
            lo, hi = band_hz[hidden[0]], band_hz[hidden[-1]]
            fine_hidden = fine_hz[fine_norm == 0]
            # fine bins between two hidden bands are hidden too, and none far outside the stretch
            assert np.all(fine_norm[(fine_hz >= lo) & (fine_hz <= hi)] == 0)
            assert fine_hidden.size == 0 or (fine_hidden.min() >= lo / 1.5 and fine_hidden.max() <= hi * 1.5)
    assert 0 < np.mean([np.any(m == 0) for m in masks])  # most masks land inside the band range


def test_level_dropout_hides_only_absolute_levels_on_its_share_of_examples():
    spec = FeatureDropout(level_share=0.5, level_rate=0.3)
    masks = sample_masks(CONFIG, spec, 400, np.random.default_rng(2))
    touched = []
    for mask in masks:
        norm, level, change, fine_norm, fine_level = _blocks(mask)
        assert np.all(norm == 1) and np.all(change == 1) and np.all(fine_norm == 1)
        touched.append(np.any(level == 0) or np.any(fine_level == 0))
        if np.any(level == 0):
            assert 0.1 < np.mean(level == 0) < 0.6
    assert 0.4 < np.mean(touched) < 0.6


def test_the_step_multiplies_its_features_by_the_mask():
    config = ClassifierConfig(hidden=16, layers=1, bands=16, feature_window=960, band_low_hz=40.0)
    weights = init_label_net(config, seed=3)
    forward = make_forward(config)
    audio = jnp.asarray(np.random.default_rng(3).standard_normal((2, 240 * 20)).astype(np.float32) * 0.1)
    plain = np.asarray(forward(weights, audio))
    ones = np.asarray(forward(weights, audio, jnp.ones((2, classifier_feature_size(config)))))
    assert np.array_equal(plain, ones)
    zeros = np.asarray(forward(weights, audio, jnp.zeros((2, classifier_feature_size(config)))))
    # with every feature hidden the two different inputs give the same logits; unmasked they differ
    assert np.allclose(zeros[0], zeros[1]) and not np.allclose(plain[0], plain[1])
    half = np.ones((2, classifier_feature_size(config)), np.float32)
    half[0, : config.bands] = 0.0  # only the first example's normalised levels hidden
    masked = np.asarray(forward(weights, audio, jnp.asarray(half)))
    assert np.array_equal(masked[1], plain[1]) and not np.allclose(masked[0], plain[0])
