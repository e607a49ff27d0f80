"""Label probabilities after the step: per-window summaries (offline), smoothing and streaming (live).

NumPy only, so it loads without JAX. The classifier's step emits one probability per label per 5 ms hop
(`StepAux.values`); this module turns that into

- offline: one probability per label per 1-second window (`window_probabilities`, `labels_document`);
  the window's figure is the 95th percentile of its hops' probabilities: a label counts as sounding in a
  window when the model is confident for at least ~5 % of it (50 ms: a drum hit, a short word), while a
  single spiky hop cannot make it so (the plain maximum would);
- live: an exponential moving average for display (`LabelMonitor`), bars for the terminal, and a JSON-lines
  stream with one line per 100 ms of input (the mean of that stretch's per-hop probabilities).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

WINDOW_SECONDS = 1.0
WINDOW_PERCENTILE = 95.0
WINDOW_STATISTIC = "95th percentile over the window's 5 ms hops of the per-hop probability"
DISPLAY_TAU_S = 0.3  # EMA time constant of the live display: steady bars, still follows a change in ~1 s
JSONL_PERIOD_S = 0.1
ORDER_HYSTERESIS = 0.02  # a label must beat a displayed one by this much to move above it


def label_columns(model) -> tuple[tuple[str, ...], slice] | None:
    """(label names, their columns in `aux.values`) of a classifier or combined model; None for others."""
    names = tuple(model.aux_names)
    if model.kind == "classifier":
        return names, slice(0, len(names))
    if model.kind == "combined":
        n = len(model.config["classifier"]["labels"])
        return names[len(names) - n:], slice(len(names) - n, len(names))
    return None


# ---- offline ------------------------------------------------------------------------------------------
def window_probabilities(probs: np.ndarray, hop: int, samplerate: int, duration_s: float,
                         window_s: float = WINDOW_SECONDS, percentile: float = WINDOW_PERCENTILE):
    """Per-window label probabilities from per-hop ones.

    Args:
      probs: [n_hops, n_labels] per-hop probabilities; hop k covers input samples [k hop, (k + 1) hop)
        (hops starting at or after `duration_s` are padding and ignored).
      duration_s: the signal's length; the last window ends there (it may be shorter than `window_s`).

    Returns:
      (starts [W], ends [W], window_probs [W, n_labels]): the `percentile` of each window's hops.
    """
    probs = np.asarray(probs, np.float32)
    n_windows = max(1, math.ceil(duration_s / window_s - 1e-9))
    starts = np.arange(n_windows) * window_s
    ends = np.minimum(starts + window_s, duration_s)
    hop_starts = np.arange(probs.shape[0]) * hop / samplerate
    which = np.floor(hop_starts / window_s + 1e-9).astype(np.int64)
    out = np.zeros((n_windows, probs.shape[1]), np.float32)
    for w in range(n_windows):
        rows = probs[(which == w) & (hop_starts < duration_s)]
        if rows.size:
            out[w] = np.percentile(rows, percentile, axis=0)
    return starts, ends, out


def window_targets(targets: np.ndarray, hop: int, samplerate: int, duration_s: float,
                   window_s: float = WINDOW_SECONDS) -> np.ndarray:
    """Per-window ground truth [W, n_labels] (0/1) from per-hop 0/1 targets [n_hops, n_labels], by the very
    statistic the predictions get: a label is present when it is active in more than ~5 % of the window."""
    _, _, stat = window_probabilities(targets, hop, samplerate, duration_s, window_s)
    return (stat >= 0.5).astype(np.float32)


def labels_document(names, starts, ends, window_probs, **extra: Any) -> dict[str, Any]:
    """The `--labels-out` JSON: {"labels": [...], "windows": [{"start", "end", "probs": {label: p}}], ...}."""
    windows = [
        {"start": round(float(s), 6), "end": round(float(e), 6),
         "probs": {name: round(float(p), 4) for name, p in zip(names, row)}}
        for s, e, row in zip(starts, ends, window_probs)
    ]
    return {"labels": list(names), "windows": windows, "window_statistic": WINDOW_STATISTIC, **extra}


# ---- live ---------------------------------------------------------------------------------------------
def bar(p: float, width: int = 24) -> str:
    """A text bar for a probability in [0, 1], with eighth-block resolution."""
    p = min(max(float(p), 0.0), 1.0)
    eighths = int(round(p * width * 8))
    full, part = divmod(eighths, 8)
    return ("█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")).ljust(width, "·")


class LabelMonitor:
    """Follows a running stream's label probabilities from the worker's aux ring (any non-audio thread).

    `update(worker)` pulls the rows written since the last call, advances the display EMA hop by hop and
    writes one JSON line per `JSONL_PERIOD_S` of input to `jsonl` (if given):
    ``{"t": end of the stretch in s of input, "t0": its start, "hops": n, "wall": unix time, "probs": {...}}``.
    """

    def __init__(self, names: tuple[str, ...], columns: slice, hop: int, samplerate: int, *,
                 jsonl: str | Path | None = None, tau_s: float = DISPLAY_TAU_S, period_s: float = JSONL_PERIOD_S):
        self.names = tuple(names)
        self.columns = columns
        self.hop_s = hop / samplerate
        self.alpha = 1.0 - math.exp(-self.hop_s / tau_s)
        self.smoothed = np.zeros(len(self.names), np.float64)
        self.latest = np.zeros(len(self.names), np.float32)
        self.rows_seen = 0
        self.lines_written = 0
        self._since = 0
        self._hops_per_line = max(1, round(period_s / self.hop_s))
        self._window = -1  # index of the stretch being accumulated
        self._sum = np.zeros(len(self.names), np.float64)
        self._n = 0
        self._shown: list[int] = []  # label indices on screen, in display order
        self._file: IO[str] | None = open(jsonl, "w", buffering=1) if jsonl else None

    def update(self, worker) -> int:
        """Consume the worker's new aux rows; returns how many."""
        rows, hops, self._since = worker.aux_since(self._since)
        self.feed(rows[:, self.columns], hops)
        return rows.shape[0]

    def feed(self, probs: np.ndarray, hops: np.ndarray) -> None:
        """probs [k, n_labels] of hops with indices `hops` [k] (increasing)."""
        for row, hop_index in zip(probs, hops):
            self.smoothed += self.alpha * (row - self.smoothed)
            window = int(hop_index) // self._hops_per_line
            if window != self._window:
                self._flush()
                self._window = window
            self._sum += row
            self._n += 1
        if probs.shape[0]:
            self.latest = probs[-1].copy()
        self.rows_seen += probs.shape[0]

    def _flush(self) -> None:
        if self._n and self._file is not None:
            t0 = self._window * self._hops_per_line * self.hop_s
            mean = self._sum / self._n
            line = {"t": round(t0 + self._hops_per_line * self.hop_s, 4), "t0": round(t0, 4), "hops": self._n,
                    "wall": round(time.time(), 3),
                    "probs": {name: round(float(p), 4) for name, p in zip(self.names, mean)}}
            self._file.write(json.dumps(line) + "\n")
            self.lines_written += 1
        self._sum[:] = 0.0
        self._n = 0

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The k labels with the highest smoothed probability, best first."""
        order = np.argsort(-self.smoothed, kind="stable")[:k]
        return [(self.names[i], float(self.smoothed[i])) for i in order]

    def bar_lines(self, k: int = 5, width: int = 24) -> list[str]:
        """Bars of the top k, in an order that only changes when a label overtakes by more than 0.02."""
        rank = self.smoothed.copy()
        rank[self._shown] += ORDER_HYSTERESIS * (1.0 - np.arange(len(self._shown)) / max(len(self._shown), 1))
        self._shown = [int(i) for i in np.argsort(-rank, kind="stable")[:k]]
        pad = max(len(n) for n in self.names)
        return [f"  {self.names[i]:<{pad}} {bar(self.smoothed[i], width)} {self.smoothed[i]:4.2f}" for i in self._shown]

    def summary_line(self, k: int = 5, threshold: float = 0.05) -> str:
        shown = [f"{name} {p:.2f}" for name, p in self.top(k) if p >= threshold]
        return "labels: " + (", ".join(shown) if shown else "(none above %.2f)" % threshold)

    def close(self) -> None:
        """Write the last (partial) stretch and close the JSON-lines file."""
        self._flush()
        if self._file is not None:
            self._file.close()
            self._file = None
