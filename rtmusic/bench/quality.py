"""Denoising quality on the validation set, side by side with what users would pick instead.

Every system — rtmusic models through `Processor.process`, the competitors of
`rtmusic.bench.competitors` (RNNoise, WebRTC NS, noisereduce, DTLN) and the unprocessed input as a
reference row — processes every clip of the fixed validation set (`train.mixer.make_validation_set`:
music, speech and music+speech at -5..20 dB SNR and clean), one clip at a time from a fresh state.
Scores, each ignoring the first 0.1 s of every clip (state warm-up) for every system alike:

- **SI-SDRi**: SI-SDR(output, clean) - SI-SDR(noisy, clean), per kind and per input SNR;
- **PESQ-WB** and **STOI** on speech (16 kHz, resampled with soxr; needs `pesq`, `pystoi`);
- **music preservation**: SI-SDRi on music at 15 dB SNR (must not be negative), and on clean-only music
  the SI-SDR of the output against its input (how much the system damages clean music);
- **RTF**: processing wall time / audio duration (one stream, one clip at a time).

Library code shared by `python -m bench.quality` (the full report) and `rtmusic bench --compare` (a few
clips, next to the compute and latency figures).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from rtmusic.bench import competitors as comp
from rtmusic.metrics import si_sdr

SKIP_SECONDS = 0.1  # state warm-up, ignored in every score of every system
SNRS_DB = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0)
PRESERVATION_SNR_DB = 15.0
KIND_NAMES = {0: "music", 1: "speech", 2: "mixed", 3: "noise"}  # train.mixer's kind codes
SCORED_KINDS = ("music", "speech", "mixed")
PESQ_RATE = 16_000
INPUT = "input (unprocessed)"
VERSIONED_PACKAGES = ("pyrnnoise", "webrtc-noise-gain", "noisereduce", "onnxruntime", "pesq", "pystoi", "soxr")


# ---- metrics (per clip, NumPy) -----------------------------------------------------------------------
def skip_samples(samplerate: int) -> int:
    """Samples ignored at the start of every clip."""
    return int(round(SKIP_SECONDS * samplerate))


def sisdr_improvement(out: np.ndarray, clean: np.ndarray, noisy: np.ndarray) -> float:
    """SI-SDR(out, clean) - SI-SDR(noisy, clean) in dB; signals [T], already trimmed."""
    out, clean, noisy = (np.asarray(a, np.float64) for a in (out, clean, noisy))
    return float(si_sdr(out, clean) - si_sdr(noisy, clean))


def clean_sisdr(out: np.ndarray, clean_input: np.ndarray) -> float:
    """SI-SDR of the output against a clean input [T]: how much the system changes a clean signal."""
    return float(si_sdr(np.asarray(out, np.float64), np.asarray(clean_input, np.float64)))


def perceptual_missing() -> dict[str, str]:
    """Which perceptual metrics cannot be computed here, and why."""
    need = {"pesq_wb": "pesq", "stoi": "pystoi"}
    return {metric: f"{module} not installed (pip install {module})"
            for metric, module in need.items() if importlib.util.find_spec(module) is None}


def to_16k(x: np.ndarray, samplerate: int) -> np.ndarray:
    if samplerate == PESQ_RATE:
        return np.asarray(x, np.float32)
    import soxr

    return soxr.resample(np.asarray(x, np.float32), samplerate, PESQ_RATE).astype(np.float32)


def pesq_wb(clean_16k: np.ndarray, est_16k: np.ndarray) -> float:
    """Wide-band PESQ (MOS-LQO) of est against clean, both [T] at 16 kHz; NaN if unavailable or it fails."""
    try:
        from pesq import PesqError, pesq
    except ImportError:
        return math.nan
    score = pesq(PESQ_RATE, np.asarray(clean_16k, np.float64), np.asarray(est_16k, np.float64), "wb",
                 on_error=PesqError.RETURN_VALUES)
    return float(score) if score > 0 else math.nan  # negative codes: no utterance found, ...


def stoi(clean_16k: np.ndarray, est_16k: np.ndarray) -> float:
    """STOI (0..1) of est against clean, both [T] at 16 kHz; NaN if pystoi is missing."""
    try:
        from pystoi import stoi as _stoi
    except ImportError:
        return math.nan
    return float(_stoi(np.asarray(clean_16k, np.float64), np.asarray(est_16k, np.float64), PESQ_RATE, extended=False))


def clip_metrics(out: np.ndarray, clean: np.ndarray, noisy: np.ndarray, kind: int, snr_db: float, samplerate: int,
                 *, perceptual: bool = True, clean_16k: np.ndarray | None = None) -> dict:
    """Every score of one clip (full-length signals [T]; the first 0.1 s is dropped here).

    Noisy clips: ``sisdri`` (and ``pesq_wb``, ``stoi`` for speech if ``perceptual``); clean-only clips
    (snr +inf): ``clean_sisdr``; noise-only clips (snr -inf): ``attenuation_db`` (input / output power).
    ``clean_16k``: the trimmed clean reference at 16 kHz, if already computed.
    """
    skip = skip_samples(samplerate)
    out, clean, noisy = (np.asarray(a, np.float32)[skip:] for a in (out, clean, noisy))
    record: dict = {"kind": KIND_NAMES.get(int(kind), str(kind))}
    if np.isfinite(snr_db):
        record["snr_db"] = float(snr_db)
        record["sisdr_in"] = float(si_sdr(noisy.astype(np.float64), clean.astype(np.float64)))
        record["sisdr_out"] = float(si_sdr(out.astype(np.float64), clean.astype(np.float64)))
        record["sisdri"] = record["sisdr_out"] - record["sisdr_in"]
        if perceptual and record["kind"] == "speech":
            ref = clean_16k if clean_16k is not None else to_16k(clean, samplerate)
            est = to_16k(out, samplerate)
            record["pesq_wb"] = pesq_wb(ref, est)
            record["stoi"] = stoi(ref, est)
    elif snr_db > 0:
        record["snr_db"] = "clean"
        record["clean_sisdr"] = clean_sisdr(out, noisy)
    else:
        record["snr_db"] = "noise-only"
        p_in, p_out = float(np.mean(noisy.astype(np.float64) ** 2)), float(np.mean(out.astype(np.float64) ** 2))
        record["attenuation_db"] = 10.0 * math.log10((p_in + 1e-20) / (p_out + 1e-20))
    return record


def _mean(values: Iterable[float]) -> float | None:
    v = np.array([x for x in values if x is not None and np.isfinite(x)], np.float64)
    return float(v.mean()) if v.size else None


def aggregate(clips: list[dict]) -> tuple[dict, dict]:
    """(summary, per_snr) of one system's per-clip records (see :func:`clip_metrics`)."""
    noisy = [c for c in clips if isinstance(c.get("snr_db"), float)]
    summary: dict = {"sisdri": {}, "clean_sisdr": {}, "n_clips": len(clips)}
    for kind in SCORED_KINDS:
        sel = [c["sisdri"] for c in noisy if c["kind"] == kind]
        if sel:
            summary["sisdri"][kind] = _mean(sel)
        sel = [c["clean_sisdr"] for c in clips if c["kind"] == kind and c.get("snr_db") == "clean"]
        if sel:
            summary["clean_sisdr"][kind] = _mean(sel)
    for metric in ("pesq_wb", "stoi"):
        summary[metric] = _mean(c[metric] for c in noisy if c["kind"] == "speech" and metric in c)
    summary["music_preservation_15db"] = _mean(
        c["sisdri"] for c in noisy if c["kind"] == "music" and abs(c["snr_db"] - PRESERVATION_SNR_DB) < 0.5)
    attenuation = [c["attenuation_db"] for c in clips if "attenuation_db" in c]
    if attenuation:
        summary["noise_only_attenuation_db"] = _mean(attenuation)
    per_snr: dict = {}
    for kind in SCORED_KINDS:
        rows = {}
        for snr in sorted({c["snr_db"] for c in noisy if c["kind"] == kind}):
            sel = [c for c in noisy if c["kind"] == kind and c["snr_db"] == snr]
            row = {"n": len(sel), "sisdri": _mean(c["sisdri"] for c in sel),
                   "sisdr_out": _mean(c["sisdr_out"] for c in sel)}
            for metric in ("pesq_wb", "stoi"):
                if any(metric in c for c in sel):
                    row[metric] = _mean(c.get(metric) for c in sel)
            rows[f"{snr:g}"] = row
        if rows:
            per_snr[kind] = rows
    return summary, per_snr


def paired_differences(results: dict) -> dict:
    """Each rtmusic system after the first against the first, clip by clip: {system: {row: figures}}.

    Rows are the kinds' SI-SDRi and music at 15 dB; figures are the mean per-clip difference (dB, above 0: the
    system beats the first), its standard error, the clips compared and the share the system wins. Every system
    scores the same clips, so the clip-to-clip spread (several dB between noises) cancels; a difference within
    about two standard errors of zero is what another draw of clips could reverse.
    """
    models = [name for name, s in results["systems"].items() if s["kind"] == "rtmusic"]
    if len(models) < 2:
        return {}

    def scores(name):
        return {c["clip"]: c for c in results["systems"][name]["clips"] if "sisdri" in c}

    rows = [(kind, lambda c, k=kind: c["kind"] == k) for kind in SCORED_KINDS]
    rows.append(("music at 15 dB", lambda c: c["kind"] == "music" and abs(c["snr_db"] - PRESERVATION_SNR_DB) < 0.5))
    base = scores(models[0])
    paired: dict = {}
    for name in models[1:]:
        other, table = scores(name), {}
        for row, keep in rows:
            diff = np.array([other[i]["sisdri"] - base[i]["sisdri"] for i in base if i in other and keep(base[i])])
            if diff.size:
                table[row] = {"mean_db": float(diff.mean()), "n": int(diff.size), "wins": float(np.mean(diff > 0)),
                              "se_db": float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else None}
        paired[name] = table
    return paired


# ---- systems -----------------------------------------------------------------------------------------
@dataclass
class System:
    """Something that maps a noisy clip [T] to an output [T] aligned with it."""

    name: str
    kind: str  # "reference" | "rtmusic" | "competitor"
    process: Callable[[np.ndarray], np.ndarray]
    info: dict = field(default_factory=dict)
    warmup: Callable[[np.ndarray], None] | None = None  # untimed first call (compilation)


def params_sha256(weights) -> str:
    """A checksum of a model's weights (names, shapes, dtypes and values), stable across file formats."""
    import jax

    digest = hashlib.sha256()
    leaves = jax.tree_util.tree_leaves_with_path(weights)
    for path, leaf in sorted(leaves, key=lambda item: jax.tree_util.keystr(item[0])):
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{jax.tree_util.keystr(path)}|{array.dtype}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rtmusic_system(name_or_path: str, samplerate: int) -> System:
    """An rtmusic model run through `Processor.process` (fresh state per clip, delay-compensated)."""
    import jax

    from rtmusic.errors import ParameterError
    from rtmusic.processor import Processor
    from rtmusic.registry import checkpoint_path

    processor = Processor.from_name(name_or_path)
    if processor.samplerate != samplerate:
        raise ParameterError(f"model {name_or_path!r} runs at {processor.samplerate} Hz; the data is at {samplerate} Hz")
    model = processor.model
    path = checkpoint_path(name_or_path)
    info = {
        "model": name_or_path, "model_name": model.name, "model_kind": model.kind, "samplerate": model.samplerate,
        "hop": model.hop, "window": model.window, "delay_samples": processor.delay_samples,
        "latency_samples": processor.latency_samples, "config": model.config,
        "parameters": int(sum(np.size(x) for x in jax.tree_util.tree_leaves(model.weights))),
        "params_sha256": params_sha256(model.weights),
        "file": str(path) if path is not None else None,
        "file_sha256": file_sha256(path) if path is not None and path.is_file() else None,
        "nonfinite_resets": 0,
    }

    def process(noisy: np.ndarray) -> np.ndarray:
        result = processor.process(noisy)
        info["nonfinite_resets"] += int(result.nonfinite_resets)
        return result.out

    def warmup(noisy: np.ndarray) -> None:
        processor.prepare()
        processor.process(noisy)  # compiles the scan for this clip length

    return System(f"rtmusic:{name_or_path}", "rtmusic", process, info, warmup)


def competitor_system(competitor: comp.Competitor | comp.Denoiser) -> System:
    """A competitor, loaded here unless already loaded (raises comp.CompetitorUnavailable when it cannot run)."""
    denoiser = competitor if isinstance(competitor, comp.Denoiser) else comp.load(competitor)
    competitor = denoiser.competitor
    info = {"description": competitor.description, "settings": competitor.settings,
            "delay_samples": denoiser.delay, "delay_ms": 1000.0 * denoiser.delay / comp.SAMPLERATE,
            "delay_peak": round(denoiser.delay_peak, 3), "modules": list(competitor.modules),
            "files": {str(f): file_sha256(Path(f)) for f in competitor.files}}
    return System(competitor.name, "competitor", denoiser, info, warmup=lambda x: denoiser(x[: comp.SAMPLERATE]))


def resolve_competitors(names: Iterable[str | comp.Competitor | comp.Denoiser]) -> list[comp.Competitor | comp.Denoiser]:
    """Competitor objects for names, loaded ones kept as they are (unknown names raise KeyError listing the known ones)."""
    out = []
    for item in names:
        if isinstance(item, (comp.Competitor, comp.Denoiser)):
            out.append(item)
        elif item in comp.COMPETITORS:
            out.append(comp.COMPETITORS[item])
        else:
            raise KeyError(f"no competitor named {item!r}; known: {', '.join(comp.COMPETITORS)}")
    return out


# ---- the run -----------------------------------------------------------------------------------------
def machine_info() -> dict:
    from importlib import metadata

    from rtmusic.bench.compute import machine_info as base

    info = base()
    for package in VERSIONED_PACKAGES:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = None
    return info


def load_data(data_dir: str | Path | None = None, clips: int | None = None) -> dict:
    """The validation set (noisy, clean [N, T] float32; kind, snr_db [N]), its first ``clips`` clips.

    The set cycles through its kind x SNR grid every 21 clips, so a multiple of 21 stays balanced.
    """
    checkout = Path(__file__).resolve().parents[2]  # the source checkout, for an editable install
    if importlib.util.find_spec("train") is None and (checkout / "train" / "mixer.py").is_file():
        sys.path.append(str(checkout))  # `rtmusic bench` runs from anywhere; the set is defined by train/
    try:
        from train.datapaths import audio_path, val_set_path
        from train.datapaths import data_dir as resolve
        from train.mixer import make_validation_set
    except ImportError as exc:
        raise FileNotFoundError(f"the validation set needs rtmusic's source checkout (its train package: {exc}); "
                                "install it editable from the checkout (pip install -e .), then build the data "
                                "with `python -m train.build_data`") from exc

    root = resolve(data_dir)
    if not val_set_path(root).is_file() and not audio_path(root, "val", "music").is_file():
        raise FileNotFoundError(f"no validation data in {root}: build it with `python -m train.build_data` "
                                "(from the source checkout; or point $RTMUSIC_DATA at an existing build)")
    val = make_validation_set(root)
    n = val["noisy"].shape[0] if clips is None else min(clips, val["noisy"].shape[0])
    return {"noisy": val["noisy"][:n], "clean": val["clean"][:n], "kind": val["kind"][:n],
            "snr_db": val["snr_db"][:n], "source": str(val_set_path(root))}


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), disable=not enabled)


def run(data: dict, models: Iterable[str] = ("default",), competitors: Iterable[str | comp.Competitor] = tuple(comp.COMPETITORS),
        *, samplerate: int = 48_000, perceptual: bool = True, progress: bool = True,
        log: Callable[[str], None] | None = None, command: str | None = None) -> dict:
    """Score every system on every clip of ``data``; returns the JSON-ready results.

    Args:
        data: noisy, clean float32 [N, T]; kind int [N] (0 music, 1 speech, 2 both, 3 noise); snr_db [N]
            (+inf clean-only, -inf noise-only); optional "source" (a description stored with the results).
        models: rtmusic model names or checkpoint paths (each becomes a system "rtmusic:<name>").
        competitors: names from `bench.competitors.COMPETITORS` or Competitor objects; one that cannot run
            here is skipped (reason in results["skipped"]), as is one that fails while running.
        perceptual: compute PESQ-WB and STOI on speech (skipped, with a note, if their packages are missing).
    """
    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    noisy_all, clean_all = np.asarray(data["noisy"], np.float32), np.asarray(data["clean"], np.float32)
    kinds, snrs = np.asarray(data["kind"]), np.asarray(data["snr_db"], np.float64)
    n_clips, length = noisy_all.shape
    audio_seconds = n_clips * length / samplerate
    started = time.perf_counter()
    results: dict = {
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info(),
        "data": {"source": data.get("source", "in-memory"), "clips": int(n_clips), "seconds_per_clip": length / samplerate,
                 "samplerate": samplerate, "skip_seconds": SKIP_SECONDS,
                 "clips_per_kind": {KIND_NAMES.get(int(k), str(k)): int((kinds == k).sum()) for k in np.unique(kinds)},
                 "clean_only_clips": int(np.isposinf(snrs).sum()), "noise_only_clips": int(np.isneginf(snrs).sum())},
        "metrics": {
            "sisdri": "SI-SDR(out, clean) - SI-SDR(noisy, clean), dB, noisy clips; first 0.1 s ignored",
            "pesq_wb": "wide-band PESQ (MOS-LQO), speech clips, 16 kHz (soxr)",
            "stoi": "STOI, speech clips, 16 kHz",
            "music_preservation_15db": "mean SI-SDRi of music clips at 15 dB SNR (negative = the music got worse)",
            "clean_sisdr": "SI-SDR(out, input) on clean-only clips, dB (higher = less damage)",
            "realtime_factor": "processing wall time / audio duration, one clip at a time",
        },
        "perceptual_missing": perceptual_missing() if perceptual else {"pesq_wb": "disabled", "stoi": "disabled"},
        "systems": {}, "skipped": {},
    }
    for metric, reason in results["perceptual_missing"].items():
        if perceptual:
            say(f"quality: {metric} skipped: {reason}")
    perceptual = perceptual and not results["perceptual_missing"]

    systems = [System(INPUT, "reference", lambda x: x)]
    for name in models:
        say(f"quality: loading rtmusic model {name!r} ...")
        systems.append(rtmusic_system(name, samplerate))
    for competitor in resolve_competitors(competitors):
        try:
            systems.append(competitor_system(competitor))
            say(f"quality: {competitor.name}: delay {systems[-1].info['delay_samples']} samples "
                f"({systems[-1].info['delay_ms']:.1f} ms), compensated")
        except comp.CompetitorUnavailable as exc:
            results["skipped"][competitor.name] = str(exc)
            say(f"quality: skipping {exc}")
        except Exception as exc:  # noqa: BLE001 — a broken competitor must not stop the others
            results["skipped"][competitor.name] = f"{competitor.name}: failed to start ({type(exc).__name__}: {exc})"
            say(f"quality: skipping {results['skipped'][competitor.name]}")

    references_16k: dict[int, np.ndarray] = {}
    skip = skip_samples(samplerate)
    with _progress(progress) as bar:
        for system in systems:
            task = bar.add_task(system.name, total=n_clips, info="")
            records, wall = [], 0.0
            try:
                if system.warmup is not None:
                    bar.update(task, info="warming up")
                    system.warmup(noisy_all[0])
                for i in range(n_clips):
                    tick = time.perf_counter()
                    out = np.asarray(system.process(noisy_all[i]), np.float32)
                    wall += time.perf_counter() - tick
                    if out.shape != noisy_all[i].shape:
                        raise ValueError(f"output shape {out.shape} != input shape {noisy_all[i].shape}")
                    speech = perceptual and KIND_NAMES.get(int(kinds[i])) == "speech" and np.isfinite(snrs[i])
                    if speech and i not in references_16k:
                        references_16k[i] = to_16k(clean_all[i][skip:], samplerate)
                    record = clip_metrics(out, clean_all[i], noisy_all[i], int(kinds[i]), float(snrs[i]), samplerate,
                                          perceptual=speech, clean_16k=references_16k.get(i))
                    records.append({"clip": i, **record})
                    bar.update(task, advance=1, info=f"RTF {wall / ((i + 1) * length / samplerate):.3f}")
            except Exception as exc:  # noqa: BLE001 — a competitor that breaks must not lose the others' results
                if system.kind != "competitor":
                    raise
                results["skipped"][system.name] = f"{system.name}: failed on clip {len(records)} ({type(exc).__name__}: {exc})"
                say(f"quality: skipping {results['skipped'][system.name]}")
                continue
            summary, per_snr = aggregate(records)
            results["systems"][system.name] = {
                "kind": system.kind, **system.info,
                "realtime_factor": None if system.kind == "reference" else wall / audio_seconds,
                "wall_seconds": wall, "summary": summary, "per_snr": per_snr, "clips": records,
            }
    results["paired"] = paired_differences(results)
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["run_seconds"] = time.perf_counter() - started
    return results


# ---- reporting ---------------------------------------------------------------------------------------
def _fmt(value, digits: int = 2, cap: float | None = None) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if cap is not None and value > cap:
        return f">{cap:g}"
    return f"{value:.{digits}f}"


def format_summary(results: dict) -> str:
    """The markdown report: main table (rows = systems) and per-SNR tables."""
    d, m = results["data"], results["machine"]
    lines = ["# rtmusic quality vs. alternatives", "",
             f"{d['clips']} clips x {d['seconds_per_clip']:g} s at {d['samplerate']} Hz from `{d['source']}` "
             f"({', '.join(f'{k} {v}' for k, v in d['clips_per_kind'].items())}; {d['clean_only_clips']} clean-only); "
             f"first {d['skip_seconds']:g} s of each clip ignored.  ",
             f"{m['cpu']}, {m['cores']} cores, load {m['load_average']} -> {m.get('load_average_after')}; "
             f"{results['created']}; run {results.get('run_seconds', 0):.0f} s.", ""]
    for name, s in results["systems"].items():
        if s["kind"] == "rtmusic":
            lines.append(f"Model `{s['model']}` ({s['model_name']}): {s['parameters']} parameters, "
                         f"weights sha256 `{s['params_sha256'][:16]}`"
                         + (f", file `{s['file']}`" if s.get("file") else "") + ".  ")
    lines += ["", "| system | SI-SDRi music | SI-SDRi speech | SI-SDRi mixed | PESQ-WB | STOI | "
              "music pres. @15 dB | clean-music SI-SDR | clean-speech SI-SDR | RTF | lag ms |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in results["systems"].items():
        su = s["summary"]
        lag = s.get("delay_samples")
        lag_ms = "–" if lag is None else f"{1000 * lag / d['samplerate']:g}"
        lines.append(
            f"| {name} | {_fmt(su['sisdri'].get('music'))} | {_fmt(su['sisdri'].get('speech'))} | "
            f"{_fmt(su['sisdri'].get('mixed'))} | {_fmt(su.get('pesq_wb'))} | {_fmt(su.get('stoi'), 3)} | "
            f"{_fmt(su.get('music_preservation_15db'))} | {_fmt(su['clean_sisdr'].get('music'), 1, cap=90)} | "
            f"{_fmt(su['clean_sisdr'].get('speech'), 1, cap=90)} | {_fmt(s['realtime_factor'], 3)} | {lag_ms} |")
    lines += ["", "SI-SDRi, music preservation and clean-music/-speech SI-SDR in dB. Music preservation = SI-SDRi on "
              "music at 15 dB SNR (below 0: the system made the music worse). Clean-music (-speech) SI-SDR = output "
              "vs. input on clean music (speech) (higher = less damage). RTF = processing time / audio time, one clip at a time on this "
              "(shared) machine. lag = the output delay compensated before scoring (rtmusic: its step delay; a "
              "live block adds one hop/frame)."]
    if results.get("perceptual_missing"):
        lines.append(f"PESQ/STOI not computed: {'; '.join(f'{k}: {v}' for k, v in results['perceptual_missing'].items())}.")
    for name, reason in results.get("skipped", {}).items():
        lines.append(f"Skipped {name}: {reason}")
    if results.get("paired"):
        first = next(name for name, s in results["systems"].items() if s["kind"] == "rtmusic")
        lines += ["", f"## Clip by clip against {first}", "",
                  "Mean per-clip SI-SDRi difference (dB, above 0: the row's system is better) +- its standard error "
                  "over the same clips, and the share of clips it wins. A difference inside two standard errors "
                  "is what another draw of clips could reverse.", "",
                  "| system | " + " | ".join(next(iter(results["paired"].values()))) + " |",
                  "|---|" + "---:|" * len(next(iter(results["paired"].values())))]
        for name, table in results["paired"].items():
            cells = [f"{t['mean_db']:+.2f} +- {_fmt(t['se_db'])} ({100 * t['wins']:.0f} % of {t['n']})"
                     for t in table.values()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for title, metric, digits in (("SI-SDRi (dB) by input SNR", "sisdri", 2), ("PESQ-WB on speech by input SNR", "pesq_wb", 2),
                                  ("STOI on speech by input SNR", "stoi", 3)):
        snrs = sorted({float(k) for s in results["systems"].values() for kind in s["per_snr"].values() for k in kind},
                      key=float)
        rows = []
        for name, s in results["systems"].items():
            for kind, table in s["per_snr"].items():
                if metric != "sisdri" and kind != "speech":
                    continue
                cells = [_fmt(table.get(f"{snr:g}", {}).get(metric), digits) for snr in snrs]
                if any(c != "–" for c in cells):
                    rows.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
        if rows:
            lines += ["", f"## {title}", "", "| system | kind | " + " | ".join(f"{s:g} dB" for s in snrs) + " |",
                      "|---|---|" + "---:|" * len(snrs), *rows]
    return "\n".join(lines) + "\n"


def plot(results: dict, out_dir: Path) -> list[Path]:
    """sisdri_vs_snr.png (per kind, one line per system) and music_preservation.png (bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = {n: s for n, s in results["systems"].items() if s["kind"] != "reference"}
    paths = []
    kinds = [k for k in SCORED_KINDS if any(k in s["per_snr"] for s in systems.values())]
    if kinds:
        fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 3.8), squeeze=False)
        for ax, kind in zip(axes[0], kinds):
            for name, s in systems.items():
                table = s["per_snr"].get(kind, {})
                pts = sorted((float(k), v["sisdri"]) for k, v in table.items() if v.get("sisdri") is not None)
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=name)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_title(f"{kind}"), ax.set_xlabel("input SNR (dB)"), ax.set_ylabel("SI-SDRi (dB)"), ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "sisdri_vs_snr.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)
    names = list(systems)
    if names:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
        for ax, key, title in ((ax1, "music_preservation_15db", "music preservation: SI-SDRi on music @15 dB"),
                               (ax2, None, "clean music: SI-SDR(out, in)")):
            values = [(systems[n]["summary"].get(key) if key else systems[n]["summary"]["clean_sisdr"].get("music"))
                      for n in names]
            values = [np.nan if v is None else v for v in values]
            colors = ["tab:red" if v < 0 else "tab:green" for v in values]
            bars = ax.bar(range(len(names)), values, color=colors)
            ax.bar_label(bars, labels=[_fmt(v, 1) for v in values], fontsize=7)
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_title(title, fontsize=9), ax.set_ylabel("dB"), ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        paths.append(out_dir / "music_preservation.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)
    return paths


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    return value


def write_outputs(results: dict, out_dir: Path) -> list[Path]:
    """results.json, summary.md and the plots in out_dir; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(_json_ready(results), indent=1) + "\n")
    (out_dir / "summary.md").write_text(format_summary(results))
    return [out_dir / "results.json", out_dir / "summary.md", *plot(results, out_dir)]
