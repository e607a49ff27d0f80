"""Session 39 probe: the shipped classifier's window mAP cold against after 10 s of the clip looped (steady-state running levels). Run: PYTHONPATH=. python bench/results/session39_denoiser/probes/classifier_warm_state.py families-unseen-soundfonts 440 3"""
import os, sys
os.environ["XLA_FLAGS"]="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
import numpy as np, jax, jax.numpy as jnp
from bench.classify_eval import load_validation, evaluate
from train.classify import VAL_SEED
from train.datapaths import data_dir
from rtmusic.processor import load_classifier
from rtmusic.step import scan_hops
src = sys.argv[1]; clips = int(sys.argv[2]); reps = int(sys.argv[3])
val, music = load_validation(data_dir(None), clips, 5.0, VAL_SEED, src)
m = load_classifier("default")
hop = m.hop
audio = val["audio"]; T = (audio.shape[1]//hop)*hop
f = jax.jit(jax.vmap(lambda hops: scan_hops(m.step, m.params(), m.init_carry(), hops)[1][1].values))
cold, warm = [], []
for s in range(0, len(audio), 40):
    x = audio[s:s+40, :T]
    xx = np.concatenate([x]*reps, axis=1)
    p = np.asarray(f(jnp.asarray(xx.reshape(len(x), -1, hop))))
    n = T//hop
    cold += list(p[:, :n]); warm += list(p[:, -n:])
t = val["targets"].astype(np.float32)
for name, probs in (("cold", cold), ("warm", warm)):
    r = evaluate(probs, t, m.aux_names, hop, m.samplerate)
    print(src, name, r["map"], {k: v["ap"] for k, v in r["per_label"].items()}, flush=True)
