"""Music preservation clip by clip: does the denoiser keep every held-out music clip, drums included?

`bench.quality` scores music preservation on the handful of music-at-15-dB examples of its validation grid
(10 crops of 6 s): too few to say which music a model damages. This bench takes every clip of the chosen
music sources whole (10 s each), mixes each with held-out noise at 15 dB SNR (two seeded noise draws per
clip, the same draws for every source and model, so paired sources compare clip for clip) and also feeds
it clean, then reports per source, and split into clips with and without drums:

- **SI-SDRi at 15 dB**: SI-SDR(output, clean) - SI-SDR(noisy, clean); below 0 the model damages the music
  more than the noise did;
- **damaged clips**: the share of clips whose SI-SDRi at 15 dB is below 0;
- **clean SI-SDR**: the output on the clean clip against that clip (how much it changes clean music).

The default sources are the paired `val-excerpts` (FluidR3, the training soundfont) and `unseen-soundfonts`
(the same excerpts in TimGM6mb): the difference between them is what the unseen sounds cost.

Writes `results.json` (every clip), `summary.md` and `preservation.png` to --out.

    python -m bench.preservation                                   # the shipped default model
    python -m bench.preservation --model runs/best.rtm default     # two models, clip for clip
    python -m bench.preservation --sources families-unseen-soundfonts --clips 60
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bench.common import rtmusic_systems, save_figure, script_parser, write_report

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "preservation"
DEFAULT_SOURCES = ("val-excerpts", "unseen-soundfonts")
SNR_DB = 15.0
NOISE_DRAWS = 2
PEAK_DBFS = -6.0
GROUPS = ("all", "drums", "no drums")


def make_set(data_dir: Path | None, source: str, clips: int | None = None, seed: int = 11) -> dict:
    """Every clip (or the first `clips`) of one music source, each with NOISE_DRAWS noisy versions at SNR_DB.

    Returns clean [N, T] (unit RMS, then scaled with its mixtures' gain), noisy [N, D, T], and per clip its
    name and whether it has drums. The noise draws depend on the seed and the clip's position only.
    """
    from train import datapaths
    from train.mixer import ClipStore

    root = datapaths.data_dir(data_dir)
    split = datapaths.MUSIC_SOURCES[source] or "val"
    music, noise_store = ClipStore(root, split, "music"), ClipStore(root, "val", "noise")
    entries = music.index["clips"][:clips] if clips else music.index["clips"]
    n = int(min(c["length"] for c in entries))
    rows: dict = {"clean": [], "noisy": [], "name": [], "drums": []}
    for i, entry in enumerate(entries):
        rng = np.random.default_rng([seed, i])
        clean = np.asarray(music.audio[entry["offset"]: entry["offset"] + n], np.float32) / 32768.0
        clean = clean / max(float(np.sqrt(np.mean(clean.astype(np.float64) ** 2))), 1e-9)
        noisy = []
        for _ in range(NOISE_DRAWS):
            noise, _ = noise_store.crop(rng, int(noise_store.draw_clips(rng, 1)[0]), n, loop=True)
            noise = noise / max(float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))), 1e-9) * 10 ** (-SNR_DB / 20)
            noisy.append(clean + noise)
        gain = 10 ** (PEAK_DBFS / 20) / max(float(np.max(np.abs(noisy))), float(np.max(np.abs(clean))))
        rows["clean"].append((clean * gain).astype(np.float32))
        rows["noisy"].append((np.stack(noisy) * gain).astype(np.float32))
        rows["name"].append(entry["name"])
        rows["drums"].append(bool(entry.get("drums", False)))
    return {"clean": np.stack(rows["clean"]), "noisy": np.stack(rows["noisy"]), "name": rows["name"],
            "drums": rows["drums"], "source": source, "split": split, "seconds": n / datapaths.SAMPLE_RATE}


def score_clips(data: dict, system) -> list[dict]:
    """Per clip: mean SI-SDRi over its noise draws, and the clean SI-SDR (first 0.1 s ignored, fresh state)."""
    from rtmusic.bench.quality import clean_sisdr, sisdr_improvement, skip_samples

    skip = skip_samples(48_000)
    out = []
    for clean, noisy, name, drums in zip(data["clean"], data["noisy"], data["name"], data["drums"]):
        gains = [sisdr_improvement(system.process(x)[skip:], clean[skip:], x[skip:]) for x in noisy]
        out.append({"clip": name, "drums": drums, "sisdri_15db": float(np.mean(gains)),
                    "clean_sisdr": clean_sisdr(system.process(clean)[skip:], clean[skip:])})
    return out


def summarise(clips: list[dict]) -> dict:
    """Per group (all / drums / no drums): clip count, mean and worst SI-SDRi at 15 dB, damaged share, clean SI-SDR."""
    summary = {}
    for group in GROUPS:
        chosen = [c for c in clips if group == "all" or c["drums"] == (group == "drums")]
        if not chosen:
            continue
        gains = np.array([c["sisdri_15db"] for c in chosen])
        summary[group] = {"clips": len(chosen), "sisdri_15db": float(gains.mean()), "worst": float(gains.min()),
                          "damaged": float(np.mean(gains < 0)),
                          "clean_sisdr": float(np.mean([c["clean_sisdr"] for c in chosen]))}
    return summary


def format_summary(results: dict) -> str:
    lines = [f"# Music preservation clip by clip ({SNR_DB:g} dB SNR, {NOISE_DRAWS} noise draws per clip)", "",
             f"Command: `{results['command']}`", "",
             "| model | music source | clips | SI-SDRi @ 15 dB | worst clip | damaged clips | clean SI-SDR |",
             "|---|---|---|---|---|---|---|"]
    for name, system in results["systems"].items():
        for source, per_source in system["sources"].items():
            for group, s in per_source["summary"].items():
                label = source if group == "all" else f"{source}, {group}"
                lines.append(f"| {name} | {label} | {s['clips']} | {s['sisdri_15db']:+.2f} dB | {s['worst']:+.2f} dB "
                             f"| {100 * s['damaged']:.0f} % | {s['clean_sisdr']:.1f} dB |")
    lines += ["", "SI-SDRi below 0 dB: the output is further from the clean music than the noisy input was. "
              "Damaged clips: the share with SI-SDRi below 0.", ""]
    for name, system in results["systems"].items():
        worst = sorted((c for s in system["sources"].values() for c in s["clips"]), key=lambda c: c["sisdri_15db"])[:5]
        lines.append(f"Worst clips of {name}: " + ", ".join(
            f"{c['clip']}{' (drums)' if c['drums'] else ''} {c['sisdri_15db']:+.1f} dB" for c in worst))
    return "\n".join(lines) + "\n"


def plot(results: dict, out_dir: Path) -> Path:
    """Per-clip SI-SDRi at 15 dB, one panel per model, one row of dots per source (drums in red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = results["systems"]
    fig, axes = plt.subplots(1, len(systems), figsize=(5.5 * len(systems), 3.2), squeeze=False, sharex=True)
    for ax, (name, system) in zip(axes[0], systems.items()):
        sources = list(system["sources"])
        for row, source in enumerate(sources):
            clips = system["sources"][source]["clips"]
            x = np.array([c["sisdri_15db"] for c in clips])
            drums = np.array([c["drums"] for c in clips])
            jitter = np.random.default_rng(row).uniform(-0.15, 0.15, len(x))
            ax.scatter(x[~drums], row + jitter[~drums], s=14, c="tab:blue", label="no drums" if row == 0 else None)
            ax.scatter(x[drums], row + jitter[drums], s=14, c="tab:red", label="drums" if row == 0 else None)
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_yticks(range(len(sources)), sources)
        ax.set_xlabel(f"SI-SDRi at {SNR_DB:g} dB SNR (dB)")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
    return save_figure(fig, out_dir / "preservation.png")


def main(argv: list[str] | None = None) -> int:
    from train.datapaths import MUSIC_SOURCES

    parser = script_parser("bench.preservation", __doc__)
    parser.add_argument("--model", nargs="+", default=["default"], metavar="NAME",
                        help="rtmusic models: default, lookahead, bypass or a .rtm path (default: default)")
    parser.add_argument("--sources", nargs="+", default=list(DEFAULT_SOURCES), choices=list(MUSIC_SOURCES),
                        metavar="SOURCE", help=f"music sources, of {', '.join(MUSIC_SOURCES)} "
                                               f"(default: {' '.join(DEFAULT_SOURCES)})")
    parser.add_argument("--clips", type=int, default=None, help="the first N clips of each source (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    args = parser.parse_args(argv)
    if args.clips is not None and args.clips < 1:
        parser.error("--clips must be at least 1")
    from rtmusic.bench.quality import machine_info

    started = time.perf_counter()
    try:
        sets = {source: make_set(args.data_dir, source, args.clips) for source in args.sources}
    except FileNotFoundError as exc:
        print(f"preservation: no music to score: {exc}", file=sys.stderr)
        return 1
    systems = rtmusic_systems("preservation", args.model)
    if systems is None:
        return 2
    results = {"command": " ".join(["python -m bench.preservation", *(sys.argv[1:] if argv is None else argv)]),
               "machine": machine_info(), "snr_db": SNR_DB, "noise_draws": NOISE_DRAWS,
               "sources": {s: {"split": d["split"], "clips": len(d["name"]), "seconds": d["seconds"]}
                           for s, d in sets.items()},
               "systems": {}}
    for system in systems:
        per_source = {}
        for source, data in sets.items():
            clips = score_clips(data, system)
            per_source[source] = {"summary": summarise(clips), "clips": clips}
            print(f"preservation: {system.name} on {source}: {per_source[source]['summary']['all']['sisdri_15db']:+.2f} dB",
                  file=sys.stderr)
        results["systems"][system.name] = {"sources": per_source, "info": system.info}
    results["run_seconds"] = time.perf_counter() - started
    write_report(args.out, results, format_summary(results), plot, "per clip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
