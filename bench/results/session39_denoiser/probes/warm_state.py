"""Session 39 probe: a denoiser's SI-SDRi on each clip from a cold state against the same clip after itself (warm state). Run: PYTHONPATH=. python bench/results/session39_denoiser/probes/warm_state.py default val_set.npz"""
import os
os.environ["XLA_FLAGS"]="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
import numpy as np, jax, jax.numpy as jnp, sys
from rtmusic.processor import load_model
from rtmusic.step import scan_hops
from rtmusic.metrics import si_sdr
name = sys.argv[1]; src = sys.argv[2] if len(sys.argv)>2 else 'val_set.val_unseen_sf.npz'
m = load_model(name)
d = np.load(os.path.expanduser('~/.cache/rtmusic/data/'+src))
sel = np.where(np.isfinite(d['snr_db']))[0]
noisy, clean, kind, snr = d['noisy'][sel], d['clean'][sel], d['kind'][sel], d['snr_db'][sel]
hop = m.hop; T = (noisy.shape[1]//hop)*hop
f = jax.jit(jax.vmap(lambda hops: scan_hops(m.step, m.params(), m.init_carry(), hops)[1][0].reshape(-1)))
x2 = np.concatenate([noisy[:, :T], noisy[:, :T]], axis=1)
outs=[]
for s in range(0, len(sel), 30):
    outs.append(np.asarray(f(jnp.asarray(x2[s:s+30].reshape(-1, 2*T//hop, hop)))))
est = np.concatenate(outs); D = m.delay
e1 = est[:, D:T]; e2 = est[:, T+D:2*T]; cl = clean[:, :T-D]; no = noisy[:, :T-D]
edge=4800
for k,nm in ((0,'music'),(1,'speech'),(2,'mixed')):
    s = kind==k
    b = si_sdr(no[s][:,edge:], cl[s][:,edge:])
    i1 = si_sdr(e1[s][:,edge:], cl[s][:,edge:]) - b
    i2 = si_sdr(e2[s][:,edge:], cl[s][:,edge:]) - b
    print(name, src, nm, f"cold {np.mean(i1):.2f}  warm {np.mean(i2):.2f}")
