"""How JAX must run for the live path: each hop synchronously, single-threaded, on the worker's thread.

Measured on this project's 2-core machine (per-hop p99 of the shipped-size step, called every ~1 ms):
async dispatch 3.1 ms (the XLA executor thread has to wake up for every hop) against 0.44-0.49 ms
synchronous, quiet; under a training job's load, single-threaded synchronous kept p99 at 0.76 ms where
async reached 4.8 ms. Single-threaded execution also lets the worker's real-time priority cover the
whole computation. XLA_FLAGS only take effect if set before JAX is first imported.
"""

from __future__ import annotations

import os
import sys

LIVE_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def set_live_xla_flags() -> bool:
    """Set LIVE_XLA_FLAGS unless JAX is already loaded or the user set XLA_FLAGS; True if set."""
    if "jax" in sys.modules or "XLA_FLAGS" in os.environ:
        return False
    os.environ["XLA_FLAGS"] = LIVE_XLA_FLAGS
    return True


def configure_jax_for_live() -> None:
    """Synchronous dispatch: the hop runs on the calling (worker) thread."""
    import jax

    jax.config.update("jax_cpu_enable_async_dispatch", False)
