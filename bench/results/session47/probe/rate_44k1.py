"""Does the default denoiser lose quality on 44.1 kHz material (nothing above 20 kHz)?

    PYTHONPATH=. python bench/results/session47/probe/rate_44k1.py [--music-source S] [--speech-source S]

Each validation clip (noisy and clean) is resampled to 44.1 kHz (soxr VHQ) and processed as `rtmusic process`
processes a 44.1 kHz file (`rtmusic.offline.process_array`: soxr to 48 kHz and back); SI-SDRi against the
44.1 kHz clean clip, beside the same clips processed at 48 kHz. Clip by clip: mean difference, its standard error.
"""
import argparse

import numpy as np
import soxr

from bench.quality import load_music_source
from rtmusic.bench.quality import aggregate, clip_metrics
from rtmusic.offline import process_array
from rtmusic.processor import Processor, load_model

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="default")
parser.add_argument("--music-source", default="val")
parser.add_argument("--speech-source", default="val")
args = parser.parse_args()
data = load_music_source(None, None, args.music_source, args.speech_source)
processor = Processor(load_model(args.model)).prepare()
rows = {48000: [], 44100: [], "48000 then 44100": []}
for i in range(len(data["kind"])):
    noisy, clean = np.asarray(data["noisy"][i], np.float32), np.asarray(data["clean"][i], np.float32)
    kind, snr = int(data["kind"][i]), float(data["snr_db"][i])
    out = processor.process(noisy).out
    rows[48000].append(clip_metrics(out, clean, noisy, kind, snr, 48000, perceptual=False))
    n44, c44 = (soxr.resample(a, 48000, 44100, quality="VHQ").astype(np.float32) for a in (noisy, clean))
    out44, _, _ = process_array(processor, n44[:, None], 44100)
    rows[44100].append(clip_metrics(out44[:, 0], c44, n44, kind, snr, 44100, perceptual=False))
    # full-band input processed at 48 kHz, the output then band-limited as the 44.1 kHz clip was: what the
    # missing band costs the metric alone, with the net seeing what it trained on
    limited = soxr.resample(out, 48000, 44100, quality="VHQ").astype(np.float32)[:n44.size]
    rows["48000 then 44100"].append(clip_metrics(limited, c44[:limited.size], n44[:limited.size], kind, snr, 44100,
                                                 perceptual=False))
print(f"{args.model}: music {args.music_source}, speech {args.speech_source}, {len(data['kind'])} clips")
for rate, records in rows.items():
    s, _ = aggregate(records)
    print(f"{rate}: music {s['sisdri']['music']:+.2f}  speech {s['sisdri']['speech']:+.2f}  "
          f"mixed {s['sisdri']['mixed']:+.2f}  music@15dB {s['music_preservation_15db']:+.2f}  "
          f"clean music kept {s['clean_sisdr'].get('music', float('nan')):.1f} dB")
for base in (48000, "48000 then 44100"):
    for kind in ("music", "speech", "mixed"):
        d = np.array([b["sisdri"] - a["sisdri"] for a, b in zip(rows[base], rows[44100])
                      if a["kind"] == kind and "sisdri" in a])
        print(f"44100 - {base}, {kind}: {d.mean():+.2f} +- {d.std(ddof=1) / np.sqrt(d.size):.2f} dB over {d.size} clips")
