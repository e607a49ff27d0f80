"""Fit a linear / MLP probe on pooled window features; report mAP on FluidR3 and TimGM6mb families."""
import sys
import numpy as np
import jax, jax.numpy as jnp, optax
from rtmusic.metrics import per_label_average_precision
from rtmusic.models import CLASSIFIER_LABELS

names = sys.argv[1].split("+")  # e.g. denoiser, classifier, denoiser+classifier
hidden = int(sys.argv[2]) if len(sys.argv) > 2 else 0
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
wd = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4


def load(split):
    d = [np.load(f"/tmp/probe/{n}_{split}.npz") for n in names]
    return np.concatenate([x["x"] for x in d], -1), d[0]["y"], d[0]["p"]


xtr, ytr, _ = load("train")
mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
norm = lambda x: (x - mu) / sd
xtr = norm(xtr)
sets = {s: load(s) for s in ("fam", "famsf")}

key = jax.random.PRNGKey(0)
D, L = xtr.shape[1], ytr.shape[1]
if hidden:
    k1, k2 = jax.random.split(key)
    params = {"w1": jax.random.normal(k1, (D, hidden)) / np.sqrt(D), "b1": jnp.zeros(hidden),
              "w": jax.random.normal(k2, (hidden, L)) / np.sqrt(hidden), "b": jnp.zeros(L)}
else:
    params = {"w": jnp.zeros((D, L)), "b": jnp.zeros(L)}


def forward(p, x, drop_key=None):
    if hidden:
        x = jax.nn.relu(x @ p["w1"] + p["b1"])
        if drop_key is not None:
            x = x * jax.random.bernoulli(drop_key, 0.7, x.shape) / 0.7
    return x @ p["w"] + p["b"]


def loss(p, x, y, k):
    return optax.sigmoid_binary_cross_entropy(forward(p, x, k), y).mean()


opt = optax.adamw(1e-3, weight_decay=wd)
state = opt.init(params)


@jax.jit
def update(p, s, x, y, k):
    l, g = jax.value_and_grad(loss)(p, x, y, k)
    u, s = opt.update(g, s, p)
    return optax.apply_updates(p, u), s, l


rng = np.random.default_rng(0)
fam = list(range(12))
for i in range(steps + 1):
    idx = rng.integers(0, len(xtr), 512)
    key, k = jax.random.split(key)
    params, state, l = update(params, state, jnp.asarray(xtr[idx]), jnp.asarray(ytr[idx]), k)
    if i % 1000 == 0 or i == steps:
        line = [f"step {i} loss {float(l):.3f}"]
        for s, (x, y, p) in sets.items():
            pr = np.asarray(jax.nn.sigmoid(forward(params, jnp.asarray(norm(x)))))
            ap = per_label_average_precision(pr, y)
            ap0 = per_label_average_precision(p, y) if p.shape[1] == y.shape[1] else np.zeros(15)
            line.append(f"{s}: probe fam {np.nanmean(ap[fam]):.3f} all {np.nanmean(ap):.3f} | model fam {np.nanmean(ap0[fam]):.3f}")
        print(" | ".join(line), flush=True)
x, y, p = sets["famsf"]
pr = np.asarray(jax.nn.sigmoid(forward(params, jnp.asarray(norm(x)))))
print("per-label famsf probe:", " ".join(f"{n}:{a:.2f}" for n, a in zip(CLASSIFIER_LABELS, per_label_average_precision(pr, y))))
if p.shape[1] == y.shape[1]: print("per-label famsf model:", " ".join(f"{n}:{a:.2f}" for n, a in zip(CLASSIFIER_LABELS, per_label_average_precision(p, y))))
