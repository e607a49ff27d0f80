"""Train the denoiser: `python -m train.denoise [--config default|tiny] [--run-dir DIR]`.

The loss differentiates `jax.lax.scan` of the very step the live engine runs (vmapped over the batch),
so nothing trained differs from what ships. Sharding, checkpoints, resume, logs and plots: `train.loop`.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from rtmusic.metrics import si_sdr
from rtmusic.models import DenoiserConfig, frame_feature_size, init_mask_net
from rtmusic.step import denoiser_model, make_knobs, scan_hops
from train import loop
from train.configs import TrainConfig, get_config
from train.losses import denoise_loss
from train.warmstart import warm_start

DEFAULT_RUN_DIR = loop.RUNS_DIR / "denoise"
CURVES = loop.CurvesSpec(loss_label="loss", val_keys=("sisdri_music", "sisdri_speech", "music15_preservation"),
                         val_ylabel="dB (validation)", zero_line=True)


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


def make_loss(config: TrainConfig):
    """loss(weights, noisy [B, T], clean [B, T]) -> (loss, parts), on the aligned part of the output."""
    forward, delay = make_forward(config.model)

    def loss_fn(weights, noisy, clean):
        estimate = forward(weights, noisy)
        valid = noisy.shape[1] - delay
        return denoise_loss(estimate[:, :valid], clean[:, :valid], noisy[:, :valid], config.snr_loss_weight,
                            config.spectral_loss_weight, config.clean_led_loss_weight, config.sisdr_loss_weight)

    return loss_fn


# ---- validation -------------------------------------------------------------------------------------
def evaluate(forward, weights, val: dict[str, np.ndarray], batch: int = 16, delay: int = 0) -> dict[str, float]:
    """SI-SDR improvement for music and speech; music preservation at 15 dB SNR (output vs noisy input).

    `delay` is the model's (`make_forward`'s second value): the estimate's last `delay` samples are unfilled, and
    scoring them as silence would cap a longer-delay net's SI-SDR near 30 dB."""
    outs = []
    noisy = val["noisy"].astype(np.float32)
    for start in range(0, noisy.shape[0], batch):
        outs.append(np.asarray(forward(weights, jnp.asarray(noisy[start:start + batch]))))
    est = np.concatenate(outs)
    clean = val["clean"].astype(np.float32)
    edge = 4800  # ignore the first 0.1 s (state warm-up) and the unfilled tail
    tail = est.shape[1] - max(480, delay)
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


def validate_weights(config: DenoiserConfig, weights, data_dir: Path | None, clips: int, seconds: float,
                     ) -> dict[str, float]:
    """`evaluate` of stored weights on the training set-up's validation clips (seed 1234), for export and averages."""
    from train.datapaths import data_dir as resolve_data_dir
    from train.mixer import make_validation_set

    val = make_validation_set(resolve_data_dir(data_dir), clips, seconds, seed=1234)
    length = (val["noisy"].shape[1] // config.hop) * config.hop
    val = {**val, "noisy": val["noisy"][:, :length], "clean": val["clean"][:, :length]}
    forward, delay = make_forward(config)
    return evaluate(jax.jit(forward), jax.tree_util.tree_map(np.asarray, weights), val, delay=delay)


# ---- the run ----------------------------------------------------------------------------------------
def train(config: TrainConfig, run_dir: Path, data_dir: Path | None = None, fresh: bool = False,
          progress: bool = True, max_minutes: float | None = None, init_from: Path | None = None) -> dict[str, float]:
    from train.datapaths import data_dir as resolve_data_dir
    from train.mixer import MixtureSampler, make_validation_set

    data_dir = resolve_data_dir(data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    sharding = loop.data_parallel(config.batch_size)
    optimizer = loop.make_optimizer(config)
    train_step = loop.jit_train_step(make_loss(config), optimizer, sharding)
    forward, delay = make_forward(config.model)
    forward = jax.jit(forward)

    hop, rate = config.model.hop, config.model.samplerate
    segment = int(round(config.segment_seconds * rate / hop)) * hop
    sampler = MixtureSampler(data_dir, "train", segment / rate, config.batch_size,
                             seed=loop.data_seed(config.seed, run_dir, fresh, init_from), prefetch=3,
                             music_augment=config.music_augment, extra_music=tuple(config.extra_music_splits),
                             extra_music_share=config.extra_music_share, speech_augment=config.speech_augment,
                             kind_shares=config.kind_shares, snr_range_db=config.snr_range_db,
                             noise_type_weights=config.noise_type_weights, mixture_lowpass=config.mixture_lowpass,
                             noise_lowpass=config.noise_lowpass, speech_top_band=config.speech_top_band)
    val = make_validation_set(data_dir, config.val_clips, config.val_seconds, seed=1234)
    val_len = (val["noisy"].shape[1] // hop) * hop
    val = {**val, "noisy": val["noisy"][:, :val_len], "clean": val["clean"][:, :val_len]}

    def next_batch():
        batch = sampler.next_batch()
        return batch["noisy"][:, :segment], batch["clean"][:, :segment]

    task = loop.Task(
        kind="denoiser", model_config=config.model.to_dict(),
        init_weights=lambda: initial_weights(config, init_from), init_from=init_from,
        next_batch=next_batch, audio_seconds_per_batch=config.batch_size * segment / rate,
        evaluate=lambda weights: evaluate(forward, weights, val, delay=delay),
        describe_train=lambda m: f"loss {m['loss']:.4f} snr {m['snr_db']:5.1f} dB",
        describe_eval=lambda f: ", ".join(f"{k} {v:.2f}" for k, v in f.items()),
        curves=CURVES, close=sampler.close,
        complete_config=lambda stored: DenoiserConfig.from_dict(stored).to_dict(),
    )
    return loop.fit(config, run_dir, task, train_step, sharding, optimizer, fresh=fresh, progress=progress,
                    max_minutes=max_minutes)


def initial_weights(config: TrainConfig, init_from: Path | None):
    weights = init_mask_net(config.model, seed=config.seed)
    if init_from is None:
        return weights
    header, start = loop.load_start_checkpoint(init_from, "denoiser")
    start_config = DenoiserConfig.from_dict(header["config"])
    if start_config.lookahead_hops and frame_feature_size(start_config) != frame_feature_size(config.model):
        raise SystemExit(f"--init-from {init_from}: a look-ahead net's input holds {start_config.lookahead_hops + 1} "
                         "frames' features side by side, so it cannot gain per-frame features in a warm start (its "
                         "newer frames' weights would land on the wrong inputs); warm-start a causal net instead, or "
                         "keep the start's features")
    return warm_start(weights, start)


def main(argv: list[str] | None = None) -> int:
    config, args = loop.parse_args("python -m train.denoise", __doc__, get_config, DEFAULT_RUN_DIR, argv,
                                  warm_start=True)
    figures = train(config, args.run_dir, args.data_dir, fresh=args.fresh, progress=not args.no_progress,
                    max_minutes=args.max_minutes, init_from=args.init_from)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
