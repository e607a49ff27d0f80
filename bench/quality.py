"""Denoising quality on the validation set, side by side with what users would pick instead.

Every system — rtmusic models through `Processor.process`, the competitors of `rtmusic.bench.competitors`
(RNNoise, WebRTC NS, noisereduce, DTLN) and the unprocessed input as a reference row — processes every
clip of the fixed validation set (`train.mixer.make_validation_set`: music, speech and music+speech at
-5..20 dB SNR and clean), one clip at a time from a fresh state. Scores, each ignoring the first 0.1 s of
every clip (state warm-up) for every system alike:

- **SI-SDRi**: SI-SDR(output, clean) - SI-SDR(noisy, clean), per kind and per input SNR;
- **PESQ-WB** and **STOI** on speech (16 kHz, resampled with soxr; needs `pesq`, `pystoi`);
- **music preservation**: SI-SDRi on music at 15 dB SNR (must not be negative), and on clean-only music
  the SI-SDR of the output against its input (how much the system damages clean music);
- **RTF**: processing wall time / audio duration (one stream, one clip at a time).

Writes `results.json` (every figure, per clip too, machine, model checksums), `summary.md` (tables) and
PNG plots to --out.

    python -m bench.quality                                       # default model, every competitor
    python -m bench.quality --model lstm-random --clips 42        # 2 clips per kind and SNR
    python -m bench.quality --model runs/best.rtm default --competitors rnnoise,dtln
    python -m bench.quality --competitors none --no-perceptual --out /tmp/q
    python -m bench.quality --music-source unseen-soundfonts --competitors none  # music from unseen soundfonts
    python -m bench.quality --music-source families-unseen-soundfonts             # every family, unseen sound
    python -m bench.quality --speech-source unseen-tts --competitors none         # speech from other synthesisers
    python -m bench.quality --via-rate 44100 --competitors none   # the clips as a 44.1 kHz source has them
    python -m bench.quality --noise-via-rate 16000 --competitors none  # noise with nothing above 8 kHz
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import script_parser
from rtmusic.bench import competitors as comp
from rtmusic.bench.quality import format_summary, load_data, run, write_outputs
from train.datapaths import MUSIC_SOURCE_NOTES, MUSIC_SOURCES, SPEECH_SOURCE_NOTES, SPEECH_SOURCES, music_source_out

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "quality"


def load_music_source(data_dir: Path | None, clips: int | None, music_source: str, speech_source: str = "val") -> dict:
    """The validation set with its music from ``music_source`` (a key of train.datapaths.MUSIC_SOURCES) and its
    speech from ``speech_source`` (a key of SPEECH_SOURCES).

    Same recipe, seed, kinds and SNRs as the default set; the rest still comes from the val split.
    Raises FileNotFoundError naming the command that renders a missing split.
    """
    from train import datapaths
    from train.mixer import make_validation_set

    root = datapaths.data_dir(data_dir)
    music_split, speech_split = datapaths.MUSIC_SOURCES[music_source], datapaths.SPEECH_SOURCES[speech_source]
    if music_split is None and speech_split is None:
        return load_data(data_dir, clips)
    val = make_validation_set(root, music_split=music_split, speech_split=speech_split)
    n = val["noisy"].shape[0] if clips is None else min(clips, val["noisy"].shape[0])
    data = {"noisy": val["noisy"][:n], "clean": val["clean"][:n], "kind": val["kind"][:n], "snr_db": val["snr_db"][:n],
            "source": str(datapaths.val_set_path(root, music_split, speech_split)), "music_source": music_source,
            "speech_source": speech_source}
    if music_split is not None:
        index = json.loads(datapaths.index_path(root, music_split, "music").read_text())
        data["soundfonts"] = sorted({c.get("soundfont", "fluidr3") for c in index["clips"]})
    if speech_split is not None:
        index = json.loads(datapaths.index_path(root, speech_split, "speech").read_text())
        data["voices"] = sorted({c.get("source", c["name"]) for c in index["clips"]})
    return data


def there_and_back(clips, rate: int):
    """[n, T] clips resampled from 48 kHz to `rate` and back (soxr VHQ), same shape: nothing above rate / 2 is left."""
    import numpy as np
    import soxr

    out = np.zeros_like(clips)
    for i, clip in enumerate(clips):
        y = soxr.resample(soxr.resample(clip, 48000, rate, quality="VHQ"), rate, 48000, quality="VHQ")
        out[i, :min(y.size, out.shape[1])] = y[:out.shape[1]]
    return out


def via_rate(data: dict, rate: int) -> dict:
    """The set as a `rate` source would have it: noisy and clean resampled to `rate` and back (soxr VHQ), so
    nothing above rate / 2 is left in either (44.1 kHz files, 32 kHz streams, a codec's band limit)."""
    import numpy as np

    return {**data, "noisy": there_and_back(np.asarray(data["noisy"], np.float32), rate),
            "clean": there_and_back(np.asarray(data["clean"], np.float32), rate), "via_rate": rate}


def noise_via_rate(data: dict, rate: int) -> dict:
    """The set with its noise as a `rate` recording has it: the noise part (noisy - clean) resampled to `rate` and
    back, then scaled to its old power so each clip keeps its SNR, and mixed with the untouched clean part.
    Real noise has little above 16-20 kHz (microphones, air, noise libraries at 16 or 44.1 kHz), while the
    synthesised val noise fills the band to 24 kHz: a net that reads noise from the top band is caught out."""
    import numpy as np

    clean = np.asarray(data["clean"], np.float32)
    noise = np.asarray(data["noisy"], np.float32) - clean
    limited = there_and_back(noise, rate)
    power = np.mean(noise.astype(np.float64) ** 2, axis=1, keepdims=True)
    limited_power = np.mean(limited.astype(np.float64) ** 2, axis=1, keepdims=True)
    scale = np.sqrt(np.divide(power, limited_power, out=np.ones_like(power), where=limited_power > 0))
    return {**data, "noisy": (clean + limited * scale).astype(np.float32), "noise_via_rate": rate}


def music_note(data: dict) -> str:
    """Markdown lines saying where the music and speech came from (empty for the default val set)."""
    lines = []
    if data.get("via_rate"):
        lines.append(f"**Via {data['via_rate']} Hz** — noisy and clean clips resampled to {data['via_rate']} Hz and back "
                     f"(soxr VHQ): nothing above {data['via_rate'] / 2000:g} kHz, as in a {data['via_rate']} Hz source.")
    if data.get("noise_via_rate"):
        rate = data["noise_via_rate"]
        lines.append(f"**Noise via {rate} Hz** — the noise part alone resampled to {rate} Hz and back (soxr VHQ) and "
                     f"scaled to its old power: nothing above {rate / 2000:g} kHz in the noise, as in a real "
                     f"recording or a {rate} Hz noise library; the clean part untouched.")
    if data.get("music_source", "val") != "val":
        lines.append(f"**Music source: {data['music_source']}** — {MUSIC_SOURCE_NOTES[data['music_source']]} "
                     f"({', '.join(data.get('soundfonts', []))}).")
    if data.get("speech_source", "val") != "val":
        voices = data.get("voices", [])
        lines.append(f"**Speech source: {data['speech_source']}** — {SPEECH_SOURCE_NOTES[data['speech_source']]} "
                     f"({len(voices)} voices: {', '.join(voices)}).")
    if lines:
        lines.append("The rest as in the default set.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = script_parser("bench.quality", __doc__)
    parser.add_argument("--model", nargs="+", default=["default"], metavar="NAME",
                        help="rtmusic models: default, lookahead, lstm-random, bypass or a .rtm path (default: default)")
    parser.add_argument("--clips", type=int, default=None, help="use the first N validation clips (default: all)")
    parser.add_argument("--competitors", default=",".join(comp.COMPETITORS),
                        help="comma-separated, or 'none' (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default: {DEFAULT_OUT}, or quality_<source> beside it for another "
                             "--music-source or --speech-source)")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--music-source", choices=list(MUSIC_SOURCES), default="val",
                        help="music of the set: the val split (default), the val pieces rendered with unseen "
                             "soundfonts or the same excerpts in FluidR3 (`python -m train.render_unseen`), "
                             "label-balanced held-out music in FluidR3 or an unseen soundfont "
                             "(`python -m train.render_families`)")
    parser.add_argument("--speech-source", choices=list(SPEECH_SOURCES), default="val",
                        help="speech of the set: the val split's held-out espeak-ng voices (default), or speech from "
                             "synthesisers never used in training (`python -m train.render_unseen_speech`)")
    parser.add_argument("--via-rate", type=int, default=None, metavar="HZ",
                        help="score the clips as a HZ source has them: noisy and clean resampled to HZ and back "
                             "(e.g. 44100: nothing above 22 kHz)")
    parser.add_argument("--noise-via-rate", type=int, default=None, metavar="HZ",
                        help="score the clips with noise as a HZ recording has it: the noise alone resampled to HZ "
                             "and back, at the same SNR (e.g. 16000: noise libraries such as MUSAN)")
    parser.add_argument("--no-perceptual", action="store_true", help="skip PESQ-WB and STOI")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    names = [] if args.competitors.strip().lower() in ("", "none") else [c.strip() for c in args.competitors.split(",") if c.strip()]
    unknown = [n for n in names if n not in comp.COMPETITORS]
    if unknown:
        parser.error(f"unknown competitor(s) {', '.join(unknown)}; known: {', '.join(comp.COMPETITORS)}")
    if args.clips is not None and args.clips < 1:
        parser.error("--clips must be at least 1")
    for flag, rate in (("--via-rate", args.via_rate), ("--noise-via-rate", args.noise_via_rate)):
        if rate is not None and not 8000 <= rate < 48000:
            parser.error(f"{flag} must be from 8000 to below 48000 Hz")
    out = args.out if args.out is not None else music_source_out(DEFAULT_OUT, args.music_source, args.speech_source)
    if args.out is None and args.via_rate:
        out = out.with_name(f"{out.name}_via{args.via_rate}")
    if args.out is None and args.noise_via_rate:
        out = out.with_name(f"{out.name}_noise_via{args.noise_via_rate}")
    try:
        data = load_music_source(args.data_dir, args.clips, args.music_source, args.speech_source)
    except FileNotFoundError as exc:
        print(f"quality: no validation data: {exc}", file=sys.stderr)
        return 1
    if args.noise_via_rate:
        data = noise_via_rate(data, args.noise_via_rate)
    if args.via_rate:
        data = via_rate(data, args.via_rate)
    from rtmusic.errors import RtmusicError

    try:
        results = run(data, args.model, names, perceptual=not args.no_perceptual, progress=not args.no_progress,
                      command=" ".join(["python -m bench.quality", *(sys.argv[1:] if argv is None else argv)]))
    except RtmusicError as exc:
        print(f"quality: {exc}", file=sys.stderr)
        return 2
    note = music_note(data)
    if note:
        sources = ("music_source", "soundfonts", "speech_source", "voices", "via_rate", "noise_via_rate")
        results["data"].update({k: data[k] for k in sources if k in data})
    paths = write_outputs(results, out)
    summary = format_summary(results)
    if note:  # under the title, so the file cannot be mistaken for the same-soundfont report
        title, rest = summary.split("\n", 1)
        summary = f"{title}\n\n{note}\n{rest}"
        (out / "summary.md").write_text(summary)
    print(summary)
    print(f"wrote {', '.join(str(p) for p in paths)} ({results['run_seconds']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
