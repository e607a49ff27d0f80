"""Probe: per-window pooled LSTM states of a model on classifier scenes (train sampler + two val sets)."""
import sys, time
from pathlib import Path
import numpy as np
import jax, jax.numpy as jnp

from rtmusic.processor import load_model, load_classifier
from rtmusic.labels import window_targets
from train import datapaths
from train.classify_data import ClassifySampler, make_classify_validation_set

which = sys.argv[1]  # "denoiser" | "classifier"
n_train = int(sys.argv[2]) if len(sys.argv) > 2 else 1200
out = Path("/tmp/probe")
root = datapaths.data_dir()
model = load_model("default") if which == "denoiser" else load_classifier("default")
params = model.params()
HOP, SR = 240, 48000


def hidden_of(carry):
    lstm = carry.lstm
    if which == "classifier" and not isinstance(lstm[0], tuple):
        lstm = lstm[0]
    hs = [layer[1] for layer in lstm]
    return jnp.concatenate(hs, axis=-1)


def run_one(audio):
    hops = audio.reshape(-1, HOP)

    def body(carry, hop):
        carry, (o, aux) = model.step(params, carry, hop)
        return carry, (hidden_of(carry), aux.values)

    _, (h, vals) = jax.lax.scan(body, model.init_carry(), hops)
    return h, vals


run_batch = jax.jit(jax.vmap(run_one))


def pooled(audio_batch, targets_batch, seconds):
    h, vals = run_batch(jnp.asarray(audio_batch))
    h, vals = np.asarray(h), np.asarray(vals)
    B, T, D = h.shape
    per = SR // HOP
    W = T // per
    hw = h[:, :W * per].reshape(B, W, per, D)
    feats = np.concatenate([hw.mean(2), hw.max(2), hw.std(2)], axis=-1)
    ys = np.stack([window_targets(t, HOP, SR, seconds) for t in targets_batch])[:, :W]
    vw = vals[:, :W * per].reshape(B, W, per, -1)
    return feats.reshape(B * W, -1), ys.reshape(B * W, -1), np.percentile(vw, 95, axis=2).reshape(B * W, -1)


def do_set(name, audio, targets, seconds, bs=40):
    F, Y, P = [], [], []
    t0 = time.time()
    for i in range(0, len(audio), bs):
        f, y, p = pooled(audio[i:i + bs], targets[i:i + bs], seconds)
        F.append(f); Y.append(y); P.append(p)
        print(name, i, time.time() - t0, flush=True)
    np.savez(out / f"{which}_{name}.npz", x=np.concatenate(F), y=np.concatenate(Y), p=np.concatenate(P))


for src, split in (("fam", datapaths.MUSIC_SOURCES["families"]),
                   ("famsf", datapaths.MUSIC_SOURCES["families-unseen-soundfonts"])):
    val = make_classify_validation_set(root, 440, 5.0, seed=datapaths.CLASSIFY_VAL_SET[2], music_split=split)
    do_set(src, val["audio"], val["targets"], 5.0)

sampler = ClassifySampler(root, "train", 5.0, batch_size=40, seed=123,
                          extra_music=("train_families_voiced", "train_families_voiced_2"),
                          extra_music_share=0.5, music_augment="denoise")
A, T = [], []
for i in range(n_train // 40):
    b = sampler.next_batch()
    A.append(b["audio"]); T.append(b["targets"])
do_set("train", np.concatenate(A), np.concatenate(T), 5.0)
