"""Session 39 probe: per-hop cost of 1-3 stacked 192-unit LSTM layers (flax and hand-fused), on core 1. Each layer's f32 weights are 1.2 MB; this VM's L2 is 2 MB per core. Run: PYTHONPATH=. python bench/results/session39_denoiser/probes/lstm_layers.py"""
import os, sys, time
os.environ["XLA_FLAGS"]="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.sched_setaffinity(0, {1})
import numpy as np, jax, jax.numpy as jnp
import flax.linen as nn
jax.config.update("jax_cpu_enable_async_dispatch", False)
def timeit(f, *a, n=4000):
    out = f(*a); jax.block_until_ready(out)
    ts=[]
    for i in range(n):
        t=time.perf_counter(); out=f(*a); jax.block_until_ready(out); ts.append(time.perf_counter()-t)
    ts=np.array(ts)*1e6; return f"p50 {np.percentile(ts,50):.0f} p99 {np.percentile(ts,99):.0f}"
H=192
rng=np.random.default_rng(0)
x = jnp.asarray(rng.standard_normal(H).astype(np.float32))
z = jnp.zeros(H)
for L in (1,2,3):
    class Net(nn.Module):
        @nn.compact
        def __call__(self, carry, x):
            out=[]
            for i in range(L):
                c, x = nn.OptimizedLSTMCell(H, name=f"l{i}")(carry[i], x); out.append(c)
            return out, x
    n=Net(); carry=[(z,z)]*L
    w = n.init(jax.random.PRNGKey(0), carry, x)["params"]
    print("flax", L, timeit(jax.jit(lambda c, f: n.apply({"params": w}, c, f)), carry, x))
    Ks=[jnp.asarray(rng.standard_normal((2*H,4*H)).astype(np.float32)*0.05) for _ in range(L)]
    bs=[jnp.zeros(4*H) for _ in range(L)]
    def fused(carry, x):
        out=[]
        for i in range(L):
            c,h=carry[i]
            g = jnp.concatenate([x,h]) @ Ks[i] + bs[i]
            ii,ff,gg,oo = jnp.split(g,4)
            c = jax.nn.sigmoid(ff)*c + jax.nn.sigmoid(ii)*jnp.tanh(gg)
            h = jax.nn.sigmoid(oo)*jnp.tanh(c)
            out.append((c,h)); x=h
        return out, x
    print("fused", L, timeit(jax.jit(fused), carry, x))
    def fused2(carry, x):
        out=[]
        for i in range(L):
            c,h=carry[i]
            g = x @ Ks[i][:H] + h @ Ks[i][H:] + bs[i]
            s = jax.nn.sigmoid(g[:3*H]); gg=jnp.tanh(g[3*H:])
            c = s[H:2*H]*c + s[:H]*gg
            h = s[2*H:]*jnp.tanh(c)
            out.append((c,h)); x=h
        return out, x
    print("fused2", L, timeit(jax.jit(fused2), carry, x))
print("---- barrier")
for L in (2,3):
    Ks=[jnp.asarray(rng.standard_normal((2*H,4*H)).astype(np.float32)*0.05) for _ in range(L)]
    bs=[jnp.zeros(4*H) for _ in range(L)]
    carry=[(z,z)]*L
    def fused(carry, x, barrier=True):
        out=[]
        for i in range(L):
            c,h=carry[i]
            inp = jnp.concatenate([x,h])
            if barrier: inp = jax.lax.optimization_barrier(inp)
            g = inp @ Ks[i] + bs[i]
            ii,ff,gg,oo = jnp.split(g,4)
            c = jax.nn.sigmoid(ff)*c + jax.nn.sigmoid(ii)*jnp.tanh(gg)
            h = jax.nn.sigmoid(oo)*jnp.tanh(c)
            out.append((c,h)); x=h
        return out, x
    print("fused+barrier", L, timeit(jax.jit(fused), carry, x))
    print("fused", L, timeit(jax.jit(lambda c, x: fused(c, x, False)), carry, x))
    Kp=[jax.device_put(k) for k in Ks]
    def fusedp(Kp, carry, x):
        out=[]
        for i in range(L):
            c,h=carry[i]
            g = jnp.concatenate([x,h]) @ Kp[i] + bs[i]
            ii,ff,gg,oo = jnp.split(g,4)
            c = jax.nn.sigmoid(ff)*c + jax.nn.sigmoid(ii)*jnp.tanh(gg)
            h = jax.nn.sigmoid(oo)*jnp.tanh(c)
            out.append((c,h)); x=h
        return out, x
    print("fused weights as args", L, timeit(jax.jit(fusedp), Kp, carry, x))
