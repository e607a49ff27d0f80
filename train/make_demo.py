"""Build the clip `rtmusic demo` ships: held-out music plus held-out noise, and its clean reference.

    python -m train.make_demo [--data DIR] [--out rtmusic/data]

Both sources come from the recipe's *validation* split (pieces and noise-bank clips the model is never
trained on), read from the rendered data cache (``python -m train.build_data`` makes it; see
train/DATA.md). The choice is fixed below (clip names, excerpt start, noise mix, SNR, peak) and the
noise crops are drawn from a fixed seed, so the same cache always gives the same files, bit for bit.

Writes ``demo_noisy.flac`` (the input the demo processes), ``demo_clean.flac`` (the music alone, sample-
aligned, same gain: the SI-SDR reference) and ``README.md`` (how they were made) into ``--out``.
Both FLACs are 16-bit mono 48 kHz; the provenance line is also stored in their comment tag.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from train import datapaths
from train.datapaths import SAMPLE_RATE
from train.mixer import ClipStore

SEED = 20240531
SECONDS = 8.0
SNR_DB = 5.0  # music power / noise power over the whole clip
PEAK_DBFS = -6.0  # peak of the noisy mix (the clean reference gets the same gain)
FADE_SECONDS = 0.02  # raised-cosine fade in and out, on mix and reference alike (no clicks on playback)

MUSIC_CLIP = "bach-e881a725"  # val split: J. S. Bach, chorale BWV 287, re-orchestrated for four guitars
MUSIC_START_S = 14.0  # a stretch of clear four-part chords, no rests longer than a beat
MUSIC_WHAT = "J. S. Bach, chorale BWV 287, for a guitar quartet"

# (noise-bank clip, level relative to the first one in dB): a fan with a murmur of voices under it.
NOISE_CLIPS = (("noise-00022-fan", 0.0), ("noise-00024-babble", -6.0))
NOISE_WHAT = "a fan with babble 6 dB beneath"

# 0-based General MIDI programs the guitar family uses (names for the README).
GM_NAMES = {24: "nylon-string guitar", 25: "steel-string guitar", 26: "jazz guitar", 27: "clean electric guitar",
            28: "muted electric guitar", 29: "overdriven guitar", 30: "distortion guitar", 31: "guitar harmonics"}

NOISY_NAME = "demo_noisy.flac"
CLEAN_NAME = "demo_clean.flac"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "rtmusic" / "data"
MAX_BYTES = 800_000


def _clip(store: ClipStore, name: str) -> tuple[int, dict]:
    try:
        i = store.names.index(name)
    except ValueError:
        raise SystemExit(f"make_demo: clip {name!r} is not in the validation cache; the recipe changed since "
                         f"this demo was chosen: pick new clips in train/make_demo.py") from None
    return i, store.index["clips"][i]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def build(data_dir: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """The noisy mix and the clean reference, float32 [n] on the 16-bit grid, and what went into them."""
    n = int(SECONDS * SAMPLE_RATE)
    rng = np.random.default_rng(SEED)

    music = ClipStore(data_dir, "val", "music")
    i, music_meta = _clip(music, MUSIC_CLIP)
    start = int(MUSIC_START_S * SAMPLE_RATE)
    if start + n > music.lengths[i]:
        raise SystemExit(f"make_demo: {MUSIC_CLIP} is shorter than {MUSIC_START_S + SECONDS} s")
    clean = music.audio[music.offsets[i] + start: music.offsets[i] + start + n].astype(np.float64) / 32768.0

    noises = ClipStore(data_dir, "val", "noise")
    noise = np.zeros(n)
    noise_meta = []
    for name, rel_db in NOISE_CLIPS:
        j, meta = _clip(noises, name)
        at = int(rng.integers(0, noises.lengths[j] - n + 1))  # bank clips are 20 s; take a seeded 8 s crop
        part = noises.audio[noises.offsets[j] + at: noises.offsets[j] + at + n].astype(np.float64) / 32768.0
        noise += part / _rms(part) * 10 ** (rel_db / 20)
        noise_meta.append({**meta, "crop_start_s": at / SAMPLE_RATE, "relative_db": rel_db})

    noise *= _rms(clean) / _rms(noise) / 10 ** (SNR_DB / 20)
    fade_n = int(FADE_SECONDS * SAMPLE_RATE)
    fade = np.ones(n)
    fade[:fade_n] = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_n) / fade_n)
    fade[n - fade_n:] = fade[:fade_n][::-1]
    noisy = (clean + noise) * fade
    clean = clean * fade
    gain = 10 ** (PEAK_DBFS / 20) / np.max(np.abs(noisy))
    noisy, clean = _to_int16_grid(noisy * gain), _to_int16_grid(clean * gain)

    snr = 10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2))
    info = {"music": music_meta, "music_start_s": MUSIC_START_S, "noises": noise_meta,
            "measured_snr_db": float(snr), "peak_dbfs": float(20 * np.log10(np.max(np.abs(noisy))))}
    return noisy.astype(np.float32), clean.astype(np.float32), info


def _to_int16_grid(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767) / 32768.0


def provenance(info: dict) -> str:
    """One line: what the clip is (stored in the FLACs' comment tag; `rtmusic demo` prints it)."""
    return (f"{SECONDS:g} s of {MUSIC_WHAT} (held-out validation piece) with {NOISE_WHAT} "
            f"(held-out noise), {SNR_DB:g} dB SNR")


def readme(info: dict, sizes: dict[str, int]) -> str:
    m = info["music"]
    instruments = ", ".join(GM_NAMES.get(p, f"GM program {p + 1}") for p in m["programs"])
    noise_lines = []
    for nm in info["noises"]:
        extra = []
        if "second_type" in nm:
            extra.append(f"its bank clip has {nm['second_type']} {-nm['second_db']:g} dB beneath")
        if "tilt" in nm:
            extra.append(f"{nm['tilt']} tilt at {nm['tilt_hz']} Hz")
        if nm.get("level_varies"):
            extra.append("moving level")
        noise_lines.append(
            f"  - `{nm['name']}`: {nm['noise_type']}, generator seed {nm['seed']}"
            + (f" ({'; '.join(extra)})" if extra else "")
            + f"; level {nm['relative_db']:+g} dB, crop from {nm['crop_start_s']:.2f} s")
    return f"""# The demo clip

`rtmusic demo` processes `{NOISY_NAME}` and scores the result against `{CLEAN_NAME}`.

**What it is:** {provenance(info)}.

Both files are 16-bit FLAC, mono, 48 kHz, {SECONDS:g} s, sample-aligned. The clean file is the music alone
with the same gain and fades, so `noisy - clean` is exactly the added noise (up to 16-bit rounding).
Sizes: `{NOISY_NAME}` {sizes[NOISY_NAME] / 1000:.0f} KB, `{CLEAN_NAME}` {sizes[CLEAN_NAME] / 1000:.0f} KB.

## How it was made

By `train/make_demo.py` (seed {SEED}) from the training recipe's *validation* split, which the model
never trains on: pieces are split by a hash of their id, noise-bank clips by seed range, and validation
babble is made from validation voices (see `train/DATA.md`).

- **Music**: clip `{m['name']}` of the validation cache: `{m['source']}` from the music21 corpus
  ({m['group']}), re-orchestrated by the recipe ({m['style']}) for {instruments}
  (0-based GM programs {m['programs']}), transposed {m['transpose']:+d} semitones, tempo x{m['tempo_scale']},
  rendered with FluidSynth and the FluidR3 GM soundfont; the excerpt is
  {MUSIC_START_S:g}-{MUSIC_START_S + SECONDS:g} s of the clip.
- **Noise**: the sum of these validation noise-bank clips, each at unit RMS times its relative level,
  {SECONDS:g} s crops drawn with `numpy.random.default_rng({SEED})`:
{chr(10).join(noise_lines)}
- **Mix**: noise scaled to {SNR_DB:g} dB SNR (music power / noise power over the whole clip; measured
  after 16-bit rounding: {info['measured_snr_db']:.2f} dB), {FADE_SECONDS * 1000:g} ms raised-cosine fades at
  both ends, then one gain for mix and reference that puts the mix's peak at {PEAK_DBFS:g} dBFS
  (measured: {info['peak_dbfs']:.2f} dBFS).

## Rebuild

Needs the rendered data cache (`python -m train.build_data`, ~17 min on 2 cores); the same cache gives
the same files bit for bit:

```
python -m train.make_demo
```
"""


def write(out: Path, noisy: np.ndarray, clean: np.ndarray, info: dict) -> dict[str, int]:
    import soundfile as sf

    out.mkdir(parents=True, exist_ok=True)
    line = provenance(info)
    sizes = {}
    for name, audio, role in ((NOISY_NAME, noisy, "noisy input"), (CLEAN_NAME, clean, "clean reference")):
        path = out / name
        with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, subtype="PCM_16", format="FLAC") as f:
            f.title = f"rtmusic demo: {role}"
            f.comment = line
            f.software = "rtmusic train/make_demo.py"
            f.write(audio)
        sizes[name] = path.stat().st_size
    (out / "README.md").write_text(readme(info, sizes))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.make_demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="rendered data cache (default: $RTMUSIC_DATA "
                        "or ~/.cache/rtmusic/data)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default: rtmusic/data)")
    args = parser.parse_args(argv)
    data_dir = datapaths.data_dir(args.data)
    try:
        noisy, clean, info = build(data_dir)
    except FileNotFoundError as exc:
        print(f"make_demo: {exc}", file=sys.stderr)
        return 2
    sizes = write(args.out, noisy, clean, info)
    print(f"make_demo: {provenance(info)}")
    print(json.dumps({"snr_db": round(info["measured_snr_db"], 3), "peak_dbfs": round(info["peak_dbfs"], 3),
                      **{k: v for k, v in sizes.items()}}))
    for name, size in sizes.items():
        if size > MAX_BYTES:
            print(f"make_demo: warning: {name} is {size / 1000:.0f} KB, above the {MAX_BYTES // 1000} KB budget",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
