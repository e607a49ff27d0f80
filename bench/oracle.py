"""The ceiling of a mask denoiser: SI-SDR improvement of an ideal mask that knows the clean signal.

An STFT gain mask can do no better than the phase-sensitive mask computed from the clean signal itself,
clipped to [0, 1] (a gain never amplifies): M = clip(Re(S X*) / |X|^2, 0, 1), applied to the noisy spectrum X
and overlap-added exactly as rtmusic's step does (sqrt-Hann, 50 % overlap). With the model's 10 ms window
this is what its output representation allows; with a 40 ms window, what finer bins would allow at four
times the latency. A model's SI-SDRi divided by the first is how much of the reachable improvement it gets.

Scored as `bench.quality` (validation set: per kind and input SNR, first 0.1 s ignored) and, with
`--noise-types`, per noise type as `bench.noise_types` (same seeded set). Writes `results.json`, `summary.md`
and `oracle.png` to --out.

    python -m bench.oracle                         # validation set, 10 ms and 40 ms windows
    python -m bench.oracle --noise-types           # and per noise type at 0 and 10 dB SNR
    python -m bench.oracle --windows 480 960 --clips 42 --out /tmp/oracle
    python -m bench.oracle --low-delay 1920        # and the 40 ms low-delay analysis (10 ms latency)

With `--low-delay A` the mask also shapes the spectrum of an A-sample asymmetric analysis window whose synthesis
part is the model's 10 ms frame (`rtmusic.dsp.low_delay_windows`, DenoiserConfig.analysis_window): finer bins at
the frame's latency. Its rows are named "A/480".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bench.common import save_figure, script_parser, write_report

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "oracle"
WINDOWS = (480, 1920)  # the model's 10 ms frame; a 40 ms frame (the fine features' history)


def _masked_output(noisy: np.ndarray, clean: np.ndarray, analysis: np.ndarray, synthesis: np.ndarray,
                   hop: int) -> np.ndarray:
    """noisy and clean [T] -> the noisy signal through the clipped phase-sensitive mask on frames of
    len(analysis) samples at `hop`, overlap-added under `synthesis`, aligned with the input."""
    n = analysis.size
    pad = np.zeros(n - hop)
    x, s = (np.concatenate([pad, np.asarray(a, np.float64), pad]) for a in (noisy, clean))
    n_frames = (len(x) - n) // hop + 1
    index = np.arange(n)[None, :] + hop * np.arange(n_frames)[:, None]
    spec_x, spec_s = np.fft.rfft(x[index] * analysis, axis=-1), np.fft.rfft(s[index] * analysis, axis=-1)
    mask = np.clip(np.real(spec_s * np.conj(spec_x)) / (np.abs(spec_x) ** 2 + 1e-12), 0.0, 1.0)
    frames = np.fft.irfft(mask * spec_x, n=n, axis=-1) * synthesis
    out = np.zeros(len(x))
    for i, frame in enumerate(frames):
        out[i * hop:i * hop + n] += frame
    return out[n - hop:n - hop + len(noisy)]


def ideal_mask_output(noisy: np.ndarray, clean: np.ndarray, window: int) -> np.ndarray:
    """noisy and clean [T] -> the noisy signal through the clipped phase-sensitive mask, aligned with the input
    (sqrt-Hann analysis and synthesis at hop window / 2, the model's overlap-add)."""
    from rtmusic.dsp import sqrt_hann

    taper = sqrt_hann(window).astype(np.float64)
    return _masked_output(noisy, clean, taper, taper, window // 2)


def low_delay_mask_output(noisy: np.ndarray, clean: np.ndarray, analysis: int, window: int = WINDOWS[0]) -> np.ndarray:
    """`ideal_mask_output` on the low-delay analysis: the clipped phase-sensitive mask on the spectrum of the
    last `analysis` samples (asymmetric window), synthesised over the last `window` (the frame's latency)."""
    from rtmusic.dsp import low_delay_windows

    taper, synthesis_tail = (w.astype(np.float64) for w in low_delay_windows(analysis, window))
    synthesis = np.concatenate([np.zeros(analysis - window), synthesis_tail])
    return _masked_output(noisy, clean, taper, synthesis, window // 2)


def mask_output(noisy: np.ndarray, clean: np.ndarray, window: str | int) -> np.ndarray:
    """The ideal mask's output for a row name: "480" (a symmetric window) or "1920/480" (a low-delay analysis)."""
    if isinstance(window, str) and "/" in window:
        analysis, frame = (int(v) for v in window.split("/"))
        return low_delay_mask_output(noisy, clean, analysis, frame)
    return ideal_mask_output(noisy, clean, int(window))


def score_validation(data: dict, windows, samplerate: int = 48_000) -> dict:
    """{window: {kind: {snr: mean SI-SDRi}}} over the clips that have a clean reference and noise."""
    from rtmusic.bench.quality import KIND_NAMES, SCORED_KINDS, sisdr_improvement, skip_samples

    skip = skip_samples(samplerate)
    cells: dict = {}
    for noisy, clean, kind, snr in zip(data["noisy"], data["clean"], data["kind"], data["snr_db"]):
        name = KIND_NAMES.get(int(kind))
        if name not in SCORED_KINDS or not np.isfinite(snr):
            continue
        for window in windows:
            out = mask_output(noisy, clean, window)
            value = sisdr_improvement(out[skip:], clean[skip:], noisy[skip:])
            cells.setdefault((window, name, f"{snr:g}"), []).append(value)
    result: dict = {}
    for (window, name, snr), values in cells.items():
        result.setdefault(str(window), {}).setdefault(name, {})[snr] = float(np.mean(values))
    for per_kind in result.values():
        for name, per_snr in list(per_kind.items()):
            per_kind[name]["all"] = float(np.mean([v for k, v in per_snr.items()]))
    return result


def score_noise_types(data: dict, windows, samplerate: int = 48_000) -> dict:
    """{window: {kind: {noise_type: {snr: mean SI-SDRi}}}} on `bench.noise_types.make_set`'s mixtures."""
    from rtmusic.bench.quality import sisdr_improvement, skip_samples

    skip = skip_samples(samplerate)
    cells: dict = {}
    for noisy, clean, kind, noise_type, snr in zip(data["noisy"], data["clean"], data["kind"], data["noise_type"],
                                                  data["snr_db"]):
        for window in windows:
            out = mask_output(noisy, clean, window)
            cells.setdefault((window, kind, noise_type, f"{snr:g}"), []).append(
                sisdr_improvement(out[skip:], clean[skip:], noisy[skip:]))
    result: dict = {}
    for (window, kind, noise_type, snr), values in cells.items():
        result.setdefault(str(window), {}).setdefault(kind, {}).setdefault(noise_type, {})[snr] = float(np.mean(values))
    return result


def _ms(window: str | int, samplerate: int = 48_000) -> str:
    if isinstance(window, str) and "/" in window:
        analysis, frame = (int(v) for v in window.split("/"))
        return f"{1000 * analysis / samplerate:g} ms low-delay ({1000 * frame / samplerate:g} ms latency)"
    return f"{1000 * int(window) / samplerate:g} ms"


def format_summary(results: dict) -> str:
    val = results["validation"]
    windows = list(val)
    snrs = [k for k in next(iter(next(iter(val.values())).values())) if k != "all"]
    lines = ["# Ideal-mask ceiling (SI-SDRi, dB)", "", f"Command: `{results['command']}`", "",
             f"Validation set: {results['data']['clips']} clips from `{results['data']['source']}`. The mask knows "
             "the clean signal (clipped phase-sensitive mask); a model's SI-SDRi over the 10 ms row is the share of "
             "the reachable improvement it gets.", "",
             "| window | kind | all | " + " | ".join(f"{s} dB" for s in snrs) + " |",
             "|---" * (len(snrs) + 3) + "|"]
    for window in windows:
        for kind, per_snr in val[window].items():
            lines.append(f"| {_ms(window)} | {kind} | {per_snr['all']:+.2f} | "
                         + " | ".join(f"{per_snr[s]:+.2f}" for s in snrs) + " |")
    types = results.get("noise_types")
    if types:
        lines += ["", f"## Per noise type ({results['data']['noise_type_clips']} clips per cell, `bench.noise_types`' set)",
                  ""]
        columns = [(w, kind, snr) for kind in types[windows[0]] for w in windows
                   for snr in next(iter(types[w][kind].values()))]
        lines += ["| noise | " + " | ".join(f"{kind} {_ms(w)} @ {snr} dB" for w, kind, snr in columns) + " |",
                  "|---" * (len(columns) + 1) + "|"]
        names = sorted(next(iter(types[windows[0]].values())))
        for name in names:
            lines.append(f"| {name} | " + " | ".join(f"{types[w][kind][name][snr]:+.2f}" for w, kind, snr in columns)
                         + " |")
    return "\n".join(lines) + "\n"


def plot(results: dict, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    val = results["validation"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for window, per_kind in val.items():
        for kind, per_snr in per_kind.items():
            snrs = [k for k in per_snr if k != "all"]
            ax.plot([float(s) for s in snrs], [per_snr[s] for s in snrs], marker="o",
                    linestyle="-" if window == str(WINDOWS[0]) else ":" if "/" in window else "--",
                    label=f"{kind}, {_ms(window)}")
    ax.set_xlabel("input SNR (dB)")
    ax.set_ylabel("SI-SDRi of the ideal mask (dB)")
    ax.set_title("What a gain mask can reach at best")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir / "oracle.png")


def main(argv: list[str] | None = None) -> int:
    parser = script_parser("bench.oracle", __doc__)
    parser.add_argument("--windows", type=int, nargs="+", default=list(WINDOWS),
                        help="STFT windows in samples, even (default: %(default)s)")
    parser.add_argument("--low-delay", type=int, nargs="*", default=[], metavar="A",
                        help="also a low-delay analysis of A samples shaped at the 10 ms frame's latency, e.g. 1920")
    parser.add_argument("--clips", type=int, default=None, help="the first N validation clips (default: all)")
    parser.add_argument("--noise-types", action="store_true", help="also per noise type (bench.noise_types' set)")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if any(w < 4 or w % 2 for w in args.windows):
        parser.error("--windows must be even sample counts of at least 4, e.g. 480 (10 ms at 48 kHz)")
    if any(a <= WINDOWS[0] or a % WINDOWS[0] for a in args.low_delay):
        parser.error(f"--low-delay must be a multiple of the {WINDOWS[0]}-sample frame longer than it, e.g. 1920")
    windows = [str(w) for w in args.windows] + [f"{a}/{WINDOWS[0]}" for a in args.low_delay]
    from rtmusic.bench.quality import load_data

    started = time.perf_counter()
    try:
        data = load_data(args.data_dir, args.clips)
    except FileNotFoundError as exc:
        print(f"oracle: no validation data: {exc}", file=sys.stderr)
        return 1
    results = {"command": " ".join(["python -m bench.oracle", *(sys.argv[1:] if argv is None else argv)]),
               "data": {"clips": int(len(data["noisy"])), "source": data["source"]},
               "validation": score_validation(data, windows)}
    if args.noise_types:
        from bench.noise_types import make_set

        clips = 4
        types = make_set(args.data_dir, clips=clips)
        results["noise_types"] = score_noise_types(types, windows)
        results["data"]["noise_type_clips"] = clips
    results["run_seconds"] = time.perf_counter() - started
    write_report(args.out, results, format_summary(results), plot, "ideal-mask ceiling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
