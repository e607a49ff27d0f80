import numpy as np, jax, jax.numpy as jnp
from rtmusic.processor import load_classifier
from rtmusic.labels import window_targets
from rtmusic.metrics import per_label_average_precision
from train import datapaths
from train.classify_data import make_classify_validation_set
model = load_classifier("default"); params = model.params()
def run_one(a):
    def body(c, h):
        c, (o, aux) = model.step(params, c, h); return c, aux.values
    return jax.lax.scan(body, model.init_carry(), a.reshape(-1, 240))[1]
rb = jax.jit(jax.vmap(run_one))
root = datapaths.data_dir()
for src in ("families", "families-unseen-soundfonts", "unseen-soundfonts", "val"):
    val = make_classify_validation_set(root, 440 if "fam" in src else 220, 5.0, seed=4321, music_split=datapaths.MUSIC_SOURCES[src])
    P = np.concatenate([np.asarray(rb(jnp.asarray(val["audio"][i:i+40]))) for i in range(0, len(val["audio"]), 40)])
    np.savez(f"/tmp/probe/hops_{src}.npz", p=P, t=val["targets"])
    B, T, L = P.shape; W = T // 200
    Y = np.stack([window_targets(t, 240, 48000, 5.0) for t in val["targets"]])[:, :W].reshape(-1, L)
    pw = P[:, :W*200].reshape(B, W, 200, L)
    lg = np.log(np.clip(P, 1e-6, 1-1e-6) / np.clip(1 - P, 1e-6, 1))
    res = {}
    for name, s in [("p95", np.percentile(pw, 95, 2)), ("p90", np.percentile(pw, 90, 2)), ("p75", np.percentile(pw, 75, 2)),
                    ("p50", np.percentile(pw, 50, 2)), ("mean", pw.mean(2)), ("max", pw.max(2)),
                    ("top10mean", np.sort(pw, 2)[:, :, -20:].mean(2))]:
        ap = per_label_average_precision(s.reshape(-1, L), Y)
        res[name] = (np.nanmean(ap), np.nanmean(ap[:11]))
    print(src, " ".join(f"{k}:{v[0]:.3f}/{v[1]:.3f}" for k, v in res.items()), flush=True)
