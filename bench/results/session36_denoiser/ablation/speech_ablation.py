"""Diagnostic: what the shipped default's deep filter and its gains above 1 kHz do to validation speech and music,
per input SNR: as shipped, with the deep filter's head at zero (its warm-start state), and with every gain above
1 kHz held at 1 (no damage and no denoising there). Usage (about 3 min on one core):

    PYTHONPATH=. python bench/results/session36_denoiser/ablation/speech_ablation.py rtmusic/weights/denoiser.rtm
"""
import json
import sys

import jax
import numpy as np

from rtmusic import checkpoint
from rtmusic.models import DenoiserConfig
from train.datapaths import data_dir
from train.denoise import evaluate, make_forward
from train.mixer import make_validation_set

header, weights = checkpoint.load(sys.argv[1])
config = DenoiserConfig.from_dict(header["config"])
forward = jax.jit(make_forward(config)[0])
val = make_validation_set(data_dir(None), n_clips=420)  # 20 clips per kind and SNR
length = (val["noisy"].shape[1] // config.hop) * config.hop
val = {**val, "noisy": val["noisy"][:, :length], "clean": val["clean"][:, :length]}

bin_hz = config.samplerate / config.window  # the gain head's bins (100 Hz at a 10 ms window)
first_high = int(np.ceil(1000 / bin_hz))
no_df = {**weights, "df": {k: np.zeros_like(v) for k, v in weights["df"].items()}}
kernel, bias = np.array(weights["gain"]["kernel"]), np.array(weights["gain"]["bias"])
kernel[:, first_high:], bias[first_high:] = 0.0, 30.0  # sigmoid(30) = 1: pass-through above 1 kHz
unity_high = {**weights, "gain": {"kernel": kernel, "bias": bias}}

results = {}
for name, w in (("shipped", weights), ("deep filter off", no_df), ("gains = 1 above 1 kHz", unity_high)):
    row = {}
    for snr in (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0):
        sel = val["snr_db"] == snr
        figures = evaluate(forward, w, {k: v[sel] for k, v in val.items()})
        row[f"{snr:g}"] = {"music": round(figures["sisdri_music"], 2), "speech": round(figures["sisdri_speech"], 2)}
    results[name] = row
    print(name, json.dumps(row), flush=True)
print(json.dumps(results, indent=1))
