"""How much of each val noise type, heard alone, the default takes away (dB of output level re input).

A net that hears a crowd as a voice to keep passes babble alone through; one that hears it as noise removes it.
Run from the checkout: PYTHONPATH=. python bench/results/session46/probe/noise_only.py [MODEL]
"""

import sys
from collections import defaultdict

import numpy as np

from rtmusic.processor import Processor
from train.datapaths import data_dir
from train.mixer import ClipStore

model = sys.argv[1] if len(sys.argv) > 1 else "default"
processor = Processor.from_name(model)
store = ClipStore(data_dir(None), "val", "noise")
seconds, skip = 6.0, 1.0  # the first second is the net's start-up (session 45)
drop = defaultdict(list)
for clip, entry in enumerate(store.index["clips"]):
    n = int(min(store.lengths[clip], seconds * 48000))
    x = np.asarray(store.audio[store.offsets[clip]: store.offsets[clip] + n], np.float32) / 32768.0
    x *= 10 ** (-20 / 20) / max(float(np.sqrt(np.mean(x ** 2))), 1e-9)  # -20 dBFS RMS
    y = processor.process(x).out
    a = int(skip * 48000)
    drop[entry["noise_type"]].append(10 * np.log10(np.mean(y[a:] ** 2) / np.mean(x[a:] ** 2)))
print(f"{model}: output level re input, noise alone at -20 dBFS, seconds {skip:g}-{seconds:g} (mean over clips)")
for t in sorted(drop, key=lambda t: np.mean(drop[t])):
    print(f"  {t:10s} {np.mean(drop[t]):+7.1f} dB  ({len(drop[t])} clips)")
