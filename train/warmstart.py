"""Warm starts: a bigger net begun from a trained smaller one, computing exactly what it did.

Shared by the denoiser and the classifier (both: dense embedding -> LSTM cells -> heads, in Flax), so a net
can gain input features or hidden units between training cycles without starting over.
"""

from __future__ import annotations

import jax
import numpy as np

# MaskNet's heads that read [LSTM output, embedding] side by side: widening moves the embedding's rows up
HEAD_IN_MODULES = ("gain", "df", "fine_head")


def warm_start(fresh_weights, start_weights):
    """`fresh_weights` with every array taken from `start_weights`, grown where the new net is bigger, so the
    warm-started net computes exactly what the old one did until training gives the new parts weight:

    - new input features (rows appended to the embedding) and a new head (the deep filter) start at zero;
    - a wider net (more hidden units): each new unit keeps its fresh random weights *into* it, and every
      weight *out of* it (into old units and the heads) starts at zero, so it learns without disturbing
      the rest (net2wider with zero fan-out).
    """
    h_old, h_new = _hidden(start_weights), _hidden(fresh_weights)

    def take(path, fresh, old):
        if old is None:  # a head the start checkpoint lacks (e.g. the deep filter): its zero init, no effect
            return np.asarray(fresh)
        fresh, old = np.asarray(fresh, np.float32), np.asarray(old, dtype=np.float32)
        if fresh.shape == old.shape:
            return old
        if fresh.ndim != old.ndim or any(f < o for f, o in zip(fresh.shape, old.shape)) or fresh.ndim > 2:
            raise ValueError(f"cannot warm-start {jax.tree_util.keystr(path)}: a {fresh.shape} array from a "
                             f"{old.shape} one: the checkpoint must be the same architecture or a smaller one "
                             "(fewer input features, fewer hidden units)")
        grown = fresh.copy()
        if fresh.ndim == 1:  # a bias: old units keep theirs, new units their fresh init
            grown[: old.shape[0]] = old
            return grown
        module = str(getattr(path[0], "key", path[0]))
        rows = np.arange(old.shape[0])
        if module in HEAD_IN_MODULES and old.shape[0] == 2 * h_old:  # inputs: [lstm out (H), embed (H)]
            rows = np.where(rows < h_old, rows, rows - h_old + h_new)
        old_cols = np.arange(old.shape[1])
        grown[:, old_cols] = 0.0  # what feeds old units from new inputs or units: nothing, at first
        grown[np.ix_(rows, old_cols)] = old
        return grown

    filled = _fill_missing(fresh_weights, start_weights)
    return jax.tree_util.tree_map_with_path(take, fresh_weights, filled)


def _hidden(weights) -> int:
    """Hidden units of a MaskNet's weights (the embedding's width)."""
    return int(np.shape(weights["embed"]["kernel"])[1])


def _fill_missing(fresh, old):
    """`old` with None wherever `fresh` has a subtree `old` lacks, so both trees have one structure."""
    if isinstance(fresh, dict):
        if not isinstance(old, dict):
            raise ValueError("cannot warm-start: the checkpoint's parameter tree differs from the model's")
        unknown = set(old) - set(fresh)
        if unknown:
            raise ValueError(f"cannot warm-start: the checkpoint has parameters {sorted(unknown)} the model lacks")
        return {k: _fill_missing(v, old[k]) if k in old else jax.tree_util.tree_map(lambda _: None, v)
                for k, v in fresh.items()}
    return old
