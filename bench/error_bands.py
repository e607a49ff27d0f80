"""Where a denoiser's remaining error lives: per frequency band, in music-led and noise-led time-frequency bins.

SI-SDR counts everything in the output that is not the (scaled) clean signal as error. This tool splits that
error, for each validation clip, over bands (0-250 Hz ... 8-24 kHz) and over the time-frequency bins where the
clean signal is louder than the noise (music-led: error there is mostly damage to the music) or quieter
(noise-led: error there is mostly noise left in). Each clip's error is counted relative to its clean energy,
as SI-SDR does, and summed over the clips of a kind. It prints, per band and kind of bin, the share of the
output's error and how many dB below the input's error in the same cells it is. Session 24 used it to find
that most of the default's error on music sits in the noise-led bins below 500 Hz. Writes results.json,
summary.md and error_bands.png to --out.

    python -m bench.error_bands                                  # the default denoiser, 210 clips
    python -m bench.error_bands --model default runs/x/best_ema.rtm --clips 105
    python -m bench.error_bands --snr 15 20          # only the clips mixed at 15-20 dB SNR
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench.common import save_figure, write_report
from bench.correction_share import validation_models

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "error_bands"
BAND_EDGES_HZ = (0, 250, 500, 1000, 2000, 4000, 8000, 24001)
KINDS = {"music": 0, "speech": 1, "mixed": 2}
STFT_SIZE, STFT_HOP = 1920, 480  # 25 Hz bins at 48 kHz: a harmonic and the noise beside it fall apart
EDGE, TAIL = 4800, 480  # as training's validation: skip the first 0.1 s (state warm-up) and the unfilled tail


def _spectrogram(x: np.ndarray) -> np.ndarray:
    window = np.hanning(STFT_SIZE).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, STFT_SIZE)[::STFT_HOP] * window
    return np.fft.rfft(frames, axis=-1)


def error_split(estimate: np.ndarray, clean: np.ndarray, noisy: np.ndarray, samplerate: int = 48000) -> dict:
    """One clip's SI-SDR error energy (relative to its clean energy) per band and kind of bin, for the output
    and for the input: {"output": [bands, 2], "input": [bands, 2], "clean": [bands]}; column 0 = music-led."""
    freqs = np.fft.rfftfreq(STFT_SIZE, 1.0 / samplerate)
    reference = clean @ clean
    spectra = {}
    for name, signal in (("output", estimate), ("input", noisy)):
        scale = (signal @ clean) / reference  # SI-SDR's optimal scale; error counted at the target's level
        spectra[name] = np.abs(_spectrogram(signal - scale * clean) / (scale if abs(scale) > 1e-9 else 1.0)) ** 2
    clean_power = np.abs(_spectrogram(clean)) ** 2
    music_led = clean_power > np.abs(_spectrogram(noisy - clean)) ** 2
    total = clean_power.sum() + 1e-12
    bands = len(BAND_EDGES_HZ) - 1
    split = {"output": np.zeros((bands, 2)), "input": np.zeros((bands, 2)), "clean": np.zeros(bands)}
    for b in range(bands):
        in_band = (freqs >= BAND_EDGES_HZ[b]) & (freqs < BAND_EDGES_HZ[b + 1])
        split["clean"][b] = clean_power[:, in_band].sum() / total
        for column, cells in enumerate((music_led & in_band, ~music_led & in_band)):
            for name in ("output", "input"):
                split[name][b, column] = spectra[name][cells].sum() / total
    return split


def selected_clips(val: dict, kind_code: int, snr_range_db: tuple[float, float] | None = None) -> np.ndarray:
    """Indices of the scored clips of one kind: mixed at a finite SNR (within `snr_range_db`, ends included,
    when given) and with clean signal after the skipped edges."""
    snr = val["snr_db"]
    scored = np.isfinite(snr) & ((val["clean"][:, EDGE:-TAIL].astype(np.float64) ** 2).sum(-1) > 1e-6)
    if snr_range_db is not None:
        scored &= (snr >= snr_range_db[0]) & (snr <= snr_range_db[1])
    return np.flatnonzero((val["kind"] == kind_code) & scored)


def score(path: Path, val: dict, snr_range_db: tuple[float, float] | None = None) -> dict:
    """Per kind of clip: the summed error split of the checkpoint's outputs (see `error_split`), over the clips
    mixed within `snr_range_db` (all when None)."""
    import jax
    import jax.numpy as jnp

    from rtmusic import checkpoint
    from rtmusic.models import DenoiserConfig
    from train.denoise import make_forward

    header, weights = checkpoint.load(path)
    forward = jax.jit(make_forward(DenoiserConfig.from_dict(header["config"]))[0])
    noisy, clean = val["noisy"].astype(np.float32), val["clean"].astype(np.float32)
    estimate = np.concatenate([np.asarray(forward(weights, jnp.asarray(noisy[i:i + 16])))
                               for i in range(0, len(noisy), 16)])
    results = {}
    for kind, code in KINDS.items():
        clips = selected_clips(val, code, snr_range_db)
        if not clips.size:
            continue
        splits = [error_split(estimate[i, EDGE:-TAIL], clean[i, EDGE:-TAIL], noisy[i, EDGE:-TAIL]) for i in clips]
        summed = {key: np.sum([s[key] for s in splits], axis=0).tolist() for key in ("output", "input", "clean")}
        results[kind] = {"clips": int(clips.size), **summed}
    return results


def markdown(results: dict) -> str:
    snr_range = results.get("snr_range_db")
    within = f", mixed at {snr_range[0]:g} to {snr_range[1]:g} dB SNR" if snr_range else ""
    lines = [f"# Where the remaining error lives ({results['clips']} validation clips{within})", "",
             "Per band: the share of the clean signal's energy; of the output's SI-SDR error, the share in music-led "
             "bins (clean louder than noise: mostly damage) and in noise-led bins (mostly noise left in); and in "
             "brackets how far below the input's error in the same cells the output's is (dB; negative = worse).", ""]
    bands = [f"{lo}-{hi if hi < 24001 else 24000} Hz" for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:])]
    for model, kinds in results["models"].items():
        for kind, split in kinds.items():
            out, inp, clean = np.array(split["output"]), np.array(split["input"]), np.array(split["clean"])
            lines += [f"## {model}: {kind} ({split['clips']} clips; output error "
                      f"{10 * np.log10(inp.sum() / out.sum()):.1f} dB below the input's)", "",
                      "| band | clean energy | error, music-led bins | error, noise-led bins |", "|---|---|---|---|"]
            for b, band in enumerate(bands):
                below_db = 10 * np.log10((inp[b] + 1e-12) / (out[b] + 1e-12))
                cells = [f"{100 * out[b, c] / out.sum():.1f} % ({below_db[c]:+.1f})" for c in (0, 1)]
                lines.append(f"| {band} | {100 * clean[b] / clean.sum():.1f} % | {cells[0]} | {cells[1]} |")
            lines.append("")
    return "\n".join(lines)


def plot(results: dict, out: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(results["models"])
    kinds = [k for k in KINDS if all(k in results["models"][m] for m in models)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    labels = [f"{lo}" for lo in BAND_EDGES_HZ[:-1]]
    x = np.arange(len(labels))
    for ax, kind in zip(axes[0], kinds):
        width = 0.8 / (len(models) + 1)
        inp = np.array(results["models"][models[0]][kind]["input"])
        norm = inp.sum()
        ax.bar(x - 0.4 + width / 2, 10 * np.log10(inp.sum(1) / norm + 1e-9), width, label="input", color="0.7")
        for i, model in enumerate(models):
            output = np.array(results["models"][model][kind]["output"])
            ax.bar(x - 0.4 + width * (i + 1.5), 10 * np.log10(output.sum(1) / norm + 1e-9), width, label=model)
        ax.set_xticks(x, labels)
        ax.set_xlabel("band from (Hz)")
        ax.set_ylabel("error energy re the input's total (dB)")
        ax.set_title(kind)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return save_figure(fig, out / "error_bands.png")


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    def snr_option(parser):
        parser.add_argument("--snr", nargs=2, type=float, metavar=("LOW", "HIGH"), default=None,
                            help="only the clips mixed at LOW to HIGH dB SNR (the set has -5, 0, 5, 10, 15, 20)")

    args, paths, val = validation_models("bench.error_bands", __doc__, DEFAULT_OUT, argv, snr_option)
    snr_range = tuple(args.snr) if args.snr else None
    if snr_range and snr_range[0] > snr_range[1]:
        raise SystemExit(f"bench.error_bands: --snr LOW HIGH needs LOW <= HIGH, got {args.snr[0]:g} {args.snr[1]:g}")
    results = {"clips": sum(int(selected_clips(val, code, snr_range).size) for code in KINDS.values()),
               "snr_range_db": list(snr_range) if snr_range else None, "band_edges_hz": list(BAND_EDGES_HZ),
               "models": {name: score(path, val, snr_range) for name, path in paths.items()}}
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    write_report(args.out, results, markdown(results), plot, "error per band")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
