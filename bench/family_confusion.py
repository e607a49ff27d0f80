"""What the classifier hears when one instrument family plays alone: a family x label table and heatmap.

    python -m bench.family_confusion                                        # default classifier, TimGM6mb
    python -m bench.family_confusion --split val_families --out /tmp/fc     # the same pieces in FluidR3
    python -m bench.family_confusion --model runs/classify_synth/latest.rtm

Why: on the label-balanced held-out arrangements the classifier's mAP drops from 0.71 (FluidR3, the training
soundfont) to 0.55 (TimGM6mb, never heard), and per-label AP does not say where the lost probability goes. This
takes the windows of `train.render_families`' evaluation clips where exactly one family sounds (no drums), runs the classifier over each whole clip from a fresh state as `rtmusic process --task classify`
does, and averages each label's probability over those windows: row = the family playing, column = what the
classifier says. A dark diagonal and bright off-diagonal cells name the confusions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path("bench/results/family_confusion")
LEVEL_DBFS = -20.0  # clips are stored peak-normalised; play them at a typical input RMS


def solo_windows(labels: np.ndarray, family: int) -> np.ndarray:
    """Boolean [frames]: `family` sounds and no other label (family or drums) does."""
    others = [c for c in range(labels.shape[1]) if c != family]
    return (labels[:, family] > 0) & ~(labels[:, others] > 0).any(axis=1)


def confusion(model_name: str, root: Path, split: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(families, label names, mean probability [families, labels], solo frames per family)."""
    from rtmusic.processor import Processor, enable_compilation_cache, load_classifier
    from train import datapaths, render_families

    enable_compilation_cache()
    index = json.loads(datapaths.index_path(root, split, "music").read_text())
    audio = np.load(datapaths.audio_path(root, split, "music"), mmap_mode="r")
    labels = np.load(datapaths.labels_path(root, split), mmap_mode="r")
    data_names = list(index["label_names"])
    families = [f for f in render_families.families() if f != render_families.DRUMS]
    pitched = [data_names.index(f) for f in families]
    model = load_classifier(model_name)
    names = list(model.aux_names)
    if names[: len(data_names)] != data_names:
        raise SystemExit(f"family_confusion: the model's labels {names} do not begin with the data's {data_names}")
    processor = Processor(model).prepare()
    sums, counts = np.zeros((len(families), len(names))), np.zeros(len(families))
    for clip in index["clips"]:
        x = np.asarray(audio[clip["offset"]: clip["offset"] + clip["length"]], np.float32) / 32768.0
        rms = float(np.sqrt(np.mean(x ** 2)))
        if rms == 0:
            continue
        probs = np.asarray(processor.process(x * (10 ** (LEVEL_DBFS / 20) / rms)).aux)
        y = np.asarray(labels[clip["frame_offset"]: clip["frame_offset"] + clip["frames"]])
        n = min(len(probs), len(y))
        for i, column in enumerate(pitched):
            keep = solo_windows(y[:n], column)
            sums[i] += probs[:n][keep].sum(axis=0)
            counts[i] += keep.sum()
    return families, names, sums / np.maximum(counts, 1)[:, None], counts


def markdown(model: str, split: str, families: list[str], names: list[str], table: np.ndarray,
             counts: np.ndarray) -> str:
    columns = [n for n in names if n not in ("speech", "noise", "silence")]
    lines = [f"# What `{model}` hears when one family plays alone ({split})", "",
             "Mean probability of each label (columns) over the 10 ms windows where only the row's family sounds "
             "(no other family, no drums). `python -m bench.family_confusion`.", "",
             "| playing | windows | " + " | ".join(columns) + " |", "|---|---:|" + "---:|" * len(columns)]
    for i, family in enumerate(families):
        cells = [f"**{table[i, names.index(c)]:.2f}**" if c == family else f"{table[i, names.index(c)]:.2f}"
                 for c in columns]
        lines.append(f"| {family} | {int(counts[i])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(path: Path, title: str, families: list[str], names: list[str], table: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [n for n in names if n not in ("speech", "noise", "silence")]
    data = table[:, [names.index(c) for c in columns]]
    fig, ax = plt.subplots(figsize=(9, 6))
    image = ax.imshow(data, vmin=0, vmax=1, cmap="magma")
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    ax.set_yticks(range(len(families)), families)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if data[i, j] > 0.5 else "white")
    ax.set_xlabel("label the classifier gives")
    ax.set_ylabel("family playing alone")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="mean probability")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from train import datapaths

    parser = argparse.ArgumentParser(prog="python -m bench.family_confusion", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--model", default="default", help="classifier: default or a .rtm file")
    parser.add_argument("--split", default=datapaths.FAMILIES_UNSEEN_SPLIT,
                        choices=[datapaths.FAMILIES_UNSEEN_SPLIT, datapaths.FAMILIES_SPLIT],
                        help="the evaluation arrangements in TimGM6mb (default) or FluidR3")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    root = datapaths.data_dir(args.data_dir)
    if not datapaths.index_path(root, args.split, "music").exists():
        print(f"family_confusion: {args.split} is not rendered in {root}: run `python -m train.render_families`",
              file=sys.stderr)
        return 1
    families, names, table, counts = confusion(args.model, root, args.split)
    args.out.mkdir(parents=True, exist_ok=True)
    text = markdown(args.model, args.split, families, names, table, counts)
    (args.out / "summary.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps({"model": args.model, "split": args.split, "families": families,
                                                       "labels": names, "mean_probability": table.round(4).tolist(),
                                                       "windows": counts.astype(int).tolist()}, indent=1) + "\n")
    plot(args.out / "confusion.png", f"{args.model} on {args.split}: families playing alone", families, names, table)
    print(text)
    print(f"wrote {args.out / 'summary.md'}, results.json and confusion.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
