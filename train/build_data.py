"""Build the rtmusic training data (music, speech and noise clips for the train and val splits).

    python -m train.build_data [--quick] [--jobs N] [--out DIR] [--all]

Renders everything into ``$RTMUSIC_DATA`` (default ``~/.cache/rtmusic/data``; ``--out`` overrides)
and packs it for fast training: per split and kind one int16 ``.npy`` plus a JSON index, and for
music a uint8 label array at 100 frames/s (layout in :mod:`train.datapaths`).

Idempotent: each clip is written atomically and skipped when it already exists, so an interrupted
build resumes where it stopped; clips that fail (an unreadable score) are recorded and skipped.
``--quick`` makes a tiny set in seconds, for tests. ``--all`` then renders, ``--jobs`` at a time, the sets that
other modules build from this one (``EXTRA_SPLITS``, ``EXTRA_SPEECH_SPLITS``), so a fresh machine gets everything the shipped recipes and
the evaluations read with one command. See train/DATA.md for what the set contains.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from train import datapaths
from train.datapaths import KINDS, SAMPLE_RATE, SAMPLES_PER_FRAME, SPLITS

MUSIC_VAL_PER_MILLE = 80
"""Pieces whose id hashes below this (of 1000) are validation-only: ~8 % of the corpus."""

GROUP_WEIGHTS = {"chorale": 0.24, "folk": 0.30, "early": 0.18, "classical": 0.14, "harmony": 0.06, "drums": 0.08}
"""Share of music clips per style group (drums = drum-only clips)."""


@dataclasses.dataclass(frozen=True)
class Amounts:
    """How much to render: clip counts per split and clip lengths."""

    music_clips: dict  # split -> number of clips
    music_seconds: tuple[float, float]  # excerpt length range
    speech_clips: dict
    speech_sentences: tuple[int, int]  # sentences per clip, range
    noise_clips: dict
    noise_seconds: float


FULL = Amounts(music_clips={"train": 1600, "val": 38}, music_seconds=(20.0, 60.0),
               speech_clips={"train": 2000, "val": 40}, speech_sentences=(2, 7),
               noise_clips={"train": 3000, "val": 36}, noise_seconds=20.0)
QUICK = Amounts(music_clips={"train": 2, "val": 1}, music_seconds=(3.0, 4.0),
                speech_clips={"train": 2, "val": 1}, speech_sentences=(1, 1),
                noise_clips={"train": 3, "val": 2}, noise_seconds=2.0)

NOISE_SEED_BASE = {"train": 1_000_000, "val": 2_000_000}
"""Noise clips of different splits come from disjoint seed ranges."""
SPEECH_SEED_BASE = {"train": 3_000_000, "val": 4_000_000}
MUSIC_SEED_BASE = 5_000_000


@dataclasses.dataclass(frozen=True)
class Job:
    """One clip to render. ``spec`` holds what the renderer needs (piece, seconds, noise type...)."""

    split: str
    kind: str
    name: str
    seed: int
    spec: dict


def piece_split(piece_id: str) -> str:
    """Validation or training, decided once per piece by a stable hash of its id."""
    return "val" if zlib.crc32(piece_id.encode()) % 1000 < MUSIC_VAL_PER_MILLE else "train"


# --------------------------------------------------------------------------- planning


def plan_music(amounts: Amounts, seed: int = 0, quick: bool = False) -> list[Job]:
    """Draw pieces per style group until each split has its clip count; one clip per piece."""
    from train import render_music

    rng = np.random.default_rng(seed)
    pieces = render_music.list_pieces()
    by_group: dict[str, dict[str, list]] = {}
    for piece in pieces:
        group = render_music.piece_group(piece)
        by_group.setdefault(group, {}).setdefault(piece.collection, []).append(piece)
    groups = list(GROUP_WEIGHTS) if not quick else ["folk", "drums"]
    weights = np.array([GROUP_WEIGHTS[g] for g in groups])
    wanted = dict(amounts.music_clips)
    used: dict[str, int] = {}
    jobs: list[Job] = []
    drum_count = 0
    while any(wanted.values()):
        group = str(rng.choice(groups, p=weights / weights.sum()))
        seconds = float(rng.uniform(*amounts.music_seconds))
        if group == "drums":
            drum_id = f"drums#{drum_count}"
            drum_count += 1
            split = piece_split(drum_id)
            if wanted[split] and not (quick and split == "val"):
                wanted[split] -= 1
                jobs.append(Job(split, "music", f"drums-{drum_count - 1:04d}", MUSIC_SEED_BASE + drum_count,
                                {"drums": True, "seconds": min(seconds, 40.0), "source": drum_id}))
            continue
        collections = by_group[group]
        collection = collections[sorted(collections)[int(rng.integers(len(collections)))]]
        piece = collection[int(rng.integers(len(collection)))]
        split = piece_split(piece.piece_id)
        uses = used.get(piece.piece_id, 0)
        if uses >= (3 if group == "classical" else 1) or not wanted[split]:
            continue  # long classical works give up to three excerpts, everything else one
        if quick and piece.collection != "ryansMammoth":
            continue
        used[piece.piece_id] = uses + 1
        wanted[split] -= 1
        name = f"{piece.collection}-{zlib.crc32(piece.piece_id.encode()):08x}" + (f"-{uses}" if uses else "")
        seed = MUSIC_SEED_BASE + (zlib.crc32(piece.piece_id.encode()) + 7919 * uses) % 1_000_000
        jobs.append(Job(split, "music", name, seed,
                        {"drums": False, "seconds": seconds, "source": piece.piece_id,
                         "piece": dataclasses.asdict(piece)}))
    return jobs


def plan_speech(amounts: Amounts) -> list[Job]:
    """Speech clips per split; the voice is drawn inside the renderer from the split's voices."""
    return [Job(split, "speech", f"speech-{i:05d}", SPEECH_SEED_BASE[split] + i,
                {"sentences": int(np.random.default_rng(SPEECH_SEED_BASE[split] + i).integers(
                    amounts.speech_sentences[0], amounts.speech_sentences[1] + 1))})
            for split in SPLITS for i in range(amounts.speech_clips[split])]


def plan_noise(amounts: Amounts) -> list[Job]:
    """Noise-bank clips per split, cycling through every noise type; seeds disjoint per split."""
    from train.noises import NOISE_TYPES

    types = list(NOISE_TYPES)
    jobs = []
    for split in SPLITS:
        for i in range(amounts.noise_clips[split]):
            noise_type = types[i % len(types)]
            jobs.append(Job(split, "noise", f"noise-{i:05d}-{noise_type}", NOISE_SEED_BASE[split] + i,
                            {"noise_type": noise_type, "seconds": amounts.noise_seconds}))
    return jobs


# --------------------------------------------------------------------------- rendering (workers)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Peak-normalise to -1 dBFS and quantise: clips are stored at full resolution, levels set later."""
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    scale = 10 ** (-1 / 20) * 32767 / peak if peak > 0 else 0.0
    return np.round(audio.astype(np.float64) * scale).astype(np.int16)


def _paths(root: Path, job: Job) -> dict[str, Path]:
    folder = datapaths.clip_dir(root, job.split, job.kind)
    return {"audio": folder / f"{job.name}.npy", "labels": folder / f"{job.name}.labels.npy",
            "meta": folder / f"{job.name}.json", "failed": folder / f"{job.name}.failed"}


def _save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def _save_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


_SPEECH_POOL: dict[tuple[str, str], list[np.ndarray]] = {}


def _speech_pool(root: Path, split: str, rng: np.random.Generator, count: int = 24) -> list[np.ndarray]:
    """A few speech clips of ``split`` from the packed speech store, for babble."""
    key = (str(root), split)
    if key not in _SPEECH_POOL:
        index = json.loads(datapaths.index_path(root, split, "speech").read_text())
        audio = np.load(datapaths.audio_path(root, split, "speech"), mmap_mode="r")
        _SPEECH_POOL[key] = [audio[c["offset"]: c["offset"] + c["length"]] for c in index["clips"]]
    pool = _SPEECH_POOL[key]
    if not pool:
        return []
    picks = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
    return [np.asarray(pool[i], dtype=np.float32) / 32768.0 for i in picks]


def run_job(job: Job, root: Path) -> tuple[Job, str, float, str]:
    """Render one clip into the clip folder (skipped if done). Returns (job, status, seconds, error)."""
    paths = _paths(root, job)
    if paths["meta"].exists():
        return job, "done", float(json.loads(paths["meta"].read_text())["samples"]) / SAMPLE_RATE, ""
    if paths["failed"].exists():
        return job, "failed", 0.0, paths["failed"].read_text()
    paths["meta"].parent.mkdir(parents=True, exist_ok=True)
    try:
        labels = None
        if job.kind == "music":
            from train import render_music

            if job.spec["drums"]:
                clip = render_music.render_drum_clip(job.seed, job.spec["seconds"])
            else:
                piece = render_music.PieceRef(**job.spec["piece"])
                clip = render_music.render_piece_clip(piece, job.seed, job.spec["seconds"])
            audio, labels, meta = clip.audio, clip.labels, clip.meta
        elif job.kind == "speech":
            from train import render_speech

            clip = render_speech.render_speech_clip(job.seed, job.split, job.spec["sentences"])
            audio, meta = clip.audio, clip.meta
            meta["source"] = meta["voice"]
        else:
            from train import noises

            rng = np.random.default_rng(job.seed)
            speech = _speech_pool(root, job.split, rng)
            clip = noises.render_noise_clip(job.seed, job.spec["noise_type"], job.spec["seconds"], speech=speech)
            audio, meta = clip.audio, clip.meta
    except Exception as exc:  # a bad piece or voice must not stop the build; it is recorded instead
        message = f"{type(exc).__name__}: {exc}"
        paths["failed"].write_text(message)
        return job, "failed", 0.0, message
    if len(audio) % SAMPLES_PER_FRAME:
        audio = np.concatenate([audio, np.zeros((-len(audio)) % SAMPLES_PER_FRAME, np.float32)])
    if labels is not None:
        _save_npy(paths["labels"], labels[: len(audio) // SAMPLES_PER_FRAME])
    _save_npy(paths["audio"], to_int16(audio))
    meta.update(name=job.name, split=job.split, kind=job.kind, seed=job.seed, samples=len(audio))
    _save_json(paths["meta"], meta)
    return job, "new", len(audio) / SAMPLE_RATE, ""


def _run_job_star(args):
    return run_job(*args)


# --------------------------------------------------------------------------- packing


def pack(root: Path, split: str, kind: str, jobs: list[Job]) -> dict:
    """Concatenate the finished clips of one split/kind into one .npy (+ labels) and a JSON index.

    Skipped when the index already lists exactly these clips.
    """
    done = [job for job in jobs if _paths(root, job)["meta"].exists()]
    index_file = datapaths.index_path(root, split, kind)
    names = [job.name for job in done]
    if index_file.exists():
        index = json.loads(index_file.read_text())
        if [c["name"] for c in index["clips"]] == names and datapaths.audio_path(root, split, kind).exists():
            return index
    metas = [json.loads(_paths(root, job)["meta"].read_text()) for job in done]
    total = sum(m["samples"] for m in metas)
    audio_file = datapaths.audio_path(root, split, kind)
    tmp_audio = audio_file.with_name(audio_file.stem + ".tmp.npy")
    audio_out = np.lib.format.open_memmap(tmp_audio, mode="w+", dtype=np.int16, shape=(total,))
    labels_out = None
    if kind == "music":
        labels_file = datapaths.labels_path(root, split)
        tmp_labels = labels_file.with_name(labels_file.stem + ".tmp.npy")
        labels_out = np.lib.format.open_memmap(tmp_labels, mode="w+", dtype=np.uint8,
                                               shape=(total // SAMPLES_PER_FRAME, len(datapaths.LABEL_NAMES)))
    clips = []
    offset = 0
    for job, meta in zip(done, metas):
        clip = np.load(_paths(root, job)["audio"])
        audio_out[offset: offset + len(clip)] = clip
        entry = {"name": job.name, "offset": offset, "length": len(clip),
                 "frame_offset": offset // SAMPLES_PER_FRAME, "frames": len(clip) // SAMPLES_PER_FRAME}
        if labels_out is not None:
            labels = np.load(_paths(root, job)["labels"])
            labels_out[entry["frame_offset"]: entry["frame_offset"] + entry["frames"]] = labels
        entry.update({k: v for k, v in meta.items() if k not in ("name", "split", "kind", "samples")})
        clips.append(entry)
        offset += len(clip)
    audio_out.flush()
    del audio_out
    os.replace(tmp_audio, audio_file)
    if labels_out is not None:
        labels_out.flush()
        del labels_out
        os.replace(tmp_labels, datapaths.labels_path(root, split))
    index = {"split": split, "kind": kind, "sample_rate": SAMPLE_RATE, "frame_rate": datapaths.FRAME_RATE,
             "total_samples": total, "seconds": total / SAMPLE_RATE, "dtype": "int16",
             "label_names": list(datapaths.LABEL_NAMES) if kind == "music" else None,
             "failed": [job.name for job in jobs if _paths(root, job)["failed"].exists()],
             "clips": clips}
    _save_json(index_file, index)
    return index


# --------------------------------------------------------------------------- driver


def _run_all(root: Path, jobs: list[Job], n_workers: int, progress, tasks: dict, log) -> None:
    """Render ``jobs`` with ``n_workers`` processes (in-process for 1), advancing progress per kind."""
    pending = [job for job in jobs if not _paths(root, job)["meta"].exists() and not _paths(root, job)["failed"].exists()]
    for job in jobs:
        if job not in pending:
            progress.advance(tasks[job.kind])
    if not pending:
        return
    started = time.monotonic()
    if n_workers <= 1:
        results = (run_job(job, root) for job in pending)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn").Pool(n_workers)
        results = pool.imap_unordered(_run_job_star, [(job, root) for job in pending], chunksize=1)
    try:
        for i, (job, status, seconds, error) in enumerate(results, 1):
            progress.advance(tasks[job.kind])
            if status == "failed":
                log(f"[yellow]skipped {job.split}/{job.kind}/{job.name}: {error[:160]}[/]")
            if not progress.console.is_terminal and (i % 25 == 0 or i == len(pending)):
                rate = i / (time.monotonic() - started)
                log(f"{i}/{len(pending)} clips rendered ({rate:.2f}/s), last {job.split}/{job.kind}/{job.name}")
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


EXTRA_SPLITS = (datapaths.UNSEEN_SF_SPLIT, datapaths.FAMILIES_SPLIT,  # the evaluations' music
                datapaths.TRAIN_FAMILIES_SPLIT,  # the shipped denoiser's extra music
                datapaths.TRAIN_FAMILIES_VOICED_SPLIT, datapaths.TRAIN_FAMILIES_VOICED_2_SPLIT)  # and the classifier's
"""Splits rendered from the val or train split that ``--all`` adds (about 10 min each on a core)."""

EXTRA_SPEECH_SPLITS = (datapaths.UNSEEN_TTS_SPLIT,)
"""Speech splits ``--all`` adds: the evaluations' speech from other synthesisers (under a minute)."""

QUICK_EXTRA_ARGS = {"train.render_unseen": ("--seconds", "2"),
                    "train.render_families": ("--per-family", "1", "--seconds", "2"),
                    "train.render_unseen_speech": ("--voices", "flite:slt,festival:kal_diphone", "--clips-per-voice",
                                                   "1", "--sentences", "1")}
"""What ``--quick --all`` adds to each render (the last of a repeated option wins): seconds of work in all."""


def extra_commands(quick: bool = False) -> list[list[str]]:
    """The distinct render commands (module and arguments, no ``--out``) behind EXTRA_SPLITS and EXTRA_SPEECH_SPLITS."""
    commands: list[list[str]] = []
    for split in EXTRA_SPLITS + EXTRA_SPEECH_SPLITS:
        module, *args = datapaths.SPLIT_MADE_BY[split].split()
        command = [module, *args, *(QUICK_EXTRA_ARGS[module] if quick else ())]
        if command not in commands:
            commands.append(command)
    return commands


def render_extras(root: Path, *, quick: bool = False, n_workers: int = 1, log=print) -> list[str]:
    """Run extra_commands() as subprocesses, ``n_workers`` at a time, each logging to ``root/logs``; returns the
    commands that failed. Each render is idempotent, so a rerun only does what is missing."""
    import subprocess

    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    todo = extra_commands(quick)
    running: list[tuple[str, subprocess.Popen, Path]] = []
    failed: list[str] = []
    try:
        while todo or running:
            while todo and len(running) < max(1, n_workers):
                module, *args = todo.pop(0)
                command = " ".join(["python -m", module, *args])
                log_file = logs / (module.split(".")[-1] + (f"_{args[1]}" if args[:1] == ["--split"] else "") + ".log")
                with log_file.open("w") as out:
                    proc = subprocess.Popen([sys.executable, "-m", module, *args, "--out", str(root)], stdout=out,
                                            stderr=subprocess.STDOUT)
                running.append((command, proc, log_file))
                log(f"started {command} (log: {log_file})")
            time.sleep(0.2)
            for item in [r for r in running if r[1].poll() is not None]:
                running.remove(item)
                command, proc, log_file = item
                if proc.returncode:
                    failed.append(command)
                    log(f"[red]{command} failed (exit {proc.returncode}); see {log_file}[/]")
                else:
                    lines = log_file.read_text().strip().splitlines()
                    log(f"done: {command}: {lines[-1] if lines else ''}")
    finally:  # interrupted: stop the renders still running (each resumes where it stopped)
        for _, proc, _ in running:
            proc.terminate()
    return failed


def build(root: Path, *, quick: bool = False, n_workers: int = 1, console=None) -> dict:
    """Render and pack everything that is missing under ``root``; returns the per split/kind summary."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = console or Console()
    amounts = QUICK if quick else FULL
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    jobs = {"music": plan_music(amounts, quick=quick), "speech": plan_speech(amounts), "noise": plan_noise(amounts)}
    with Progress(TextColumn("{task.description:>7}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as progress:
        tasks = {kind: progress.add_task(kind, total=len(jobs[kind])) for kind in KINDS}
        # Speech first (babble noise is made from it), music alongside, then noise.
        first = [j for pair in zip(jobs["speech"], jobs["music"]) for j in pair]
        first += jobs["speech"][len(jobs["music"]):] + jobs["music"][len(jobs["speech"]):]
        _run_all(root, first, n_workers, progress, tasks, console.log)
        for split in SPLITS:
            pack(root, split, "speech", [j for j in jobs["speech"] if j.split == split])
            pack(root, split, "music", [j for j in jobs["music"] if j.split == split])
        _run_all(root, jobs["noise"], n_workers, progress, tasks, console.log)
        for split in SPLITS:
            pack(root, split, "noise", [j for j in jobs["noise"] if j.split == split])
    summary = summarize(root)
    summary["build_seconds"] = time.monotonic() - started
    return summary


def summarize(root: Path) -> dict:
    """Hours, clip counts and failures per split and kind, read from the packed indexes."""
    out: dict = {}
    for split in SPLITS:
        for kind in KINDS:
            path = datapaths.index_path(root, split, kind)
            if path.exists():
                index = json.loads(path.read_text())
                out[f"{split}/{kind}"] = {"hours": index["seconds"] / 3600, "clips": len(index["clips"]),
                                          "failed": len(index["failed"])}
    return out


def print_summary(summary: dict, root: Path, console) -> None:
    from rich.table import Table

    table = Table(title=f"rtmusic training data in {root}")
    for column in ("split/kind", "hours", "minutes", "clips", "skipped"):
        table.add_column(column, justify="right" if column != "split/kind" else "left")
    for key, row in summary.items():
        if key == "build_seconds":
            continue
        table.add_row(key, f"{row['hours']:.2f}", f"{row['hours'] * 60:.1f}", str(row["clips"]), str(row["failed"]))
    console.print(table)
    console.print(f"build took {summary['build_seconds']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.build_data", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tiny set in a few seconds (for tests)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"data directory (default ${datapaths.ENV_VAR} or ~/.cache/rtmusic/data)")
    parser.add_argument("--all", action="store_true",
                        help="then render the evaluation sets and the label-balanced training splits the shipped "
                             "recipes read (render_unseen, render_families, render_unseen_speech: about 25 min "
                             "more with --jobs 2)")
    args = parser.parse_args(argv)
    from rich.console import Console

    console = Console()
    if args.jobs < 1:
        console.print("[red]--jobs must be at least 1.[/]")
        return 2
    root = datapaths.data_dir(args.out)
    try:
        summary = build(root, quick=args.quick, n_workers=args.jobs, console=console)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; run the same command again to resume.[/]")
        return 130
    print_summary(summary, root, console)
    if args.all:
        started = time.monotonic()
        try:
            failed = render_extras(root, quick=args.quick, n_workers=args.jobs, log=console.log)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted; run the same command again to resume.[/]")
            return 130
        if failed:
            console.print(f"[red]{len(failed)} render(s) failed; fix what their logs say and run the same command "
                          "again (finished clips are kept).[/]")
            return 1
        console.print(f"extra renders took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
