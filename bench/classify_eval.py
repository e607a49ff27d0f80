"""Classifier quality on the fixed classifier validation set: AP, mAP, macro-F1 per 1-s window, latency.

Every clip of `train.classify_data.make_classify_validation_set` (11 scenes from the val split: music,
drums, speech, noise, silence, near-silence, quiet scenes and mixtures; seeded and cached) is processed
from a fresh state by `Processor.process`, exactly as `rtmusic process --task classify` does. Then:

- per 1-second window, each label's probability is the statistic `rtmusic process --labels-out` writes
  (95th percentile of the window's per-hop probabilities) and its truth is the same statistic of the
  per-hop targets (active in more than ~5 % of the window); from these, **AP** per label (area under the
  step precision-recall curve), **mAP** (mean over labels with positives) and **F1** at threshold 0.5
  (macro-F1: mean over labels);
- **decision latency**: for each onset of a label (target rising after at least `--gap` seconds off),
  the time from the onset to the end of the first hop whose probability reaches 0.5; onsets with no such
  hop within `--max-wait` seconds count as missed (the detection rate says how many were found).

Writes results.json, summary.md and per_label.png (AP against chance, onsets labelled within 500 ms) to --out.

    python -m bench.classify_eval                                  # the default classifier
    python -m bench.classify_eval --model runs/classify/best.rtm --clips 110
    python -m bench.classify_eval --model classifier-random --clips 22 --seconds 3 --out /tmp/ce
    python -m bench.classify_eval --music-source unseen-soundfonts   # music from soundfonts never trained on
    python -m bench.classify_eval --music-source families-unseen-soundfonts --clips 440  # every family, unseen sound
    python -m bench.classify_eval --speech-source unseen-tts         # speech from synthesisers never trained on
    python -m bench.classify_eval --noise-lowpass 8000              # every noise band-limited, as recorded noise is
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from rtmusic.labels import WINDOW_STATISTIC, window_probabilities, window_targets
from rtmusic.metrics import f1_per_label, per_label_average_precision
from train.datapaths import MUSIC_SOURCE_NOTES, MUSIC_SOURCES, SPEECH_SOURCE_NOTES, SPEECH_SOURCES, music_source_out

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "classify"
THRESHOLD = 0.5
ONSET_TARGET_S = 0.5  # issue 4: the first correct label within 500 ms of an onset


def load_validation(root: Path, clips: int, seconds: float, seed: int, music_source: str = "val",
                    speech_source: str = "val", noise_lowpass_hz: float | None = None) -> tuple[dict, dict]:
    """(the classifier validation set, a description of its sources) with music from ``music_source`` and
    speech from ``speech_source`` (keys of train.datapaths.MUSIC_SOURCES and SPEECH_SOURCES); noise always comes
    from the val split, low-passed at ``noise_lowpass_hz`` when given.
    """
    from train import datapaths
    from train.classify_data import make_classify_validation_set

    split, speech_split = datapaths.MUSIC_SOURCES[music_source], datapaths.SPEECH_SOURCES[speech_source]
    val = make_classify_validation_set(root, clips, seconds, seed=seed, music_split=split, speech_split=speech_split,
                                       noise_cutoff_hz=noise_lowpass_hz)
    index = json.loads(datapaths.index_path(root, split or "val", "music").read_text())
    fonts = sorted({c.get("soundfont", "fluidr3") for c in index["clips"]})
    sources = {"music_source": music_source, "music_split": split or "val", "soundfonts": fonts}
    if noise_lowpass_hz is not None:
        sources["noise_lowpass_hz"] = noise_lowpass_hz
    if speech_split is not None:
        index = json.loads(datapaths.index_path(root, speech_split, "speech").read_text())
        sources.update(speech_source=speech_source, speech_split=speech_split,
                       voices=sorted({c.get("source", c["name"]) for c in index["clips"]}))
    return val, sources


def onsets(target: np.ndarray, gap_hops: int) -> np.ndarray:
    """Hop indices where a 0/1 target [hops] turns on after at least `gap_hops` hops off (not at hop 0)."""
    on = np.asarray(target) > 0.5
    rising = np.flatnonzero(on[1:] & ~on[:-1]) + 1
    if gap_hops <= 0:
        return rising
    off_run = np.convolve((~on).astype(np.int64), np.ones(gap_hops, np.int64))[: on.size]  # off hops in (k-gap, k]
    return np.array([k for k in rising if k >= gap_hops and off_run[k - 1] == gap_hops], np.int64)


def decision_latencies(probs: np.ndarray, target: np.ndarray, hop_s: float, gap_s: float = 0.5,
                       max_wait_s: float = 2.0, threshold: float = THRESHOLD) -> list[float]:
    """Per onset of one label: seconds from the onset (start of its hop) to the end of the first hop at or
    after it whose probability reaches `threshold`; NaN when none does within `max_wait_s`."""
    gap, wait = int(round(gap_s / hop_s)), int(round(max_wait_s / hop_s))
    out = []
    for k in onsets(target, gap):
        above = np.flatnonzero(probs[k: k + wait] >= threshold)
        out.append(float((above[0] + 1) * hop_s) if above.size else float("nan"))
    return out


def evaluate(probs: list[np.ndarray], targets: np.ndarray, names: tuple[str, ...], hop: int, samplerate: int,
             gap_s: float = 0.5, max_wait_s: float = 2.0) -> dict:
    """probs: per clip [hops, L]; targets [N, hops, L] per hop. Every figure of the report."""
    hop_s = hop / samplerate
    preds, truth = [], []
    latencies: list[list[float]] = [[] for _ in names]
    for p, t in zip(probs, targets):
        p = p[: t.shape[0]]
        duration = t.shape[0] * hop_s
        preds.append(window_probabilities(p, hop, samplerate, duration)[2])
        truth.append(window_targets(t, hop, samplerate, duration))
        for j in range(len(names)):
            latencies[j] += decision_latencies(p[:, j], t[:, j], hop_s, gap_s, max_wait_s)
    preds, truth = np.concatenate(preds), np.concatenate(truth)
    ap = per_label_average_precision(preds, truth)
    f1 = f1_per_label(preds, truth, THRESHOLD)
    per_label = {}
    for j, name in enumerate(names):
        lat = np.array(latencies[j])
        found = lat[np.isfinite(lat)]
        per_label[name] = {
            "ap": None if np.isnan(ap[j]) else round(float(ap[j]), 4),
            "f1": None if np.isnan(f1[j]) else round(float(f1[j]), 4),
            "positive_windows": int(truth[:, j].sum()),
            "onsets": int(lat.size),
            "detected": int(found.size),
            "within_target": int((found <= ONSET_TARGET_S + 1e-9).sum()),
            "latency_median_ms": round(float(np.median(found)) * 1000, 1) if found.size else None,
            "latency_p90_ms": round(float(np.percentile(found, 90)) * 1000, 1) if found.size else None,
        }
    all_lat = np.concatenate([np.array(x) for x in latencies]) if any(latencies) else np.zeros(0)
    found = all_lat[np.isfinite(all_lat)]
    return {
        "windows": int(preds.shape[0]),
        "map": round(float(np.nanmean(ap)), 4) if np.isfinite(ap).any() else None,
        "macro_f1": round(float(np.nanmean(f1)), 4) if np.isfinite(f1).any() else None,
        "latency_median_ms": round(float(np.median(found)) * 1000, 1) if found.size else None,
        "detection_rate": round(float(found.size / all_lat.size), 4) if all_lat.size else None,
        "within_target_rate": (round(float((found <= ONSET_TARGET_S + 1e-9).sum() / all_lat.size), 4)
                               if all_lat.size else None),
        "per_label": per_label,
    }


def plot_per_label(report: dict, path: Path) -> None:
    """Per-label AP as bars, each against its chance level (the share of positive windows), and the onsets
    labelled within 500 ms: where a reader looks first to see which labels work."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report["summary"]
    names = list(s["per_label"])
    ap = [s["per_label"][n]["ap"] or 0.0 for n in names]
    chance = [s["per_label"][n]["positive_windows"] / max(s["windows"], 1) for n in names]
    quick = [s["per_label"][n]["within_target"] / max(s["per_label"][n]["onsets"], 1) for n in names]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 5), sharey=True)
    y = np.arange(len(names))
    left.barh(y, ap, color="tab:blue", label="AP")
    left.scatter(chance, y, color="black", marker="|", s=120, label="chance (share of positive windows)", zorder=3)
    left.set_xlim(0, 1)
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.set_xlabel("average precision over 1-s windows")
    left.set_title(f"mAP {s['map']}")
    left.legend(loc="center right", fontsize=8)  # beside the short instrument bars
    right.barh(y, quick, color="tab:green")
    right.set_xlim(0, 1)
    right.set_xlabel(f"share of onsets labelled within {ONSET_TARGET_S * 1000:g} ms")
    right.set_title(f"all labels: {s.get('within_target_rate')}")
    source = report.get("music_source", "val")
    speech = report.get("speech_source", "val")
    speech_part = f", speech: {speech}" if speech != "val" else ""
    fig.suptitle(f"{report['model']} - {report['clips']} clips, music: {source}{speech_part}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(report: dict) -> str:
    s = report["summary"]
    lines = [
        f"# Classifier evaluation: {report['model']}",
        "",
        f"{report['clips']} validation clips of {report['seconds']:g} s, {s['windows']} one-second windows; "
        f"window statistic: {WINDOW_STATISTIC}; threshold {THRESHOLD}.",
        "",
    ]
    if report.get("music_source", "val") != "val":
        lines += [f"**Music source: {report['music_source']}** — {MUSIC_SOURCE_NOTES[report['music_source']]} "
                  f"({', '.join(report['soundfonts'])}).", ""]
    if report.get("speech_source", "val") != "val":
        lines += [f"**Speech source: {report['speech_source']}** — {SPEECH_SOURCE_NOTES[report['speech_source']]} "
                  f"({len(report['voices'])} voices: {', '.join(report['voices'])}).", ""]
    if report.get("noise_lowpass_hz") is not None:
        lines += [f"**Noise low-passed at {report['noise_lowpass_hz']:g} Hz** (same levels), as recorded noise is.", ""]
    if (report.get("music_source", "val") != "val" or report.get("speech_source", "val") != "val"
            or report.get("noise_lowpass_hz") is not None):
        lines += ["The rest as in the default set.", ""]
    lines += [
        f"**mAP {s['map']}**, macro-F1 {s['macro_f1']}, decision latency median {s['latency_median_ms']} ms "
        f"(onsets detected within {report['max_wait_s']:g} s: {s['detection_rate']}; within "
        f"{ONSET_TARGET_S * 1000:g} ms: {s.get('within_target_rate')}).",
        "",
        f"| label | AP | F1 | positive windows | onsets | detected | within {ONSET_TARGET_S * 1000:g} ms "
        "| latency median (ms) | latency p90 (ms) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def fmt(v):
        return "-" if v is None else f"{v}"

    for name, r in s["per_label"].items():
        lines.append(f"| {name} | {fmt(r['ap'])} | {fmt(r['f1'])} | {r['positive_windows']} | {r['onsets']} | "
                     f"{r['detected']} | {fmt(r.get('within_target'))} | {fmt(r['latency_median_ms'])} | "
                     f"{fmt(r['latency_p90_ms'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.classify_eval", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--model", default="default", help="classifier: default, classifier-random or a .rtm file")
    parser.add_argument("--clips", type=int, default=220, help="validation clips (cycling over the 11 scenes)")
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--gap", type=float, default=0.5, help="an onset follows at least this long off (s)")
    parser.add_argument("--max-wait", type=float, default=2.0, help="onsets not detected within this are missed (s)")
    parser.add_argument("--music-source", choices=list(MUSIC_SOURCES), default="val",
                        help="music of the set: the val split (default), the val pieces rendered with unseen "
                             "soundfonts or the same excerpts in FluidR3 (`python -m train.render_unseen`), "
                             "label-balanced held-out music in FluidR3 or an unseen soundfont "
                             "(`python -m train.render_families`)")
    parser.add_argument("--speech-source", choices=list(SPEECH_SOURCES), default="val",
                        help="speech of the set: the val split's held-out espeak-ng voices (default), or speech from "
                             "synthesisers never used in training (`python -m train.render_unseen_speech`)")
    parser.add_argument("--noise-lowpass", type=float, default=None, metavar="HZ",
                        help="low-pass every noise at HZ (same levels): recorded noise seldom has the synthesised "
                             "noise's energy up to 24 kHz, and a net that reads noise from there misses real noise")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default: {DEFAULT_OUT}, or classify_<source> beside it for another "
                             "--music-source or --speech-source, with _noise_lowpass<HZ> for --noise-lowpass)")
    args = parser.parse_args(argv)
    if args.noise_lowpass is not None and not 0 < args.noise_lowpass < 24000:
        parser.error(f"--noise-lowpass must lie between 0 and 24000 Hz (got {args.noise_lowpass:g})")
    out = args.out if args.out is not None else music_source_out(DEFAULT_OUT, args.music_source, args.speech_source)
    if args.out is None and args.noise_lowpass is not None:
        out = out.with_name(f"{out.name}_noise_lowpass{args.noise_lowpass:g}")

    from rtmusic.processor import Processor, classifier_checkpoint_path, enable_compilation_cache, load_classifier
    from train.classify import VAL_SEED
    from train.datapaths import data_dir

    enable_compilation_cache()
    root = data_dir(args.data_dir)
    try:
        val, music = load_validation(root, args.clips, args.seconds, VAL_SEED, args.music_source, args.speech_source,
                                     args.noise_lowpass)
    except FileNotFoundError as exc:
        print(f"classify_eval: no validation data: {exc}", file=sys.stderr)
        return 1
    model = load_classifier(args.model)
    processor = Processor(model).prepare()
    started = time.perf_counter()
    probs = [processor.process(clip).aux for clip in val["audio"]]
    wall = time.perf_counter() - started
    summary = evaluate(probs, val["targets"].astype(np.float32), model.aux_names, model.hop, model.samplerate,
                       args.gap, args.max_wait)
    path = classifier_checkpoint_path(args.model)
    report = {
        "model": model.name,
        "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path else None,
        "clips": int(val["audio"].shape[0]),
        "seconds": args.seconds,
        **music,
        "gap_s": args.gap,
        "max_wait_s": args.max_wait,
        "window_statistic": WINDOW_STATISTIC,
        "threshold": THRESHOLD,
        "realtime_factor": round(wall / (val["audio"].size / model.samplerate), 4),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "summary": summary,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "summary.md").write_text(markdown(report))
    plot_per_label(report, out / "per_label.png")
    print(markdown(report))
    print(f"wrote {out / 'results.json'}, {out / 'summary.md'} and {out / 'per_label.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
