"""Diagnostic: the shipped default's speech SI-SDRi on training voices vs held-out voices (same noises)."""
import sys, json
import numpy as np, jax
from train.datapaths import data_dir
from train.mixer import MixtureSampler, mix_batch, KIND_SPEECH, PEAK_RANGE_DBFS
from train.denoise import evaluate, make_forward
from rtmusic import checkpoint
from rtmusic.models import DenoiserConfig

root = data_dir(None)
n_per, seconds = int(sys.argv[1]), 6.0
header, weights = checkpoint.load(sys.argv[2])
config = DenoiserConfig.from_dict(header["config"])
forward = jax.jit(make_forward(config)[0])
snrs = [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0]
val = MixtureSampler(root, "val", seconds, 1, seed=7)
train = MixtureSampler(root, "train", seconds, 1, seed=7)
out = {}
for name, speech, noise in (("train voices, val noise", train.speech, val.noise),
                            ("val voices, val noise", val.speech, val.noise),
                            ("train voices, train noise", train.speech, train.noise)):
    val.speech, val.noise = speech, noise
    rng = np.random.default_rng(99)
    kinds = np.full(n_per * len(snrs), KIND_SPEECH, np.int32)
    snr = np.repeat(snrs, n_per)
    parts = [mix_batch(val, rng, kinds[i:i + 16], snr[i:i + 16], np.zeros(len(kinds[i:i + 16])),
                       rng.uniform(*PEAK_RANGE_DBFS, size=len(kinds[i:i + 16])), False) for i in range(0, len(kinds), 16)]
    batch = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    length = (batch["noisy"].shape[1] // config.hop) * config.hop
    batch = {**batch, "noisy": batch["noisy"][:, :length], "clean": batch["clean"][:, :length]}
    per_snr = {}
    for s in snrs:
        sel = batch["snr_db"] == s
        sub = {k: v[sel] for k, v in batch.items()}
        per_snr[s] = round(evaluate(forward, weights, sub)["sisdri_speech"], 2)
    out[name] = {"mean": round(float(np.mean(list(per_snr.values()))), 2), **{str(k): v for k, v in per_snr.items()}}
    print(name, out[name], flush=True)
