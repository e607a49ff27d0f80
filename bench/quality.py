"""Denoising quality on the validation set, side by side with what users would pick instead.

Every system — rtmusic models through `Processor.process`, the competitors of `rtmusic.bench.competitors`
(RNNoise, WebRTC NS, noisereduce, DTLN) and the unprocessed input as a reference row — processes every
clip of the fixed validation set (`train.mixer.make_validation_set`: music, speech and music+speech at
-5..20 dB SNR and clean), one clip at a time from a fresh state. Scores, each ignoring the first 0.1 s of
every clip (state warm-up) for every system alike:

- **SI-SDRi**: SI-SDR(output, clean) - SI-SDR(noisy, clean), per kind and per input SNR;
- **PESQ-WB** and **STOI** on speech (16 kHz, resampled with soxr; needs `pesq`, `pystoi`);
- **music preservation**: SI-SDRi on music at 15 dB SNR (must not be negative), and on clean-only music
  the SI-SDR of the output against its input (how much the system damages clean music);
- **RTF**: processing wall time / audio duration (one stream, one clip at a time).

Writes `results.json` (every figure, per clip too, machine, model checksums), `summary.md` (tables) and
PNG plots to --out.

    python -m bench.quality                                       # default model, every competitor
    python -m bench.quality --model lstm-random --clips 42        # 2 clips per kind and SNR
    python -m bench.quality --model runs/best.rtm default --competitors rnnoise,dtln
    python -m bench.quality --competitors none --no-perceptual --out /tmp/q
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rtmusic.bench import competitors as comp
from rtmusic.bench.quality import format_summary, load_data, run, write_outputs

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "quality"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n")[-1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=["default"], metavar="NAME",
                        help="rtmusic models: default, lstm-random, bypass or a .rtm path (default: default)")
    parser.add_argument("--clips", type=int, default=None, help="use the first N validation clips (default: all)")
    parser.add_argument("--competitors", default=",".join(comp.COMPETITORS),
                        help="comma-separated, or 'none' (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--no-perceptual", action="store_true", help="skip PESQ-WB and STOI")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    names = [] if args.competitors.strip().lower() in ("", "none") else [c.strip() for c in args.competitors.split(",") if c.strip()]
    unknown = [n for n in names if n not in comp.COMPETITORS]
    if unknown:
        parser.error(f"unknown competitor(s) {', '.join(unknown)}; known: {', '.join(comp.COMPETITORS)}")
    if args.clips is not None and args.clips < 1:
        parser.error("--clips must be at least 1")
    try:
        data = load_data(args.data_dir, args.clips)
    except FileNotFoundError as exc:
        print(f"quality: no validation data: {exc}", file=sys.stderr)
        return 1
    from rtmusic.errors import RtmusicError

    try:
        results = run(data, args.model, names, perceptual=not args.no_perceptual, progress=not args.no_progress,
                      command=" ".join(["python -m bench.quality", *(sys.argv[1:] if argv is None else argv)]))
    except RtmusicError as exc:
        print(f"quality: {exc}", file=sys.stderr)
        return 2
    paths = write_outputs(results, args.out)
    print(format_summary(results))
    print(f"wrote {', '.join(str(p) for p in paths)} ({results['run_seconds']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
