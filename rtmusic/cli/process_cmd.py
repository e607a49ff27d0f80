"""`rtmusic process IN OUT`: run a model over a file with the same step as live, delay-compensated."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  rtmusic process noisy.wav clean.wav
  rtmusic process take.flac take-bypass.flac --model bypass
  rtmusic process podcast.mp3 podcast-clean.wav --atten-lim 15
"""


def add_parser(sub) -> None:
    p = sub.add_parser("process", help="process an audio file", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="input audio file (any format and rate soundfile reads)")
    p.add_argument("output", metavar="OUT", help="output audio file (.wav, .flac, ...), same rate and channels")
    p.add_argument("--model", default="default", metavar="NAME|PATH", help="model name or .rtm file (default: %(default)s)")
    p.add_argument("--mix", type=float, default=0.0, metavar="0..1", help="blend in the aligned dry input")
    p.add_argument("--atten-lim", type=float, default=None, metavar="DB", help="limit the attenuation to DB decibels")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from rtmusic.offline import process_file, read_audio
    from rtmusic.processor import Processor, enable_compilation_cache

    enable_compilation_cache()

    read_audio(args.input)  # fail fast on a bad input, before compiling anything
    processor = Processor.from_name(args.model, atten_lim_db=args.atten_lim, mix=args.mix)
    show = not args.no_progress
    with Progress(TextColumn("[bold]processing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), transient=True, disable=not show, console=None) as bar:
        task = bar.add_task("process", total=1)
        result = process_file(processor, args.input, args.output,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
    print(f"rtmusic: wrote {args.output}: {result.seconds:.2f} s of audio, {result.channels} channel(s) at "
          f"{result.samplerate} Hz, model {processor.model.name!r}, {result.wall_seconds:.2f} s wall "
          f"(real-time factor {result.realtime_factor:.3f}); output aligned with input "
          f"(delay {processor.delay_samples} samples compensated)", file=sys.stderr)
    if result.nonfinite_resets:
        print(f"rtmusic: warning: {result.nonfinite_resets} hop(s) had non-finite model state and were reset",
              file=sys.stderr)
    return 0
