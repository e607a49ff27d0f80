"""Denoising real recordings: real voices and a real instrument under the val noises, not renders.

Every other bench scores renders: espeak-ng speech and FluidSynth music, whose top bands are empty or nearly so
(espeak-ng stops near 10 kHz). This one takes real recordings. By default these are the ones Debian ships:
alsa-utils' voice samples (/usr/share/sounds/alsa: a man saying "front left" ..., 48 kHz, with a real voice's
sibilants above 11 kHz) and music21's test recording (audioSearch/test_audio.wav: a melody on a real instrument,
44.1 kHz, resampled with soxr). Give your own clean recordings with --voice / --instrument.

Each recording is mixed with one crop of every noise type of the val noise bank (held-out seeds) at every SNR,
after a 0.5 s noise-only lead that is not scored; instrument recordings are cut into --seconds pieces (silent
ones skipped). The voices are also scored low-passed at 11 kHz, as espeak-ng's renders are: the gap between the
two rows is what a model does with a real voice's top band. Scored by SI-SDR improvement, fresh state per clip;
every model after the first is also paired clip by clip against the first (mean +- standard error).

Writes `results.json`, `summary.md` and `real_audio.png` to --out.

    python -m bench.real_audio                                          # the shipped default model
    python -m bench.real_audio --model default runs/best.rtm            # a candidate, paired against the default
    python -m bench.real_audio --voice me.wav --instrument cello.flac --competitors rnnoise
    python -m bench.real_audio --noise-lowpass 8000                      # noise as a 16 kHz noise library has it
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bench.common import add_run_arguments, all_systems, competitor_names, save_figure, script_parser, write_report
from train import datapaths

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "real_audio"
ALSA_VOICES = Path("/usr/share/sounds/alsa")
SAMPLE_RATE = datapaths.SAMPLE_RATE
LEAD_SECONDS = 0.5
VOICE_CUTOFF_HZ = 11_000.0  # espeak-ng renders at 22.05 kHz
KINDS = ("voice", "voice low-passed at 11 kHz", "instrument")


def default_voices() -> list[Path]:
    """alsa-utils' voice samples (its Noise.wav is a test noise, not a voice)."""
    return sorted(p for p in ALSA_VOICES.glob("*.wav") if p.name != "Noise.wav")


def default_instruments() -> list[Path]:
    """music21's test recording, if music21 is installed."""
    try:
        import music21
    except ImportError:
        return []
    path = Path(music21.__file__).parent / "audioSearch" / "test_audio.wav"
    return [path] if path.exists() else []


def load_recording(path: Path) -> np.ndarray:
    """A recording as mono float32 at 48 kHz (channels averaged, resampled with soxr)."""
    import soundfile as sf
    import soxr

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="VHQ").astype(np.float32)
    return audio


def low_pass(x: np.ndarray, cutoff: float = VOICE_CUTOFF_HZ) -> np.ndarray:
    """As a resampler leaves it (`train.mixer.band_limit`: zero-phase, order-8 Butterworth)."""
    from train.mixer import band_limit

    return band_limit(x, cutoff)


def pieces(audio: np.ndarray, seconds: float, silent_db: float = -50.0) -> list[np.ndarray]:
    """`audio` cut into whole `seconds` pieces, dropping those quieter than `silent_db` under the loudest."""
    n = int(seconds * SAMPLE_RATE)
    cuts = [audio[i:i + n] for i in range(0, len(audio) - n + 1, n)] or [audio]
    levels = np.array([np.sqrt(np.mean(c.astype(np.float64) ** 2)) for c in cuts])
    return [c for c, level in zip(cuts, levels) if level > levels.max() * 10 ** (silent_db / 20)]


def make_set(data_dir: Path | None, voices: list[Path], instruments: list[Path], snrs_db=(0.0, 5.0, 10.0),
             seconds: float = 4.0, seed: int = 11, noise_cutoff_hz: float | None = None) -> dict:
    """Mixtures of every recording (and every voice low-passed) with every val noise type at every SNR.

    `noise_cutoff_hz` low-passes the noise first, as a microphone or a 16 / 44.1 kHz noise library has it (the
    synthesised val noise fills the band to 24 kHz; real noise seldom does).

    The SNR counts the recording's span (after the lead); the mixture's peak is set to -6 dBFS. Rows: noisy and clean
    [T] arrays (lengths differ), kind, recording name, noise type and SNR.
    """
    from train.mixer import ClipStore

    root = datapaths.data_dir(data_dir)
    noise_store = ClipStore(root, "val", "noise")
    noise_types = [c["noise_type"] for c in noise_store.index["clips"]]
    cleans = []
    for path in voices:
        voice = load_recording(path)
        cleans += [("voice", path.stem, voice), ("voice low-passed at 11 kHz", path.stem, low_pass(voice))]
    for path in instruments:
        cleans += [("instrument", f"{path.stem}#{i}", piece)
                   for i, piece in enumerate(pieces(load_recording(path), seconds))]
    rng = np.random.default_rng(seed)
    lead = int(LEAD_SECONDS * SAMPLE_RATE)
    rows = {"noisy": [], "clean": [], "kind": [], "recording": [], "noise_type": [], "snr_db": []}
    for noise_type in sorted(set(noise_types)):
        bank = [i for i, t in enumerate(noise_types) if t == noise_type]
        for j, (kind, name, audio) in enumerate(cleans):
            clean = np.concatenate([np.zeros(lead, np.float32), audio])
            noise, _ = noise_store.crop(rng, bank[j % len(bank)], len(clean), loop=True)
            if noise_cutoff_hz:
                noise = low_pass(noise, noise_cutoff_hz)
            level = np.sqrt(np.mean(audio.astype(np.float64) ** 2)) / (np.sqrt(np.mean(noise[lead:] ** 2)) + 1e-12)
            for snr in snrs_db:
                noisy = clean + noise * np.float32(level * 10 ** (-snr / 20))
                gain = 10 ** (-6 / 20) / max(np.max(np.abs(noisy)), np.max(np.abs(clean)), 1e-9)
                rows["noisy"].append((noisy * gain).astype(np.float32))
                rows["clean"].append((clean * gain).astype(np.float32))
                for key, value in (("kind", kind), ("recording", name), ("noise_type", noise_type),
                                   ("snr_db", float(snr))):
                    rows[key].append(value)
    return rows


def score(data: dict, systems: list, progress: bool = True) -> dict:
    """{system: {"sisdri": [per clip], "info": ...}}, clips in the order of `data`."""
    from rtmusic.bench.quality import _progress, sisdr_improvement

    lead = int(LEAD_SECONDS * SAMPLE_RATE)
    table: dict = {}
    with _progress(progress) as bar:
        for system in systems:
            task = bar.add_task(system.name, total=len(data["noisy"]), info="")
            if system.warmup is not None:
                system.warmup(data["noisy"][0])
            values = []
            for noisy, clean in zip(data["noisy"], data["clean"]):
                out = np.asarray(system.process(noisy), np.float32)
                values.append(sisdr_improvement(out[lead:], clean[lead:], noisy[lead:]))
                bar.advance(task)
            table[system.name] = {"sisdri": values, "info": system.info}
    return table


def cells(results: dict) -> dict:
    """{(kind, snr): {system: (mean, paired difference against the first system, its standard error)}}."""
    clips = results["clips"]
    names = list(results["systems"])
    first = np.asarray(results["systems"][names[0]]["sisdri"])
    table: dict = {}
    for kind in KINDS:
        for snr in results["data"]["snrs_db"] + ["all"]:
            sel = np.array([c["kind"] == kind and (snr == "all" or c["snr_db"] == snr) for c in clips])
            if not sel.any():
                continue
            row = {}
            for name in names:
                values = np.asarray(results["systems"][name]["sisdri"])[sel]
                diff = values - first[sel]
                row[name] = (float(values.mean()), float(diff.mean()),
                             float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0)
            table[(kind, snr)] = row
    return table


def format_summary(results: dict) -> str:
    names = list(results["systems"])
    data = results["data"]
    limited = f"; the noise low-passed at {data['noise_cutoff_hz'] / 1000:g} kHz" if data.get("noise_cutoff_hz") else ""
    lines = [f"# SI-SDR improvement on real recordings (dB; {data['noise_types']} noise types x each recording{limited})",
             "",
             f"Command: `{results['command']}`", "",
             f"Voices: {', '.join(data['voices']) or 'none'}. Instruments: {', '.join(data['instruments']) or 'none'}.",
             "", "| recordings | SNR | clips | " + " | ".join(names) + " |", "|---" * (len(names) + 3) + "|"]
    counts = {}
    for c in results["clips"]:
        counts[(c["kind"], c["snr_db"])] = counts.get((c["kind"], c["snr_db"]), 0) + 1
        counts[(c["kind"], "all")] = counts.get((c["kind"], "all"), 0) + 1
    for (kind, snr), row in cells(results).items():
        shown = []
        for i, name in enumerate(names):
            mean, diff, err = row[name]
            shown.append(f"{mean:+.2f}" + (f" ({diff:+.2f} +- {err:.2f})" if i else ""))
        label = "**all**" if snr == "all" else f"{snr:g} dB"
        lines.append(f"| {kind} | {label} | {counts[(kind, snr)]} | " + " | ".join(shown) + " |")
    if len(names) > 1:
        lines += ["", f"In brackets: the paired difference against {names[0]}, clip by clip, +- its standard error."]
    return "\n".join(lines) + "\n"


def plot(results: dict, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = {key: row for key, row in cells(results).items() if key[1] != "all"}
    names = list(results["systems"])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(table) + 2), 4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ax.bar(np.arange(len(table)) + i * width, [row[name][0] for row in table.values()], width, label=name)
    ax.set_xticks(np.arange(len(table)) + 0.4 - width / 2,
                  [f"{kind}\n{snr:g} dB" for kind, snr in table], fontsize=7)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_ylabel("SI-SDR improvement (dB)")
    ax.set_title("Real recordings under the val noises")
    ax.legend(fontsize=7)
    return save_figure(fig, out_dir / "real_audio.png")


def main(argv: list[str] | None = None) -> int:
    parser = script_parser("bench.real_audio", __doc__)
    add_run_arguments(parser, DEFAULT_OUT)
    parser.add_argument("--voice", nargs="*", type=Path, default=None, metavar="FILE",
                        help=f"clean voice recordings (default: alsa-utils' samples in {ALSA_VOICES})")
    parser.add_argument("--instrument", nargs="*", type=Path, default=None, metavar="FILE",
                        help="clean instrument recordings (default: music21's test recording)")
    parser.add_argument("--seconds", type=float, default=4.0, help="instrument pieces' length (default: 4)")
    parser.add_argument("--snr", type=float, nargs="+", default=[0.0, 5.0, 10.0], metavar="DB",
                        help="input SNRs in dB (default: 0 5 10)")
    parser.add_argument("--noise-lowpass", type=float, default=None, metavar="HZ",
                        help="low-pass the noise at HZ before mixing, as real microphones and noise libraries have "
                             "it (e.g. 8000 for a 16 kHz library; default: the val noise as synthesised, to 24 kHz)")
    args = parser.parse_args(argv)
    if args.seconds < 0.5:
        parser.error("--seconds must be at least 0.5")
    if args.noise_lowpass is not None and not 1000 <= args.noise_lowpass < SAMPLE_RATE / 2:
        parser.error(f"--noise-lowpass must be from 1000 to below {SAMPLE_RATE // 2} Hz")
    names = competitor_names(parser, args.competitors)
    voices = default_voices() if args.voice is None else args.voice
    instruments = default_instruments() if args.instrument is None else args.instrument
    if not voices and not instruments:
        print("real_audio: no recordings: install alsa-utils (`sudo apt-get install alsa-utils`) for its voice "
              "samples, or give your own with --voice / --instrument", file=sys.stderr)
        return 1
    missing = [str(p) for p in [*voices, *instruments] if not Path(p).is_file()]
    if missing:
        print(f"real_audio: no such file: {', '.join(missing)}", file=sys.stderr)
        return 1
    from rtmusic.bench.quality import machine_info

    started = time.perf_counter()
    try:
        data = make_set(args.data_dir, voices, instruments, tuple(args.snr), args.seconds,
                        noise_cutoff_hz=args.noise_lowpass)
    except FileNotFoundError as exc:
        print(f"real_audio: no validation noise: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"real_audio: {exc}", file=sys.stderr)
        return 1
    systems = all_systems("real_audio", args.model, names)
    if systems is None:
        return 2
    results = {
        "command": " ".join(["python -m bench.real_audio", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine_info(),
        "data": {"voices": [str(p) for p in voices], "instruments": [str(p) for p in instruments],
                 "snrs_db": list(args.snr), "seconds": args.seconds, "noise_cutoff_hz": args.noise_lowpass,
                 "noise_types": len(set(data["noise_type"]))},
        "clips": [{"kind": k, "recording": r, "noise_type": t, "snr_db": s}
                  for k, r, t, s in zip(data["kind"], data["recording"], data["noise_type"], data["snr_db"])],
        "systems": score(data, systems, progress=not args.no_progress),
    }
    results["run_seconds"] = time.perf_counter() - started
    write_report(args.out, results, format_summary(results), plot, "real recordings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
