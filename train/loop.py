"""What every rtmusic training run shares: sharding, the jitted update, checkpoints, resume, logs, plots.

A task (denoiser, classifier) supplies only what differs — its loss, batches, validation and plot — as a
`Task`; `fit` runs the loop. Runs are data-parallel over every visible JAX device with `jax.sharding`
(batch split along a 'data' mesh axis, weights replicated), so one command serves one CPU, several GPUs
or a TPU host. Checkpoints (no pickle) are written every `checkpoint_every` steps; a run resumes from the
latest one, and `best.rtm` keeps the best validation score. With `ema_decay` set, an exponential moving
average of the weights is kept beside them (`ema.rtm`), validated with them (figures prefixed `ema_`), and
its best kept as `best_ema.rtm`: an average over the last few hundred steps smooths out the noise of small
batches at a high learning rate, so it can be worth more than the weights of any one step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from rtmusic import checkpoint

RUNS_DIR = Path(os.environ.get("RTMUSIC_RUNS", Path.home() / ".cache" / "rtmusic" / "runs"))


class TrainState(NamedTuple):
    step: jax.Array  # [] int32
    weights: Any
    opt_state: Any


class Sharding(NamedTuple):
    mesh: Mesh
    data: NamedSharding  # batch axis split over devices
    replicated: NamedSharding  # weights and optimizer state on every device


def data_parallel(batch_size: int) -> Sharding:
    devices = jax.devices()
    if batch_size % len(devices):
        raise SystemExit(f"batch size {batch_size} must be a multiple of the {len(devices)} devices")
    mesh = Mesh(np.array(devices), ("data",))
    print(f"train: data-parallel over {len(devices)} {devices[0].platform} device(s), batch {batch_size}",
          file=sys.stderr, flush=True)
    return Sharding(mesh, NamedSharding(mesh, PartitionSpec("data")), NamedSharding(mesh, PartitionSpec()))


def make_optimizer(config) -> optax.GradientTransformation:
    """AdamW with warm-up and cosine decay, global-norm clipping. `config` has the usual fields.

    An optional `config.lr_scales`, pairs (top-level module name, factor), runs those modules' weights at
    `factor` times the rate: a small part added to a trained net (starting at zero) otherwise learns at the
    rate that only nudges the rest. Without it the optimizer state has the layout of older runs, so they resume.
    """
    def adamw(scale: float) -> optax.GradientTransformation:
        schedule = optax.warmup_cosine_decay_schedule(
            0.0, scale * config.learning_rate, config.warmup_steps, max(config.steps, config.warmup_steps + 1),
            0.05 * scale * config.learning_rate,
        )
        return optax.adamw(schedule, weight_decay=config.weight_decay)

    scales = dict(getattr(config, "lr_scales", ()) or ())
    if not scales:
        return optax.chain(optax.clip_by_global_norm(config.grad_clip), adamw(1.0))

    def group_of(weights):
        unknown = sorted(set(scales) - set(weights))
        if unknown:
            raise ValueError(f"lr_scales names {', '.join(unknown)}, which this net does not have; its modules are "
                             f"{', '.join(sorted(weights))}")
        return {name: jax.tree_util.tree_map(lambda _, n=name: n if n in scales else "base", sub)
                for name, sub in weights.items()}

    groups = {"base": adamw(1.0), **{name: adamw(factor) for name, factor in scales.items()}}
    return optax.chain(optax.clip_by_global_norm(config.grad_clip), optax.multi_transform(groups, group_of))


def jit_train_step(loss_fn: Callable, optimizer: optax.GradientTransformation, sharding: Sharding, n_inputs: int = 2):
    """train_step(state, *batch) -> (state, metrics) for `loss_fn(weights, *batch) -> (loss, parts)`."""

    def train_step(state: TrainState, *batch):
        (loss, parts), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.weights, *batch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.weights)
        weights = optax.apply_updates(state.weights, updates)
        metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads), **parts}
        return TrainState(state.step + 1, weights, opt_state), metrics

    if sharding.mesh.size == 1:
        # Measured on this 2-core CPU: sharding annotations on a one-device mesh made the same step 3x
        # slower (2.6 s against 0.86 s for a 16 x 2 s denoiser batch), so one device gets a plain jit.
        return jax.jit(train_step, donate_argnums=(0,))
    return jax.jit(train_step, in_shardings=(sharding.replicated,) + (sharding.data,) * n_inputs,
                   out_shardings=(sharding.replicated, sharding.replicated), donate_argnums=(0,))


# ---- checkpoints ------------------------------------------------------------------------------------
def save_state(run_dir: Path, state: TrainState, kind: str, model_config: dict) -> None:
    leaves = jax.tree_util.tree_leaves(state.opt_state)
    checkpoint.save(run_dir / "latest.rtm", jax.device_get(state.weights), kind=kind, config=model_config,
                    meta={"step": int(state.step)})
    checkpoint.save(run_dir / "optimizer.rtm", {f"leaf{i:04d}": np.asarray(x) for i, x in enumerate(leaves)},
                    kind="optimizer-state", config={"step": int(state.step)})


def resume_step(run_dir: Path, fresh: bool) -> int:
    """The step a run will resume from (0 for a fresh run): seeds the data sampler differently per resume."""
    latest = run_dir / "latest.rtm"
    return 0 if fresh or not latest.exists() else int(checkpoint.read_header(latest)["meta"]["step"])


def data_seed(seed: int, run_dir: Path, fresh: bool, init_from: Path | None = None) -> list[int]:
    """Entropy for a run's data sampler: the config seed, the resume step and, in a warm start, the start's name.

    Without the start's name every warm-started cycle of a lineage (same config, same seed) would replay the very
    mixtures of the cycle before it; with it each cycle draws new ones, and rerunning one command still draws the same.
    The name is `<run dir name>/<file name>@<step>`, so it holds across machines and cache folders.
    """
    entropy = [seed, resume_step(run_dir, fresh)]
    if init_from is not None:
        step = checkpoint.read_header(init_from).get("meta", {}).get("step")
        origin = Path(init_from).resolve()
        entropy.append(zlib.crc32(f"{origin.parent.name}/{origin.name}@{step}".encode()))
    return entropy


def load_state(run_dir: Path, optimizer, kind: str, model_config: dict,
               complete_config: Callable[[dict], dict] = lambda stored: stored) -> TrainState | None:
    latest, opt_file = run_dir / "latest.rtm", run_dir / "optimizer.rtm"
    if not (latest.exists() and opt_file.exists()):
        return None
    header, weights = checkpoint.load(latest)
    if header.get("kind") != kind or complete_config(header["config"]) != model_config:
        raise SystemExit(f"{latest} was trained with another model config; use --fresh or another --run-dir")
    opt_header, opt_leaves = checkpoint.load(opt_file)
    weights = jax.tree_util.tree_map(jnp.asarray, weights)
    treedef = jax.tree_util.tree_structure(optimizer.init(weights))
    leaves = [jnp.asarray(opt_leaves[f"leaf{i:04d}"]) for i in range(treedef.num_leaves)]
    step = int(header["meta"]["step"])
    if int(opt_header["config"]["step"]) != step:
        raise SystemExit(f"{run_dir}: weights and optimizer state are from different steps; use --fresh")
    return TrainState(jnp.int32(step), weights, jax.tree_util.tree_unflatten(treedef, leaves))


# ---- weight averaging ---------------------------------------------------------------------------------
EMA_FILE, BEST_EMA_FILE, BEST_EMA_JSON = "ema.rtm", "best_ema.rtm", "best_ema.json"


def make_ema_update(decay: float) -> Callable:
    """ema_update(ema, weights) -> ema moved (1 - decay) of the way to weights; jitted, `ema` donated."""
    if not 0.0 < decay < 1.0:
        raise ValueError(f"ema decay must be in (0, 1), got {decay}")

    def update(ema, weights):
        return jax.tree_util.tree_map(lambda e, w: e + (1.0 - decay) * (w - e), ema, weights)

    return jax.jit(update, donate_argnums=(0,))


def load_ema(run_dir: Path, weights, kind: str, step: int):
    """The run's stored average if it is of this step, else a copy of `weights` (a fresh average starts there)."""
    path = run_dir / EMA_FILE
    if path.exists():
        header, ema = checkpoint.load(path)
        if header.get("kind") == kind and header.get("meta", {}).get("step") == step:
            ema = jax.tree_util.tree_map(jnp.asarray, ema)
            if jax.tree_util.tree_structure(ema) == jax.tree_util.tree_structure(weights):
                return ema
        print(f"train: {path} is not of step {step}; the average starts again from the weights",
              file=sys.stderr, flush=True)
    return jax.tree_util.tree_map(jnp.array, weights)  # a copy: the weights' buffers are donated each step


def save_ema(run_dir: Path, ema, step: int, decay: float, kind: str, model_config: dict) -> None:
    checkpoint.save(run_dir / EMA_FILE, jax.device_get(ema), kind=kind, config=model_config,
                    meta={"step": step, "ema_decay": decay})


CYCLE_AVERAGE_KEY = "cycle_average"  # header meta of `train.average`'s output: the checkpoints it is the mean of


def averaged_meta(meta: dict) -> dict:
    """The entries an exported checkpoint's header carries when it is a weight average ({} for plain weights):
    `ema_decay` for a run's moving average, `cycle_average` for a mean of cycles (`train.average`)."""
    return {key: meta[key] for key in ("ema_decay", CYCLE_AVERAGE_KEY) if meta.get(key)}


def averaged_note(meta: dict) -> str:
    """The model card's words for a checkpoint that is a weight average ('' for plain weights)."""
    members = meta.get(CYCLE_AVERAGE_KEY)
    if members:
        runs = ", ".join(f"`{Path(m['checkpoint']).parent.name}` (step {m['step']})" for m in members)
        return f", as the mean of the end-of-cycle weights of {len(members)} warm-started cycles: {runs}"
    decay = meta.get("ema_decay")
    if not decay:
        return ""
    return f", as the moving average of the run's weights (decay {decay}: about the last {round(1 / (1 - decay))} steps)"


def _read_best(path: Path, val_set: str) -> float:
    """The stored best score, or -inf when there is none or it was scored on another validation set."""
    if not path.exists():
        return -np.inf
    stored = json.loads(path.read_text())
    if stored.get("val_set", "val") == val_set:
        return stored["score"]
    print(f"train: {path.name} (step {stored.get('step')}) was scored on {stored.get('val_set', 'val')!r}, "
          f"this run validates on {val_set!r}: the next evaluation starts a new best", file=sys.stderr, flush=True)
    return -np.inf


# ---- warm starts -------------------------------------------------------------------------------------
WARM_START_FILE = "init_from.json"  # in a warm-started run dir: where its weights came from (export sums the lineage)


def load_start_checkpoint(init_from: Path, kind: str) -> tuple[dict, Any]:
    """(header, weights) a new run starts from (`--init-from`); another kind of checkpoint is a clear error."""
    header, start = checkpoint.load(init_from)
    if header.get("kind") != kind:
        raise SystemExit(f"--init-from {init_from}: a {header.get('kind')!r} checkpoint, not a {kind}")
    print(f"train: weights start from {init_from} (step {header.get('meta', {}).get('step')})", flush=True)
    return header, start


def record_warm_start(run_dir: Path, init_from: Path) -> None:
    """Note the checkpoint (and so the run) a new run started from, for the model card's steps and hours."""
    step = checkpoint.read_header(init_from).get("meta", {}).get("step")
    origin = Path(init_from).resolve()
    (run_dir / WARM_START_FILE).write_text(json.dumps(
        {"checkpoint": str(origin), "run_dir": str(origin.parent), "step": step}, indent=1))


# ---- plots ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurvesSpec:
    """What the curves PNG shows: training loss (left), validation figures (right)."""

    loss_label: str = "loss"
    val_loss_key: str | None = None  # a validation loss drawn next to the training loss
    val_keys: tuple[str, ...] = ()
    val_ylabel: str = "validation"
    val_ylim: tuple[float, float] | None = None
    zero_line: bool = False


def plot_curves(run_dir: Path, spec: CurvesSpec) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    train_rows = [r for r in rows if "loss" in r]
    val_rows = [r for r in rows if "score" in r]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if train_rows:
        steps = np.array([r["step"] for r in train_rows])
        loss = np.array([r["loss"] for r in train_rows])
        ax1.plot(steps, loss, alpha=0.3, label=f"{spec.loss_label} (train)")
        k = max(1, len(loss) // 50)
        ax1.plot(steps[k - 1:], np.convolve(loss, np.ones(k) / k, "valid"), label=f"{spec.loss_label} (mean of {k})")
    if spec.val_loss_key:
        pts = [(r["step"], r[spec.val_loss_key]) for r in val_rows if spec.val_loss_key in r]
        if pts:
            ax1.plot(*zip(*pts), marker="o", label=f"{spec.loss_label} (validation)")
    ax1.set_xlabel("step"), ax1.set_ylabel(spec.loss_label), ax1.legend(), ax1.grid(alpha=0.3)
    for key in spec.val_keys:
        pts = [(r["step"], r[key]) for r in val_rows if key in r]
        if pts:
            (line,) = ax2.plot(*zip(*pts), marker="o", label=key)
            ema_pts = [(r["step"], r[f"ema_{key}"]) for r in val_rows if f"ema_{key}" in r]
            if ema_pts:
                ax2.plot(*zip(*ema_pts), marker="x", ls="--", color=line.get_color(), label=f"{key} (EMA)")
    if spec.zero_line:
        ax2.axhline(0, color="k", lw=0.5)
    if spec.val_ylim:
        ax2.set_ylim(*spec.val_ylim)
    ax2.set_xlabel("step"), ax2.set_ylabel(spec.val_ylabel), ax2.legend(), ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run_dir / "curves.png", dpi=90)
    plt.close(fig)


# ---- the loop ---------------------------------------------------------------------------------------
@dataclass
class Task:
    """What one kind of training supplies to `fit`."""

    kind: str  # checkpoint kind: "denoiser" | "classifier"
    model_config: dict
    init_weights: Callable[[], Any]
    next_batch: Callable[[], tuple[np.ndarray, ...]]  # the arrays train_step takes after the state
    audio_seconds_per_batch: float
    evaluate: Callable[[Any], dict[str, float]]  # weights -> figures, with "score" (higher is better)
    describe_train: Callable[[dict[str, float]], str]
    describe_eval: Callable[[dict[str, float]], str]
    curves: CurvesSpec
    close: Callable[[], None] = lambda: None
    # A checkpoint's stored config -> the full config dict (defaults filled in), so a run written before
    # a new optional field existed still resumes when its model is the same.
    complete_config: Callable[[dict], dict] = lambda stored: stored
    # Names the validation set `evaluate` scores on: a best.json scored on another set is not compared with
    # (the next evaluation becomes the best), so changing the set mid-run never keeps a stale best.
    val_set: str = "val"
    # The checkpoint `init_weights` starts from (--init-from), recorded when a run starts so the model card
    # counts the steps and hours of the runs before it.
    init_from: Path | None = None


def fit(config, run_dir: Path, task: Task, train_step, sharding: Sharding, optimizer, *, fresh: bool = False,
        progress: bool = True, max_minutes: float | None = None) -> dict[str, float]:
    """Run (or resume) training to `config.steps`; returns the last validation figures."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    state = None if fresh else load_state(run_dir, optimizer, task.kind, task.model_config, task.complete_config)
    if state is None:
        weights = task.init_weights()
        if task.init_from is not None:
            record_warm_start(run_dir, task.init_from)
        state = TrainState(jnp.int32(0), weights, optimizer.init(weights))
        for stale in ("metrics.jsonl", "best.json"):
            if fresh and (run_dir / stale).exists():
                (run_dir / stale).unlink()
    state = jax.device_put(state, sharding.replicated)
    start_step = int(state.step)
    best_file, best_ema_file = run_dir / "best.json", run_dir / BEST_EMA_JSON
    best = _read_best(best_file, task.val_set)
    ema_decay = float(getattr(config, "ema_decay", 0.0) or 0.0)
    ema = ema_update = None
    if ema_decay > 0.0:
        ema_update = make_ema_update(ema_decay)
        ema = jax.device_put(load_ema(run_dir, state.weights, task.kind, start_step), sharding.replicated)
        best_ema = _read_best(best_ema_file, task.val_set)
    deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
    last_figures: dict[str, float] = {}
    columns = (TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
               TimeRemainingColumn())
    log = open(run_dir / "metrics.jsonl", "a")
    try:
        with Progress(*columns, disable=not progress) as bar:
            bar_task = bar.add_task("train", total=config.steps, completed=start_step, info="compiling...")
            tick, audio_seconds = time.perf_counter(), 0.0
            for step in range(start_step, config.steps):
                batch = [jax.device_put(jnp.asarray(x), sharding.data) for x in task.next_batch()]
                state, metrics = train_step(state, *batch)
                if ema is not None:
                    ema = ema_update(ema, state.weights)
                audio_seconds += task.audio_seconds_per_batch
                done = step + 1
                if done % config.log_every == 0 or done == config.steps:
                    metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                    rate = audio_seconds / (time.perf_counter() - tick)
                    tick, audio_seconds = time.perf_counter(), 0.0
                    log.write(json.dumps({"step": done, "time": time.time(), "audio_s_per_s": rate, **metrics}) + "\n")
                    log.flush()
                    bar.update(bar_task, completed=done, info=f"{task.describe_train(metrics)} | {rate:5.1f} s audio/s")
                if done % config.checkpoint_every == 0 or done == config.steps:
                    save_state(run_dir, state, task.kind, task.model_config)
                    if ema is not None:
                        save_ema(run_dir, ema, done, ema_decay, task.kind, task.model_config)
                if done % config.eval_every == 0 or done == config.steps:
                    last_figures = task.evaluate(state.weights)
                    if ema is not None:
                        ema_figures = task.evaluate(ema)
                        last_figures = {**last_figures, **{f"ema_{k}": v for k, v in ema_figures.items()}}
                        if ema_figures["score"] > best_ema:
                            best_ema = ema_figures["score"]
                            checkpoint.save(run_dir / BEST_EMA_FILE, jax.device_get(ema), kind=task.kind,
                                            config=task.model_config,
                                            meta={"step": done, "ema_decay": ema_decay, "validation": ema_figures})
                            best_ema_file.write_text(json.dumps(
                                {"step": done, "val_set": task.val_set, "ema_decay": ema_decay, **ema_figures}, indent=1))
                    log.write(json.dumps({"step": done, "time": time.time(), **last_figures}) + "\n")
                    log.flush()
                    if last_figures["score"] > best:
                        best = last_figures["score"]
                        checkpoint.save(run_dir / "best.rtm", jax.device_get(state.weights), kind=task.kind,
                                        config=task.model_config, meta={"step": done, "validation": last_figures})
                        best_file.write_text(json.dumps({"step": done, "val_set": task.val_set, **last_figures},
                                                        indent=1))
                    plot_curves(run_dir, task.curves)
                    bar.console.log(f"step {done}: {task.describe_eval(last_figures)}")
                if deadline is not None and time.monotonic() > deadline:
                    save_state(run_dir, state, task.kind, task.model_config)
                    if ema is not None:
                        save_ema(run_dir, ema, done, ema_decay, task.kind, task.model_config)
                    break
    finally:
        task.close()
        log.close()
    return last_figures


def parse_args(prog: str, doc: str, get_config: Callable[[str], Any], default_run_dir: Path, argv=None,
               warm_start: bool = False):
    """The common command line of training entry points -> (config, args)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0],
                                     epilog=f"example: nohup {prog} > train.log 2>&1 &  (resumes where it stopped)")
    parser.add_argument("--config", default="default", help="named config of train/configs (default, tiny, ...)")
    parser.add_argument("--run-dir", type=Path, default=default_run_dir)
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--learning-rate", type=float, default=None, metavar="LR",
                        help="override the peak learning rate (e.g. a lower one for another cycle of a warm start)")
    parser.add_argument("--ema-decay", type=float, default=None, metavar="D",
                        help="also keep and validate a moving average of the weights (e.g. 0.998: about the "
                             "last 500 steps); 0 turns it off")
    parser.add_argument("--seed", type=int, default=None,
                        help="override the config's seed (a fresh run's initial weights and the examples drawn): "
                             "sibling cycles from one start then see other mixtures, and their weights can be "
                             "averaged (python -m train.average)")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (after checkpointing) after this long")
    parser.add_argument("--fresh", action="store_true", help="ignore existing checkpoints in --run-dir")
    parser.add_argument("--no-progress", action="store_true")
    if warm_start:
        parser.add_argument("--init-from", type=Path, default=None, metavar="CHECKPOINT",
                            help="start a new run from these weights (denoiser: new input features start at zero weight)")
    args = parser.parse_args(argv)
    try:
        config = get_config(args.config)
    except ValueError as exc:
        parser.error(str(exc))
    if args.steps is not None:
        config = replace(config, steps=args.steps)
    if args.learning_rate is not None:
        if not args.learning_rate > 0:
            parser.error(f"--learning-rate must be positive, got {args.learning_rate}")
        config = replace(config, learning_rate=args.learning_rate)
    if args.ema_decay is not None:
        if not 0.0 <= args.ema_decay < 1.0:
            parser.error(f"--ema-decay must be in [0, 1), got {args.ema_decay}")
        config = replace(config, ema_decay=args.ema_decay)
    if args.seed is not None:
        if args.seed < 0:
            parser.error(f"--seed must be 0 or more, got {args.seed}")
        config = replace(config, seed=args.seed)
    return config, args
