"""Where the rendered training data lives and how its files are laid out.

Everything rendered sits outside git, in ``$RTMUSIC_DATA`` (default ``~/.cache/rtmusic/data``).
This module is the single place that knows the layout, so the builder that writes the files and
the mixer that reads them cannot drift apart.

Layout of a data directory::

    clips/<split>/<kind>/<name>.npy         one rendered clip, int16 mono 48 kHz (build scratch)
    clips/<split>/music/<name>.labels.npy   its label activity, uint8 [frames, 12] at 100 frames/s
    clips/<split>/<kind>/<name>.json        what the clip is (source, programs, voice, noise type)
    <split>_<kind>.npy                      all clips of a split and kind, concatenated, int16
    <split>_<kind>.json                     index: per clip name, offset, length, source, ...
    <split>_music_labels.npy                labels aligned with <split>_music.npy, uint8 [frames, 12]
    val_set.npz                             the fixed validation mixtures (made by the mixer)
    val_unseen_sf_music.*                   val music re-rendered with unseen soundfonts (train.render_unseen)
    val_excerpts_music.*                    the same excerpts cut from val_music: their paired control
    val_families[_unseen_sf]_music.*        label-balanced held-out music, FluidR3 / TimGM6mb (train.render_families)
    train_families_music.*                  label-balanced training music, FluidR3 (render_families --split train)
    train_families_voiced[_2]_music.*       the same kind re-voiced (render_families --split train-voiced[-2])
    val_set.<music split>.npz               validation mixtures with music from another split
    val_unseen_tts_speech.*                 held-out speech from other synthesisers (train.render_unseen_speech)
    val_set[.<music split>].val_unseen_tts.npz   validation mixtures with that speech
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE_RATE = 48_000
"""Every stored clip is mono at this rate."""

FRAME_RATE = 100
"""Label frames per second (10 ms)."""

SAMPLES_PER_FRAME = SAMPLE_RATE // FRAME_RATE
"""Clips are zero-padded to a multiple of this, so sample offset = frame offset * 480."""

SPLITS = ("train", "val")
KINDS = ("music", "speech", "noise")

UNSEEN_SF_SPLIT = "val_unseen_sf"
"""Music only: the val music re-rendered with soundfonts no training clip used (train.render_unseen)."""

VAL_EXCERPTS_SPLIT = "val_excerpts"
"""Music only: the same excerpts as UNSEEN_SF_SPLIT cut from the val split's own FluidR3 audio (the paired control)."""

FAMILIES_SPLIT = "val_families"
"""Music only: label-balanced excerpts of val pieces, each featuring one family, in FluidR3 (train.render_families)."""

FAMILIES_UNSEEN_SPLIT = "val_families_unseen_sf"
"""Music only: the same arrangements as FAMILIES_SPLIT rendered with an unseen soundfont (TimGM6mb)."""

TRAIN_FAMILIES_SPLIT = "train_families"
"""Music only: label-balanced short arrangements of *training* pieces in FluidR3, for the classifier's sampler."""

TRAIN_FAMILIES_VOICED_SPLIT = "train_families_voiced"
"""Music only: more such arrangements, re-voiced (FluidR3's filters, envelopes, LFOs offset; parts doubled)."""

TRAIN_FAMILIES_VOICED_2_SPLIT = "train_families_voiced_2"
"""Music only: more, re-voiced more strongly (every part; half doubled; played from key zones up to 7 semitones off)."""

TRAIN_FAMILIES_VOICED_3_SPLIT = "train_families_voiced_3"
"""Music only: fresh arrangements re-voiced as _2 but played from key zones up to an octave off."""

TRAIN_FAMILIES_SYNTH_SPLIT = "train_families_synth"
"""Music only: fresh arrangements whose featured family (and half the other parts) is synthesised from scratch."""

UNSEEN_TTS_SPLIT = "val_unseen_tts"
"""Speech only: held-out speech from synthesisers no training clip came from (train.render_unseen_speech)."""

MUSIC_SOURCES = {"val": None, "unseen-soundfonts": UNSEEN_SF_SPLIT, "val-excerpts": VAL_EXCERPTS_SPLIT,
                 "families": FAMILIES_SPLIT, "families-unseen-soundfonts": FAMILIES_UNSEEN_SPLIT,
                 "train-families": TRAIN_FAMILIES_SPLIT}
"""Where evaluations take their music from: the val split itself (None) or another packed music split. The
training split is there to measure fit: a model that scores no higher on music it trained on than on held-out
pieces underfits, and more data will not help it (session 25: the classifier)."""

MUSIC_SOURCE_NOTES = {
    "unseen-soundfonts": "the held-out val music (first 10 s of each clip) rendered with soundfonts never used in training",
    "val-excerpts": "the same excerpts as unseen-soundfonts in the training soundfont FluidR3 (their paired control: "
                    "same crops, noises, SNRs and levels)",
    "families": "label-balanced excerpts of held-out pieces, each featuring one instrument family (solo, section or "
                "on top of a mix), in the training soundfont FluidR3",
    "families-unseen-soundfonts": "the same label-balanced arrangements rendered with TimGM6mb, a soundfont never "
                                  "used in training",
    "train-families": "label-balanced arrangements of TRAINING pieces in FluidR3, as trained on: a measure of fit, "
                      "not of generalisation",
}
"""One line per non-default music source, for reports."""

MUSIC_SOURCE_TAGS = {"unseen-soundfonts": "unseen_sf", "val-excerpts": "val_excerpts", "families": "families",
                     "families-unseen-soundfonts": "families_unseen_sf", "train-families": "train_families"}
"""Suffix of a report's default folder per non-default music source (``bench/results/classify_<tag>``), so
figures on one source never overwrite another's."""

SPEECH_SOURCES = {"val": None, "unseen-tts": UNSEEN_TTS_SPLIT}
"""Where evaluations take their speech from: the val split's espeak-ng voices (None) or another packed speech split."""

SPEECH_SOURCE_NOTES = {
    "unseen-tts": "held-out speech from synthesisers never used in training (Festival's diphone, HTS and Czech "
                  "voices, Flite's voices; most stop at 8 kHz)",
}
"""One line per non-default speech source, for reports."""

SPEECH_SOURCE_TAGS = {"unseen-tts": "unseen_tts"}
"""Suffix of a report's default folder per non-default speech source (after the music source's)."""

SPLIT_MADE_BY = {UNSEEN_TTS_SPLIT: "train.render_unseen_speech", UNSEEN_SF_SPLIT: "train.render_unseen", VAL_EXCERPTS_SPLIT: "train.render_unseen",
                 FAMILIES_SPLIT: "train.render_families", FAMILIES_UNSEEN_SPLIT: "train.render_families",
                 TRAIN_FAMILIES_SPLIT: "train.render_families --split train --per-family 100",
                 TRAIN_FAMILIES_VOICED_SPLIT: "train.render_families --split train-voiced --per-family 100",
                 TRAIN_FAMILIES_VOICED_2_SPLIT: "train.render_families --split train-voiced-2 --per-family 100",
                 TRAIN_FAMILIES_VOICED_3_SPLIT: "train.render_families --split train-voiced-3 --per-family 100",
                 TRAIN_FAMILIES_SYNTH_SPLIT: "train.render_families --split train-synth --per-family 100"}
"""The module that renders each extra music split (train and val come from train.build_data)."""


def music_source_out(default_out: Path, music_source: str, speech_source: str = "val") -> Path:
    """A report folder for ``music_source`` and ``speech_source``: ``default_out`` itself for the val split's,
    else ``<name>_<music tag>_<speech tag>`` with the tags of the sources that are not."""
    tags = [t for t in (MUSIC_SOURCE_TAGS.get(music_source), SPEECH_SOURCE_TAGS.get(speech_source)) if t]
    return default_out.with_name("_".join([default_out.name, *tags])) if tags else default_out

LABEL_NAMES = (
    "piano", "mallets", "organ", "guitar", "bass", "strings",
    "voice", "brass", "reed", "pipe", "synth", "drums",
)
"""Instrument label columns, in the order of the last axis of every label matrix."""

ENV_VAR = "RTMUSIC_DATA"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: ``override`` if given, else ``$RTMUSIC_DATA``, else the user cache."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "rtmusic" / "data"


def clip_dir(root: Path, split: str, kind: str) -> Path:
    """Scratch folder holding one file per rendered clip of ``split``/``kind``."""
    return Path(root) / "clips" / split / kind


def audio_path(root: Path, split: str, kind: str) -> Path:
    """Concatenated int16 audio of every clip of ``split``/``kind`` (memory-mappable .npy)."""
    return Path(root) / f"{split}_{kind}.npy"


def index_path(root: Path, split: str, kind: str) -> Path:
    """JSON index describing where each clip sits inside :func:`audio_path`."""
    return Path(root) / f"{split}_{kind}.json"


def labels_path(root: Path, split: str) -> Path:
    """Concatenated uint8 music label activity [frames, 12], aligned with the music audio."""
    return Path(root) / f"{split}_music_labels.npy"


def val_set_path(root: Path, music_split: str | None = None, speech_split: str | None = None) -> Path:
    """The fixed, deterministic validation mixtures (``music_split``, ``speech_split``: with the music or
    speech from that split instead)."""
    return Path(root) / ".".join(["val_set", *(s for s in (music_split, speech_split) if s), "npz"])


CLASSIFY_VAL_SET = (220, 5.0, 4321)
"""(clips, seconds, seed) of the classifier validation set that training uses; its cache file has the plain name."""


def classify_val_set_path(root: Path, music_split: str | None = None, n_clips: int = CLASSIFY_VAL_SET[0],
                          seconds: float = CLASSIFY_VAL_SET[1], seed: int = CLASSIFY_VAL_SET[2],
                          speech_split: str | None = None, noise_cutoff_hz: float | None = None) -> Path:
    """The fixed, deterministic classifier validation scenes (made by train.classify_data).

    Another size or seed (the benchmarks' 440 clips) gets a file of its own, so a benchmark and a training
    never rebuild each other's set; so does the set with band-limited noise."""
    name = ".".join(["classify_val_set", *(s for s in (music_split, speech_split) if s)])
    if noise_cutoff_hz is not None:
        name += f".noise{noise_cutoff_hz:g}hz"
    if (n_clips, float(seconds), seed) != CLASSIFY_VAL_SET:
        name += f".{n_clips}x{float(seconds):g}s-seed{seed}"
    return Path(root) / f"{name}.npz"
