"""The default denoiser's runtime knobs (attenuation limit, dry mix) against SI-SDRi on a validation set.

    PYTHONPATH=. python bench/results/session47/probe/knobs.py [--music-source S] [--speech-source S]

Every setting runs the same clips through `Processor(model, atten_lim_db=..., mix=...)` and scores them with
`rtmusic.bench.quality.clip_metrics`, so the figures compare with `bench.quality`'s.
"""
import argparse
import sys

import numpy as np

from bench.quality import load_music_source
from rtmusic.bench.quality import aggregate, clip_metrics
from rtmusic.processor import Processor, load_model

SETTINGS = [(None, 0.0), (40.0, 0.0), (30.0, 0.0), (25.0, 0.0), (20.0, 0.0), (None, 0.03), (None, 0.1)]

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="default")
parser.add_argument("--music-source", default="val")
parser.add_argument("--speech-source", default="val")
args = parser.parse_args()
data = load_music_source(None, None, args.music_source, args.speech_source)
model = load_model(args.model)
print(f"{args.model} on music {args.music_source}, speech {args.speech_source}: {len(data['kind'])} clips")
print("atten_lim  mix    music  speech  mixed  music@15dB  clean-only")
for atten, mix in SETTINGS:
    processor = Processor(model, atten_lim_db=atten, mix=mix)
    records = []
    for i in range(len(data["kind"])):
        out = processor.process(np.asarray(data["noisy"][i], np.float32)).out
        records.append(clip_metrics(out, data["clean"][i], data["noisy"][i], int(data["kind"][i]),
                                    float(data["snr_db"][i]), model.samplerate, perceptual=False))
    summary, per_snr = aggregate(records)
    s = summary["sisdri"]
    pres = summary.get("music_preservation_15db")
    clean = summary.get("clean_sisdr", {}).get("music")
    print(f"{str(atten):>9} {mix:4.2f}  {s['music']:+6.2f}  {s['speech']:+6.2f}  {s['mixed']:+6.2f}  "
          f"{pres if pres is None else f'{pres:+6.2f}'}  {clean}", flush=True)
