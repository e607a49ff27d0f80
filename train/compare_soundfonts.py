"""Which GM programs of a soundfont sound like FluidR3's: is it really a sound the models never heard?

    python -m train.compare_soundfonts /usr/share/sounds/sf2/TimGM6mb.sf2 [more.sf2 ...]

Why this exists: many GM soundfonts are built from the same samples (MuseScore General descends from
FluidR3Mono), and re-rendering the validation music with one of those would test the training sound
again. This renders one note of each of the 128 programs and each drum kit the renderer uses (no reverb
or chorus) with FluidR3 and with each soundfont, and counts the slots whose normalised cross-correlation
(best lag within 5 ms) exceeds 0.9: sample for sample the same instrument. train/DATA.md lists the results.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from train import render_music
from train.datapaths import SAMPLE_RATE

SLOT_SECONDS = 1.5
SAME = 0.9
DRUM_HITS = ((36, 0.01), (38, 0.3), (42, 0.6), (49, 0.9))  # kick, snare, closed hat, crash: (key, seconds)


def probe_midi(path: Path) -> list[str]:
    """Write the probe (one slot per program, then per drum kit); returns the slot names."""
    def tick(t):
        return int(round(t * render_music.TICKS_PER_SECOND))

    events, names = [], []
    for program in range(128):
        t = len(names) * SLOT_SECONDS
        lo, hi = render_music._register_of(program)
        pitch = (lo + hi) // 2
        events += [(tick(t), 0, bytes([0xC0, program])), (tick(t + 0.01), 1, bytes([0x90, pitch, 100])),
                   (tick(t + 0.9), 0, bytes([0x80, pitch, 0]))]
        names.append(f"program {program}")
    for kit in render_music.DRUM_KITS:
        t = len(names) * SLOT_SECONDS
        events.append((tick(t), 0, bytes([0xC9, kit])))
        for key, dt in DRUM_HITS:
            events += [(tick(t + dt), 1, bytes([0x99, key, 100])), (tick(t + dt + 0.1), 0, bytes([0x89, key, 0]))]
        names.append(f"kit {kit}")
    events.append((tick(len(names) * SLOT_SECONDS + 1.0), 2, bytes([0xB0, 3, 0])))
    tempo = render_music._track_chunk([(0, 0, b"\xff\x51\x03\x07\xa1\x20")])
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + (2).to_bytes(2, "big") + (480).to_bytes(2, "big")
    path.write_bytes(header + tempo + render_music._track_chunk(events))
    return names


def slot_similarity(a: np.ndarray, b: np.ndarray, n_slots: int) -> np.ndarray:
    """Per slot, the best normalised cross-correlation of two probe renders [T] within ±5 ms: [n_slots]."""
    size = int(SLOT_SECONDS * SAMPLE_RATE)
    a, b = (np.pad(x, (0, max(0, n_slots * size - len(x)))).astype(np.float64) for x in (a, b))
    out = np.zeros(n_slots)
    for i in range(n_slots):
        x, y = a[i * size:(i + 1) * size], b[i * size:(i + 1) * size]
        norm = np.linalg.norm(x) * np.linalg.norm(y) + 1e-12
        out[i] = max(abs(float(x @ np.roll(y, lag))) / norm for lag in range(-240, 241, 8))
    return out


def compare(soundfonts: list[Path], reference: Path = render_music.SOUNDFONT) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Per soundfont: slot similarities to ``reference`` [slots] and the slot names."""
    with tempfile.TemporaryDirectory(prefix="rtmusic-sfcmp-") as tmp:
        midi = Path(tmp) / "probe.mid"
        names = probe_midi(midi)

        def render(sf):
            return render_music.render_midi(midi, soundfont=sf, reverb_level=0.0, chorus_level=0.0)

        ref = render(reference)
        return {str(sf): (slot_similarity(ref, render(sf), len(names)), names) for sf in soundfonts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.compare_soundfonts", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("soundfonts", nargs="+", type=Path, help=".sf2 or .sf3 files")
    parser.add_argument("--reference", type=Path, default=render_music.SOUNDFONT,
                        help="the training soundfont (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        results = compare(args.soundfonts, args.reference)
    except RuntimeError as exc:
        print(f"compare_soundfonts: {exc}", file=sys.stderr)
        return 1
    for sf, (sim, names) in results.items():
        same = [n for n, s in zip(names, sim) if s > SAME]
        print(f"{sf}: {len(same)} of {len(names)} slots sound like {args.reference.name} (correlation > {SAME}), "
              f"median {np.median(sim):.2f}" + (f"; e.g. {', '.join(same[:8])}" if same else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
