"""Train the live classifier: `python -m train.classify [--config default|v1|v1-aug|tiny] [--run-dir DIR]`.

Mirrors train.denoise: the loss differentiates `jax.lax.scan` of the very step the live engine runs
(`rtmusic.step.classifier_model`, in its logits mode), vmapped over the batch; data-parallel over every
visible JAX device with `jax.sharding`; checkpoints without pickle every `checkpoint_every` steps, resumed
from the latest one; `best.rtm` is the best validation mAP so far; metrics.jsonl and curves.png.
`--init-from CHECKPOINT` starts a new run from another run's classifier weights (same model config) with a
fresh optimizer and learning-rate schedule.

Loss: binary cross-entropy per hop and label (targets from `train.classify_data`), the first
`mask_seconds` of every segment not scored (the state is still warming up there). With the config's
`feature_dropout`, each example's features are masked in training (`train.feature_dropout`), never in validation.
Validation: mAP and macro-F1 over 1-second windows of the fixed classifier validation set, with the same
window statistic as `rtmusic process --labels-out` (see `rtmusic.labels`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rtmusic.labels import window_probabilities, window_targets
from rtmusic.metrics import f1_per_label, per_label_average_precision
from rtmusic.models import ClassifierConfig, init_label_net
from rtmusic.step import classifier_model, make_knobs, scan_hops
from train import datapaths, loop
from train.configs.classify import ClassifyTrainConfig, get_config
from train.feature_dropout import sample_masks
from train.warmstart import warm_start

DEFAULT_RUN_DIR = loop.RUNS_DIR / "classify"
VAL_SEED = datapaths.CLASSIFY_VAL_SET[2]
CURVES = loop.CurvesSpec(loss_label="binary cross-entropy", val_loss_key="val_bce", val_keys=("map", "macro_f1"),
                         val_ylabel="validation, 1-s windows", val_ylim=(0.0, 1.0))


def make_forward(model_config: ClassifierConfig):
    """forward(weights, audio [B, T], masks [B, features] | None) -> logits [B, T // hop, n_labels], hop k from
    input up to its end; `masks` multiply each example's features (train.feature_dropout)."""
    model = classifier_model(model_config, None, logits=True)
    hop = model.hop

    def forward(weights, audio, masks=None):
        batch, length = audio.shape

        def one(x, mask):
            params = {"net": weights, "knobs": make_knobs()}
            if mask is not None:
                params["feature_mask"] = mask
            _, (_out, aux) = scan_hops(model.step, params, model.init_carry(), x)
            return aux.values

        hops = audio.reshape(batch, length // hop, hop)
        if masks is None:
            return jax.vmap(lambda x: one(x, None))(hops)
        return jax.vmap(one)(hops, masks)

    return forward


def classify_loss(logits: jax.Array, targets: jax.Array, skip_hops: int):
    """Mean BCE over hops >= skip_hops, labels and examples; logits, targets [B, hops, L]."""
    bce = optax.sigmoid_binary_cross_entropy(logits[:, skip_hops:], targets[:, skip_hops:])
    return jnp.mean(bce)


def make_loss(config: ClassifyTrainConfig):
    """loss(weights, audio [B, T], targets [B, hops, L][, masks [B, features]]) -> (BCE, {"accuracy"}), first
    hops not scored; `masks` (with the config's feature dropout) hide features per example."""
    forward = make_forward(config.model)
    skip = skip_hops(config)

    def loss_fn(weights, audio, targets, masks=None):
        logits = forward(weights, audio, masks)
        loss = classify_loss(logits, targets, skip)
        hits = ((logits[:, skip:] > 0) == (targets[:, skip:] > 0.5)).mean()
        return loss, {"accuracy": hits}

    return loss_fn


def skip_hops(config: ClassifyTrainConfig) -> int:
    return int(round(config.mask_seconds * config.model.samplerate / config.model.hop))


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


# ---- the run ----------------------------------------------------------------------------------------
def train(config: ClassifyTrainConfig, run_dir: Path, data_dir: Path | None = None, fresh: bool = False,
          progress: bool = True, max_minutes: float | None = None, init_from: Path | None = None) -> dict[str, float]:
    from train.classify_data import ClassifySampler, make_classify_validation_set
    from train.datapaths import data_dir as resolve_data_dir

    data_dir = resolve_data_dir(data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    sharding = loop.data_parallel(config.batch_size)
    optimizer = loop.make_optimizer(config)
    dropout = config.feature_dropout
    train_step = loop.jit_train_step(make_loss(config), optimizer, sharding, n_inputs=3 if dropout.active else 2)
    forward = jax.jit(make_forward(config.model))
    start_step = loop.resume_step(run_dir, fresh)
    sampler = ClassifySampler(data_dir, "train", config.segment_seconds, config.batch_size,
                              seed=loop.data_seed(config.seed, run_dir, fresh, init_from), prefetch=3,
                              extra_music=tuple(config.extra_music_splits),
                              extra_music_share=config.extra_music_share, music_augment=config.music_augment,
                              speech_top_band=config.speech_top_band, noise_lowpass=config.noise_lowpass)
    val = make_classify_validation_set(data_dir, config.val_clips, config.val_seconds, seed=VAL_SEED,
                                       music_split=config.val_music_split)

    mask_rng = np.random.default_rng([config.seed, start_step, 7])

    def next_batch():
        batch = sampler.next_batch()
        if not dropout.active:
            return batch["audio"], batch["targets"]
        return batch["audio"], batch["targets"], sample_masks(config.model, dropout, config.batch_size, mask_rng)

    task = loop.Task(
        kind="classifier", model_config=config.model.to_dict(),
        init_weights=lambda: initial_weights(config, init_from), init_from=init_from,
        next_batch=next_batch,
        audio_seconds_per_batch=config.batch_size * sampler.n_samples / config.model.samplerate,
        evaluate=lambda weights: evaluate(forward, weights, val, config.model, skip_hops(config)),
        describe_train=lambda m: f"bce {m['loss']:.4f}",
        describe_eval=lambda f: (f"val mAP {f['map']:.3f}, macro-F1 {f['macro_f1']:.3f}, BCE {f['val_bce']:.4f}"
                                 + (f" | EMA mAP {f['ema_map']:.3f}" if "ema_map" in f else "")),
        curves=CURVES, close=sampler.close,
        complete_config=lambda stored: ClassifierConfig.from_dict(stored).to_dict(),
        val_set=config.val_music_split or "val",
    )
    return loop.fit(config, run_dir, task, train_step, sharding, optimizer, fresh=fresh, progress=progress,
                    max_minutes=max_minutes)


def initial_weights(config: ClassifyTrainConfig, init_from: Path | None):
    """The weights a run starts from: random, or those of `init_from`, a classifier checkpoint of the same model
    config or of one with fewer fine bins or hidden units or without the spectro-temporal front end, grown by
    `train.warmstart` so the new net starts out computing exactly what the old one did (or of one without the
    level warm-up, whose arrays fit as they are). Only a run without a checkpoint of its own starts: a resumed
    run keeps its own weights."""
    weights = init_label_net(config.model, seed=config.seed)
    if init_from is None:
        return weights
    header, start = loop.load_start_checkpoint(init_from, "classifier")
    start_config = ClassifierConfig.from_dict(header["config"])
    grown_parts = dict(fine_window=start_config.fine_window, fine_bins=start_config.fine_bins,
                       hidden=start_config.hidden, level_warmup=start_config.level_warmup)  # a warm-up: same arrays
    if not start_config.tf_channels:  # the front end can be added (its output joins the embedding last)
        grown_parts.update(tf_channels=(), tf_dilations=(), tf_kernel=start_config.tf_kernel)
    if (replace(config.model, **grown_parts) != start_config or start_config.fine_bins > config.model.fine_bins
            or start_config.hidden > config.model.hidden):
        raise SystemExit(f"--init-from {init_from}: trained with another model config than --config's (only more "
                         "fine bins or hidden units, the spectro-temporal front end or the level warm-up can be added "
                         "to a trained classifier)")
    try:
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), warm_start(weights, start))
    except ValueError as error:
        raise SystemExit(f"--init-from {init_from}: its arrays do not fit the model ({error})") from None


def main(argv: list[str] | None = None) -> int:
    config, args = loop.parse_args("python -m train.classify", __doc__, get_config, DEFAULT_RUN_DIR, argv,
                                  warm_start=True)
    figures = train(config, args.run_dir, args.data_dir, fresh=args.fresh, progress=not args.no_progress,
                    max_minutes=args.max_minutes, init_from=args.init_from)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
