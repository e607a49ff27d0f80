"""How does a denoiser treat real speech, with its top band? alsa-utils' voice samples (one man, 48 kHz, real
sibilants up to 16 kHz and beyond) under the val noises, as they are and low-passed at 11 kHz like espeak-ng.

    PYTHONPATH=. python bench/results/session48/probe/real_voice.py [--model M ...]

Each of the 8 voice files is mixed with noise cut from 12 val clips (noise = noisy - clean) at 0, 5 and 10 dB SNR;
the target is the voice as mixed. Prints SI-SDRi (mean over clips) per model and variant.
"""
import argparse
import glob

import numpy as np
import scipy.signal
import soundfile as sf

from bench.quality import load_music_source
from rtmusic.bench.quality import sisdr_improvement
from rtmusic.processor import Processor, load_model

parser = argparse.ArgumentParser()
parser.add_argument("--model", nargs="+", default=["default"])
parser.add_argument("--noises", type=int, default=12)
args = parser.parse_args()
files = sorted(f for f in glob.glob("/usr/share/sounds/alsa/*.wav") if not f.endswith("Noise.wav"))
voices = [sf.read(f, dtype="float32")[0] for f in files]
data = load_music_source(None, None, "val")
rng = np.random.default_rng(7)
noise_clips = [np.asarray(data["noisy"][i] - data["clean"][i], np.float32)
               for i in rng.choice(np.flatnonzero(np.isfinite(data["snr_db"])), args.noises, replace=False)]
sos = scipy.signal.butter(8, 11000, fs=48000, output="sos")


def low(x):
    return scipy.signal.sosfiltfilt(sos, x).astype(np.float32)


def rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


for name in args.model:
    processor = Processor(load_model(name)).prepare()
    for variant, make in (("real voice", lambda v: v), ("low-passed at 11 kHz", low)):
        by_snr = {}
        for v in voices:
            v = make(v)
            pad = np.zeros(24000, np.float32)  # 0.5 s of noise first, so the voice starts in a settled net
            clean = np.concatenate([pad, v])
            for noise in noise_clips:
                noise = np.resize(noise, len(clean))
                for snr in (0.0, 5.0, 10.0):
                    g = rms(v) / (rms(noise) * 10 ** (snr / 20))
                    noisy = clean + g * noise
                    peak = max(np.abs(noisy).max(), 1e-9)
                    noisy, target = noisy * 0.5 / peak, clean * 0.5 / peak
                    out = processor.process(noisy.astype(np.float32)).out
                    by_snr.setdefault(snr, []).append(sisdr_improvement(out[24000:], target[24000:], noisy[24000:]))
        cells = "  ".join(f"{snr:>4.0f} dB {np.mean(x):+.2f}" for snr, x in by_snr.items())
        allx = np.concatenate([np.asarray(x) for x in by_snr.values()])
        print(f"{name:>40} {variant:>22}: mean {allx.mean():+.2f}  ({cells})", flush=True)
