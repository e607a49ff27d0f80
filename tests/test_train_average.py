"""train.average: the mean of end-of-cycle checkpoints, and clear refusals for checkpoints that cannot be averaged."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from rtmusic import checkpoint
from rtmusic.models import DenoiserConfig, init_mask_net
from train.average import average_checkpoints, main
from train.loop import CYCLE_AVERAGE_KEY, averaged_meta, averaged_note

SMALL = DenoiserConfig(hop=64, window=128, hidden=16, layers=1)


def _save(path, config: DenoiserConfig, seed: int, step: int):
    weights = jax.tree_util.tree_map(np.asarray, init_mask_net(config, seed=seed))
    checkpoint.save(path, weights, kind="denoiser", config=config.to_dict(), meta={"step": step})
    return weights


def test_the_average_is_the_element_wise_mean_and_names_its_members(tmp_path):
    runs = [tmp_path / "cycle_1", tmp_path / "cycle_2", tmp_path / "cycle_3"]
    trees = []
    for seed, run in enumerate(runs):
        run.mkdir()
        trees.append(_save(run / "best.rtm", SMALL, seed=seed, step=1500))
    out = average_checkpoints([run / "best.rtm" for run in runs], tmp_path / "cycle_3_avg" / "best.rtm")
    assert out == tmp_path / "cycle_3_avg" / "best.rtm"  # the new folder is made
    header, mean = checkpoint.load(out)
    assert header["kind"] == "denoiser" and header["config"] == SMALL.to_dict()
    assert header["meta"]["step"] == 1500 and len(header["meta"][CYCLE_AVERAGE_KEY]) == 3
    expected = jax.tree_util.tree_map(lambda *leaves: np.mean(leaves, axis=0), *trees)
    for got, want in zip(jax.tree_util.tree_leaves(mean), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    # an export carries the membership into the shipped header and the model card's words
    assert CYCLE_AVERAGE_KEY in averaged_meta(header["meta"])
    note = averaged_note(header["meta"])
    assert "mean of the end-of-cycle weights of 3 warm-started cycles" in note
    assert "`cycle_1` (step 1500)" in note and "`cycle_3` (step 1500)" in note


def test_checkpoints_of_different_architectures_are_refused(tmp_path):
    _save(tmp_path / "a.rtm", SMALL, seed=0, step=10)
    _save(tmp_path / "b.rtm", DenoiserConfig(hop=64, window=128, hidden=24, layers=1), seed=0, step=10)
    with pytest.raises(SystemExit, match="different model configs"):
        average_checkpoints([tmp_path / "a.rtm", tmp_path / "b.rtm"], tmp_path / "out.rtm")
    assert not (tmp_path / "out.rtm").exists()


def test_one_checkpoint_or_a_missing_file_is_a_clear_error(tmp_path):
    _save(tmp_path / "a.rtm", SMALL, seed=0, step=10)
    with pytest.raises(SystemExit, match="at least two"):
        average_checkpoints([tmp_path / "a.rtm"], tmp_path / "out.rtm")
    with pytest.raises(SystemExit, match="no such checkpoint: .*missing.rtm"):
        main([str(tmp_path / "a.rtm"), str(tmp_path / "missing.rtm"), "--out", str(tmp_path / "out.rtm")])


def test_a_checkpoint_written_before_a_config_field_existed_averages_with_a_newer_one(tmp_path):
    older = SMALL.to_dict()
    older.pop("level_warmup")  # a field added later: older checkpoints lack it, and its default is what they did
    weights = jax.tree_util.tree_map(np.asarray, init_mask_net(SMALL, seed=0))
    checkpoint.save(tmp_path / "old.rtm", weights, kind="denoiser", config=older, meta={"step": 10})
    _save(tmp_path / "new.rtm", SMALL, seed=1, step=20)
    header, _ = checkpoint.load(average_checkpoints([tmp_path / "old.rtm", tmp_path / "new.rtm"], tmp_path / "out.rtm"))
    assert header["config"] == SMALL.to_dict()
