"""Classifier mAP per window position (0-1 s, 1-2 s, ... of the 5 s validation clips).

Usage (from the checkout, venv active): python bench/results/session45/probe/cls_windows.py MODEL MUSIC_SOURCE
with MODEL `default` or a .rtm path and MUSIC_SOURCE one of bench.classify_eval's (e.g. families,
families-unseen-soundfonts); 440 clips as `bench.classify_eval --clips 440`.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from bench.classify_eval import load_validation  # noqa: E402
from rtmusic.labels import window_probabilities, window_targets  # noqa: E402
from rtmusic.metrics import per_label_average_precision  # noqa: E402
from rtmusic.processor import Processor, load_classifier  # noqa: E402
from train.classify import VAL_SEED  # noqa: E402
from train.datapaths import data_dir  # noqa: E402

model_name, source = sys.argv[1], sys.argv[2]
val, _ = load_validation(data_dir(None), 440, 5.0, VAL_SEED, source)
model = load_classifier(model_name)
processor = Processor(model).prepare()
preds, truth = [], []
for clip, target in zip(val["audio"], val["targets"].astype(np.float32)):
    probs = processor.process(clip).aux
    preds.append(window_probabilities(probs, model.hop, model.samplerate, 5.0)[2])
    truth.append(window_targets(target, model.hop, model.samplerate, 5.0))
preds, truth = np.stack(preds), np.stack(truth)  # [clips, windows, labels]
print(model_name, source, preds.shape)
for w in range(preds.shape[1]):
    ap = per_label_average_precision(preds[:, w], truth[:, w])
    print(f"window {w}: mAP {np.nanmean(ap):.3f}  families {np.nanmean(ap[:11]):.3f}")
ap = per_label_average_precision(preds.reshape(-1, preds.shape[2]), truth.reshape(-1, truth.shape[2]))
print(f"all: mAP {np.nanmean(ap):.3f} families {np.nanmean(ap[:11]):.3f}")
