"""Ship a trained denoiser: `python -m train.export [--run-dir DIR] [--checkpoint best.rtm]`.

Writes `rtmusic/weights/denoiser.rtm` (float16 parameters: half the size, and the validation figures are
re-measured on the float16 weights actually shipped) and its model card `rtmusic/weights/denoiser.md`.
`--out rtmusic/weights/denoiser-lookahead.rtm` ships the built-in `lookahead` model instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import jax
import numpy as np

from rtmusic import checkpoint
from rtmusic.models import DenoiserConfig
from rtmusic.registry import SHIPPED_DENOISERS
from train.augment import MUSIC_AUGMENTS
from train.denoise import DEFAULT_RUN_DIR, validate_weights
from train import loop
from train.loop import CYCLE_AVERAGE_KEY, WARM_START_FILE
from train.mixer import KIND_SHARES, SNR_RANGE_DB

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "rtmusic" / "weights"


def training_summary(run_dir: Path, up_to_step: int | None = None) -> dict:
    """Steps, wall hours and sessions of a run, including the runs it was warm-started from."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if up_to_step is not None:
        rows = [r for r in rows if r["step"] <= up_to_step]
    train_rows = [r for r in rows if "loss" in r]
    steps, times, lineage, root = train_rows[-1]["step"] if train_rows else 0, [r["time"] for r in rows], [], run_dir
    origin = run_dir / WARM_START_FILE
    if origin.exists():
        start = json.loads(origin.read_text())
        parent_dir = Path(start["run_dir"])
        if (parent_dir / "metrics.jsonl").exists():
            parent = training_summary(parent_dir, start.get("step"))
            lineage = parent["lineage"] + [_warm_start_line(run_dir, parent_dir, start, steps)]
            steps, times, root = parent["steps"] + steps, parent["times"] + times, parent["root_run"]
    # wall time: sum of gaps between consecutive log rows of all the runs, ignoring pauses over 10 minutes
    gaps = np.diff(np.sort(np.array(times)))
    return {"steps": steps, "wall_hours": float(gaps[gaps < 600].sum() / 3600) if gaps.size else 0.0,
            "sessions": int((gaps >= 600).sum() + 1) if gaps.size else 1, "lineage": lineage, "root_run": root,
            "times": times}


def _run_config(run_dir: Path) -> dict:
    config_file = run_dir / "config.json"
    return json.loads(config_file.read_text()) if config_file.exists() else {}


AUGMENT_PARTS = {"colour": "random EQ", "sweep": "moving EQ", "pitch": "resampling", "lowpass": "band limits",
                 "saturate": "saturation", "room": "synthetic rooms"}


def _recipe_text(recipe: str) -> str:
    """An augmentation recipe for a model card: its name and what it does."""
    parts = [AUGMENT_PARTS[k] for k, v in asdict(MUSIC_AUGMENTS[recipe]).items() if v and k in AUGMENT_PARTS]
    return f"`train.augment` recipe `{recipe}`: " + ", ".join(parts)


_BANKS = "session 18's larger banks (train noise 200 -> 3000 clips, train speech 290 -> 2000)"
_MUSIC = "session 19's larger train music (400 -> 1600 clips)"
RUN_DATA_CHANGES = {"denoise_bank": _BANKS, "denoise_lookahead_bank": _BANKS, "denoise_music": _MUSIC,
                    "denoise_lookahead_music": _MUSIC, "denoise_256": _MUSIC, "denoise_asym": _MUSIC,
                    "denoise_lookahead_asym": _MUSIC}
"""Data changes a run's config.json cannot show (`train.build_data`'s amounts), by run name."""


def _warm_start_line(run_dir: Path, parent_dir: Path, start: dict, steps: int) -> str:
    """One model-card line for a run that was warm-started from another."""
    config, parent_config = _run_config(run_dir), _run_config(parent_dir)
    model, parent_model = config.get("model", {}), parent_config.get("model", {})
    added = [name for name, key in (("fine-resolution features", "fine_bins"), ("the deep filter", "df_bins"))
             if model.get(key) and not parent_model.get(key)]
    if model.get("hidden") and parent_model.get("hidden") and model["hidden"] != parent_model["hidden"]:
        added.append(f"LSTM units ({parent_model['hidden']} -> {model['hidden']}; the new ones start silent)")
    if model.get("df_bins") and parent_model.get("df_bins") and model.get("df_order", 3) > parent_model.get("df_order", 3):
        added.append(f"deep-filter taps ({parent_model.get('df_order', 3)} -> {model['df_order']} frames; the new ones "
                     "start at zero)")
    if model.get("residual_layers", 0) > parent_model.get("residual_layers", 0):
        added.append(f"{model['residual_layers'] - parent_model.get('residual_layers', 0)} residual LSTM layer(s) "
                     "(starting at zero weight)")
    if model.get("local_kernel", 0) and not parent_model.get("local_kernel", 0):
        added.append(f"the local gain refinement ({model['local_kernel']} bins wide; its output starts at zero)")
    if model.get("analysis_window", 0) and not parent_model.get("analysis_window", 0):
        rate = model.get("samplerate", 48000)
        added.append(f"the low-delay analysis (gains on a {1000 * model['analysis_window'] / rate:.0f} ms asymmetric "
                     f"window instead of the {1000 * model.get('window', 480) / rate:.0f} ms frame, and a per-fine-bin "
                     "gain correction starting at zero)")
    channels, parent_channels = model.get("fine_gain_channels", 8), parent_model.get("fine_gain_channels", 8)
    if parent_model.get("analysis_window", 0) and channels > parent_channels:
        added.append(f"a wider per-fine-bin correction ({parent_channels} -> {channels} channels; the new ones start "
                     "silent)")
    if model.get("fine_gain_context", False) and not parent_model.get("fine_gain_context", False):
        added.append("the LSTM's output as context for the per-fine-bin correction (starting at zero)")
    if model.get("fine_floor_rise_db_per_s", 0.0) and not parent_model.get("fine_floor_rise_db_per_s", 0.0):
        added.append("the fine bins' noise floor as features of the net and of the per-fine-bin correction (their "
                     "weights start at zero)")
    if model.get("fine_head_bins", 0) and not parent_model.get("fine_head_bins", 0):
        added.append(f"a head setting the lowest {model['fine_head_bins']} fine bins' gains from the LSTM's output "
                     "(starting at zero)")
    if model.get("feature_top_hz", 0.0) and not parent_model.get("feature_top_hz", 0.0):
        added.append(f"blindness above {model['feature_top_hz'] / 1000:g} kHz (those bins' level features held at "
                     "zero)")
    if model.get("lookahead_hops", 0) > parent_model.get("lookahead_hops", 0):
        added.append(f"look-ahead ({parent_model.get('lookahead_hops', 0)} -> {model['lookahead_hops']} hops; the "
                     "newer frames' input weights start at zero)")
    seconds, parent_seconds = config.get("segment_seconds"), parent_config.get("segment_seconds")
    if seconds and parent_seconds and seconds != parent_seconds:
        added.append(f"{'longer' if seconds > parent_seconds else 'shorter'} examples ({parent_seconds:g} s -> "
                     f"{seconds:g} s, batch {config.get('batch_size')})")
    augment = config.get("music_augment", "none")
    if augment != parent_config.get("music_augment", "none"):
        added.append(f"re-timbred training music ({_recipe_text(augment)})")
    speech_augment = config.get("speech_augment", "none")
    if speech_augment != parent_config.get("speech_augment", "none"):
        added.append(f"re-timbred training speech ({_recipe_text(speech_augment)})")
    extra = tuple(config.get("extra_music_splits") or ())
    if extra and extra != tuple(parent_config.get("extra_music_splits") or ()):
        added.append(f"{config.get('extra_music_share', 0):.0%} of the music from {', '.join(f'`{s}`' for s in extra)}")
    shares = tuple(config.get("kind_shares") or KIND_SHARES)
    if shares != tuple(parent_config.get("kind_shares") or KIND_SHARES):
        added.append("music / speech / both drawn at " + " / ".join(f"{x:.0%}" for x in shares))
    snr_range = tuple(config.get("snr_range_db") or SNR_RANGE_DB)
    if snr_range != tuple(parent_config.get("snr_range_db") or SNR_RANGE_DB):
        added.append(f"SNRs drawn from {snr_range[0]:g} to {snr_range[1]:g} dB")
    weights = [tuple(w) for w in config.get("noise_type_weights") or ()]
    if weights != [tuple(w) for w in parent_config.get("noise_type_weights") or ()]:
        added.append("noise drawn by type: " + (", ".join(f"{t} x {w}" for t, w in weights) or "every second alike"))
    lowpass = config.get("mixture_lowpass", 0.0)
    if lowpass != parent_config.get("mixture_lowpass", 0.0):
        added.append(f"{lowpass:.0%} of the training mixtures band-limited whole at 7-22 kHz")
    noise_lowpass = config.get("noise_lowpass", 0.0)
    if noise_lowpass != parent_config.get("noise_lowpass", 0.0):
        added.append(f"the noise alone band-limited at 7-22 kHz in {noise_lowpass:.0%} of the training mixtures")
    top_band = config.get("speech_top_band", 0.0)
    if top_band != parent_config.get("speech_top_band", 0.0):
        added.append(f"{top_band:.0%} of the training speech given a synthetic top band above 9.5 kHz")
    clean_led = config.get("clean_led_loss_weight", 0.0)
    if clean_led != parent_config.get("clean_led_loss_weight", 0.0):
        added.append(f"the spectral loss on the cells the clean signal leads added at weight {clean_led:g}")
    sisdr = config.get("sisdr_loss_weight", 0.0)
    if sisdr != parent_config.get("sisdr_loss_weight", 0.0):
        snr = config.get("snr_loss_weight", 1.0)
        added.append(f"the loss's time-domain term scale-invariant: {sisdr:g} x (-SI-SDR dB / 10)"
                     + (f" beside {snr:g} x (-SNR dB / 10)" if snr else " in place of -SNR"))
    if run_dir.name in RUN_DATA_CHANGES:
        added.append(RUN_DATA_CHANGES[run_dir.name])
    scales = [tuple(pair) for pair in config.get("lr_scales") or ()]
    rate_note = "".join(f", `{name}` at {factor:g} times that rate" for name, factor in scales)
    return (f"Then `{run_dir.name}`: warm-started from step {start.get('step')} of `{parent_dir.name}`"
            + _start_average_note(start)
            + (f", adding {' and '.join(added)}" if added else "")
            + f"; {steps} steps, new warm-up and cosine decay from lr {config.get('learning_rate', '?')} to its step "
            f"{config.get('steps', '?')}{rate_note}.")


def _start_average_note(start: dict) -> str:
    """' (the mean of ...)' when the checkpoint a run started from is a weight average of cycles (train.average),
    ' (its moving average of weights)' when it is a run's EMA."""
    path = Path(start.get("checkpoint", ""))
    if not path.is_file():
        return ""
    try:
        meta = checkpoint.read_header(path).get("meta", {})
    except checkpoint.CheckpointError:
        return ""
    members = meta.get(CYCLE_AVERAGE_KEY)
    if not members:
        return " (its moving average of weights)" if meta.get("ema_decay") else ""
    runs = " and ".join(f"`{Path(m['checkpoint']).parent.name}` (step {m['step']})" for m in members)
    return f" (the mean of the weights of {runs})"


def architecture(cfg: dict) -> str:
    """One sentence per optional feature the model was built with."""
    notes = []
    if cfg.get("floor_rise_db_per_s", 0.0) > 0:
        notes.append(f"a per-bin noise-floor feature (rises at most {cfg['floor_rise_db_per_s']} dB/s)")
    if cfg.get("fine_bins", 0):
        rate, history = cfg["samplerate"], cfg["feature_window"]
        notes.append(f"fine-resolution features: the lowest {cfg['fine_bins']} bins "
                     f"(up to {cfg['fine_bins'] * rate / history / 1000:.1f} kHz, {rate / history:.0f} Hz apart) of a "
                     f"{1000 * history / rate:.0f} ms causal history, so harmonics stand apart from the noise between "
                     "them (past samples only: no added latency)")
    if cfg.get("fine_floor_rise_db_per_s", 0.0) > 0:
        notes.append(f"each fine bin's level above its noise floor (a level that follows every drop and rises at most "
                     f"{cfg['fine_floor_rise_db_per_s']:g} dB/s), so a steady hum or fan tone stands apart from a held "
                     "note")
    if cfg.get("df_bins", 0):
        notes.append(f"a deep filter: in the lowest {cfg['df_bins']} bins (up to "
                     f"{cfg['df_bins'] * cfg['samplerate'] / cfg['window'] / 1000:.1f} kHz) a learned complex filter over "
                     f"this and the {cfg['df_order'] - 1} previous frames is added to the gain, so a steady tone "
                     "inside a bin can be notched")
    if cfg.get("residual_layers", 0):
        notes.append(f"{cfg['residual_layers']} residual LSTM layer(s) on top of the stack (x + W LSTM(x))")
    if cfg.get("lookahead_hops", 0):
        ms = 1000 * cfg["lookahead_hops"] * cfg["hop"] / cfg["samplerate"]
        notes.append(f"{ms:.0f} ms of look-ahead: the gains shape the frame {cfg['lookahead_hops']} hop(s) before the "
                     "newest, and the net sees the features of every frame up to the newest")
    if cfg.get("analysis_window", 0):
        rate, analysis = cfg["samplerate"], cfg["analysis_window"]
        span = "the shaped frame" if cfg.get("lookahead_hops", 0) else "the newest frame"
        notes.append(f"a low-delay analysis: the gains shape the spectrum of the {1000 * analysis / rate:.0f} ms ending "
                     f"with {span} ({rate / analysis:.0f} Hz bins) under an asymmetric window whose synthesis part is "
                     f"its last {1000 * cfg['window'] / rate:.0f} ms, so the latency stays that of the frame (Mauler & Martin "
                     "2007); the net's gains are interpolated onto these bins"
                     + (f", and below {cfg['fine_bins'] * rate / analysis / 1000:.1f} kHz a small net shared across "
                        f"frequency corrects each bin's gain from the levels of the {cfg.get('fine_gain_kernel', 5)} "
                        "bins around it" + (" and what the LSTM makes of the whole spectrum"
                                            if cfg.get("fine_gain_context", False) else "")
                        if cfg.get("fine_bins", 0) else ""))
    if cfg.get("fine_head_bins", 0):
        rate, analysis = cfg["samplerate"], cfg["analysis_window"]
        notes.append(f"a fine gain head: below {cfg['fine_head_bins'] * rate / analysis / 1000:.1f} kHz the LSTM's output "
                     f"also sets each {rate / analysis:.0f} Hz bin's gain directly")
    if cfg.get("feature_top_hz", 0.0):
        notes.append(f"a feature band: the net does not see the bins above {cfg['feature_top_hz'] / 1000:g} kHz (real "
                     "noise seldom reaches them, the synthesised noise does), though its gains still shape them")
    if cfg.get("local_kernel", 0):
        notes.append(f"a local gain refinement: each bin's gain is corrected by a small net shared across frequency "
                     f"that sees the levels and gains of the {cfg['local_kernel']} bins around it")
    return "; plus " + " and ".join(notes) if notes else ""


def _met(value: float | None, target: float) -> str:
    return "not measured" if value is None else ("met" if value >= target else "not met yet")


def card_title(filename: str) -> str:
    """The card's heading: which built-in name (`--model NAME`) loads these weights, if any."""
    names = {file: name for name, file in SHIPPED_DENOISERS.items()}
    if filename not in names:
        return f"rtmusic denoiser `{filename}`"
    return f"rtmusic {names[filename]} denoiser" + ("" if names[filename] == "default" else
                                                   f" (`--model {names[filename]}`)")


def model_card(header: dict, figures: dict, summary: dict, train_config: dict, size: int, val_clips: int = 210,
               val_seconds: float = 6.0, filename: str = "denoiser.rtm") -> str:
    cfg = header["config"]
    lineage = "".join(f"\n- {line}" for line in summary.get("lineage", []))
    lookahead_ms = 1000 * cfg.get("lookahead_hops", 0) * cfg["hop"] / cfg["samplerate"]
    latency_ms = 1000 * cfg["window"] / cfg["samplerate"] + lookahead_ms
    fig = "\n".join(f"| {k} | {v:+.2f} dB |" for k, v in figures.items() if k != "score")
    return f"""# {card_title(filename)}

{"Low-latency" if lookahead_ms else "Causal"} STFT mask denoiser for music and speech at {cfg['samplerate']} Hz: sqrt-Hann window {cfg['window']}
samples ({1000 * cfg['window'] / cfg['samplerate']:.0f} ms; algorithmic latency {latency_ms:.0f} ms: window + {lookahead_ms:.0f} ms look-ahead), hop
{cfg['hop']} ({1000 * cfg['hop'] / cfg['samplerate']:.0f} ms); per-bin log-level features normalised by a running
level ({cfg['level_tau_s']} s){architecture(cfg)}; dense embedding -> {cfg['layers']} LSTM layers of
{cfg['hidden']} units -> per-bin gains.
File: `{filename}`, {size / 1e6:.2f} MB, float16 parameters (no pickle; JSON header + arrays).

## Training
- Data: `python -m train.build_data` (see `train/DATA.md`): music21 corpus rendered with FluidSynth and
  fluid-soundfont-gm, espeak-ng speech in ~100 languages, 17 synthesised noise types; mixed on the fly at
  -5..20 dB SNR with random levels, clean-only and noise-only examples. Validation pieces, voices and noise
  seeds are held out.
- Command: `python -m train.denoise` (config `default`: batch {train_config['batch_size']} x
  {train_config['segment_seconds']} s, AdamW lr {train_config['learning_rate']} with cosine decay to
  step {train_config['steps']}, loss
  {train_config['snr_loss_weight']} x (-SNR dB / 10) + {train_config.get('spectral_loss_weight', 1.0)} x compressed
  spectral loss), then `python -m train.export`. Steps 0-2530 used 0.05 x SNR + 1.0 x a three-resolution
  spectral loss; that run barely moved SI-SDR, so it was resumed with the SNR term leading.{lineage}
- Steps: {summary['steps']}; wall time {summary['wall_hours']:.1f} h over {summary['sessions']} session(s) on
  {platform.processor() or platform.machine()} ({os.cpu_count()} CPU cores, JAX {jax.__version__}, CPU only).

## Validation (held-out set: {val_clips} clips x {val_seconds:g} s, shipped float16 weights)
| figure | value |
|---|---|
{fig}

Targets (issue 3): music SI-SDRi >= +6 dB ({_met(figures.get('sisdri_music'), 6.0)}), speech >= +8 dB
({_met(figures.get('sisdri_speech'), 8.0)}), music preservation >= 0 ({_met(figures.get('music15_preservation'), 0.0)}).

SI-SDR improvements are output-vs-clean minus noisy-vs-clean; `music15_preservation` is that improvement on
music at 15 dB SNR (must not be negative); `clean_sisdr` is the SI-SDR of the output on clean input.
Side-by-side figures with other denoisers: `python -m bench.quality` (bench/README.md).

Exported {time.strftime('%Y-%m-%d')} from step {header['meta'].get('step')}{loop.averaged_note(header['meta'])}.
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    parser.add_argument("--checkpoint", default="best.rtm")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "denoiser.rtm")
    parser.add_argument("--val-clips", type=int, default=210, help="validation clips (the training set-up's)")
    parser.add_argument("--val-seconds", type=float, default=6.0)
    args = parser.parse_args(argv)
    header, weights = checkpoint.load(args.run_dir / args.checkpoint)
    config = DenoiserConfig.from_dict(header["config"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(args.out, weights, kind="denoiser", config=header["config"],
                    meta={"step": header["meta"].get("step"), "trained_by": "train.denoise",
                          **loop.averaged_meta(header["meta"])},
                    dtype="float16")
    _, shipped = checkpoint.load(args.out)
    figures = validate_weights(config, shipped, args.data_dir, args.val_clips, args.val_seconds)
    summary = training_summary(args.run_dir, header["meta"].get("step"))  # to the exported step
    train_config = _run_config(summary["root_run"]) or _run_config(args.run_dir)  # the first run's recipe
    card = model_card(checkpoint.read_header(args.out), figures, summary, train_config,
                      args.out.stat().st_size, args.val_clips, args.val_seconds, args.out.name)
    args.out.with_suffix(".md").write_text(card)
    header = checkpoint.read_header(args.out)
    header_meta = {**header["meta"], "validation": figures}
    checkpoint.save(args.out, shipped, kind="denoiser", config=header["config"], meta=header_meta, dtype="float16")
    print(card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
