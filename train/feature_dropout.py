"""Structured feature dropout for classifier training: masks over the step's per-hop features.

Why: the classifier learns its instrument families from one soundfont (FluidR3) and loses a quarter of its mAP
on another (TimGM6mb), whose instruments put their energy in other places. Hiding whole stretches of the
spectrum at random in training (SpecAugment's frequency masks, here in the step's feature space) keeps any one
spectral detail of FluidR3 from deciding a family; hiding some bands' absolute level keeps the net from relying
on how loud a soundfont plays a region.

A mask is one value per feature of `rtmusic.models.classifier_feature_size`'s layout ([normalised level,
absolute level, change] per mel band, then [normalised, absolute level] per fine bin), constant over an
example's segment; the step multiplies the features by it (`params["feature_mask"]`, training only). 0 is the
neutral value of every feature: level at its running mean, at `LEVEL_INIT_DB`, no change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rtmusic import dsp
from rtmusic.models import ClassifierConfig, classifier_feature_size

LOW_HZ = 40.0  # frequency masks are centred log-uniformly between these
HIGH_HZ = 16000.0


@dataclass(frozen=True)
class FeatureDropout:
    """How an example's features are masked. All zero: no masking (the features pass unchanged)."""

    masked_share: float = 0.0  # share of examples that get frequency masks
    max_masks: int = 2  # 1..max_masks frequency masks on such an example
    octaves: tuple[float, float] = (0.25, 1.0)  # width of each mask, drawn uniformly
    level_share: float = 0.0  # share of examples whose absolute level is hidden in some bands
    level_rate: float = 0.3  # in those, the share of bands (and fine bins) hidden, each at random

    @property
    def active(self) -> bool:
        return self.masked_share > 0.0 or self.level_share > 0.0


@lru_cache(maxsize=4)
def feature_frequencies(config: ClassifierConfig) -> tuple[np.ndarray, np.ndarray]:
    """Centre frequencies in Hz of the mel bands [bands] and of the fine bins [fine_bins] (computed once per
    config: `sample_masks` runs for every training batch)."""
    matrix = dsp.mel_band_matrix(config.feature_window, config.samplerate, config.bands, config.band_low_hz)
    bin_hz = np.arange(matrix.shape[0]) * config.samplerate / config.feature_window
    band_hz = bin_hz @ matrix  # each band's filter sums to 1: its weighted mean frequency
    fine_hz = np.arange(config.fine_bins) * config.samplerate / max(config.fine_window, 1)
    return band_hz, fine_hz


def sample_masks(config: ClassifierConfig, spec: FeatureDropout, batch: int, rng: np.random.Generator) -> np.ndarray:
    """[batch, classifier_feature_size] float32 of 0 (hidden) and 1 (kept), one row per example."""
    band_hz, fine_hz = feature_frequencies(config)
    bands, fine = len(band_hz), len(fine_hz)
    masks = np.ones((batch, classifier_feature_size(config)), np.float32)
    for row in masks:
        band_kept, fine_kept = np.ones(bands, bool), np.ones(fine, bool)
        if rng.random() < spec.masked_share:
            for _ in range(rng.integers(1, spec.max_masks + 1)):
                centre = np.exp(rng.uniform(np.log(LOW_HZ), np.log(HIGH_HZ)))
                half = 2.0 ** (rng.uniform(*spec.octaves) / 2.0)
                band_kept &= ~((band_hz >= centre / half) & (band_hz <= centre * half))
                fine_kept &= ~((fine_hz >= centre / half) & (fine_hz <= centre * half))
        band_level_kept, fine_level_kept = band_kept.copy(), fine_kept.copy()
        if rng.random() < spec.level_share:
            band_level_kept &= rng.random(bands) >= spec.level_rate
            fine_level_kept &= rng.random(fine) >= spec.level_rate
        row[:bands] = band_kept
        row[bands:2 * bands] = band_level_kept
        row[2 * bands:3 * bands] = band_kept
        row[3 * bands:3 * bands + fine] = fine_kept
        row[3 * bands + fine:] = fine_level_kept
    return masks
