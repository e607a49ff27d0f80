"""Quality figures shared by training validation and the benchmarks (NumPy, per example)."""

from __future__ import annotations

import numpy as np


def si_sdr(estimate: np.ndarray, reference: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """Scale-invariant SDR in dB over the last axis (zero-mean). Shapes [..., T] -> [...]."""
    est = estimate - estimate.mean(axis=-1, keepdims=True)
    ref = reference - reference.mean(axis=-1, keepdims=True)
    scale = (est * ref).sum(-1, keepdims=True) / ((ref * ref).sum(-1, keepdims=True) + eps)
    target = scale * ref
    noise = est - target
    return 10.0 * np.log10(((target * target).sum(-1) + eps) / ((noise * noise).sum(-1) + eps))


def snr(estimate: np.ndarray, reference: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """Plain SNR in dB (gain errors count as noise)."""
    noise = estimate - reference
    return 10.0 * np.log10(((reference * reference).sum(-1) + eps) / ((noise * noise).sum(-1) + eps))


# ---- classification (multi-label, per window) ---------------------------------------------------------
def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Average precision of one label: scores [N] against binary targets [N]; NaN without positives.

    The area under the step precision-recall curve, sum over thresholds of (R_k - R_{k-1}) P_k, with tied
    scores taken as one threshold (as sklearn's `average_precision_score`).
    """
    scores, targets = np.asarray(scores, np.float64).ravel(), np.asarray(targets).ravel() > 0.5
    positives = int(targets.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    scores, targets = scores[order], targets[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]  # last index of each distinct score
    tp = np.cumsum(targets)[last]
    precision = tp / (last + 1)
    recall = tp / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def per_label_average_precision(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """[N, L] scores and targets -> [L] AP per label (NaN where a label has no positives)."""
    return np.array([average_precision(scores[:, j], targets[:, j]) for j in range(scores.shape[1])])


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean of the per-label APs over labels that have positives (NaN if none has)."""
    ap = per_label_average_precision(scores, targets)
    return float(np.nanmean(ap)) if np.any(np.isfinite(ap)) else float("nan")


def f1_per_label(scores: np.ndarray, targets: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """[N, L] -> [L] F1 of (scores >= threshold) against targets; NaN where a label has neither positives
    nor predictions (nothing to score), 0 where it has only one of them."""
    pred, true = np.asarray(scores) >= threshold, np.asarray(targets) > 0.5
    tp = np.sum(pred & true, axis=0).astype(np.float64)
    fp = np.sum(pred & ~true, axis=0)
    fn = np.sum(~pred & true, axis=0)
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)


def macro_f1(scores: np.ndarray, targets: np.ndarray, threshold: float = 0.5) -> float:
    """Mean F1 over labels that have positives or predictions."""
    f1 = f1_per_label(scores, targets, threshold)
    return float(np.nanmean(f1)) if np.any(np.isfinite(f1)) else float("nan")
