"""bench.correction_share: a low-delay net scored with and without its per-fine-bin correction."""

from __future__ import annotations

import numpy as np
import pytest

from bench import correction_share
from rtmusic import checkpoint
from rtmusic.models import DenoiserConfig, init_mask_net

TINY_LOW_DELAY = DenoiserConfig(hidden=16, feature_window=960, fine_bins=40, df_bins=8, analysis_window=960)


def _save(path, config, weights):
    checkpoint.save(path, weights, kind="denoiser", config=config.to_dict())
    return path


def test_zeroing_the_correction_changes_a_net_that_uses_it_and_touches_nothing_else(quick_data, tmp_path):
    from train.mixer import make_validation_set

    weights = init_mask_net(TINY_LOW_DELAY)
    rng = np.random.default_rng(0)
    weights["fine_out"] = {k: rng.normal(0.0, 2.0, np.shape(v)).astype(np.float32)
                           for k, v in weights["fine_out"].items()}  # a correction that has learned something
    zeroed = correction_share.without_correction(weights)
    assert all(not np.any(v) for v in zeroed["fine_out"].values())
    assert all(zeroed[name] is weights[name] for name in weights if name != "fine_out")

    val = correction_share.spread_clips(make_validation_set(quick_data, n_clips=21, seconds=1.0, seed=4), 6)
    assert len(val["kind"]) == 6 and set(val["kind"].tolist()) == {0, 1, 2}  # every kind keeps a share
    figures = correction_share.score(_save(tmp_path / "low_delay.rtm", TINY_LOW_DELAY, weights), val)
    assert figures["with"]["sisdri_music"] != pytest.approx(figures["without"]["sisdri_music"], abs=1e-4)
    table = correction_share.markdown({"clips": 6, "models": {"tiny": figures}})
    assert "| tiny | " in table and table.count("**") == 8


def test_a_net_without_the_correction_is_refused_with_what_to_pick(tmp_path):
    plain = DenoiserConfig(hidden=16)
    path = _save(tmp_path / "plain.rtm", plain, init_mask_net(plain))
    with pytest.raises(SystemExit, match="no per-fine-bin correction"):
        correction_share.score(path, {})
