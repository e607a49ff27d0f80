"""rtmusic command line: live denoising and classification, file processing, devices, benchmarks.

Examples:
  rtmusic devices                      # list audio devices (> default input, < default output)
  rtmusic run                          # default input -> default model -> default output
  rtmusic run -i 2 -o "usb" --model bypass --record out.wav
  rtmusic run --task denoise,classify  # denoise and show what is sounding, one stream
  rtmusic process noisy.wav clean.wav  # offline, same model path as live
  rtmusic demo                         # bundled noisy clip -> before/after audio + spectrograms
  rtmusic bench --quick                # compute, round-trip latency through JACK, load (< 1 min)

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and ``run(args) -> int``.
Errors rtmusic raises on purpose print as one line (no traceback) and exit 2 for usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rtmusic.errors import RtmusicError

# Subcommand modules, imported lazily so `rtmusic devices` never loads JAX.
SUBCOMMANDS = ("run", "process", "devices", "bench", "demo")

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtmusic",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from rtmusic import __version__

    parser.add_argument("--version", action="version", version=f"rtmusic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rtmusic.cli.{name}_cmd")
        except ModuleNotFoundError as exc:  # subcommand not built yet
            if exc.name != f"rtmusic.cli.{name}_cmd":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rtmusic` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("rtmusic: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RtmusicError as exc:
        print(f"rtmusic: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
