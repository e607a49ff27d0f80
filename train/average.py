"""Average the end-of-cycle weights of warm-started cycles (stochastic weight averaging over cycles).

Each training cycle ends its cosine decay near a low-loss point; cycles started from one another land on
neighbouring points of the same basin, and their mean sits nearer the basin's middle, where a model tends to
carry better to audio it never trained on (Izmailov et al. 2018, "Averaging weights leads to wider optima").

    python -m train.average RUN_A/best.rtm RUN_B/best.rtm RUN_C/best.rtm --out RUN_C/cycles.rtm --validate

The average is written with the last checkpoint's config and step, and a header entry naming its members, so
`python -m train.export --run-dir RUN_C --checkpoint cycles.rtm` ships it with the lineage of RUN_C.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rtmusic import checkpoint
from train.loop import CYCLE_AVERAGE_KEY


def average_weights(trees: list[dict]) -> dict:
    """Element-wise mean of parameter trees of one architecture (float32 arithmetic)."""
    first = trees[0]
    if isinstance(first, dict):
        keys = set(first)
        for tree in trees[1:]:
            if not isinstance(tree, dict) or set(tree) != keys:
                raise ValueError("the checkpoints hold different parameters; average only cycles of one architecture")
        return {key: average_weights([tree[key] for tree in trees]) for key in first}
    shapes = {np.shape(leaf) for leaf in trees}
    if len(shapes) != 1:
        raise ValueError(f"a parameter has different shapes across the checkpoints: {sorted(shapes)}")
    return np.mean([np.asarray(leaf, dtype=np.float32) for leaf in trees], axis=0)


def full_config(header: dict) -> dict:
    """The header's model config with every field filled in, so a checkpoint written before a field existed
    (and so without it) compares equal to one that holds that field's default."""
    from rtmusic.models import ClassifierConfig, DenoiserConfig

    config_class = {"denoiser": DenoiserConfig, "classifier": ClassifierConfig}.get(header.get("kind"))
    return config_class.from_dict(header["config"]).to_dict() if config_class else header["config"]


def average_checkpoints(paths: list[Path], out: Path) -> Path:
    """Write the mean of `paths` (same kind and config) to `out`; the header names the members."""
    if len(paths) < 2:
        raise SystemExit("train.average: give at least two checkpoints to average")
    headers, trees = zip(*(checkpoint.load(path) for path in paths))
    kinds = {header.get("kind") for header in headers}
    if len(kinds) != 1:
        raise SystemExit(f"train.average: the checkpoints are of different kinds {sorted(map(str, kinds))}")
    configs = {json.dumps(full_config(header), sort_keys=True) for header in headers}
    if len(configs) != 1:
        raise SystemExit("train.average: the checkpoints have different model configs; average only cycles of one "
                         "architecture (same config, warm-started from one another)")
    try:
        mean = average_weights(list(trees))
    except ValueError as error:
        raise SystemExit(f"train.average: {error}") from None
    last = headers[-1]
    members = [{"checkpoint": str(Path(path).resolve()), "step": header.get("meta", {}).get("step")}
               for path, header in zip(paths, headers)]
    meta = {"step": last.get("meta", {}).get("step"), CYCLE_AVERAGE_KEY: members}
    Path(out).parent.mkdir(parents=True, exist_ok=True)  # usually a new `<run>_avg/` folder beside the runs
    return checkpoint.save(out, mean, kind=last["kind"], config=full_config(last), meta=meta)


def validate(path: Path, data_dir: Path | None, clips: int, seconds: float) -> dict[str, float]:
    """The training run's validation figures of a denoiser checkpoint (same clips as `train.denoise`)."""
    from rtmusic.models import DenoiserConfig
    from train.denoise import validate_weights

    header, weights = checkpoint.load(path)
    if header.get("kind") != "denoiser":
        raise SystemExit(f"train.average: --validate scores denoisers; {path} is a {header.get('kind')!r}")
    return validate_weights(DenoiserConfig.from_dict(header["config"]), weights, data_dir, clips, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.average", description=__doc__.split("\n\n")[0],
                                     epilog="example: python -m train.average runs/a/best.rtm runs/b/best.rtm "
                                            "--out runs/b/cycles.rtm --validate",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="end-of-cycle checkpoints, oldest first")
    parser.add_argument("--out", type=Path, required=True, help="where to write the average (.rtm)")
    parser.add_argument("--validate", action="store_true",
                        help="score the average on the denoiser's validation clips and print the figures")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--val-clips", type=int, default=210, help="validation clips (the training set-up's)")
    parser.add_argument("--val-seconds", type=float, default=6.0)
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.checkpoints if not path.exists()]
    if missing:
        raise SystemExit(f"train.average: no such checkpoint: {', '.join(missing)}")
    out = average_checkpoints(args.checkpoints, args.out)
    print(f"train.average: wrote {out} (mean of {len(args.checkpoints)} checkpoints)", flush=True)
    if args.validate:
        print(json.dumps(validate(out, args.data_dir, args.val_clips, args.val_seconds), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
