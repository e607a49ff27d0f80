"""Render held-out speech with synthesisers no training clip came from, for an honest test on unseen speech.

    python -m train.render_unseen_speech [--clips-per-voice 3] [--voices flite:slt,festival:kal_diphone] [--out DIR]

Why this exists: training and validation speech both come from espeak-ng, whose formant synthesis has one
sound whatever the language or voice variant, so the validation figures measure unseen languages and voices
but not an unseen *kind* of speech. This set is speech made another way: Festival's diphone voices
(concatenated recordings of one real speaker each: American English, Italian, Finnish), its HTS and Czech
unit-selection voices, and Flite's voices (diphone and statistical parametric). Most were recorded at 16 kHz,
so their speech stops at 8 kHz (the Czech voices reach 16-22 kHz); the noise stays full band. English voices
read the same standard-library sentences as espeak's English voices; the others read pseudo-words of their
language's letters (no digits, which some voices read in English).

Packed like any split, as ``val_unseen_tts`` (``val_unseen_tts_speech.npy`` and ``.json``; each entry names its
``engine``, ``voice`` and ``language``). Evaluate on it with ``python -m bench.quality --speech-source
unseen-tts`` (music and noise stay the val split's). Idempotent: rendered clips are kept in
``clips/val_unseen_tts/speech/`` and skipped, so an interrupted run resumes with the same command. Never used
for training: the training recipes read espeak-ng speech only.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from train import datapaths
from train.datapaths import SAMPLE_RATE

SPLIT = datapaths.UNSEEN_TTS_SPLIT
SEED_BASE = 9_000_000  # far from build_data's speech seeds (4_000_000 + i)
TEXT_ATTEMPTS = 8


@dataclasses.dataclass(frozen=True)
class TtsVoice:
    """One voice of a synthesiser other than espeak-ng."""

    engine: str  # "flite" or "festival"
    name: str  # flite -voice NAME, or festival's (voice_NAME)
    language: str  # an espeak-ng language code: which letters its pseudo-words use
    package: str  # the Debian package that ships it

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.name}"


VOICES = {v.key: v for v in (
    TtsVoice("flite", "kal16", "en", "flite"),
    TtsVoice("flite", "awb", "en", "flite"),
    TtsVoice("flite", "rms", "en", "flite"),
    TtsVoice("flite", "slt", "en", "flite"),
    TtsVoice("festival", "kal_diphone", "en", "festvox-kallpc16k"),
    TtsVoice("festival", "ked_diphone", "en", "festvox-kdlpc16k"),
    TtsVoice("festival", "cmu_us_slt_arctic_hts", "en", "festvox-us-slt-hts"),
    TtsVoice("festival", "upc_ca_ona_hts", "ca", "festvox-ca-ona-hts"),
    TtsVoice("festival", "lp_diphone", "it", "festvox-italp16k"),
    TtsVoice("festival", "pc_diphone", "it", "festvox-itapc16k"),
    TtsVoice("festival", "czech_dita", "cs", "festvox-czech-dita"),
    TtsVoice("festival", "czech_machac", "cs", "festvox-czech-machac"),
    TtsVoice("festival", "suo_fi_lj_diphone", "fi", "festvox-suopuhe-lj"),
    TtsVoice("festival", "hy_fi_mv_diphone", "fi", "festvox-suopuhe-mv"),
)}
"""Every voice of the set, by ``engine:name``."""

PACKAGES = ("flite", "festival", *sorted({v.package for v in VOICES.values()} - {"flite"}))
"""The Debian packages the set needs (scripts/setup.sh --test installs them)."""


def _program(name: str, package: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise FileNotFoundError(f"{name} is missing: run `apt-get install {package}` (or `bash scripts/setup.sh --test`).")
    return exe


def resolve_voices(keys: list[str]) -> list[TtsVoice]:
    """The voices named ``engine:name``; a typo lists the known ones."""
    unknown = [k for k in keys if k not in VOICES]
    if unknown:
        raise KeyError(f"unknown voice(s) {', '.join(unknown)}; known: {', '.join(VOICES)}")
    return [VOICES[k] for k in keys]


def make_text(rng: np.random.Generator, language: str, n_sentences: int) -> str:
    """Sentences for one clip: standard-library English, or pseudo-words of the language's letters."""
    from train import render_speech

    return " ".join(render_speech.make_sentence(rng, language, numbers=False) for _ in range(n_sentences))


def _drop_trailing_text(wav: Path) -> None:
    """Cut a RIFF file to the length its header declares: some Festival voices print warnings ("UniSyn: using
    default diphone ...") into the file after the audio, which libsndfile then refuses."""
    data = wav.read_bytes()
    if data[:4] == b"RIFF":
        declared = 8 + int.from_bytes(data[4:8], "little")
        if declared < len(data):
            wav.write_bytes(data[:declared])


def speak(text: str, voice: TtsVoice, stretch: float = 1.0, timeout_s: int = 120) -> np.ndarray:
    """``text`` spoken by ``voice``, ``stretch`` times as slow as its default: float32 [samples] at 48 kHz."""
    import soundfile
    import soxr

    with tempfile.TemporaryDirectory(prefix="rtmusic-tts-") as tmp:
        text_file, wav = Path(tmp) / "text.txt", Path(tmp) / "speech.wav"
        text_file.write_text(text + "\n")
        if voice.engine == "flite":
            cmd = [_program("flite", "flite"), "-voice", voice.name, "--setf", f"duration_stretch={stretch:.3f}",
                   "-f", str(text_file), "-o", str(wav)]
        else:
            cmd = [_program("text2wave", "festival"), "-eval", f"(voice_{voice.name})",
                   "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.3f})", "-o", str(wav), str(text_file)]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
        # Festival exits 0 with an empty file when its text rules trip on a word ("SIOD ERROR: ...")
        if proc.returncode != 0 or not wav.exists() or wav.stat().st_size <= 44:
            hint = f" (is {voice.package} installed?)" if voice.engine == "festival" else ""
            raise RuntimeError(f"{voice.key} failed ({proc.returncode}){hint}: {proc.stderr.decode(errors='replace')[-300:]}")
        _drop_trailing_text(wav)
        try:
            audio, rate = soundfile.read(wav, dtype="float32")
        except soundfile.LibsndfileError as exc:
            raise RuntimeError(f"{voice.key} wrote no readable audio ({exc})") from exc
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    return soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)


def render_clip(voice: TtsVoice, seed: int, n_sentences: int | None = None) -> tuple[np.ndarray, dict]:
    """One clip: a few sentences at a random speed. Returns the audio (48 kHz, trimmed) and its description."""
    from train import render_speech

    rng = np.random.default_rng(seed)
    n = int(n_sentences or rng.integers(3, 7))
    stretch = float(rng.uniform(0.85, 1.25))
    for _ in range(TEXT_ATTEMPTS):  # a pseudo-word a voice's text rules cannot take: another text
        text = make_text(rng, voice.language, n)
        try:
            audio = render_speech.trim_silence(speak(text, voice, stretch))
        except RuntimeError as exc:
            failure = exc.args[0]
            continue
        if len(audio) >= SAMPLE_RATE // 4 and np.abs(audio).max() > 1e-4:
            break
        failure = f"{voice.key} produced (almost) nothing for {text[:40]!r}"
    else:
        raise RuntimeError(f"{failure} (the last of {TEXT_ATTEMPTS} texts)")
    meta = dict(engine=voice.engine, voice=voice.name, language=voice.language, source=voice.key,
                sentences=n, duration_stretch=round(stretch, 3), text=text[:200])
    return audio, meta


def build(root: Path, voices: list[TtsVoice], clips_per_voice: int = 3, *, n_sentences: int | None = None,
          log=print) -> dict:
    """Render ``clips_per_voice`` clips of each voice (kept ones skipped) and pack the split."""
    from train import build_data

    root = Path(root)
    jobs, started = [], time.monotonic()
    for voice in voices:
        slug = voice.key.replace(":", "-")
        for k in range(clips_per_voice):
            job = build_data.Job(split=SPLIT, kind="speech", name=f"{slug}-{k:02d}",
                                 seed=SEED_BASE + 1000 * list(VOICES).index(voice.key) + k, spec={})
            jobs.append(job)
            paths = build_data._paths(root, job)
            if paths["meta"].exists():
                continue
            audio, meta = render_clip(voice, job.seed, n_sentences)
            paths["meta"].parent.mkdir(parents=True, exist_ok=True)
            stored = build_data.to_int16(audio)
            build_data._save_npy(paths["audio"], stored)
            build_data._save_json(paths["meta"], {**meta, "seed": job.seed, "name": job.name, "split": SPLIT,
                                                  "kind": "speech", "samples": len(stored)})
            log(f"{len(jobs)}/{len(voices) * clips_per_voice} {job.name}: {len(audio) / SAMPLE_RATE:.1f} s "
                f"({time.monotonic() - started:.0f} s)")
    packed = build_data.pack(root, SPLIT, "speech", jobs)
    return {"split": SPLIT, "clips": len(packed["clips"]), "voices": len({c["source"] for c in packed["clips"]}),
            "seconds": packed["seconds"], "build_seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.render_unseen_speech", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--voices", default=",".join(VOICES), help="comma-separated engine:name (default: all)")
    parser.add_argument("--clips-per-voice", type=int, default=3, metavar="N", help="(default: %(default)s)")
    parser.add_argument("--sentences", type=int, default=None, metavar="N",
                        help="sentences per clip (default: 3-6 at random)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"data directory (default ${datapaths.ENV_VAR} or ~/.cache/rtmusic/data)")
    args = parser.parse_args(argv)
    if args.clips_per_voice < 1 or (args.sentences is not None and args.sentences < 1):
        parser.error("--clips-per-voice and --sentences must be at least 1")
    try:
        voices = resolve_voices([k.strip() for k in args.voices.split(",") if k.strip()])
        summary = build(datapaths.data_dir(args.out), voices, args.clips_per_voice, n_sentences=args.sentences,
                        log=lambda text: print(text, file=sys.stderr, flush=True))
    except (KeyError, FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"render_unseen_speech: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    print(f"{summary['split']}: {summary['clips']} clips, {summary['voices']} voices, {summary['seconds']:.0f} s of "
          f"speech ({summary['build_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
