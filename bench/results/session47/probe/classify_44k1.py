"""Does the classifier lose mAP on 44.1 kHz material (nothing above 20 kHz)?

    PYTHONPATH=. python bench/results/session47/probe/classify_44k1.py [--music-source S] [--clips N]

The validation scenes of `bench.classify_eval`, as they are and resampled 48 -> 44.1 -> 48 kHz (soxr VHQ, as
`rtmusic process` takes a 44.1 kHz file), scored the same way.
"""
import argparse

import numpy as np
import soxr

from bench.classify_eval import evaluate, load_validation
from rtmusic.processor import Processor, load_classifier
from train.classify import VAL_SEED
from train.datapaths import data_dir

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="default")
parser.add_argument("--music-source", default="val")
parser.add_argument("--clips", type=int, default=220)
args = parser.parse_args()
val, _ = load_validation(data_dir(), args.clips, 5.0, VAL_SEED, args.music_source)
model = load_classifier(args.model)
processor = Processor(model).prepare()
targets = val["targets"].astype(np.float32)
for name, convert in (("48 kHz", lambda x: x),
                      ("via 44.1 kHz", lambda x: soxr.resample(soxr.resample(x, 48000, 44100, quality="VHQ"), 44100,
                                                               48000, quality="VHQ")[:x.size].astype(np.float32))):
    probs = []
    for clip in val["audio"]:
        audio = convert(np.asarray(clip, np.float32))
        if audio.size < clip.size:
            audio = np.pad(audio, (0, clip.size - audio.size))
        probs.append(processor.process(audio).aux)
    summary = evaluate(probs, targets, model.aux_names, model.hop, model.samplerate, 0.5, 2.0)
    aps = {k: v["ap"] for k, v in summary["per_label"].items() if v["ap"] is not None}
    print(f"{args.model} {args.music_source} {name}: mAP {summary['map']:.4f} macro-F1 {summary.get('macro_f1', 0):.4f} "
          + " ".join(f"{k} {v:.2f}" for k, v in aps.items()), flush=True)
