"""Hyper-parameters of classifier training. `get_config("default")` is the recipe for the shipped weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from rtmusic.models import ClassifierConfig
from train.feature_dropout import FeatureDropout


# v2: 40 ms of causal history (25 Hz bins) for the features, so harmonics of instrument notes are resolved;
# 128 mel bands from 40 Hz; audio delay unchanged (window - hop). v1 was ClassifierConfig() (10 ms, 64 bands).
V2_MODEL = ClassifierConfig(feature_window=1920, bands=128, band_low_hz=40.0, hidden=128)


@dataclass(frozen=True)
class ClassifyTrainConfig:
    model: ClassifierConfig = V2_MODEL
    batch_size: int = 32
    segment_seconds: float = 3.0
    steps: int = 20_000
    learning_rate: float = 2e-3
    warmup_steps: int = 200
    weight_decay: float = 1e-5
    grad_clip: float = 1.0
    mask_seconds: float = 0.1  # the first hops of each segment (state warm-up) are not scored
    eval_every: int = 500
    checkpoint_every: int = 100
    val_clips: int = 220  # 20 of each of the 11 scenes
    val_seconds: float = 5.0
    seed: int = 0
    log_every: int = 10
    # Label-balanced short arrangements of training pieces (`python -m train.render_families --split train`):
    # half the music crops come from them, so each family is heard in far more arrangements.
    extra_music_splits: tuple[str, ...] = ("train_families",)
    extra_music_share: float = 0.5
    # Music of the validation set: the label-balanced held-out `val_families` (`python -m train.render_families`;
    # every family in 80-190 windows), not the val split (38 clips: some families in a handful of windows).
    val_music_split: str | None = "val_families"
    # How training music crops are re-timbred: a name of train.augment.MUSIC_AUGMENTS ("none", "colour":
    # a random EQ on 70 %, "timbre": that EQ, sometimes moving, plus resampling, saturation and a room).
    music_augment: str = "colour"
    # Exponential moving average of the weights (0 = off; `--ema-decay`): validated beside the raw weights and
    # kept as ema.rtm / best_ema.rtm (train/loop.py)
    ema_decay: float = 0.0
    # Frequency masks and hidden absolute levels on the step's features, per example (train.feature_dropout)
    feature_dropout: FeatureDropout = FeatureDropout()
    # Share of training speech crops given the top band espeak-ng's renders lack (train.top_band; session 48; 0 =
    # never): on real voices the shipped classifier's `speech` is 0.60 as recorded, 0.97 low-passed at 11 kHz
    speech_top_band: float = 0.0
    # Share of training noise crops band-limited at a random 7-22 kHz (session 50; 0 = never): recorded noise seldom
    # reaches the synthesised noise's 22-24 kHz, and a net that reads `noise` from there misses it
    noise_lowpass: float = 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["model"] = self.model.to_dict()
        return data


CONFIG_NAMES = ("default", "tiny", "v1", "v1-aug", "v1-conv", "v1-conv-full", "v1-conv-band", "v1-conv-fine",
                "v1-conv-fine-wide", "v1-conv-fine-aug", "v1-conv-fine-voiced",
                "v1-conv-fine-voiced-half", "v1-conv-fine-voiced-2", "v1-conv-fine-voiced-3",
                "v1-conv-fine-voiced-all", "v2-scratch", "v1-conv-fine-synth", "v1-conv-fine-synth-half",
                "v1-conv-fine-tf", "v1-conv-fine-dropout", "v1-conv-fine-warmup", "v1-conv-fine-topband",
                "v1-conv-fine-realnoise")


def config_name(stored: dict) -> str | None:
    """The named config a run's config.json was made from, or None.

    `--steps` and `--seed` may differ, and a key the file lacks (written before the key existed) is not compared.
    """
    stored = {**stored, "model": ClassifierConfig.from_dict(stored["model"]).to_dict()}
    for name in CONFIG_NAMES:
        named = json.loads(json.dumps(get_config(name).to_dict()))  # tuples as the JSON file has them
        if all(named.get(k) == v for k, v in stored.items() if k not in ("steps", "seed")):
            return name
    return None


def get_config(name: str = "default") -> ClassifyTrainConfig:
    if name == "default":
        return ClassifyTrainConfig()
    if name == "tiny":  # seconds on a CPU: proves the whole loop (data, grads, eval, checkpoint, resume)
        model = ClassifierConfig(hidden=16, layers=1, bands=16, feature_window=960, band_low_hz=40.0)
        return replace(ClassifyTrainConfig(), model=model, batch_size=2,
                       segment_seconds=0.3, steps=4, warmup_steps=1, eval_every=2, checkpoint_every=2,
                       val_clips=4, val_seconds=1.2, log_every=1, extra_music_splits=(),
                       val_music_split=None)
    if name == "v1":  # the shipped classifier's recipe: the denoiser's 10 ms frame, 64 bands, 2 x 96
        return replace(ClassifyTrainConfig(), model=ClassifierConfig())
    if name == "v1-aug":  # v1 with the stronger timbre augmentation, warm-started from a v1 run (--init-from):
        # half the peak learning rate and a short warm-up, the weights being trained already
        return replace(get_config("v1"), music_augment="timbre", learning_rate=1e-3, warmup_steps=100)
    if name == "v1-conv":  # v1 with convolutions along the mel bands before the embedding (ClassifierConfig's
        # conv_channels), trained from scratch the way v1 began (training music unaltered, no train_families,
        # validated on the val split), so its curve compares step for step with v1's first 4000 steps
        return replace(get_config("v1"), model=ClassifierConfig(conv_channels=(8, 16)), music_augment="none",
                       extra_music_splits=(), val_music_split=None)
    if name == "v1-conv-full":  # v1-conv continued (--init-from a v1-conv run) on the full recipe: label-balanced
        # train_families, colour EQ, validated on val_families; half the peak rate and a short warm-up, as v1-aug
        return replace(get_config("v1"), model=ClassifierConfig(conv_channels=(8, 16)), learning_rate=1e-3,
                       warmup_steps=100, steps=6000)
    if name == "v1-conv-band":  # v1-conv-full continued (--init-from its latest.rtm) with band limits on a third of
        # the training music (train.augment "colour+band"): the unseen soundfont's top octaves are 6-11 dB weaker.
        # A short cycle at half the last peak: session 7's CPU (a 2 GHz first-generation EPYC) held about 1800 steps.
        return replace(get_config("v1-conv-full"), music_augment="colour+band", learning_rate=5e-4, steps=1800)
    if name == "v1-conv-fine":  # the shipped conv classifier plus fine-resolution bins (--init-from its weights:
        # the new inputs start at zero weight): 160 bins of a 40 ms history, 0-4 kHz 25 Hz apart, where the
        # harmonics that tell families apart are resolved; 10 ms bands (100 Hz bins) cannot, and every v1 variant
        # (augmentations, convolutions) stalled near 0.5 mAP on the unseen soundfont's families. As the denoiser
        # gained its fine bins (session 4). Band limits on a third of the music, as v1-conv-band. 900 steps: what
        # session 8 held at 4-5 s a step beside the denoiser's training.
        return replace(get_config("v1-conv-full"), model=ClassifierConfig(conv_channels=(8, 16), fine_window=1920,
                                                                          fine_bins=160),
                       music_augment="colour+band", learning_rate=5e-4, steps=900)
    if name == "v1-conv-fine-wide":  # v1-conv-fine with 192 LSTM units instead of 96 (--init-from a v1-conv-fine
        # run: the new units' outgoing weights start at zero, so it starts out computing exactly what that run
        # did). Two cycles of v1-conv-fine ended at 0.697 val_families mAP with the instrument families at
        # 0.1-0.5 AP on an unseen soundfont; the net costs 4-6 % of the hop, so it can afford twice the units.
        return replace(get_config("v1-conv-fine"), model=replace(get_config("v1-conv-fine").model, hidden=192),
                       steps=2000)
    if name == "v1-conv-fine-aug":  # v1-conv-fine (--init-from the shipped classifier's run) with the denoiser's
        # re-timbring of training music (train.augment "denoise": resampling by up to +-5 semitones, a sample set
        # stretched across key zones as a small soundfont's is; moving EQ, band limits, saturation, rooms).
        # Neither more units nor finer bins closed the unseen-soundfont gap (organ, guitar, voice, reed and synth
        # lose half their AP there): this asked whether the training timbres were too narrow. Two cycles (session
        # 13) raised unseen-soundfont mAP from 0.563 to 0.591 and its families from 0.514 to 0.530: shipped.
        return replace(get_config("v1-conv-fine"), music_augment="denoise", steps=1000)
    if name == "v1-conv-fine-voiced":  # v1-conv-fine-aug (--init-from its run) with a third of the music crops from
        # train_families_voiced (`python -m train.render_families --split train-voiced`): FluidR3's own filters,
        # envelopes and LFOs offset at random and parts doubled by another program of their family. Re-timbring the
        # rendered audio moved the unseen-soundfont mAP for the first time; this varies the synthesis itself.
        return replace(get_config("v1-conv-fine-aug"), extra_music_splits=("train_families", "train_families_voiced"),
                       extra_music_share=0.6, steps=1500)
    if name == "v1-conv-fine-voiced-half":  # v1-conv-fine-voiced with half the music crops re-voiced and none from the
        # plain train_families (the same label balance, more of the new timbres): its companion arm in session 14
        return replace(get_config("v1-conv-fine-voiced"), extra_music_splits=("train_families_voiced",),
                       extra_music_share=0.5)
    if name == "v1-conv-fine-voiced-2":  # v1-conv-fine-voiced-half with the more strongly re-voiced
        # train_families_voiced_2 (`--split train-voiced-2`: every part re-voiced, half doubled, played from key zones
        # up to 7 semitones off and tuned back) beside train_families_voiced, a quarter of the music crops each
        return replace(get_config("v1-conv-fine-voiced"),
                       extra_music_splits=("train_families_voiced", "train_families_voiced_2"), extra_music_share=0.5)
    if name == "v1-conv-fine-voiced-3":  # v1-conv-fine-voiced-2 with train_families_voiced_3 (`--split train-voiced-3`:
        # fresh arrangements voiced as -2 but played from key zones up to an octave away) in place of the mildly
        # re-voiced split: the stronger voicing of -2 gave the largest step on the unseen soundfont (session 14)
        return replace(get_config("v1-conv-fine-voiced-2"),
                       extra_music_splits=("train_families_voiced_2", "train_families_voiced_3"))
    if name == "v1-conv-fine-voiced-all":  # every re-voiced split, a fifth of the music crops each, the plain train
        # split the other two fifths: the most arrangements and timbres per family the recipe has
        return replace(get_config("v1-conv-fine-voiced-2"),
                       extra_music_splits=("train_families_voiced", "train_families_voiced_2",
                                           "train_families_voiced_3"), extra_music_share=0.6)
    if name == "v2-scratch":  # the conv + fine-bin net with 192 units per layer, trained from scratch on the whole
        # recipe at once: re-timbred music, 60 % of crops from the label-balanced and re-voiced splits. The shipped
        # net is 20 100 steps of warm starts through six recipes and has stopped moving (session 15: three cycles
        # from it within 0.012 mAP of it); widening it by warm start gave nothing within a cycle (session 12),
        # where new units start silent at a fine-tuning rate. A long run: --max-minutes per session, resumed.
        return replace(ClassifyTrainConfig(), model=ClassifierConfig(conv_channels=(8, 16), fine_window=1920,
                                                                     fine_bins=160, hidden=192),
                       music_augment="denoise", steps=12_000,
                       extra_music_splits=("train_families", "train_families_voiced", "train_families_voiced_2",
                                           "train_families_voiced_3"), extra_music_share=0.6)
    if name == "v1-conv-fine-synth":  # the shipped classifier (--init-from its run, classify_voiced_2) with
        # train_families_synth (`--split train-synth`: the featured family, and half the other parts, played by
        # instruments synthesised from scratch, `train.synth_voices`) beside the strongly re-voiced
        # train_families_voiced_2, 30 % of the music crops each. v2-scratch showed that more FluidR3, however
        # re-voiced, does not carry to an unseen soundfont (session 19: 0.506 mAP there against 0.549). Session 20,
        # 1000 steps: 0.710 val_families, 0.552 on the TimGM6mb families (0.549): no gain (bench/results/session20_classifier)
        return replace(get_config("v1-conv-fine-voiced-2"),
                       extra_music_splits=("train_families_voiced_2", "train_families_synth"), extra_music_share=0.6,
                       ema_decay=0.998)
    if name == "v1-conv-fine-synth-half":  # v1-conv-fine-synth continued (--init-from its run) with half the music crops
        # synthesised and none re-voiced: its first cycle raised voice (0.33 -> 0.43) and guitar (0.21 -> 0.27) as
        # heard alone in TimGM6mb (bench.family_confusion) but cost organ and piano; does more of it keep the gains?
        # Session 20, 1000 steps: TimGM6mb families 0.559 (0.549), unseen-soundfont scenes 0.584 (0.606): no
        return replace(get_config("v1-conv-fine-synth"), extra_music_splits=("train_families_synth",),
                       extra_music_share=0.5)
    if name == "v1-conv-fine-tf":  # the shipped recipe (--init-from its run, classify_voiced_2's latest.rtm) with the
        # spectro-temporal front end on the fine bins (ClassifierConfig.tf_channels): three layers reaching back 2,
        # 8 and 32 hops (210 ms in all). Session 25: the shipped net scores 0.70 on its own training pieces as on new
        # ones, and a probe on a second's pooled spectrum does worse still: the families differ in how notes evolve
        shipped = get_config("v1-conv-fine-voiced-2")
        # 16 / 16 / 32 channels 5 bins wide made a training step five times slower (9.6 s against 1.8): 8 / 8 / 16,
        # 3 bins wide, cost about a fifth of that
        return replace(shipped, model=replace(shipped.model, tf_channels=(8, 8, 16), tf_dilations=(1, 4, 16),
                                              tf_kernel=3), ema_decay=0.998, steps=2000)
    if name == "v1-conv-fine-dropout":  # the shipped recipe (--init-from its run, classify_voiced_2's latest.rtm)
        # with structured feature dropout: on half the examples one or two stretches of the spectrum (a quarter
        # to one octave each) hidden from every feature, on a quarter a third of the bands' absolute levels.
        # Every recipe that fed the net more FluidR3 timbres fitted FluidR3 better and TimGM6mb no better
        # (sessions 14-28); this takes detail away instead, so no single spectral trait of one soundfont decides
        # Session 29, 1000 steps: TimGM6mb scenes 0.573 (shipped 0.606), families 0.547 (0.549): no (bench/results/session29_classifier)
        return replace(get_config("v1-conv-fine-voiced-2"), ema_decay=0.998, steps=1000,
                       feature_dropout=FeatureDropout(masked_share=0.5, max_masks=2, octaves=(0.25, 1.0),
                                                      level_share=0.25, level_rate=0.3))
    if name == "v1-conv-fine-warmup":  # the shipped recipe (--init-from its run, classify_voiced_2's latest.rtm)
        # with the running levels warmed up as the mean of the frames so far (ClassifierConfig.level_warmup).
        # Session 45: on 5 s clips the shipped net's mAP rises from 0.670 in the first second to 0.715 in the fifth
        # (FluidR3 families; TimGM6mb 0.543 to 0.572) while its 3 s levels climb from a fixed -30 dB
        shipped = get_config("v1-conv-fine-voiced-2")
        return replace(shipped, model=replace(shipped.model, level_warmup=True), ema_decay=0.998, steps=1000)
    if name == "v1-conv-fine-topband":  # the shipped recipe (--init-from its run, classify_voiced_2's latest.rtm)
        # with half the training speech top-banded (train.top_band). Session 48: on alsa-utils' real voices the
        # shipped classifier gives `speech` 0.60 and `noise` 0.77 as recorded, 0.97 and 0.36 low-passed at 11 kHz
        return replace(get_config("v1-conv-fine-voiced-2"), speech_top_band=0.5, ema_decay=0.998, steps=1000)
    if name == "v1-conv-fine-realnoise":  # the shipped recipe (--init-from the shipped classifier or its run,
        # classify_topband) with 70 % of the training noise band-limited at 7-22 kHz, as the shipped denoiser's
        # (session 49); session 50 measures how `noise` and the other labels fare with noise low-passed at 8 kHz
        return replace(get_config("v1-conv-fine-topband"), noise_lowpass=0.7)
    raise ValueError(f"unknown config {name!r}; choose {', '.join(repr(n) for n in CONFIG_NAMES)}")
