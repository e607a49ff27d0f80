"""`rtmusic demo`: hear and see what the model does to a bundled noisy music clip, no microphone needed.

Processes the clip that ships with rtmusic (held-out music plus held-out noise at 5 dB SNR; see
rtmusic/data/README.md) through the same path as `rtmusic process`, writes the input, the output and a
spectrogram picture, and prints SI-SDR against the clean reference and the real-time factor.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from rtmusic.errors import AudioFileError

EPILOG = """examples:
  rtmusic demo                          # writes ./rtmusic-demo/demo_{before,after}.wav + demo_spectrogram.png
  rtmusic demo --open                   # ... and opens the spectrogram
  rtmusic demo --model bypass --out /tmp/demo
"""

BEFORE = "demo_before.wav"
AFTER = "demo_after.wav"
PICTURE = "demo_spectrogram.png"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="try a model on a bundled noisy music clip (before/after audio, spectrograms)",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="rtmusic-demo", metavar="DIR",
                   help="folder for the results, created if missing (default: ./%(default)s)")
    p.add_argument("--model", default="default", metavar="NAME|PATH",
                   help="model name or .rtm file (default: %(default)s)")
    p.add_argument("--open", action="store_true", help="open the spectrogram picture with the system viewer")
    p.set_defaults(handler=run)


def _writable_dir(path: Path) -> Path:
    """Create `path` if needed and prove it takes files; AudioFileError (one line) if it cannot."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".rtmusic-demo-probe-"):
            pass
    except FileExistsError:
        raise AudioFileError(f"--out {path} is a file, not a folder; choose another --out DIR") from None
    except OSError as exc:
        raise AudioFileError(f"cannot write to --out {path}: {exc.strerror or exc}; choose another --out DIR") from None
    return path


def _open_with_viewer(path: Path) -> str | None:
    """Hand `path` to the desktop's viewer; returns why it could not (None when launched)."""
    import shutil
    import subprocess

    try:
        if sys.platform.startswith("win"):
            os.startfile(str(path))  # type: ignore[attr-defined]  # noqa: S606
            return None
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        if shutil.which(opener) is None:
            return f"no {opener} on this system"
        subprocess.Popen([opener, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError as exc:
        return str(exc)
    return None


def run(args) -> int:
    from rtmusic import demo
    from rtmusic.registry import model_samplerate

    # Everything that can fail fast does so before JAX loads.
    noisy_path = demo.bundled_path(demo.NOISY_CLIP)
    clean_path = demo.bundled_path(demo.CLEAN_CLIP)
    model_samplerate(args.model)  # unknown model names, missing or corrupt checkpoint files
    out = _writable_dir(Path(args.out))

    import numpy as np

    from rtmusic.metrics import si_sdr
    from rtmusic.offline import process_file, read_audio, write_audio
    from rtmusic.processor import Processor, enable_compilation_cache

    noisy, rate = read_audio(noisy_path)
    clean, clean_rate = read_audio(clean_path)
    if clean_rate != rate or clean.shape != noisy.shape:
        raise AudioFileError(f"the bundled demo files in {noisy_path.parent} do not match each other; "
                             f"reinstall rtmusic")
    about = demo.clip_description(noisy_path)
    print(f"rtmusic demo: {about or 'the bundled noisy clip'}", flush=True)

    enable_compilation_cache()
    processor = Processor.from_name(args.model)
    model_name = processor.model.name
    print(f"  processing {noisy.shape[0] / rate:.1f} s with model {model_name!r} ...", flush=True)
    write_audio(out / BEFORE, noisy, rate, like=noisy_path)
    result = process_file(processor, noisy_path, out / AFTER)
    after, _ = read_audio(out / AFTER)

    before_db = float(si_sdr(noisy[:, 0].astype(np.float64), clean[:, 0].astype(np.float64)))
    after_db = float(si_sdr(after[:, 0].astype(np.float64), clean[:, 0].astype(np.float64)))
    demo.save_spectrograms(out / PICTURE, [
        demo.Panel("Before: the noisy input", noisy[:, 0], f"SI-SDR {before_db:.1f} dB"),
        demo.Panel(f"After: model {model_name!r}", after[:, 0],
                   f"SI-SDR {after_db:.1f} dB ({after_db - before_db:+.1f} dB)"),
        demo.Panel("Clean reference: the music alone", clean[:, 0], "the target"),
    ], rate, suptitle=about)

    width = max(len(str(out / name)) for name in (BEFORE, AFTER, PICTURE))
    print(f"  wrote {str(out / BEFORE):<{width}}  the noisy input")
    print(f"  wrote {str(out / AFTER):<{width}}  the model's output, aligned with the input "
          f"(delay {processor.delay_samples} samples compensated)")
    print(f"  wrote {str(out / PICTURE):<{width}}  spectrograms: before, after, clean reference")
    print(f"  SI-SDR against the clean music: before {before_db:.2f} dB, after {after_db:.2f} dB "
          f"({after_db - before_db:+.2f} dB)")
    print(f"  real-time factor {result.realtime_factor:.3f} ({result.wall_seconds:.2f} s to process "
          f"{result.seconds:.2f} s of audio; compilation excluded)")
    if result.nonfinite_resets:
        print(f"rtmusic: warning: {result.nonfinite_resets} hop(s) had non-finite model state and were reset",
              file=sys.stderr)
    if args.open:
        problem = _open_with_viewer(out / PICTURE)
        if problem:
            print(f"rtmusic: cannot open {out / PICTURE}: {problem}; open it yourself", file=sys.stderr)
    return 0
