"""What a low-delay denoiser's per-fine-bin gain correction is worth: validation figures with it and without it.

A net with `DenoiserConfig.analysis_window` has a small correction net, shared across frequency. It adjusts
the gain of each fine bin below `fine_bins`, starts at zero, and can learn too slowly to matter (session 22).
This tool scores each model on the fixed validation set twice: as shipped, and with the correction's output
weights set to zero. It uses the same figures as training's validation (`train.denoise.evaluate`). The
difference is the correction's share of the result. Writes results.json and summary.md to --out.

    python -m bench.correction_share                              # the default denoiser, 210 clips
    python -m bench.correction_share --model default lookahead runs/x/latest.rtm --clips 42
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import script_parser

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "correction_share"
FIGURES = ("sisdri_music", "sisdri_speech", "sisdri_mixed", "music15_preservation")


def without_correction(weights: dict) -> dict:
    """The same weights with the correction's output layer at zero (the state a warm start gives it)."""
    return {**weights, "fine_out": {name: np.zeros_like(value) for name, value in weights["fine_out"].items()}}


def spread_clips(val: dict, n: int) -> dict:
    """`n` clips spread evenly over the set, which is stored kind after kind, so every kind keeps its share."""
    total = len(val["kind"])
    keep = np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int))
    return {key: value[keep] if np.ndim(value) and len(value) == total else value for key, value in val.items()}


def score(path: Path, val: dict) -> dict:
    """{"with": figures, "without": figures} for the denoiser checkpoint at `path`."""
    import jax

    from rtmusic import checkpoint
    from rtmusic.models import DenoiserConfig
    from train.denoise import evaluate, make_forward

    header, weights = checkpoint.load(path)
    config = DenoiserConfig.from_dict(header["config"])
    if "fine_out" not in weights:
        raise SystemExit(f"correction_share: {path} has no per-fine-bin correction (it needs analysis_window and "
                         "fine_bins); pick a low-delay denoiser, e.g. --model default")
    forward, delay = make_forward(config)
    forward = jax.jit(forward)
    return {"with": evaluate(forward, weights, val, delay=delay),
            "without": evaluate(forward, without_correction(weights), val, delay=delay)}


def markdown(results: dict) -> str:
    lines = [f"# Share of the per-fine-bin gain correction ({results['clips']} validation clips)", "",
             "SI-SDRi in dB, with the correction / with its output set to zero / the difference.", "",
             "| model | " + " | ".join(FIGURES) + " |", "|---|" + "---|" * len(FIGURES)]
    for name, figures in results["models"].items():
        cells = []
        for key in FIGURES:
            on, off = figures["with"].get(key), figures["without"].get(key)
            cells.append("–" if on is None else f"{on:+.2f} / {off:+.2f} / **{on - off:+.2f}**")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def validation_models(module: str, doc: str, default_out: Path, argv: list[str] | None, add_arguments=None):
    """Parse the --model/--clips/--data-dir/--out options these validation-set tools share (and the tool's own,
    added by `add_arguments(parser)`); returns (args, {name: checkpoint path}, validation clips spread over the
    kinds)."""
    parser = script_parser(module, doc)
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument("--model", nargs="+", default=["default"],
                        help="denoisers: built-in names (default, lookahead) or .rtm files")
    parser.add_argument("--clips", type=int, default=210, help="validation clips, spread over music, speech, mixed")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--out", type=Path, default=default_out, help="output folder")
    args = parser.parse_args(argv)

    from rtmusic.errors import CheckpointError
    from rtmusic.registry import checkpoint_path
    from train.datapaths import data_dir
    from train.mixer import make_validation_set

    paths = {}
    for name in args.model:
        try:
            path = checkpoint_path(name)
        except CheckpointError as err:
            parser.error(str(err))
        if path is None or not Path(path).is_file():
            parser.error(f"no denoiser checkpoint {name!r}: give default, lookahead or a .rtm file")
        paths[name] = Path(path)
    return args, paths, spread_clips(make_validation_set(data_dir(args.data_dir)), args.clips)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args, paths, val = validation_models("bench.correction_share", __doc__, DEFAULT_OUT, argv)
    results = {"clips": int(len(val["kind"])), "models": {name: score(path, val) for name, path in paths.items()}}
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    summary = markdown(results)
    (args.out / "summary.md").write_text(summary)
    print(summary)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'summary.md'} ({results['run_seconds']:.0f} s)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
