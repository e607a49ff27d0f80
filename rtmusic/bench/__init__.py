"""Latency benchmarking users can trust: `rtmusic bench`.

Light on import (no JAX, no JACK): each measurement imports what it needs inside its functions.

- `conventions`: algorithmic latency of a model in the three conventions papers and products use.
- `compute`: per-hop step time (p50 / p99 / max), RTF, whole-engine cost; `--platform` selection.
- `roundtrip`: a dummy JACK server, a far-end client, the measured lag with and without rtmusic in the loop.
- `load`: xruns, deadline misses and lag drift per JACK period, with and without CPU stress; soak runs.
- `report`: JSON, markdown table, PNG plots.
- `compare` (`--compare`): RNNoise, WebRTC NS, noisereduce, DTLN side by side, as ratios to rtmusic;
  built on `competitors` (the wrappers, delay by GCC-PHAT) and `quality` (validation-set scoring).
"""

from rtmusic.bench.conventions import LatencyConventions, conventions

__all__ = ["LatencyConventions", "conventions"]
