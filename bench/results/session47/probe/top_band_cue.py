"""Is the default's loss on 44.1 kHz material a missing cue? Band-limit the noise alone, or the clean alone.

    PYTHONPATH=. python bench/results/session47/probe/top_band_cue.py [--model M]

On the val set (noise = noisy - clean), each variant low-passes one part at 21 kHz (zero-phase Butterworth of
order 8, as `train.mixer.band_limit_mixture`) and mixes again; the target is the clean part as mixed.
"""
import argparse

import numpy as np
import scipy.signal

from bench.quality import load_music_source
from rtmusic.bench.quality import aggregate, clip_metrics
from rtmusic.processor import Processor, load_model

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="default")
args = parser.parse_args()
data = load_music_source(None, None, "val")
processor = Processor(load_model(args.model)).prepare()
sos = scipy.signal.butter(8, 21000, fs=48000, output="sos")


def low(x):
    return scipy.signal.sosfiltfilt(sos, x).astype(np.float32)


variants = {"as is": lambda c, n: (c, n), "noise band-limited": lambda c, n: (c, low(n)),
            "clean band-limited": lambda c, n: (low(c), n), "both band-limited": lambda c, n: (low(c), low(n))}
print(f"{args.model}: val, SI-SDRi by kind; one part low-passed at 21 kHz")
for name, make in variants.items():
    records = []
    for i in range(len(data["kind"])):
        snr = float(data["snr_db"][i])
        if not np.isfinite(snr):
            continue
        clean = np.asarray(data["clean"][i], np.float32)
        clean, noise = make(clean, np.asarray(data["noisy"][i], np.float32) - clean)
        noisy = clean + noise
        out = processor.process(noisy).out
        records.append(clip_metrics(out, clean, noisy, int(data["kind"][i]), snr, 48000, perceptual=False))
    s, _ = aggregate(records)
    print(f"{name:>20}: music {s['sisdri']['music']:+.2f}  speech {s['sisdri']['speech']:+.2f}  "
          f"mixed {s['sisdri']['mixed']:+.2f}", flush=True)
