"""Label-balanced music: many short arrangements, each featuring one instrument family.

    python -m train.render_families [--per-family 8] [--seconds 10] [--out DIR]          # evaluation set
    python -m train.render_families --split train --per-family 100                       # training set
    python -m train.render_families --split train-voiced --per-family 100                # re-voiced training set
    python -m train.render_families --split train-voiced-2 --per-family 100              # more strongly re-voiced
    python -m train.render_families --split train-voiced-3 --per-family 100              # and stretched an octave
    python -m train.render_families --split train-synth --per-family 100                 # synthesised instruments

Why this exists: the val split is 38 clips drawn like the training data, so a family can sound in just
two or three of them (its bowed strings: none), and a per-label AP rests on a handful of windows. This
renders, from val pieces only (never trained on), ``--per-family`` fresh excerpts for each of the 11
pitched families -- each excerpt *features* its family: a solo, a section of it, or it on top of a random
mix -- plus as many drum-only clips. Every arrangement is rendered twice, note for note:

* ``val_families``: with FluidR3 (the training soundfont): unseen pieces and arrangements;
* ``val_families_unseen_sf``: with TimGM6mb, a soundfont no training clip used: unseen sound as well.

The evaluations select them with ``--music-source families`` / ``families-unseen-soundfonts``.

``--split train`` draws from the training pieces instead and renders with FluidR3 only (TimGM6mb stays
unheard), into ``train_families``: the classifier's training sampler mixes it with the train split, so
each family is heard in hundreds of arrangements rather than the few dozen of the 400 long train clips.
``--split train-voiced`` draws fresh arrangements of the training pieces and re-voices each one
(`render_music.draw_voicing`: FluidR3's filters, envelopes and LFOs offset at random, parts doubled by
another program of their family), into ``train_families_voiced``: timbres of known families that no
FluidR3 preset has, so the classifier learns families rather than one soundfont's samples.
``--split train-voiced-2`` (``train_families_voiced_2``) re-voices every part, doubles half of them and
plays each from key zones up to 7 semitones away, tuned back (a small soundfont's stretched samples).
``--split train-voiced-3`` (``train_families_voiced_3``): fresh arrangements voiced as ``-2`` but from key
zones up to an octave away, as a soundfont with one sample per octave plays most notes.
``--split train-synth`` (``train_families_synth``): fresh arrangements whose featured family, and each other
pitched part with even odds, is played by an instrument synthesised from scratch (`train.synth_voices`: struck
and plucked strings, drawbar and reed organs, bowed sections, sung vowels, brass, reeds, flutes, subtractive
and FM synths) in its own room, the rest by FluidR3: timbres of known families from no soundfont at all.

All are packed like any music split, with labels from the MIDI note activity. Idempotent: rendered clips
are kept in ``clips/<split>/music/`` and skipped, so an interrupted run resumes with the same command.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from train import datapaths
from train.datapaths import (FAMILIES_SPLIT, FAMILIES_UNSEEN_SPLIT, SAMPLE_RATE, SAMPLES_PER_FRAME,
                             TRAIN_FAMILIES_SPLIT, TRAIN_FAMILIES_VOICED_2_SPLIT,
                             TRAIN_FAMILIES_SYNTH_SPLIT, TRAIN_FAMILIES_VOICED_3_SPLIT,
                             TRAIN_FAMILIES_VOICED_SPLIT)

SPLITS = ("val", "train", "train-voiced", "train-voiced-2", "train-voiced-3", "train-synth")
SEED_BASE = {"val": 7_000_000, "train": 8_000_000, "train-voiced": 9_000_000, "train-voiced-2": 10_000_000,
             "train-voiced-3": 11_000_000, "train-synth": 12_000_000}
"""Seeds per source split (build_data's music uses 5_000_000 + ...): no arrangement is shared."""
TRAINING_OUTPUT = {"train": TRAIN_FAMILIES_SPLIT, "train-voiced": TRAIN_FAMILIES_VOICED_SPLIT,
                   "train-voiced-2": TRAIN_FAMILIES_VOICED_2_SPLIT, "train-voiced-3": TRAIN_FAMILIES_VOICED_3_SPLIT,
                   "train-synth": TRAIN_FAMILIES_SYNTH_SPLIT}
"""The packed split each training source split renders into (FluidR3 only: unseen soundfonts stay unheard)."""
VOICING = {"train-voiced": {}, "train-voiced-2": dict(layer_p=0.5, voice_p=1.0, stretch=7),
           "train-voiced-3": dict(layer_p=0.5, voice_p=1.0, stretch=12)}
"""`render_music.draw_voicing` settings of the re-voiced splits."""
SYNTHESISED = {"train-synth": 0.5}
"""Splits whose parts `train.synth_voices` plays: the featured family's always, each other pitched part with these odds."""
MAX_PER_FAMILY = 1000  # seeds of one family stay below the next family's
DEFAULT_PER_FAMILY = 8
DEFAULT_SECONDS = 10.0
UNSEEN_FONT = "timgm6mb"
DRUMS = "drums"
ATTEMPTS = 6  # pieces tried per clip before giving up (a piece can fail to parse or hold no notes)


def families() -> list[str]:
    """The 11 pitched label families of the renderer, then "drums"."""
    from train import render_music

    return [f for f in render_music.FAMILIES if f != "unlabeled"] + [DRUMS]


def split_pieces(split: str) -> dict[str, list]:
    """Pieces of the corpus in one split ("train" or "val"; "train-voiced" reads "train") by style group (the
    groups build_data balances)."""
    from train import build_data, render_music

    groups: dict[str, list] = {}
    source = split.split("-")[0]
    for piece in render_music.list_pieces():
        if build_data.piece_split(piece.piece_id) == source:
            groups.setdefault(render_music.piece_group(piece), []).append(piece)
    return groups


def plan(per_family: int, split: str = "val") -> list[tuple[str, int, str]]:
    """(family, seed, clip name) of every clip, in render order (families interleaved for --split train, so
    an interrupted render is still balanced)."""
    if not 1 <= per_family <= MAX_PER_FAMILY:
        raise ValueError(f"per_family must be 1..{MAX_PER_FAMILY}, got {per_family}")
    names = families()
    order = ([(i, k) for i in range(len(names)) for k in range(per_family)] if split == "val"
             else [(i, k) for k in range(per_family) for i in range(len(names))])
    return [(names[i], SEED_BASE[split] + MAX_PER_FAMILY * i + k, f"{names[i]}-{k:02d}") for i, k in order]


def output_splits(split: str) -> list[tuple[str, str]]:
    """(packed split, soundfont name) rendered from a source split: unseen soundfonts never for training."""
    if split == "val":
        return [(FAMILIES_SPLIT, "fluidr3"), (FAMILIES_UNSEEN_SPLIT, UNSEEN_FONT)]
    if split in TRAINING_OUTPUT:
        return [(TRAINING_OUTPUT[split], "fluidr3")]
    raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")


def arrange(family: str, seed: int, seconds: float, pieces: dict[str, list], used: set[str], parse, *,
            voicing: dict | None = None):
    """(tracks, length s, description, synth settings) of one clip featuring `family`, from an unused piece of `pieces`
    (re-voiced by `render_music.draw_voicing(**voicing)` when `voicing` is given)."""
    from train import render_music

    tracks, length, meta, settings = _arrange(family, seed, seconds, pieces, used, parse)
    if voicing is not None:
        tracks = render_music.draw_voicing(np.random.default_rng([seed, 1]), tracks, **voicing)
        meta.update(voicing=[dict(channel=t.channel, program=t.program, generators=[list(g) for g in t.generators])
                             for t in tracks if t.generators])
    return tracks, length, meta, settings


def _arrange(family: str, seed: int, seconds: float, pieces: dict[str, list], used: set[str], parse):
    from train import build_data, render_music

    rng = np.random.default_rng(seed)
    if family == DRUMS:
        tracks, length, meta = render_music.arrange_drums(rng, seconds)
        meta.update(source=f"drums#{seed}", collection="drums", group="drums")
        return tracks, length, meta, render_music.draw_synth_settings(rng)
    groups = [g for g in build_data.GROUP_WEIGHTS if g in pieces]
    weights = np.array([build_data.GROUP_WEIGHTS[g] for g in groups])
    errors = []
    for _ in range(ATTEMPTS):
        group = str(rng.choice(groups, p=weights / weights.sum()))
        free = [p for p in pieces[group] if p.piece_id not in used] or pieces[group]
        piece = free[int(rng.integers(len(free)))]
        try:
            tracks, length, meta = render_music.arrange_piece(rng, parse(piece), seconds, feature=family)
        except Exception as exc:  # an unparsable piece or an empty excerpt: draw another
            errors.append(f"{piece.piece_id}: {type(exc).__name__}: {exc}")
            continue
        frames = int(min(length, seconds) * SAMPLE_RATE) // SAMPLES_PER_FRAME
        if not render_music.label_activity(tracks, frames)[:, datapaths.LABEL_NAMES.index(family)].any():
            errors.append(f"{piece.piece_id}: its {family} part rests through the excerpt")
            continue
        used.add(piece.piece_id)
        meta.update(source=piece.piece_id, collection=piece.collection, group=group, featured=family)
        return tracks, length, meta, render_music.draw_synth_settings(rng)
    raise RuntimeError(f"no piece of the split gave a {family} clip in {ATTEMPTS} tries: " + "; ".join(errors))


def render_synthesised(seed: int, tracks: list, settings: dict, n_samples: int, soundfont: Path, featured: str,
                       other_p: float) -> tuple[np.ndarray, list[dict]]:
    """Audio of an arrangement whose `featured` family's parts (and each other pitched part with odds `other_p`)
    are played by `train.synth_voices` instruments in a synthetic room, the rest by `soundfont`; and the
    instruments drawn, for the clip's description.

    Levels: each synthesised part gets the RMS a soundfont part of the clip has on average, times its CC7 volume
    squared and a random 0.5-1.4, so a featured part stays as prominent as the arrangement made it.
    """
    from train import render_music, synth_voices
    from train.augment import random_room
    from train.render_unseen import render_with

    rng = np.random.default_rng([seed, 2])
    chosen = [t for t in tracks if t.channel != render_music.DRUM_CHANNEL and t.program in synth_voices.FAMILY_OF_PROGRAM
              and (synth_voices.FAMILY_OF_PROGRAM[t.program] == featured or rng.random() < other_p)]
    rest = [t for t in tracks if t not in chosen]
    sampled = render_with(rest, settings, n_samples, soundfont) if rest else np.zeros(n_samples, np.float32)
    sounding = [t for t in rest if len(t.notes)]
    reference = float(np.sqrt(np.mean(sampled ** 2)) / np.sqrt(len(sounding))) if sounding else 0.1
    synthesised, instruments = np.zeros(n_samples), []
    for track in chosen:
        instrument = synth_voices.draw_instrument(rng, track.program)
        audio = synth_voices.render_track(rng, track, n_samples, instrument).astype(np.float64)
        rms = float(np.sqrt(np.mean(audio ** 2)))
        if rms > 0:
            synthesised += audio * reference * (track.volume / 110) ** 2 * rng.uniform(0.5, 1.4) / rms
        instruments.append({"channel": track.channel, "program": track.program, "family": instrument["family"],
                            **{k: v for k, v in instrument.items() if isinstance(v, (int, float, str)) and k != "family"}})
    if chosen:  # a room of its own, up to a hall's (the soundfont parts have FluidSynth's reverb)
        synthesised = random_room(synthesised, rng, max_rt60_s=1.5)[0]
    return (sampled + synthesised).astype(np.float32), instruments


def build(root: Path, per_family: int = DEFAULT_PER_FAMILY, seconds: float = DEFAULT_SECONDS, *,
          split: str = "val", log=print) -> dict:
    """Render (or reuse) every clip of `split`'s pieces in each of its soundfonts and pack the splits."""
    from train import build_data, render_music
    from train.render_unseen import render_with, resolve_soundfonts

    root = Path(root)
    files = {"fluidr3": render_music.SOUNDFONT}
    fonts = []
    for out_split, font in output_splits(split):
        if font not in files:
            files[font] = resolve_soundfonts([font])[0].path
        fonts.append((out_split, font, files[font]))
    pieces, used, parsed = split_pieces(split), set(), {}

    def parse(piece):
        if piece.piece_id not in parsed:
            parsed[piece.piece_id] = render_music.parse_piece(piece)
        return parsed[piece.piece_id]

    jobs: dict[str, list] = {split: [] for split, _, _ in fonts}
    started = time.monotonic()
    todo = plan(per_family, split)
    for i, (family, seed, name) in enumerate(todo, 1):
        mine = [build_data.Job(split, "music", name, seed, {"featured": family}) for split, _, _ in fonts]
        for job in mine:
            jobs[job.split].append(job)
        metas = [build_data._paths(root, job)["meta"] for job in mine]
        if all(m.exists() for m in metas):
            if family != DRUMS:
                used.add(json.loads(metas[0].read_text())["source"])
            continue
        tracks, length, meta, settings = arrange(family, seed, seconds, pieces, used, parse,
                                                 voicing=VOICING.get(split))
        n_samples = int(min(length, seconds) * SAMPLE_RATE) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME
        labels = render_music.label_activity(tracks, n_samples // SAMPLES_PER_FRAME)
        for job, (_, font, font_file), meta_file in zip(mine, fonts, metas):
            if split in SYNTHESISED:
                audio, meta["synthesised"] = render_synthesised(seed, tracks, settings, n_samples, font_file, family,
                                                                SYNTHESISED[split])
            else:
                audio = render_with(tracks, settings, n_samples, font_file)
            if not np.abs(audio).max() > 1e-4:
                raise RuntimeError(f"{font_file} rendered silence for {name}; check that FluidSynth can read it.")
            paths = build_data._paths(root, job)
            paths["meta"].parent.mkdir(parents=True, exist_ok=True)
            build_data._save_npy(paths["labels"], labels)
            build_data._save_npy(paths["audio"], build_data.to_int16(audio))
            build_data._save_json(meta_file, {**meta, **settings, "soundfont": font, "soundfont_file": str(font_file),
                                              "name": name, "split": job.split, "kind": "music", "seed": seed,
                                              "samples": n_samples})
        log(f"{i}/{len(todo)} {name}: {meta['source']} ({meta.get('style')}, {n_samples / SAMPLE_RATE:.1f} s) "
            f"({time.monotonic() - started:.0f} s)")
    summary = {}
    for split, font, _ in fonts:
        packed = build_data.pack(root, split, "music", jobs[split])
        summary[split] = {"clips": len(packed["clips"]), "seconds": packed["seconds"], "soundfont": font}
    return {"splits": summary, "pieces": len(used), "build_seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.render_families", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=SPLITS, default="val",
                        help="pieces to draw from: val (the evaluation sets, default), train (train_families), "
                             "train-voiced / -2 / -3 (train_families_voiced[_2|_3]: training pieces re-voiced) or "
                             "train-synth (train_families_synth: parts played by synthesised instruments)")
    parser.add_argument("--per-family", type=int, default=DEFAULT_PER_FAMILY,
                        help="clips per family (11 pitched families + drums; default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="clip length (default: %(default)s)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"data directory (default ${datapaths.ENV_VAR} or ~/.cache/rtmusic/data)")
    args = parser.parse_args(argv)
    if not 1 <= args.per_family <= MAX_PER_FAMILY or args.seconds < 2.0:
        parser.error(f"--per-family must be 1..{MAX_PER_FAMILY} and --seconds at least 2")
    try:
        summary = build(datapaths.data_dir(args.out), args.per_family, args.seconds, split=args.split,
                        log=lambda text: print(text, file=sys.stderr, flush=True))
    except (KeyError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"render_families: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    for split, info in summary["splits"].items():
        print(f"{split}: {info['clips']} clips, {info['seconds'] / 60:.1f} min ({info['soundfont']})")
    print(f"{summary['pieces']} {args.split} pieces, built in {summary['build_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
