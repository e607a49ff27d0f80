"""Session 18 diagnostic: does a denoiser score higher on the training banks than on held-out ones?

Mixes held-out (val) music and speech with (a) val noise and (b) the train noise bank, or with val noise
and (a) val music+speech, (b) train music+speech; the same grid of kinds and SNRs (-5..10 dB) each time.
A large gain on the train side means the net learned those very clips. Run from the checkout:

    PYTHONPATH=. python bench/results/session18_denoiser/memorisation_gap.py noise [MODEL.rtm]
    PYTHONPATH=. python bench/results/session18_denoiser/memorisation_gap.py sources [MODEL.rtm]
    PYTHONPATH=. python bench/results/session18_denoiser/memorisation_gap.py sources MODEL.rtm SEED EXAMPLES

(defaults: seed 7, 144 examples, a third each music, speech and mixed: session 18's figures).
"""
import sys
from pathlib import Path

import jax
import numpy as np

from rtmusic import checkpoint
from rtmusic.models import DenoiserConfig
from train import mixer
from train.datapaths import data_dir
from train.denoise import evaluate, make_forward

what = sys.argv[1]
model_path = Path(sys.argv[2] if len(sys.argv) > 2 else "rtmusic/weights/denoiser.rtm")
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 7
N = int(sys.argv[4]) if len(sys.argv) > 4 else 144
root = Path(data_dir(None))
header, weights = checkpoint.load(model_path)
forward, _ = make_forward(DenoiserConfig.from_dict(header["config"]))
forward, weights = jax.jit(forward), jax.tree_util.tree_map(np.asarray, weights)
for split in ("val", "train"):
    sampler = mixer.MixtureSampler(root, "val", 4.0, batch_size=1, seed=SEED)
    if what == "noise":
        sampler.noise = mixer.ClipStore(root, split, "noise")
    else:
        sampler.speech, sampler.music = mixer.ClipStore(root, split, "speech"), mixer.ClipStore(root, split, "music")
    rng = np.random.default_rng(SEED)
    grid = [(k, s) for s in (-5.0, 0.0, 5.0, 10.0) for k in (0, 1, 2)]
    kinds = np.array([grid[i % len(grid)][0] for i in range(N)], np.int32)
    snrs = np.array([grid[i % len(grid)][1] for i in range(N)])
    parts = [mixer.mix_batch(sampler, rng, kinds[i:i + 16], snrs[i:i + 16], np.zeros(16),
                             rng.uniform(-35, -0.5, 16), False) for i in range(0, N, 16)]
    val = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} | {"kind": kinds, "snr_db": snrs}
    print(f"{what} from {split}:", {k: round(v, 2) for k, v in evaluate(forward, weights, val).items()}, flush=True)
