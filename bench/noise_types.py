"""Denoising quality per noise type: which noises a model removes from music and speech, and which it cannot.

The validation figures of `bench.quality` average over 17 kinds of noise; this bench takes them apart. For
each noise type of the val noise bank (held-out seeds), each input SNR and each kind of clean signal (val
music: held-out pieces; val speech: held-out voices), it mixes the same clean crops with that noise alone and
scores SI-SDR improvement (first 0.1 s ignored, fresh state per clip, as in `bench.quality`). The set is
deterministic (seeded), so two models or two runs compare clip for clip.

Writes `results.json`, `summary.md` (a table: noise type x kind x SNR) and `noise_types.png` (a heat map)
to --out.

    python -m bench.noise_types                                    # the shipped default model
    python -m bench.noise_types --model runs/best.rtm default      # two models side by side
    python -m bench.noise_types --competitors rnnoise,dtln --clips 4 --out /tmp/noise_types
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bench.common import add_run_arguments, all_systems, competitor_names, save_figure, script_parser, write_report

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "noise_types"
KINDS = ("music", "speech")


def make_set(data_dir: Path | None, clips: int = 6, seconds: float = 4.0, snrs_db=(0.0, 10.0),
             seed: int = 7) -> dict:
    """Mixtures [N, T] of `clips` clean crops per kind with every val noise type at every SNR.

    The clean crops are drawn once per kind (audible, unit RMS) and reused for every noise type, so the noise
    types differ only in their noise; each mixture's peak is set to -6 dBFS.
    """
    from train import datapaths
    from train.mixer import SILENT_RMS, ClipStore

    root = datapaths.data_dir(data_dir)
    rng = np.random.default_rng(seed)
    n = int(seconds * datapaths.SAMPLE_RATE) // datapaths.SAMPLES_PER_FRAME * datapaths.SAMPLES_PER_FRAME
    noise_store = ClipStore(root, "val", "noise")
    noise_types = [c["noise_type"] for c in noise_store.index["clips"]]
    rows = {"noisy": [], "clean": [], "kind": [], "noise_type": [], "snr_db": []}
    for kind in KINDS:
        store = ClipStore(root, "val", kind)
        cleans = []
        while len(cleans) < clips:
            audio, _ = store.crop(rng, int(store.draw_clips(rng, 1)[0]), n)
            rms = float(np.sqrt(np.mean(audio ** 2)))
            if rms > SILENT_RMS:
                cleans.append(audio / rms)
        for noise_type in sorted(set(noise_types)):
            bank = [i for i, t in enumerate(noise_types) if t == noise_type]
            for snr in snrs_db:
                for j, clean in enumerate(cleans):
                    noise, _ = noise_store.crop(rng, bank[j % len(bank)], n, loop=True)
                    noise = noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12) * 10 ** (-snr / 20)
                    noisy = clean + noise
                    gain = 10 ** (-6 / 20) / max(np.max(np.abs(noisy)), np.max(np.abs(clean)))
                    rows["noisy"].append((noisy * gain).astype(np.float32))
                    rows["clean"].append((clean * gain).astype(np.float32))
                    rows["kind"].append(kind)
                    rows["noise_type"].append(noise_type)
                    rows["snr_db"].append(float(snr))
    return {k: np.stack(v) if k in ("noisy", "clean") else v for k, v in rows.items()}


def score(data: dict, systems: list, progress: bool = True) -> dict:
    """{system: {kind: {noise_type: {snr: mean SI-SDRi}}}} plus each system's info."""
    from rtmusic.bench.quality import _progress, sisdr_improvement

    table: dict = {}
    with _progress(progress) as bar:
        for system in systems:
            task = bar.add_task(system.name, total=len(data["noisy"]), info="")
            if system.warmup is not None:
                system.warmup(data["noisy"][0])
            cells: dict = {}
            for noisy, clean, kind, noise_type, snr in zip(data["noisy"], data["clean"], data["kind"],
                                                          data["noise_type"], data["snr_db"]):
                out = system.process(noisy)
                cells.setdefault((kind, noise_type, snr), []).append(sisdr_improvement(out, clean, noisy))
                bar.advance(task)
            result: dict = {}
            for (kind, noise_type, snr), values in cells.items():
                result.setdefault(kind, {}).setdefault(noise_type, {})[f"{snr:g}"] = float(np.mean(values))
            table[system.name] = {"sisdri": result, "info": system.info}
    return table


def format_summary(results: dict) -> str:
    snrs = results["data"]["snrs_db"]
    names = list(results["systems"])
    lines = [f"# SI-SDR improvement per noise type (dB; {results['data']['clips_per_cell']} clips per cell, "
             f"{results['data']['seconds']:g} s)", "", f"Command: `{results['command']}`", ""]
    for kind in KINDS:
        head = [f"{name} @ {snr:g} dB" for name in names for snr in snrs]
        lines += [f"## {kind}", "", "| noise | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
        types = sorted(next(iter(results["systems"].values()))["sisdri"][kind])
        for noise_type in types + ["mean"]:
            cells = []
            for name in names:
                per_type = results["systems"][name]["sisdri"][kind]
                for snr in snrs:
                    values = [per_type[t][f"{snr:g}"] for t in types] if noise_type == "mean" else \
                        [per_type[noise_type][f"{snr:g}"]]
                    cells.append(f"{np.mean(values):+.2f}")
            label = f"**{noise_type}**" if noise_type == "mean" else noise_type
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, snrs = list(results["systems"]), results["data"]["snrs_db"]
    types = sorted(next(iter(results["systems"].values()))["sisdri"]["music"])
    columns = [(name, kind, snr) for name in names for kind in KINDS for snr in snrs]
    grid = np.array([[results["systems"][name]["sisdri"][kind][t][f"{snr:g}"] for name, kind, snr in columns]
                     for t in types])
    fig, ax = plt.subplots(figsize=(1.1 * len(columns) + 3, 0.35 * len(types) + 2))
    limit = max(5.0, float(np.nanmax(np.abs(grid))))
    image = ax.imshow(grid, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(types)), types)
    ax.set_xticks(range(len(columns)), [f"{name}\n{kind} {snr:g} dB" for name, kind, snr in columns], fontsize=7)
    ax.set_title("SI-SDR improvement per noise type (dB)")
    fig.colorbar(image, ax=ax, label="dB")
    return save_figure(fig, out_dir / "noise_types.png")


def main(argv: list[str] | None = None) -> int:
    parser = script_parser("bench.noise_types", __doc__)
    add_run_arguments(parser, DEFAULT_OUT)
    parser.add_argument("--clips", type=int, default=6, help="clean crops per kind (default: 6)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each mixture (default: 4)")
    parser.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0], metavar="DB",
                        help="input SNRs in dB (default: 0 10)")
    args = parser.parse_args(argv)
    if args.clips < 1 or args.seconds < 0.5:
        parser.error("--clips must be at least 1 and --seconds at least 0.5")
    names = competitor_names(parser, args.competitors)
    from rtmusic.bench.quality import machine_info

    started = time.perf_counter()
    try:
        data = make_set(args.data_dir, args.clips, args.seconds, tuple(args.snr))
    except FileNotFoundError as exc:
        print(f"noise_types: no validation data: {exc}", file=sys.stderr)
        return 1
    systems = all_systems("noise_types", args.model, names)
    if systems is None:
        return 2
    results = {
        "command": " ".join(["python -m bench.noise_types", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine_info(),
        "data": {"clips_per_cell": args.clips, "seconds": args.seconds, "snrs_db": list(args.snr),
                 "noise_types": sorted(set(data["noise_type"])), "kinds": list(KINDS)},
        "systems": score(data, systems, progress=not args.no_progress),
    }
    results["run_seconds"] = time.perf_counter() - started
    write_report(args.out, results, format_summary(results), plot, "per noise type")
    return 0


if __name__ == "__main__":
    sys.exit(main())
