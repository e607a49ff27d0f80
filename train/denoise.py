"""Train the denoiser: `python -m train.denoise [--config default|tiny] [--run-dir DIR]`.

The loss differentiates `jax.lax.scan` of the very step the live engine runs (vmapped over the batch),
so nothing trained differs from what ships. Data-parallel over every visible JAX device with
`jax.sharding` (batch split along a 'data' mesh axis, weights replicated): the same command uses one CPU,
several GPUs or a TPU host. Checkpoints (no pickle) are written every `checkpoint_every` steps and the
run resumes from the latest one; `best.rtm` is the best validation score so far.
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
from rtmusic.metrics import si_sdr
from rtmusic.models import DenoiserConfig, init_mask_net
from rtmusic.step import denoiser_model, make_knobs, scan_hops
from train.configs import TrainConfig, get_config
from train.losses import denoise_loss

DEFAULT_RUN_DIR = Path(os.environ.get("RTMUSIC_RUNS", Path.home() / ".cache" / "rtmusic" / "runs")) / "denoise"


class TrainState(NamedTuple):
    step: jax.Array  # [] int32
    weights: Any
    opt_state: Any


def make_forward(model_config: DenoiserConfig):
    """forward(weights, noisy [B, T]) -> estimate [B, T] aligned with the input (last `delay` samples 0)."""
    model = denoiser_model(model_config, None)
    hop, delay = model.hop, model.delay

    def forward(weights, noisy):
        params = {"net": weights, "knobs": make_knobs()}
        batch, length = noisy.shape
        hops = noisy.reshape(batch, length // hop, hop)

        def one(x):
            _, (out, _aux) = scan_hops(model.step, params, model.init_carry(), x)
            return out.reshape(-1)

        out = jax.vmap(one)(hops)
        return jnp.concatenate([out[:, delay:], jnp.zeros((batch, delay), out.dtype)], axis=1)

    return forward, delay


def make_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, config.warmup_steps, max(config.steps, config.warmup_steps + 1), 0.05 * config.learning_rate
    )
    return optax.chain(optax.clip_by_global_norm(config.grad_clip),
                       optax.adamw(schedule, weight_decay=config.weight_decay))


def make_train_step(config: TrainConfig, optimizer, mesh: Mesh):
    forward, delay = make_forward(config.model)
    data = NamedSharding(mesh, PartitionSpec("data"))
    replicated = NamedSharding(mesh, PartitionSpec())

    def loss_fn(weights, noisy, clean):
        estimate = forward(weights, noisy)
        valid = noisy.shape[1] - delay
        return denoise_loss(estimate[:, :valid], clean[:, :valid], noisy[:, :valid], config.snr_loss_weight)

    def train_step(state: TrainState, noisy, clean):
        (loss, parts), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.weights, noisy, clean)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.weights)
        weights = optax.apply_updates(state.weights, updates)
        metrics = {"loss": loss, "grad_norm": optax.global_norm(grads), **parts}
        return TrainState(state.step + 1, weights, opt_state), metrics

    step = jax.jit(train_step, in_shardings=(replicated, data, data), out_shardings=(replicated, replicated),
                   donate_argnums=(0,))
    return step, jax.jit(forward), data, replicated


# ---- checkpoints ------------------------------------------------------------------------------------
def save_state(run_dir: Path, state: TrainState, config: TrainConfig, extra: dict | None = None) -> None:
    leaves = jax.tree_util.tree_leaves(state.opt_state)
    checkpoint.save(run_dir / "latest.rtm", jax.device_get(state.weights), kind="denoiser",
                    config=config.model.to_dict(), meta={"step": int(state.step), **(extra or {})})
    checkpoint.save(run_dir / "optimizer.rtm", {f"leaf{i:04d}": np.asarray(x) for i, x in enumerate(leaves)},
                    kind="optimizer-state", config={"step": int(state.step)})


def load_state(run_dir: Path, optimizer, config: TrainConfig) -> TrainState | None:
    latest, opt_file = run_dir / "latest.rtm", run_dir / "optimizer.rtm"
    if not (latest.exists() and opt_file.exists()):
        return None
    header, weights = checkpoint.load(latest)
    if header["config"] != config.model.to_dict():
        raise SystemExit(f"{latest} was trained with another model config; use --fresh or another --run-dir")
    opt_header, opt_leaves = checkpoint.load(opt_file)
    weights = jax.tree_util.tree_map(jnp.asarray, weights)
    template = optimizer.init(weights)
    treedef = jax.tree_util.tree_structure(template)
    leaves = [jnp.asarray(opt_leaves[f"leaf{i:04d}"]) for i in range(treedef.num_leaves)]
    step = int(header["meta"]["step"])
    if int(opt_header["config"]["step"]) != step:
        raise SystemExit(f"{run_dir}: weights and optimizer state are from different steps; use --fresh")
    return TrainState(jnp.int32(step), weights, jax.tree_util.tree_unflatten(treedef, leaves))


# ---- validation -------------------------------------------------------------------------------------
def evaluate(forward, weights, val: dict[str, np.ndarray], batch: int = 16) -> dict[str, float]:
    """SI-SDR improvement for music and speech; music preservation at 15 dB SNR (output vs noisy input)."""
    outs = []
    noisy = val["noisy"].astype(np.float32)
    for start in range(0, noisy.shape[0], batch):
        outs.append(np.asarray(forward(weights, jnp.asarray(noisy[start:start + batch]))))
    est = np.concatenate(outs)
    clean = val["clean"].astype(np.float32)
    edge = 4800  # ignore the first 0.1 s (state warm-up) and the unfilled tail
    tail = est.shape[1] - 480
    est_v, clean_v, noisy_v = est[:, edge:tail], clean[:, edge:tail], noisy[:, edge:tail]
    noisy_snr = val["snr_db"]
    has_ref = ((clean_v ** 2).sum(-1) > 1e-6) & np.isfinite(noisy_snr)  # clean-only clips are scored apart
    improvement = si_sdr(est_v, clean_v) - si_sdr(noisy_v, clean_v)
    kind = val["kind"]
    figures = {}
    for name, code in (("music", 0), ("speech", 1), ("mixed", 2)):
        sel = (kind == code) & has_ref
        if sel.any():
            figures[f"sisdri_{name}"] = float(improvement[sel].mean())
    music15 = (kind == 0) & has_ref & (np.abs(noisy_snr - 15.0) < 0.5)
    if music15.any():
        figures["music15_preservation"] = float((si_sdr(est_v, clean_v) - si_sdr(noisy_v, clean_v))[music15].mean())
    clean_only = np.isposinf(noisy_snr) & ((clean_v ** 2).sum(-1) > 1e-6)
    if np.any(clean_only):
        figures["clean_sisdr"] = float(si_sdr(est_v[clean_only], clean_v[clean_only]).mean())
    figures["score"] = float(np.mean([figures.get("sisdri_music", 0.0), figures.get("sisdri_speech", 0.0)])
                             + min(0.0, figures.get("music15_preservation", 0.0)))
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
        ax1.plot(steps, loss, alpha=0.3, label="loss")
        k = max(1, len(loss) // 50)
        ax1.plot(steps[k - 1:], np.convolve(loss, np.ones(k) / k, "valid"), label=f"loss (mean of {k})")
        ax1.set_xlabel("step"), ax1.set_ylabel("training loss"), ax1.legend(), ax1.grid(alpha=0.3)
    for key in ("sisdri_music", "sisdri_speech", "music15_preservation"):
        pts = [(r["step"], r[key]) for r in val_rows if key in r]
        if pts:
            ax2.plot(*zip(*pts), marker="o", label=key)
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set_xlabel("step"), ax2.set_ylabel("dB (validation)"), ax2.legend(), ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run_dir / "curves.png", dpi=90)
    plt.close(fig)


# ---- the loop ---------------------------------------------------------------------------------------
def train(config: TrainConfig, run_dir: Path, data_dir: Path | None = None, fresh: bool = False,
          progress: bool = True, max_minutes: float | None = None) -> dict[str, float]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from train.datapaths import data_dir as resolve_data_dir
    from train.mixer import MixtureSampler, make_validation_set

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
    train_step, forward, data_sharding, replicated = make_train_step(config, optimizer, mesh)

    state = None if fresh else load_state(run_dir, optimizer, config)
    if state is None:
        weights = init_mask_net(config.model, seed=config.seed)
        state = TrainState(jnp.int32(0), weights, optimizer.init(weights))
        if fresh and (run_dir / "metrics.jsonl").exists():
            (run_dir / "metrics.jsonl").unlink()
    state = jax.device_put(state, replicated)
    start_step = int(state.step)
    hop = config.model.hop
    segment = int(round(config.segment_seconds * config.model.samplerate / hop)) * hop
    sampler = MixtureSampler(data_dir, "train", segment / config.model.samplerate, config.batch_size,
                             seed=config.seed + start_step, prefetch=3)
    val = make_validation_set(data_dir, config.val_clips, config.val_seconds, seed=1234)
    val_len = (val["noisy"].shape[1] // hop) * hop
    val = {**val, "noisy": val["noisy"][:, :val_len], "clean": val["clean"][:, :val_len]}
    best_file = run_dir / "best.json"
    best = json.loads(best_file.read_text())["score"] if best_file.exists() and not fresh else -np.inf
    log = open(run_dir / "metrics.jsonl", "a")
    deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
    last_figures: dict[str, float] = {}
    columns = (TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
               TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("train", total=config.steps, completed=start_step, info="compiling...")
        tick, audio_seconds = time.perf_counter(), 0.0
        for step in range(start_step, config.steps):
            batch = sampler.next_batch()
            noisy = jax.device_put(jnp.asarray(batch["noisy"][:, :segment]), data_sharding)
            clean = jax.device_put(jnp.asarray(batch["clean"][:, :segment]), data_sharding)
            state, metrics = train_step(state, noisy, clean)
            audio_seconds += config.batch_size * segment / config.model.samplerate
            done = step + 1
            if done % config.log_every == 0 or done == config.steps:
                metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                rate = audio_seconds / (time.perf_counter() - tick)
                tick, audio_seconds = time.perf_counter(), 0.0
                log.write(json.dumps({"step": done, "time": time.time(), "audio_s_per_s": rate, **metrics}) + "\n")
                log.flush()
                bar.update(task, completed=done,
                           info=f"loss {metrics['loss']:.4f} snr {metrics['snr_db']:5.1f} dB | {rate:5.1f} s audio/s")
            if done % config.checkpoint_every == 0 or done == config.steps:
                save_state(run_dir, state, config)
            if done % config.eval_every == 0 or done == config.steps:
                last_figures = evaluate(forward, state.weights, val)
                log.write(json.dumps({"step": done, "time": time.time(), **last_figures}) + "\n")
                log.flush()
                if last_figures["score"] > best:
                    best = last_figures["score"]
                    checkpoint.save(run_dir / "best.rtm", jax.device_get(state.weights), kind="denoiser",
                                    config=config.model.to_dict(), meta={"step": done, "validation": last_figures})
                    best_file.write_text(json.dumps({"step": done, **last_figures}, indent=1))
                plot_curves(run_dir)
                bar.console.log(f"step {done}: " + ", ".join(f"{k} {v:.2f}" for k, v in last_figures.items()))
            if deadline is not None and time.monotonic() > deadline:
                save_state(run_dir, state, config)
                break
    log.close()
    return last_figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.denoise", description=__doc__.split("\n\n")[0],
                                     epilog="example: nohup python -m train.denoise > train.log 2>&1 &")
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
