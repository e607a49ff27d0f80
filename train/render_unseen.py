"""Render the validation music again with soundfonts the models never heard, for an honest generalisation test.

    python -m train.render_unseen [--soundfonts timgm6mb] [--seconds 10] [--out DIR]

Why this exists: training and validation music are both rendered with FluidR3 GM, so the validation
figures measure unseen pieces and arrangements but not an unseen *sound*. This re-creates each clip of
the packed val music split note for note (same piece, seed, excerpt, programs, tempo, dynamics, synth
settings; the arrangement is rebuilt from the seed and checked against the val index) and renders its
first ``--seconds`` with each unseen soundfont. Only the sound source differs: the labels are the val
split's own label frames (checked equal).

The result is packed like any split, as ``val_unseen_sf`` (``val_unseen_sf_music.npy``, ``.json``,
``_music_labels.npy``; clip names ``<val clip>.<soundfont>``, each entry naming its ``soundfont``). Next to
it, ``val_excerpts`` holds the same excerpts cut from the val split's own FluidR3 audio, clip for clip and
of the same lengths: the paired control. Mixed with the same seed, both give the same crops, noises, SNRs
and levels, so the difference between their figures is the soundfont alone.
Idempotent: rendered clips are kept in ``clips/val_unseen_sf/music/`` and skipped when present at the
asked length, so an interrupted run resumes with the same command.
Evaluate on it with ``python -m bench.quality --music-source unseen-soundfonts`` and
``python -m bench.classify_eval --music-source unseen-soundfonts`` (speech and noise stay the val split's).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from train import datapaths
from train.datapaths import SAMPLE_RATE, SAMPLES_PER_FRAME

SPLIT = datapaths.UNSEEN_SF_SPLIT
CONTROL_SPLIT = datapaths.VAL_EXCERPTS_SPLIT
SOURCE_SPLIT = "val"
DEFAULT_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class SoundFont:
    """A General MIDI soundfont that no training clip was rendered with."""

    name: str  # short id used in clip names and indexes
    path: Path
    package: str  # the Debian package that ships it


UNSEEN_SOUNDFONTS = {
    sf.name: sf for sf in (
        SoundFont("timgm6mb", Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), "timgm6mb-soundfont"),
    )
}
"""Soundfonts whose samples are not FluidR3's. TimGM6mb holds every GM program and all eight drum kits the
renderer uses. Not here, because they reuse FluidR3's (or TimGM6mb's) samples, measured note by note
against FluidR3 (train/DATA.md): MuseScore General (89 of 136 programs and kits sound the same as FluidR3,
correlation > 0.9; it descends from FluidR3Mono), fluid-soundfont-gs (FluidR3 itself), csound's
sf_GMbank (83 of 136 the same as TimGM6mb)."""

_CHECKED_META = ("style", "programs", "drums", "bpm", "excerpt_start_s", "drum_kit",
                 "gain", "reverb_room", "reverb_level", "chorus_level")
"""Index fields that must come out the same when a val clip's arrangement is rebuilt from its seed."""


def resolve_soundfonts(names: list[str]) -> list[SoundFont]:
    """SoundFont objects for names; an unknown name or a missing file raises with what to do."""
    out = []
    for name in names:
        if name not in UNSEEN_SOUNDFONTS:
            raise KeyError(f"no unseen soundfont named {name!r}; known: {', '.join(UNSEEN_SOUNDFONTS)}")
        sf = UNSEEN_SOUNDFONTS[name]
        if not sf.path.exists():
            raise FileNotFoundError(f"{sf.path} is missing: run `apt-get install {sf.package}` "
                                    f"(or `bash scripts/setup.sh --test`).")
        out.append(sf)
    return out


def val_music_jobs(root: Path) -> list:
    """The build jobs of the packed val music split at ``root`` (full or --quick recipe, whichever made it)."""
    from train import build_data

    index_file = datapaths.index_path(root, SOURCE_SPLIT, "music")
    if not index_file.exists():
        raise FileNotFoundError(f"{index_file} is missing: build the data first with "
                                f"`python -m train.build_data --out {root}`.")
    packed = [(c["name"], c["seed"]) for c in json.loads(index_file.read_text())["clips"]]
    for amounts, quick in ((build_data.FULL, False), (build_data.QUICK, True)):
        jobs = {j.name: j for j in build_data.plan_music(amounts, quick=quick) if j.split == SOURCE_SPLIT}
        if all(name in jobs and jobs[name].seed == seed for name, seed in packed):
            return [jobs[name] for name, _ in packed]
    raise ValueError(f"{index_file} was not made by this checkout's music plan; rebuild it with "
                     f"`python -m train.build_data --out {root}` before rendering unseen soundfonts.")


def arrangement(job, parsed=None):
    """Rebuild a val clip's tracks, length, description and synth settings from its seed, as build_data did."""
    from train import render_music

    rng = np.random.default_rng(job.seed)
    if job.spec["drums"]:
        tracks, seconds, meta = render_music.arrange_drums(rng, job.spec["seconds"])
    else:
        tracks, seconds, meta = render_music.arrange_piece(rng, parsed, job.spec["seconds"])
    return tracks, seconds, meta, render_music.draw_synth_settings(rng)


def _cut(tracks: list, seconds: float) -> list:
    """The tracks with only the notes that start before ``seconds`` (what sounds in the kept excerpt)."""
    out = []
    for track in tracks:
        keep = track.notes[:, 0] < seconds
        ring = track.ring[keep] if track.ring is not None else None
        out.append(dataclasses.replace(track, notes=track.notes[keep], ring=ring))
    return out


def render_with(tracks: list, settings: dict, n_samples: int, soundfont: Path) -> np.ndarray:
    """Render the first ``n_samples`` of an arrangement with ``soundfont``: float32 [n_samples]."""
    from train import render_music

    seconds = n_samples / SAMPLE_RATE
    with tempfile.TemporaryDirectory(prefix="rtmusic-unseen-") as tmp:
        midi = Path(tmp) / "clip.mid"
        render_music.write_midi(midi, _cut(tracks, seconds), seconds + 0.5)
        audio = render_music.render_midi(midi, soundfont=soundfont, **settings)
    out = np.zeros(n_samples, np.float32)
    out[: min(n_samples, len(audio))] = audio[:n_samples]
    return out


def _done(meta_file: Path, n_samples: int) -> bool:
    """A clip is kept when it was rendered to the same length (another --seconds renders it again)."""
    return meta_file.exists() and json.loads(meta_file.read_text()).get("samples") == n_samples


def _save_clip(root: Path, job, audio: np.ndarray, labels: np.ndarray, entry: dict, font: str, font_file: Path,
               n_samples: int) -> None:
    """Write one clip (peak-normalised int16, its labels, its val index entry + soundfont) for build_data.pack."""
    from train import build_data

    paths = build_data._paths(root, job)
    paths["meta"].parent.mkdir(parents=True, exist_ok=True)
    build_data._save_npy(paths["labels"], labels)
    build_data._save_npy(paths["audio"], build_data.to_int16(audio))
    meta = {k: v for k, v in entry.items() if k not in ("name", "offset", "length", "frame_offset", "frames")}
    meta.update(soundfont=font, soundfont_file=str(font_file), val_clip=entry["name"], name=job.name,
                split=job.split, kind="music", samples=n_samples)
    build_data._save_json(paths["meta"], meta)


def build(root: Path, soundfonts: list[SoundFont], seconds: float = DEFAULT_SECONDS, *,
          clips: int | None = None, log=print) -> dict:
    """Render every val music clip (or the first ``clips``) with each soundfont and pack the split."""
    from train import build_data, render_music

    root = Path(root)
    jobs = val_music_jobs(root)[:clips]
    index = {c["name"]: c for c in json.loads(datapaths.index_path(root, SOURCE_SPLIT, "music").read_text())["clips"]}
    val_labels = np.load(datapaths.labels_path(root, SOURCE_SPLIT), mmap_mode="r")
    val_audio = np.load(datapaths.audio_path(root, SOURCE_SPLIT, "music"), mmap_mode="r")
    pieces = {p.piece_id: p for p in render_music.list_pieces()}
    out_jobs, control_jobs, parsed_cache, rewritten = [], [], {}, set()
    started = time.monotonic()
    for i, job in enumerate(jobs, 1):
        entry = index[job.name]
        n_samples = min(entry["length"], int(seconds * SAMPLE_RATE) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME)
        frames = n_samples // SAMPLES_PER_FRAME
        mine = [dataclasses.replace(job, split=SPLIT, name=f"{job.name}.{sf.name}") for sf in soundfonts]
        out_jobs += mine
        control = dataclasses.replace(job, split=CONTROL_SPLIT)
        control_jobs.append(control)
        if not _done(build_data._paths(root, control)["meta"], n_samples):
            excerpt = val_audio[entry["offset"]: entry["offset"] + n_samples].astype(np.float32)
            own = np.asarray(val_labels[entry["frame_offset"]: entry["frame_offset"] + frames], np.uint8)
            _save_clip(root, control, excerpt, own, entry, "fluidr3", render_music.SOUNDFONT, n_samples)
            rewritten.add(CONTROL_SPLIT)
        todo = [(sf, j) for sf, j in zip(soundfonts, mine) if not _done(build_data._paths(root, j)["meta"], n_samples)]
        if not todo:
            continue
        parsed = None
        if not job.spec["drums"]:
            piece_id = job.spec["source"]
            if piece_id not in parsed_cache:
                parsed_cache[piece_id] = render_music.parse_piece(pieces[piece_id])  # a few excerpts share a piece
            parsed = parsed_cache[piece_id]
        tracks, _, meta, settings = arrangement(job, parsed)
        rebuilt = {**meta, **settings}
        differs = [k for k in _CHECKED_META if k in entry and rebuilt.get(k) != entry[k]]
        labels = render_music.label_activity(tracks, entry["frames"])[:frames]
        own = val_labels[entry["frame_offset"]: entry["frame_offset"] + frames]
        if differs or not np.array_equal(labels, own):
            raise ValueError(f"val clip {job.name} did not rebuild the same ({', '.join(differs) or 'labels'} differ): "
                             f"the renderer changed since the data was built; rebuild it with "
                             f"`python -m train.build_data --out {root}`.")
        for sf, out_job in todo:
            audio = render_with(tracks, settings, n_samples, sf.path)
            if not np.abs(audio).max() > 1e-4:
                raise RuntimeError(f"{sf.path} rendered silence for {job.name}; check that FluidSynth can read it "
                                   f"(`fluidsynth -ni {sf.path} some.mid`).")
            _save_clip(root, out_job, audio, np.asarray(own, np.uint8), entry, sf.name, sf.path, n_samples)
            rewritten.add(SPLIT)
        log(f"{i}/{len(jobs)} {job.name}: {n_samples / SAMPLE_RATE:.1f} s x {len(todo)} soundfont(s) "
            f"({time.monotonic() - started:.0f} s)")
    for split in rewritten:  # pack() keeps an index that lists the same names: clips of another length need a new one
        datapaths.index_path(root, split, "music").unlink(missing_ok=True)
    packed = build_data.pack(root, SPLIT, "music", out_jobs)
    build_data.pack(root, CONTROL_SPLIT, "music", control_jobs)
    fonts = sorted({c["soundfont"] for c in packed["clips"]})
    return {"split": SPLIT, "clips": len(packed["clips"]), "pieces": len({c["val_clip"] for c in packed["clips"]}),
            "soundfonts": fonts, "seconds": packed["seconds"], "build_seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.render_unseen", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soundfonts", default=",".join(UNSEEN_SOUNDFONTS),
                        help="comma-separated (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                        help="render the first N seconds of each val clip (default: %(default)s)")
    parser.add_argument("--clips", type=int, default=None, help="only the first N val clips (default: all)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"data directory (default ${datapaths.ENV_VAR} or ~/.cache/rtmusic/data)")
    args = parser.parse_args(argv)
    if args.seconds < 0.5:
        parser.error("--seconds must be at least 0.5")
    try:
        soundfonts = resolve_soundfonts([s.strip() for s in args.soundfonts.split(",") if s.strip()])
        summary = build(datapaths.data_dir(args.out), soundfonts, args.seconds, clips=args.clips,
                        log=lambda text: print(text, file=sys.stderr, flush=True))
    except (KeyError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"render_unseen: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    print(f"{summary['split']}: {summary['clips']} clips ({summary['pieces']} val clips x "
          f"{', '.join(summary['soundfonts'])}), {summary['seconds'] / 60:.1f} min, built in "
          f"{summary['build_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
