"""Train the live classifier: `python -m train.classify [--config default|tiny] [--run-dir DIR]`.

Mirrors train.denoise: the loss differentiates `jax.lax.scan` of the very step the live engine runs
(`rtmusic.step.classifier_model`, in its logits mode), vmapped over the batch; data-parallel over every
visible JAX device with `jax.sharding`; checkpoints without pickle every `checkpoint_every` steps, resumed
from the latest one; `best.rtm` is the best validation mAP so far; metrics.jsonl and curves.png.

Loss: binary cross-entropy per hop and label (targets from `train.classify_data`), the first
`mask_seconds` of every segment not scored (the state is still warming up there).
Validation: mAP and macro-F1 over 1-second windows of the fixed classifier validation set, with the same
window statistic as `rtmusic process --labels-out` (see `rtmusic.labels`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from rtmusic import checkpoint
from rtmusic.labels import window_probabilities, window_targets
from rtmusic.metrics import f1_per_label, per_label_average_precision
from rtmusic.models import ClassifierConfig, init_label_net
from rtmusic.step import classifier_model, make_knobs, scan_hops
from train.configs.classify import ClassifyTrainConfig, get_config
from train.denoise import make_optimizer

DEFAULT_RUN_DIR = Path(os.environ.get("RTMUSIC_RUNS", Path.home() / ".cache" / "rtmusic" / "runs")) / "classify"
VAL_SEED = 4321


class TrainState(NamedTuple):
    step: jax.Array  # [] int32
    weights: Any
    opt_state: Any


def make_forward(model_config: ClassifierConfig):
    """forward(weights, audio [B, T]) -> logits [B, T // hop, n_labels], hop k from input up to its end."""
    model = classifier_model(model_config, None, logits=True)
    hop = model.hop

    def forward(weights, audio):
        params = {"net": weights, "knobs": make_knobs()}
        batch, length = audio.shape

        def one(x):
            _, (_out, aux) = scan_hops(model.step, params, model.init_carry(), x)
            return aux.values

        return jax.vmap(one)(audio.reshape(batch, length // hop, hop))

    return forward


def classify_loss(logits: jax.Array, targets: jax.Array, skip_hops: int):
    """Mean BCE over hops >= skip_hops, labels and examples; logits, targets [B, hops, L]."""
    bce = optax.sigmoid_binary_cross_entropy(logits[:, skip_hops:], targets[:, skip_hops:])
    return jnp.mean(bce)


def make_train_step(config: ClassifyTrainConfig, optimizer, mesh: Mesh):
    forward = make_forward(config.model)
    skip = int(round(config.mask_seconds * config.model.samplerate / config.model.hop))
    data = NamedSharding(mesh, PartitionSpec("data"))
    replicated = NamedSharding(mesh, PartitionSpec())

    def loss_fn(weights, audio, targets):
        logits = forward(weights, audio)
        loss = classify_loss(logits, targets, skip)
        hits = ((logits[:, skip:] > 0) == (targets[:, skip:] > 0.5)).mean()
        return loss, {"accuracy": hits}

    def train_step(state: TrainState, audio, targets):
        (loss, parts), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.weights, audio, targets)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.weights)
        weights = optax.apply_updates(state.weights, updates)
        metrics = {"loss": loss, "grad_norm": optax.global_norm(grads), **parts}
        return TrainState(state.step + 1, weights, opt_state), metrics

    step = jax.jit(train_step, in_shardings=(replicated, data, data), out_shardings=(replicated, replicated),
                   donate_argnums=(0,))
    return step, jax.jit(forward), data, replicated, skip


# ---- checkpoints ------------------------------------------------------------------------------------
def save_state(run_dir: Path, state: TrainState, config: ClassifyTrainConfig) -> None:
    leaves = jax.tree_util.tree_leaves(state.opt_state)
    checkpoint.save(run_dir / "latest.rtm", jax.device_get(state.weights), kind="classifier",
                    config=config.model.to_dict(), meta={"step": int(state.step)})
    checkpoint.save(run_dir / "optimizer.rtm", {f"leaf{i:04d}": np.asarray(x) for i, x in enumerate(leaves)},
                    kind="optimizer-state", config={"step": int(state.step)})


def load_state(run_dir: Path, optimizer, config: ClassifyTrainConfig) -> TrainState | None:
    latest, opt_file = run_dir / "latest.rtm", run_dir / "optimizer.rtm"
    if not (latest.exists() and opt_file.exists()):
        return None
    header, weights = checkpoint.load(latest)
    if header.get("kind") != "classifier" or header["config"] != config.model.to_dict():
        raise SystemExit(f"{latest} was trained with another model config; use --fresh or another --run-dir")
    opt_header, opt_leaves = checkpoint.load(opt_file)
    weights = jax.tree_util.tree_map(jnp.asarray, weights)
    treedef = jax.tree_util.tree_structure(optimizer.init(weights))
    leaves = [jnp.asarray(opt_leaves[f"leaf{i:04d}"]) for i in range(treedef.num_leaves)]
    step = int(header["meta"]["step"])
    if int(opt_header["config"]["step"]) != step:
        raise SystemExit(f"{run_dir}: weights and optimizer state are from different steps; use --fresh")
    return TrainState(jnp.int32(step), weights, jax.tree_util.tree_unflatten(treedef, leaves))


# ---- validation -------------------------------------------------------------------------------------
def window_scores(probs: np.ndarray, targets: np.ndarray, hop: int, samplerate: int):
    """Per-clip hops [N, hops, L] -> per-window predictions and truth, stacked over clips: [W, L] each."""
    duration = probs.shape[1] * hop / samplerate
    preds, truth = [], []
    for p, t in zip(probs, targets):
        preds.append(window_probabilities(p, hop, samplerate, duration)[2])
        truth.append(window_targets(t, hop, samplerate, duration))
    return np.concatenate(preds), np.concatenate(truth)


def evaluate(forward, weights, val: dict[str, np.ndarray], model: ClassifierConfig, skip: int,
             batch: int = 16) -> dict[str, float]:
    """Window mAP, macro-F1 (threshold 0.5), per-label AP, and the per-hop BCE on the validation set."""
    logits = []
    for start in range(0, val["audio"].shape[0], batch):
        logits.append(np.asarray(forward(weights, jnp.asarray(val["audio"][start:start + batch]))))
    logits = np.concatenate(logits)
    targets = val["targets"].astype(np.float32)
    bce = float(classify_loss(jnp.asarray(logits), jnp.asarray(targets), skip))
    probs = 1.0 / (1.0 + np.exp(-logits))
    preds, truth = window_scores(probs, targets, model.hop, model.samplerate)
    ap = per_label_average_precision(preds, truth)
    f1 = f1_per_label(preds, truth)
    figures = {"val_bce": bce, "map": float(np.nanmean(ap)) if np.isfinite(ap).any() else 0.0,
               "macro_f1": float(np.nanmean(f1)) if np.isfinite(f1).any() else 0.0}
    figures.update({f"ap_{name}": float(v) for name, v in zip(model.labels, ap) if np.isfinite(v)})
    figures["score"] = figures["map"]
    return figures


# ---- plots ------------------------------------------------------------------------------------------
def plot_curves(run_dir: Path) -> None:
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
        ax1.plot(steps, loss, alpha=0.3, label="BCE (train)")
        k = max(1, len(loss) // 50)
        ax1.plot(steps[k - 1:], np.convolve(loss, np.ones(k) / k, "valid"), label=f"BCE (mean of {k})")
    pts = [(r["step"], r["val_bce"]) for r in val_rows if "val_bce" in r]
    if pts:
        ax1.plot(*zip(*pts), marker="o", label="BCE (validation)")
    ax1.set_xlabel("step"), ax1.set_ylabel("binary cross-entropy"), ax1.legend(), ax1.grid(alpha=0.3)
    for key in ("map", "macro_f1"):
        pts = [(r["step"], r[key]) for r in val_rows if key in r]
        if pts:
            ax2.plot(*zip(*pts), marker="o", label=key)
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("step"), ax2.set_ylabel("validation, 1-s windows"), ax2.legend(), ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run_dir / "curves.png", dpi=90)
    plt.close(fig)


# ---- the loop ---------------------------------------------------------------------------------------
def train(config: ClassifyTrainConfig, run_dir: Path, data_dir: Path | None = None, fresh: bool = False,
          progress: bool = True, max_minutes: float | None = None) -> dict[str, float]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from train.classify_data import ClassifySampler, make_classify_validation_set
    from train.datapaths import data_dir as resolve_data_dir

    data_dir = resolve_data_dir(data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    devices = jax.devices()
    if config.batch_size % len(devices):
        raise SystemExit(f"batch size {config.batch_size} must be a multiple of the {len(devices)} devices")
    mesh = Mesh(np.array(devices), ("data",))
    print(f"train: data-parallel over {len(devices)} {devices[0].platform} device(s), batch "
          f"{config.batch_size}, run dir {run_dir}", file=sys.stderr, flush=True)
    optimizer = make_optimizer(config)
    train_step, forward, data_sharding, replicated, skip = make_train_step(config, optimizer, mesh)

    state = None if fresh else load_state(run_dir, optimizer, config)
    if state is None:
        weights = init_label_net(config.model, seed=config.seed)
        state = TrainState(jnp.int32(0), weights, optimizer.init(weights))
        for stale in ("metrics.jsonl", "best.json"):
            if fresh and (run_dir / stale).exists():
                (run_dir / stale).unlink()
    state = jax.device_put(state, replicated)
    start_step = int(state.step)
    sampler = ClassifySampler(data_dir, "train", config.segment_seconds, config.batch_size,
                              seed=config.seed + start_step, prefetch=3)
    val = make_classify_validation_set(data_dir, config.val_clips, config.val_seconds, seed=VAL_SEED)
    best_file = run_dir / "best.json"
    best = json.loads(best_file.read_text())["score"] if best_file.exists() and not fresh else -np.inf
    log = open(run_dir / "metrics.jsonl", "a")
    deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
    last_figures: dict[str, float] = {}
    columns = (TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
               TimeRemainingColumn())
    try:
        with Progress(*columns, disable=not progress) as bar:
            task = bar.add_task("train", total=config.steps, completed=start_step, info="compiling...")
            tick, audio_seconds = time.perf_counter(), 0.0
            for step in range(start_step, config.steps):
                batch = sampler.next_batch()
                audio = jax.device_put(jnp.asarray(batch["audio"]), data_sharding)
                targets = jax.device_put(jnp.asarray(batch["targets"]), data_sharding)
                state, metrics = train_step(state, audio, targets)
                audio_seconds += config.batch_size * sampler.n_samples / config.model.samplerate
                done = step + 1
                if done % config.log_every == 0 or done == config.steps:
                    metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                    rate = audio_seconds / (time.perf_counter() - tick)
                    tick, audio_seconds = time.perf_counter(), 0.0
                    log.write(json.dumps({"step": done, "time": time.time(), "audio_s_per_s": rate, **metrics}) + "\n")
                    log.flush()
                    bar.update(task, completed=done, info=f"bce {metrics['loss']:.4f} | {rate:5.1f} s audio/s")
                if done % config.checkpoint_every == 0 or done == config.steps:
                    save_state(run_dir, state, config)
                if done % config.eval_every == 0 or done == config.steps:
                    last_figures = evaluate(forward, state.weights, val, config.model, skip)
                    log.write(json.dumps({"step": done, "time": time.time(), **last_figures}) + "\n")
                    log.flush()
                    if last_figures["score"] > best:
                        best = last_figures["score"]
                        checkpoint.save(run_dir / "best.rtm", jax.device_get(state.weights), kind="classifier",
                                        config=config.model.to_dict(), meta={"step": done, "validation": last_figures})
                        best_file.write_text(json.dumps({"step": done, **last_figures}, indent=1))
                    plot_curves(run_dir)
                    bar.console.log(f"step {done}: val mAP {last_figures['map']:.3f}, macro-F1 "
                                    f"{last_figures['macro_f1']:.3f}, BCE {last_figures['val_bce']:.4f}")
                if deadline is not None and time.monotonic() > deadline:
                    save_state(run_dir, state, config)
                    break
    finally:
        sampler.close()
        log.close()
    return last_figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.classify", description=__doc__.split("\n\n")[0],
                                     epilog="example: nohup python -m train.classify > classify.log 2>&1 &")
    parser.add_argument("--config", default="default", choices=("default", "tiny"))
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (after checkpointing) after this long")
    parser.add_argument("--fresh", action="store_true", help="ignore existing checkpoints in --run-dir")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    config = get_config(args.config)
    if args.steps is not None:
        from dataclasses import replace

        config = replace(config, steps=args.steps)
    figures = train(config, args.run_dir, args.data_dir, fresh=args.fresh, progress=not args.no_progress,
                    max_minutes=args.max_minutes)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
