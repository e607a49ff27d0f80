"""Session 39 probe: per-hop cost of the shipped default step's parts, jitted with the weights as constants on core 1 (live XLA flags). Run from the repo root: PYTHONPATH=. python bench/results/session39_denoiser/probes/step_parts.py"""
import os, sys, time
os.environ["XLA_FLAGS"]="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.sched_setaffinity(0, {1})
import numpy as np, jax, jax.numpy as jnp
jax.config.update("jax_cpu_enable_async_dispatch", False)
from rtmusic.processor import load_model
from rtmusic.models import DenoiserConfig, mask_net, frame_feature_size
from rtmusic import dsp
m = load_model("default"); cfg = DenoiserConfig.from_dict(m.config)
W = jax.tree_util.tree_map(jnp.asarray, m.weights)
def timeit(f, *a, n=4000):
    out = f(*a); jax.block_until_ready(out)
    ts=[]
    for i in range(n):
        t=time.perf_counter(); out=f(*a); jax.block_until_ready(out); ts.append(time.perf_counter()-t)
    ts=np.array(ts)*1e6; return f"p50 {np.percentile(ts,50):.0f} p99 {np.percentile(ts,99):.0f}"
net = mask_net(cfg)
F = frame_feature_size(cfg)
carry = m.init_carry()
x = jnp.asarray(np.random.default_rng(0).standard_normal(F).astype(np.float32))
print("net(const w)", timeit(jax.jit(lambda c, f: net.apply({"params": W}, c, f)), carry.lstm, x))
sig = jnp.asarray(np.random.default_rng(0).standard_normal(1920).astype(np.float32))
win = jnp.asarray(dsp.sqrt_hann(480))
print("rfft1920", timeit(jax.jit(lambda s: jnp.fft.rfft(s)), sig))
print("rfft480", timeit(jax.jit(lambda s: jnp.fft.rfft(s[:480])), sig))
print("3 rfft1920", timeit(jax.jit(lambda s: (jnp.fft.rfft(s), jnp.fft.rfft(s*2), jnp.fft.rfft(s*3))), sig))
print("irfft1920", timeit(jax.jit(lambda s: jnp.fft.irfft(jnp.fft.rfft(s))), sig))
print("noop", timeit(jax.jit(lambda s: s+1), sig))
# matmuls
for a,b in [(802,192),(192,768),(384,768),(384,241),(384,288)]:
    k = jnp.asarray(np.random.default_rng(1).standard_normal((a,b)).astype(np.float32))
    v = jnp.asarray(np.random.default_rng(2).standard_normal(a).astype(np.float32))
    print(f"matvec {a}x{b}", timeit(jax.jit(lambda v: v @ k), v))
import dataclasses
from rtmusic.models import MaskNet
base = mask_net(cfg)
def tnet(n):
    w = n.init(jax.random.PRNGKey(0), carry.lstm, x)["params"]
    return timeit(jax.jit(lambda c, f: n.apply({"params": w}, c, f)), carry.lstm, x)
print("base random", tnet(base))
print("no fine corr", tnet(dataclasses.replace(base, fine_gain_bins=0)))
print("no df", tnet(dataclasses.replace(base, df_outputs=0)))
print("no fine corr no df", tnet(dataclasses.replace(base, fine_gain_bins=0, df_outputs=0)))
print("no finer bins at all", tnet(dataclasses.replace(base, fine_gain_bins=0, df_outputs=0, bin_ratio=1, fine_head_bins=0)))
print("1 layer, nothing", tnet(dataclasses.replace(base, layers=1, fine_gain_bins=0, df_outputs=0, bin_ratio=1, fine_head_bins=0)))
