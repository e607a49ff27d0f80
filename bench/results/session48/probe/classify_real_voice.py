"""Why does the classifier call real speech `drums`? Its per-hop probabilities on alsa-utils' voice samples, as
recorded and low-passed at 11 kHz (as espeak-ng's renders are).

    PYTHONPATH=. python bench/results/session48/probe/classify_real_voice.py

Prints, per variant, the mean over the 8 voices of each label's 95th-percentile probability (as `rtmusic process
--task classify` summarises a window), for the labels that reach 0.3 somewhere.
"""
import numpy as np

from bench.real_audio import default_voices, load_recording, low_pass
from rtmusic.labels import label_columns
from rtmusic.processor import Processor, load_classifier

import sys
processor = Processor(load_classifier(sys.argv[1] if len(sys.argv) > 1 else "default")).prepare()
names, columns = label_columns(processor.model)
for variant, make in (("as recorded", lambda v: v), ("low-passed at 11 kHz", low_pass)):
    p95 = np.mean([np.percentile(processor.process(make(load_recording(p))).aux[:, columns], 95, axis=0)
                   for p in default_voices()], axis=0)
    shown = ", ".join(f"{names[i]} {p95[i]:.2f}" for i in np.argsort(-p95) if p95[i] >= 0.3)
    print(f"{variant:>22}: {shown}")
