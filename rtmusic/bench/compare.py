"""`rtmusic bench --compare`: what users would pick instead, measured in the same run as rtmusic.

For every competitor of `rtmusic.bench.competitors` that can run here (the others are skipped with the
reason and the install command):

- **compute**: streaming ones (RNNoise, WebRTC NS, DTLN) are timed call by call on their native frame, as
  rtmusic's `process_hop` is: p50 / p99 µs per frame, per 5 ms of audio, and the real-time factor (p50 /
  frame duration). The 16 kHz systems are timed at 16 kHz (resampling excluded: a 16 kHz host pays none).
  noisereduce has no frame (it needs the whole signal): its offline wall time / audio time is the RTF.
- **latency**: the declared algorithmic latency in the three conventions of `rtmusic.bench.conventions`
  (noisereduce: none, it is non-causal) and the delay measured on its output by GCC-PHAT.
- **quality**: on the first ``clips`` clips of the validation set (when the data cache exists) through
  `rtmusic.bench.quality`: SI-SDR improvement on music and speech, music preservation at 15 dB.

Everything is also given relative to rtmusic's first model: compute and latency as ratios competitor /
rtmusic (above 1: rtmusic is cheaper / faster), quality as differences competitor - rtmusic in dB
(below 0: rtmusic is better).
"""

from __future__ import annotations

import time

import numpy as np

from rtmusic.bench import competitors as comp
from rtmusic.bench.compute import load_average
from rtmusic.bench.conventions import conventions

INSTALL_HINT = 'pip install -e ".[compare]"'
AUDIO_US = 5000.0  # compute is compared per 5 ms of audio (rtmusic's hop)
QUALITY_KEYS = {"music": ("sisdri", "music"), "speech": ("sisdri", "speech"), "music_15db": ("music_preservation_15db", None)}


def time_frames(frames: comp.FrameProcessor, count: int, warmup: int = 50) -> np.ndarray:
    """[count] wall time in µs of consecutive ``frames.step`` calls on noise at varied levels (as rtmusic's step)."""
    rng = np.random.default_rng(0)
    blocks = (rng.standard_normal((64, frames.frame)) * rng.uniform(0, 0.3, (64, 1))).astype(np.float32)
    for i in range(warmup):
        frames.step(blocks[i % 64])
    times = np.empty(count, np.float64)
    clock = time.perf_counter
    for i in range(count):
        started = clock()
        frames.step(blocks[i % 64])
        times[i] = clock() - started
    return times * 1e6


def offline_rtf(raw: comp.RawFn, seconds: float) -> float:
    """Wall time / audio time of one whole-signal call on ``seconds`` of noise (after a 1 s warm-up call)."""
    x = (0.1 * np.random.default_rng(3).standard_normal(int(seconds * comp.SAMPLERATE))).astype(np.float32)
    raw(x[: comp.SAMPLERATE])
    started = time.perf_counter()
    raw(x)
    return (time.perf_counter() - started) / seconds


def compute_figures(denoiser: comp.Denoiser, frames: int, offline_seconds: float) -> dict:
    """Per-frame (streaming) or offline compute of one loaded competitor."""
    c = denoiser.competitor
    if c.frames is None:
        rtf = offline_rtf(denoiser.raw, offline_seconds)
        return {"streaming": False, "offline_seconds": offline_seconds, "realtime_factor": round(rtf, 4),
                "per_5ms_us": round(rtf * AUDIO_US, 1)}
    proc = c.frames()
    try:
        us = time_frames(proc, frames)
    finally:
        proc.close()
    frame_us = 1e6 * proc.frame / proc.samplerate
    p50, p99 = (float(v) for v in np.percentile(us, [50, 99]))
    return {"streaming": True, "frame": proc.frame, "samplerate": proc.samplerate, "frame_us": round(frame_us, 1),
            "frames_timed": int(us.size), "p50_us": round(p50, 1), "p99_us": round(p99, 1), "max_us": round(float(us.max()), 1),
            "per_5ms_us": round(p50 * AUDIO_US / frame_us, 1), "p99_per_5ms_us": round(p99 * AUDIO_US / frame_us, 1),
            "realtime_factor": round(p50 / frame_us, 4)}


def reference_figures(model: str, figures: dict) -> dict:
    """rtmusic's row from its `measure_model` figures (the compute section of the same run)."""
    step, per = figures["step"], AUDIO_US / figures["hop_us"]
    return {"model": model, "model_name": figures["model_name"], "hop": figures["hop"], "samplerate": figures["samplerate"],
            "p50_us": step["p50_us"], "p99_us": step["p99_us"], "per_5ms_us": round(step["p50_us"] * per, 1),
            "p99_per_5ms_us": round(step["p99_us"] * per, 1), "realtime_factor": step["realtime_factor"],
            "conventions": figures["conventions"], "delay_samples": figures["delay"],
            "delay_ms": round(1000.0 * figures["delay"] / figures["samplerate"], 3)}


def _ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def ratios(row: dict, ref: dict) -> dict:
    """Competitor / rtmusic for compute and latency; competitor - rtmusic (dB) for quality."""
    streaming = row["compute"]["streaming"]  # an offline system has no delay to compare: it needs the whole signal
    out = {"compute_per_5ms": _ratio(row["compute"]["per_5ms_us"], ref["per_5ms_us"]),
           "delay": _ratio(row["delay_ms"], ref["delay_ms"]) if streaming else None}
    if row.get("conventions"):
        out["latency"] = {k: _ratio(v, ref["conventions"]["ms"][k]) for k, v in row["conventions"]["ms"].items()}
    return out


def quality_rows(results: dict) -> dict:
    """{system: {music, speech, music_15db, realtime_factor}} from a `rtmusic.bench.quality.run` result."""
    rows = {}
    for name, s in results["systems"].items():
        if s["kind"] == "reference":
            continue
        row = {key: (s["summary"][a].get(b) if b else s["summary"].get(a)) for key, (a, b) in QUALITY_KEYS.items()}
        rows[name.removeprefix("rtmusic:") if s["kind"] == "rtmusic" else name] = {**row, "realtime_factor": s["realtime_factor"]}
    return rows


def run_compare(model: str, figures: dict, names=tuple(comp.COMPETITORS), *, frames: int = 2000,
                offline_seconds: float = 10.0, clips: int = 21, data_dir=None, say=None) -> dict:
    """The `compare` section of `rtmusic bench` results.

    Args:
        model: rtmusic's model name (the reference row); figures: its `measure_model` result from this run.
        names: competitor names or `Competitor` objects; one that cannot load is skipped with its reason.
        frames: native frames timed per streaming competitor; offline_seconds: audio for noisereduce's RTF.
        clips: validation clips scored (the kind x SNR grid repeats every 21: 21 covers each cell once);
            0 skips the quality part.
    """
    say = say or (lambda text: None)
    started = time.monotonic()
    ref = reference_figures(model, figures)
    out: dict = {"reference": ref, "competitors": {}, "skipped": {}, "install_hint": INSTALL_HINT,
                 "load_average": [load_average()], "quality": None}
    loaded = []
    for item in names:
        name = item if isinstance(item, str) else item.name
        try:
            say(f"compare: loading {name} and measuring its delay ...")
            denoiser = comp.load(item)
        except comp.CompetitorUnavailable as exc:
            out["skipped"][name] = f"{exc}; all competitors at once: {INSTALL_HINT}"
            say(f"compare: skipping {out['skipped'][name]}")
            continue
        c = denoiser.competitor
        say(f"compare: {name}: timing {'%d frames' % frames if c.frames else 'offline processing'} ...")
        row = {"description": c.description, "settings": c.settings, "latency_note": c.latency_note,
               "delay_samples": denoiser.delay, "delay_ms": round(1000.0 * denoiser.delay / comp.SAMPLERATE, 3),
               "delay_peak": round(denoiser.delay_peak, 3),
               "conventions": conventions(samplerate=c.declared[0], window=c.declared[1], hop=c.declared[2]).as_dict()
               if c.declared else None,
               "compute": compute_figures(denoiser, frames, offline_seconds)}
        row["ratios"] = ratios(row, ref)
        out["competitors"][name] = row
        loaded.append(denoiser)
    if clips > 0:
        out["quality"] = _quality(model, loaded, clips, data_dir, say)
        rows = out["quality"].get("systems", {})
        for name, row in out["competitors"].items():
            if name in rows and model in rows:
                row["ratios"]["quality_delta_db"] = {
                    k: None if rows[name][k] is None or rows[model][k] is None else round(rows[name][k] - rows[model][k], 2)
                    for k in QUALITY_KEYS}
    out["load_average"].append(load_average())
    out["wall_s"] = round(time.monotonic() - started, 1)
    return out


def _quality(model: str, loaded: list, clips: int, data_dir, say) -> dict:
    from rtmusic.bench import quality

    try:
        data = quality.load_data(data_dir, clips)
    except FileNotFoundError as exc:
        say(f"compare: quality skipped: {exc}")
        return {"skipped": str(exc)}
    say(f"compare: quality on {data['noisy'].shape[0]} validation clips (rtmusic {model}, "
        f"{', '.join(d.name for d in loaded) or 'no competitor'}) ...")
    results = quality.run(data, [model], loaded, perceptual=False, progress=False, log=say)
    return {"clips": results["data"]["clips"], "source": results["data"]["source"],
            "clips_per_kind": results["data"]["clips_per_kind"], "systems": quality_rows(results),
            "skipped": results["skipped"] or None}
