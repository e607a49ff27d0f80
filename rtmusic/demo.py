"""The bundled demo clip: where it is, how it is scored, and its before/after spectrogram figure.

The clip (``rtmusic/data/demo_noisy.flac`` and its clean reference ``demo_clean.flac``) is made by
``python -m train.make_demo`` from the training recipe's validation split; ``rtmusic/data/README.md``
says exactly how. Light on import: NumPy only; matplotlib loads inside :func:`save_spectrograms`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from rtmusic.errors import AudioFileError

NOISY_CLIP = "demo_noisy.flac"
CLEAN_CLIP = "demo_clean.flac"

# Spectrogram layout: log-frequency rows from F_MIN to the Nyquist frequency of a 48 kHz file.
F_MIN = 50.0
F_MAX = 24_000.0
N_ROWS = 320
N_FFT = 4096  # 85 ms Hann window: 11.7 Hz bins, so the rows below ~250 Hz are interpolated
HOP_SECONDS = 0.01
DYNAMIC_RANGE_DB = 80.0


def bundled_path(filename: str) -> Path:
    """The path of a file shipped in ``rtmusic/data``; AudioFileError telling to reinstall if it is missing."""
    path = Path(str(resources.files("rtmusic") / "data" / filename))
    if not path.is_file():
        raise AudioFileError(
            f"the bundled demo file {filename} is missing from {path.parent}; reinstall rtmusic "
            f"(pip install --force-reinstall rtmusic, or `pip install -e .` in a checkout)")
    return path


def clip_description(path: str | Path) -> str:
    """The one-line provenance make_demo wrote into the FLAC's comment tag ('' if there is none)."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            return (f.comment or "").strip()
    except (sf.LibsndfileError, RuntimeError, AttributeError):
        return ""


class Panel(NamedTuple):
    title: str  # left above the panel, bold
    audio: np.ndarray  # [n] float mono
    note: str = ""  # right above the panel (a score, say)


def log_spectrogram(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level in dBFS (a full-scale sine reads 0) on log-spaced frequency rows.

    Args:
        audio: [n] mono signal.
        rate: its sample rate.

    Returns:
        time edges [frames + 1] in s (frame k is centred on sample k * hop) and frequency edges
        [N_ROWS + 1] in Hz (cell edges, for pcolormesh), and the levels [N_ROWS, frames]. A row narrower
        than the FFT bin spacing is interpolated between bins; a wider one averages the power of the bins
        inside it.
    """
    audio = np.asarray(audio, np.float64).reshape(-1)
    hop = max(1, int(round(HOP_SECONDS * rate)))
    window = np.hanning(N_FFT + 1)[:-1]
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2 + hop))
    n_frames = max(1, (len(audio) + hop - 1) // hop)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::hop][:n_frames]
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2 / (window.sum() / 2) ** 2  # [frames, bins]

    f_max = min(F_MAX, rate / 2)
    edges = np.geomspace(F_MIN, f_max, N_ROWS + 1)
    weights = _row_weights(edges, np.fft.rfftfreq(N_FFT, 1 / rate))  # [rows, bins]
    level = 10 * np.log10(weights @ power.T + 1e-12)  # [rows, frames]
    times = (np.arange(n_frames + 1) - 0.5) * hop / rate
    return times, edges, level


def _row_weights(edges: np.ndarray, bin_freqs: np.ndarray) -> np.ndarray:
    """[rows, bins] averaging weights: mean of the bins inside a row, or linear interpolation at its centre."""
    rows = len(edges) - 1
    weights = np.zeros((rows, len(bin_freqs)))
    spacing = bin_freqs[1] - bin_freqs[0]
    for r in range(rows):
        inside = np.flatnonzero((bin_freqs >= edges[r]) & (bin_freqs < edges[r + 1]))
        if len(inside) >= 2:
            weights[r, inside] = 1.0 / len(inside)
        else:
            centre = np.sqrt(edges[r] * edges[r + 1])
            lo = min(int(centre // spacing), len(bin_freqs) - 2)
            frac = centre / spacing - lo
            weights[r, lo], weights[r, lo + 1] = 1.0 - frac, frac
    return weights


def save_spectrograms(path: str | Path, panels: Sequence[Panel], rate: int, *, suptitle: str = "") -> None:
    """Stacked log-frequency spectrograms with one shared dB colour scale, written as a PNG.

    Uses matplotlib's object API with the Agg canvas: no pyplot, no global backend switch, no window.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    spectra = [log_spectrogram(p.audio, rate) for p in panels]
    top = max(float(np.max(level)) for _, _, level in spectra)
    vmax = 10 * np.ceil(top / 10)
    vmin = vmax - DYNAMIC_RANGE_DB

    fig = Figure(figsize=(11, 2.6 * len(panels) + 0.9), dpi=110, layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    ticks = [f for f in (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000) if f <= rate / 2]
    mesh = None
    for ax, panel, (times, edges, level) in zip(axes, panels, spectra):
        mesh = ax.pcolormesh(times, edges, level, vmin=vmin, vmax=vmax, cmap="magma", shading="flat",
                             rasterized=True)
        ax.set_yscale("log")
        ax.set_ylim(edges[0], edges[-1])
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda f, _: f"{f / 1000:g}"))
        ax.set_ylabel("frequency (kHz)")
        ax.set_title(panel.title, loc="left", fontsize=11, fontweight="bold")
        if panel.note:
            ax.set_title(panel.note, loc="right", fontsize=11)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0.0, max(len(p.audio) for p in panels) / rate)
    bar = fig.colorbar(mesh, ax=list(axes), shrink=0.9, aspect=40, pad=0.01)
    bar.set_label("level (dBFS)")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10, color="0.25")
    try:
        fig.savefig(str(path), format="png")
    except OSError as exc:
        raise AudioFileError(f"cannot write {path}: {exc}; check the folder exists and is writable") from exc
