"""SI-SDRi per time segment of the denoiser validation clips (0.1-1 s, 1-2 s, 2-6 s, the whole clip).

Usage (from the checkout, venv active): python bench/results/session45/probe/segments.py [default | path.rtm]
Prints one line per kind (0 music, 1 speech, 2 mixed) with the mean SI-SDRi of each segment; clean-only clips
are left out.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from rtmusic.bench.quality import load_data  # noqa: E402
from rtmusic.metrics import si_sdr  # noqa: E402
from rtmusic.processor import Processor  # noqa: E402

name = sys.argv[1] if len(sys.argv) > 1 else "default"
data = load_data()
processor = Processor.from_name(name)
rate = processor.samplerate
segments = [(0.1, 1.0), (1.0, 2.0), (2.0, 6.0), (0.1, 6.0), (1.0, 6.0)]
results = {kind: {seg: [] for seg in segments} for kind in (0, 1, 2)}
for i in range(len(data["noisy"])):
    if not np.isfinite(data["snr_db"][i]):
        continue
    out = processor.process(data["noisy"][i]).out
    for seg in segments:
        a, b = int(seg[0] * rate), int(seg[1] * rate)
        clean, noisy, est = (x[a:b].astype(np.float64) for x in (data["clean"][i], data["noisy"][i], out))
        results[int(data["kind"][i])][seg].append(float(si_sdr(est, clean) - si_sdr(noisy, clean)))
for kind, per_segment in results.items():
    print(kind, {f"{a}-{b}": round(float(np.mean(v)), 2) for (a, b), v in per_segment.items()})
