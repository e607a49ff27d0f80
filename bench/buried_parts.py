"""Are the instrument families' low APs parts that play but cannot be heard under louder ones?

Labels come from MIDI note activity, so a family counts as sounding in a window even when its part sits
30 dB under the rest of the arrangement. This replays the held-out family arrangements of
`train.render_families` (note for note: it checks the labels against the stored clips), renders each
family's parts alone with each soundfont, runs the classifier on the clean full mix from a fresh state (as
`rtmusic process --task classify` does), and scores the families' AP per 1-s window twice: with the
note-activity labels, and with a family counted only where its part is within X dB of the loudest family
in that window. If buried parts were what keeps the AP low, the gated figures would be much higher.

    python -m bench.buried_parts                          # default classifier, FluidR3 and TimGM6mb
    python -m bench.buried_parts --model runs/classify/best.rtm --per-family 4 --out /tmp/bp

Needs the val_families render (`python -m train.render_families`); 4 min for 96 clips on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from rtmusic.labels import window_probabilities, window_targets
from rtmusic.metrics import per_label_average_precision
from train.render_families import DEFAULT_PER_FAMILY

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "buried_parts"
GATES_DB = (None, 30.0, 20.0, 10.0)
"""None: note-activity labels; X: also within X dB of the window's loudest family."""


def window_levels_db(parts: dict[int, np.ndarray], n_labels: int, n_windows: int, samplerate: int) -> np.ndarray:
    """[n_windows, n_labels] mean power in dB of each label's solo render per 1-s window (-200: no part)."""
    levels = np.full((n_windows, n_labels), -200.0)
    for label, audio in parts.items():
        for w in range(n_windows):
            seg = audio[w * samplerate:(w + 1) * samplerate]
            if seg.size:
                levels[w, label] = 10.0 * np.log10(np.mean(seg.astype(np.float64) ** 2) + 1e-20)
    return levels


def gated_targets(targets: np.ndarray, levels_db: np.ndarray, gate_db: float | None) -> np.ndarray:
    """Window targets [W, L] kept only where the label's part is within `gate_db` of the loudest part."""
    if gate_db is None:
        return targets
    return targets * (levels_db >= levels_db.max(axis=1, keepdims=True) - gate_db)


def score(windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], names: tuple[str, ...], n_families: int) -> dict:
    """{gate: {"map", "per_label", "positives"}} over (probs, targets, levels) per clip, families only in the mAP."""
    probs = np.concatenate([p for p, _, _ in windows])
    targets = np.concatenate([t for _, t, _ in windows])
    levels = np.concatenate([lv for _, _, lv in windows])
    out = {}
    for gate in GATES_DB:
        gated = gated_targets(targets, levels, gate)
        ap = per_label_average_precision(probs, gated)
        out["notes" if gate is None else f"within {gate:g} dB"] = {
            "map": round(float(np.nanmean(ap[:n_families])), 4),
            "per_label": {n: (None if np.isnan(a) else round(float(a), 4)) for n, a in zip(names, ap)},
            "positives": int(gated[:, :n_families].sum()),
        }
    return out


def run(model_name: str, per_family: int, log=print) -> dict:
    from rtmusic.processor import Processor, load_classifier
    from train import datapaths, render_families, render_music
    from train.render_unseen import render_with, resolve_soundfonts

    fonts = {"fluidr3": render_music.SOUNDFONT, render_families.UNSEEN_FONT:
             resolve_soundfonts([render_families.UNSEEN_FONT])[0].path}
    root = datapaths.data_dir()
    model = load_classifier(model_name)
    processor = Processor(model).prepare()
    hop, rate, n_music = model.hop, model.samplerate, len(datapaths.LABEL_NAMES)
    drums = datapaths.LABEL_NAMES.index("drums")
    pieces, used, parsed = render_families.split_pieces("val"), set(), {}

    def parse(piece):
        if piece.piece_id not in parsed:
            parsed[piece.piece_id] = render_music.parse_piece(piece)
        return parsed[piece.piece_id]

    windows: dict[str, list] = {font: [] for font in fonts}
    if not 1 <= per_family <= DEFAULT_PER_FAMILY:
        raise ValueError(f"--per-family must be 1..{DEFAULT_PER_FAMILY} (the clips `python -m train.render_families` "
                         f"renders per family), got {per_family}")
    todo = render_families.plan(DEFAULT_PER_FAMILY, "val")
    for i, (family, seed, name) in enumerate(todo):
        # every clip is arranged in plan order (the arrangements depend on the pieces used before them)
        tracks, length, _, settings = render_families.arrange(family, seed, render_families.DEFAULT_SECONDS,
                                                               pieces, used, parse)
        if i % DEFAULT_PER_FAMILY >= per_family:
            continue
        n = int(min(length, render_families.DEFAULT_SECONDS) * rate) // datapaths.SAMPLES_PER_FRAME * datapaths.SAMPLES_PER_FRAME
        labels = render_music.label_activity(tracks, n // datapaths.SAMPLES_PER_FRAME)
        stored = root / "clips" / datapaths.FAMILIES_SPLIT / "music" / f"{name}.labels.npy"
        if stored.exists() and not np.array_equal(labels, np.load(stored)):
            raise RuntimeError(f"{name}: the replayed arrangement differs from the rendered one; re-render with "
                               "`python -m train.render_families`.")
        by_label: dict[int, list] = {}
        for track in tracks:
            label = drums if track.channel == render_music.DRUM_CHANNEL else render_music.program_label(track.program)
            if label is not None:
                by_label.setdefault(label, []).append(track)
        hops = n // hop
        full = np.zeros((hops, len(model.aux_names)), np.float32)
        full[:, :n_music] = np.repeat(labels, datapaths.SAMPLES_PER_FRAME // hop, axis=0)[:hops]
        for font, font_file in fonts.items():
            mix = render_with(tracks, settings, n, font_file)
            probs = processor.process(mix).aux[:hops]
            _, _, wprobs = window_probabilities(probs, hop, rate, n / rate)
            wtargets = window_targets(full, hop, rate, n / rate)
            parts = ({label: mix for label in by_label} if len(by_label) == 1  # a solo: the mix is its part
                     else {label: render_with(ts, settings, n, font_file) for label, ts in by_label.items()})
            levels = window_levels_db(parts, len(model.aux_names), wprobs.shape[0], rate)
            windows[font].append((wprobs[:, :n_music], wtargets[:, :n_music], levels[:, :n_music]))
        log(f"{i + 1}/{len(todo)} {name}")
    names = datapaths.LABEL_NAMES
    return {"model": model.name, "clips_per_family": per_family, "soundfonts": list(fonts),
            "results": {font: score(w, names, n_music - 1) for font, w in windows.items()}}


def markdown(report: dict) -> str:
    lines = [f"# Families' AP with and without buried parts (model `{report['model']}`)", "",
             f"Clean held-out family arrangements ({report['clips_per_family']} per family), no speech or noise. "
             "mAP over the 11 pitched families; a gate keeps a label only where its part is within X dB of the "
             "window's loudest family.", "", "| soundfont | labels | families mAP | positive windows |",
             "|---|---|---:|---:|"]
    for font, res in report["results"].items():
        for gate, r in res.items():
            lines.append(f"| {font} | {gate} | {r['map']:.3f} | {r['positives']} |")
    names = list(next(iter(report["results"].values()))["notes"]["per_label"])
    lines += ["", "Per-label AP:", "", "| soundfont | labels | " + " | ".join(names) + " |",
              "|---|---|" + "---:|" * len(names)]
    for font, res in report["results"].items():
        for gate, r in res.items():
            cells = ["–" if r["per_label"][n] is None else f"{r['per_label'][n]:.2f}" for n in names]
            lines.append(f"| {font} | {gate} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.buried_parts", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--model", default="default", help="classifier: default or a .rtm file")
    parser.add_argument("--per-family", type=int, default=DEFAULT_PER_FAMILY,
                        help="clips per family, at most the render's (default: all %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for results.json and summary.md")
    args = parser.parse_args(argv)
    report = run(args.model, args.per_family)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=1))
    (args.out / "summary.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
