"""Ship a trained classifier: `python -m train.export_classifier [--run-dir DIR] [--checkpoint best.rtm]`.

Writes `rtmusic/weights/classifier.rtm` (float16 parameters; the validation figures are re-measured on the
float16 weights actually shipped) and its model card `rtmusic/weights/classifier.md`. Once the file exists,
`--classifier default` (and `--task classify`) use it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import numpy as np

from rtmusic import checkpoint
from rtmusic.labels import WINDOW_STATISTIC
from rtmusic.models import ClassifierConfig
from train.classify import DEFAULT_RUN_DIR, VAL_SEED, evaluate, make_forward
from train.configs.classify import config_name, get_config
from train.datapaths import SPLIT_MADE_BY
from train import loop
from train.export import training_summary

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "rtmusic" / "weights"


MUSIC_AUGMENT_TEXT = {  # train.augment.MUSIC_AUGMENTS, as the card says it
    "none": "training music as rendered",
    "colour": "random EQ on training music",
    "timbre": "training music re-timbred: random and moving EQ, resampling, saturation, synthetic rooms",
    "colour+band": "random EQ on training music, and a random 4-16 kHz band limit on a third of it",
    "denoise": "training music re-timbred: random and moving EQ, resampling by up to 5 semitones, band limits, "
               "saturation, synthetic rooms",
}


def model_card(header: dict, figures: dict, summary: dict, train_config: dict, size: int, val_clips: int,
               val_music: str = "val") -> str:
    cfg = header["config"]
    rows = "\n".join(f"| {k[3:]} | {v:.3f} |" for k, v in figures.items() if k.startswith("ap_"))
    history = cfg.get("feature_window", cfg["window"])
    if history == cfg["window"]:
        frontend = f"on the denoiser's analysis: sqrt-Hann window\n{cfg['window']} samples"
    else:
        frontend = (f"on the last {history} samples ({1000 * history / cfg['samplerate']:.0f} ms, Hann window; the "
                    f"audio keeps the\ndenoiser's {cfg['window']}-sample window and delay)")
    low = cfg.get("band_low_hz", 0.0)
    conv = cfg.get("conv_channels") or []
    layers = (f"{len(conv)} convolutions along the bands ({', '.join(map(str, conv))} channels, {cfg['conv_kernel']} "
              "bands wide, each\nfollowed by max-pooling of band pairs) -> " if conv else "")
    fine_bins, fine_window = cfg.get("fine_bins", 0), cfg.get("fine_window", 0)
    fine = (f" and, beside them, the lowest {fine_bins} bins (up to {fine_bins * cfg['samplerate'] / fine_window / 1000:.1f} "
            f"kHz, {cfg['samplerate'] / fine_window:.0f} Hz apart) of\nthe last {fine_window} samples ({1000 * fine_window / cfg['samplerate']:.0f} ms, Hann), "
            "normalised and absolute level, into the embedding" if fine_bins else "")
    top_band = train_config.get("speech_top_band", 0.0)
    top_band = f" ({top_band:.0%} of it given a synthetic top band above 9.5 kHz, `train.top_band`)" if top_band else ""
    augment = MUSIC_AUGMENT_TEXT.get(train_config.get("music_augment", "colour"), train_config.get("music_augment"))
    name = config_name(train_config)
    lineage = "".join(f"\n- {line}" for line in summary.get("lineage", []))
    command = f"python -m train.classify --config {name}" if name else "python -m train.classify (config in the run's config.json)"
    if name and get_config(name).steps != train_config["steps"]:
        command += f" --steps {train_config['steps']}"
    renders = "".join(f", `python -m {SPLIT_MADE_BY[split]}`" for split in train_config.get("extra_music_splits") or ())
    return f"""# rtmusic default classifier

Causal multi-label tagger at {cfg['samplerate']} Hz, {frontend}, hop {cfg['hop']} (one decision per
{1000 * cfg['hop'] / cfg['samplerate']:.0f} ms); {cfg['bands']} mel bands{f' from {low:g} Hz' if low else ''} (normalised by a running level, {cfg['level_tau_s']} s; absolute level; frame-to-frame change){fine} ->
{layers}dense embedding -> {cfg['layers']} LSTM layers of {cfg['hidden']} units -> sigmoid over {len(cfg['labels'])} labels:
{', '.join(cfg['labels'])}. Audio passes through untouched, with the denoiser's latency.
File: `classifier.rtm`, {size / 1e6:.2f} MB, float16 parameters (no pickle; JSON header + arrays).

## Training
- Data: `python -m train.build_data`{renders}
  (see `train/DATA.md`), scenes mixed by `train.classify_data`: music (solos, ensembles, bands, drums;
  {'share ' + str(train_config.get('extra_music_share')) + ' of crops from ' + ', '.join(train_config['extra_music_splits']) + '; ' if train_config.get('extra_music_splits') else ''}{augment}), speech{top_band}, noise, silence and
  near-silence, quiet scenes and mixtures, with sources entering and leaving; per-hop targets from the MIDI
  labels and component levels.
- Command: `{command}` (batch {train_config['batch_size']} x
  {train_config['segment_seconds']} s, AdamW lr {train_config['learning_rate']} with cosine decay to
  step {train_config['steps']}, per-hop binary cross-entropy),
  then `python -m train.export_classifier`.
- Steps: {summary['steps']}; wall time {summary['wall_hours']:.1f} h over {summary['sessions']} session(s) on
  {platform.processor() or platform.machine()} ({os.cpu_count()} CPU cores, JAX {jax.__version__}).{lineage}

## Validation (held-out scenes: {val_clips} clips, music from `{val_music}`, shipped float16 weights, 1-second windows)
Window statistic: {WINDOW_STATISTIC}. mAP **{figures['map']:.3f}**, macro-F1 {figures['macro_f1']:.3f}
(threshold 0.5), per-hop BCE {figures['val_bce']:.4f}. Decision latency and per-label F1:
`python -m bench.classify_eval` (bench/README.md).

| label | AP |
|---|---|
{rows}

Exported {time.strftime('%Y-%m-%d')} from step {header['meta'].get('step')}{loop.averaged_note(header['meta'])}.
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    parser.add_argument("--checkpoint", default="best.rtm")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "classifier.rtm")
    args = parser.parse_args(argv)
    from train.classify_data import make_classify_validation_set
    from train.datapaths import data_dir

    header, weights = checkpoint.load(args.run_dir / args.checkpoint)
    if header.get("kind") != "classifier":
        raise SystemExit(f"{args.run_dir / args.checkpoint} is a {header.get('kind')} checkpoint, not a classifier")
    config = ClassifierConfig.from_dict(header["config"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"step": header["meta"].get("step"), "trained_by": "train.classify",
            **loop.averaged_meta(header["meta"])}
    checkpoint.save(args.out, weights, kind="classifier", config=header["config"], meta=meta, dtype="float16")
    _, shipped = checkpoint.load(args.out)
    train_config = json.loads((args.run_dir / "config.json").read_text())
    defaults = get_config("default")
    clips, seconds = train_config.get("val_clips", defaults.val_clips), train_config.get("val_seconds", defaults.val_seconds)
    music_split = train_config.get("val_music_split")
    val = make_classify_validation_set(data_dir(args.data_dir), clips, seconds, seed=VAL_SEED, music_split=music_split)
    skip = int(round(train_config.get("mask_seconds", defaults.mask_seconds) * config.samplerate / config.hop))
    figures = evaluate(jax.jit(make_forward(config)), jax.tree_util.tree_map(np.asarray, shipped), val, config, skip)
    card = model_card(checkpoint.read_header(args.out), figures, training_summary(args.run_dir, meta["step"]), train_config,
                      args.out.stat().st_size, clips, music_split or "val")
    args.out.with_suffix(".md").write_text(card)
    checkpoint.save(args.out, shipped, kind="classifier", config=header["config"], meta={**meta, "validation": figures},
                    dtype="float16")
    print(card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
