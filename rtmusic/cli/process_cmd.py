"""`rtmusic process IN [OUT]`: run a model over a file with the same step as live, delay-compensated.

With `--task classify` it writes label probabilities per 1-second window (`--labels-out FILE.json`, or
stdout): for each window and label, the 95th percentile of the per-hop (5 ms) probabilities in it.
"""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  rtmusic process noisy.wav clean.wav
  rtmusic process take.flac take-bypass.flac --model bypass
  rtmusic process podcast.mp3 podcast-clean.wav --atten-lim 15
  rtmusic process song.flac --task classify --labels-out song-labels.json
  rtmusic process take.wav take-clean.wav --task denoise,classify --labels-out take-labels.json
"""


def add_parser(sub) -> None:
    p = sub.add_parser("process", help="process an audio file", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="input audio file (any format and rate soundfile reads)")
    p.add_argument("output", metavar="OUT", nargs="?",
                   help="output audio file (.wav, .flac, ...), same rate and channels; optional with --task classify")
    p.add_argument("--task", default="denoise", metavar="TASKS",
                   help="denoise, classify or denoise,classify (default: %(default)s)")
    p.add_argument("--classifier", default="default", metavar="NAME|PATH",
                   help="classifier for --task classify: default, classifier-random or a .rtm checkpoint")
    p.add_argument("--labels-out", metavar="FILE.json",
                   help="with classify: write per-second label probabilities here (default: stdout)")
    p.add_argument("--model", default="default", metavar="NAME|PATH", help="default, lookahead (5 ms more delay, cleaner), bypass or a .rtm file (default: %(default)s)")
    p.add_argument("--mix", type=float, default=0.0, metavar="0..1", help="blend in the aligned dry input")
    p.add_argument("--atten-lim", type=float, default=None, metavar="DB", help="limit the attenuation to DB decibels")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _validate(args) -> None:
    from rtmusic.errors import ParameterError
    from rtmusic.registry import parse_tasks, validate_knobs

    args.tasks = parse_tasks(args.task)
    if "denoise" in args.tasks and args.output is None:
        raise ParameterError("OUT is missing: give an output file (only --task classify runs without one)")
    if args.labels_out and "classify" not in args.tasks:
        raise ParameterError("--labels-out needs --task classify (or denoise,classify)")
    validate_knobs(args.atten_lim, args.mix)


def run(args) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    _validate(args)
    from rtmusic.offline import process_file, read_audio
    from rtmusic.processor import Processor, enable_compilation_cache, model_for_tasks

    enable_compilation_cache()

    read_audio(args.input)  # fail fast on a bad input, before compiling anything
    processor = Processor(model_for_tasks(args.tasks, args.model, args.classifier), atten_lim_db=args.atten_lim,
                          mix=args.mix)
    show = not args.no_progress
    with Progress(TextColumn("[bold]processing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), transient=True, disable=not show, console=None) as bar:
        task = bar.add_task("process", total=1)
        result = process_file(processor, args.input, args.output,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
    if "classify" in args.tasks:
        _write_labels(args, processor, result)
    what = f"wrote {args.output}" if args.output else f"classified {args.input}"
    print(f"rtmusic: {what}: {result.seconds:.2f} s of audio, {result.channels} channel(s) at "
          f"{result.samplerate} Hz, model {processor.model.name!r}, {result.wall_seconds:.2f} s wall "
          f"(real-time factor {result.realtime_factor:.3f})"
          + (f"; output aligned with input (delay {processor.delay_samples} samples compensated)" if args.output else ""),
          file=sys.stderr)
    if result.nonfinite_resets:
        print(f"rtmusic: warning: {result.nonfinite_resets} hop(s) had non-finite model state and were reset",
              file=sys.stderr)
    return 0


def _write_labels(args, processor, result) -> None:
    """Per-second windows of the label probabilities (channels: the maximum over channels)."""
    import json

    import numpy as np

    from rtmusic.labels import label_columns, labels_document, window_probabilities

    names, columns = label_columns(processor.model)
    probs = np.max(np.stack([aux[:, columns] for aux in result.aux]), axis=0)  # [hops, labels]
    starts, ends, windows = window_probabilities(probs, processor.hop, processor.samplerate, result.seconds)
    doc = labels_document(names, starts, ends, windows, model=processor.model.name, source=str(args.input),
                          channels=result.channels)
    text = json.dumps(doc, indent=1)
    if args.labels_out:
        from pathlib import Path

        Path(args.labels_out).write_text(text + "\n")
        print(f"rtmusic: wrote {args.labels_out}: {len(doc['windows'])} one-second windows of {len(names)} labels",
              file=sys.stderr)
    else:
        print(text)
