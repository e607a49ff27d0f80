"""Render music21 corpus pieces to 48 kHz mono audio, with per-instrument label activity.

Why this exists: the denoiser must learn to keep music, and the classifier must name what plays.
Real recordings with instrument annotations are not available offline, so we synthesise them: a
score from music21's bundled corpus is re-orchestrated at random (General MIDI programs from every
family, solos and ensembles, transposition, tempo, dynamics, optional drum grooves), written to a
MIDI file, and rendered by FluidSynth with the FluidR3 GM soundfont. Because we wrote the MIDI, we
know exactly which instrument sounds when, which gives the label matrix for free.

Labels: uint8 [frames, 12] at 100 frames/s in the column order of
:data:`train.datapaths.LABEL_NAMES`, 1 from note-on to note-off plus 100 ms of release. The program
to label map (GM numbers, 1-based) is: piano 1-8, mallets 9-16, organ 17-24, guitar 25-32, bass
33-40, strings 41-52, voice 53-55, brass 57-64, reed 65-72, pipe 73-80, synth 81-104, drums = MIDI
channel 10. GM 56 (orchestra hit) and 105-116 (ethnic and pitched percussion) are used now and then
for variety and map to no label. GM 97 (FX rain) and 117-128 (drum-like and sound effects: seashore,
applause, helicopter...) are never used, because they sound like the noises we teach the model to
remove.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np

from train.datapaths import FRAME_RATE, LABEL_NAMES, SAMPLE_RATE, SAMPLES_PER_FRAME

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RELEASE_SECONDS = 0.1
"""Label activity continues this long after a note-off (the instrument's release)."""

DRUM_CHANNEL = 9
"""MIDI channel 10, counted from zero."""
DRUM_LABEL = LABEL_NAMES.index("drums")

# family -> (0-based GM programs we draw from, comfortable register); labels follow program_label()
FAMILIES: dict[str, tuple[tuple[int, ...], tuple[int, int]]] = {
    "piano": (tuple(range(0, 8)), (33, 100)),
    "mallets": (tuple(range(8, 16)), (48, 96)),
    "organ": (tuple(range(16, 24)), (36, 96)),
    "guitar": (tuple(range(24, 32)), (40, 84)),
    "bass": (tuple(range(32, 40)), (28, 60)),
    "strings": (tuple(range(40, 52)), (36, 96)),
    "voice": ((52, 53, 54), (45, 79)),
    "brass": (tuple(range(56, 64)), (40, 84)),
    "reed": (tuple(range(64, 72)), (46, 86)),
    "pipe": (tuple(range(72, 80)), (60, 96)),
    "synth": (tuple(range(80, 96)) + tuple(range(97, 104)), (36, 96)),
    "unlabeled": ((55,) + tuple(range(104, 116)), (48, 84)),
}
FAMILY_WEIGHTS = {
    "piano": 1.3, "mallets": 0.8, "organ": 0.8, "guitar": 1.1, "bass": 0.4, "strings": 1.3,
    "voice": 0.9, "brass": 1.0, "reed": 1.0, "pipe": 0.9, "synth": 1.0, "unlabeled": 0.2,
}
# Programs whose playable range is much narrower than their family's (0-based GM numbers).
PROGRAM_REGISTERS = {
    9: (72, 105), 10: (60, 96), 14: (60, 77), 11: (53, 89), 12: (45, 96),
    40: (55, 100), 41: (48, 88), 42: (36, 76), 43: (28, 60), 47: (38, 57),
    56: (54, 86), 57: (40, 72), 58: (28, 58), 60: (41, 77),
    64: (56, 88), 65: (49, 81), 66: (44, 76), 67: (36, 69), 68: (58, 91), 70: (34, 72),
    71: (50, 91), 72: (74, 105),
}
DRUM_KITS = (0, 8, 16, 24, 25, 32, 40, 48)
"""FluidR3 drum kits (program on channel 10): standard, room, power, electronic, TR-808, jazz,
brush, orchestra."""

# GM percussion keys and how long each rings, for label activity.
KICK, SIDE_STICK, SNARE, CLAP, SNARE2 = 36, 37, 38, 39, 40
HAT_CLOSED, HAT_PEDAL, HAT_OPEN, RIDE, RIDE_BELL, CRASH, CRASH2, SPLASH = 42, 44, 46, 51, 53, 49, 57, 55
TOMS = (50, 48, 47, 45, 43, 41)
TAMBOURINE, COWBELL, SHAKER, CLAVES, CONGA_HI, CONGA_LO = 54, 56, 70, 75, 62, 64
DRUM_RING_SECONDS = {KICK: 0.3, SNARE: 0.3, SNARE2: 0.3, CLAP: 0.25, SIDE_STICK: 0.15,
                     HAT_CLOSED: 0.12, HAT_PEDAL: 0.12, HAT_OPEN: 0.5, RIDE: 1.0, RIDE_BELL: 1.0,
                     CRASH: 1.8, CRASH2: 1.8, SPLASH: 1.0, TAMBOURINE: 0.3, COWBELL: 0.3,
                     SHAKER: 0.15, CLAVES: 0.15, CONGA_HI: 0.3, CONGA_LO: 0.35}
DEFAULT_DRUM_RING = 0.4


_LABEL_RANGES = ((1, 8), (9, 16), (17, 24), (25, 32), (33, 40), (41, 52), (53, 55), (57, 64),
                 (65, 72), (73, 80), (81, 104))  # 1-based GM programs per label column 0..10


def program_label(program: int) -> int | None:
    """Label column of a 0-based GM program, or None for GM 56 and 105-128."""
    if not 0 <= program <= 127:
        raise ValueError(f"GM program {program} is outside 0..127; programs here are 0-based (GM number - 1).")
    for column, (lo, hi) in enumerate(_LABEL_RANGES):
        if lo <= program + 1 <= hi:
            return column
    return None


@dataclasses.dataclass(frozen=True)
class PieceRef:
    """One piece of the music21 corpus: a file, and for multi-tune ABC files, a tune number."""

    piece_id: str  # stable id used for the train/val split, e.g. "essenFolksong/altdeu10.abc#5"
    path: str  # absolute path of the corpus file
    number: int | None  # ABC tune number (X:) inside a multi-tune file, else None
    collection: str  # top folder of the corpus: "bach", "palestrina", ...


@dataclasses.dataclass
class Track:
    """One MIDI channel: its program and notes, all in seconds."""

    channel: int
    program: int  # 0-based GM program; on the drum channel, the drum kit
    notes: np.ndarray  # float64 [n, 4]: start_s, end_s, pitch, velocity
    volume: int = 110  # CC7
    reverb: int = 40  # CC91
    chorus: int = 0  # CC93
    expression: np.ndarray | None = None  # float64 [m, 2]: time_s, CC11 value
    ring: np.ndarray | None = None  # drums only, float64 [n]: seconds each hit sounds, for labels
    generators: tuple[tuple[int, float], ...] = ()  # (SF2 generator, offset in its native unit), see draw_voicing


@dataclasses.dataclass
class RenderedClip:
    """Audio and labels of one clip plus a JSON-able description of how it was made."""

    audio: np.ndarray  # float32 [samples], 48 kHz mono, length a multiple of 480
    labels: np.ndarray  # uint8 [samples // 480, 12]
    meta: dict


# --------------------------------------------------------------------------- corpus


def list_pieces() -> list[PieceRef]:
    """Every piece of the local music21 corpus; multi-tune ABC files count one piece per tune."""
    from music21 import corpus

    pieces = []
    for path in sorted(str(p) for p in corpus.getPaths()):
        rel = path.split("/corpus/", 1)[-1]
        collection = rel.split("/", 1)[0]
        if collection in ("demos", "theoryExercises", "leadSheet"):
            continue  # test material and chord-symbol sheets, not music
        if path.endswith(".abc"):
            text = Path(path).read_text(encoding="latin-1")
            numbers = [int(n) for n in re.findall(r"^X:\s*(\d+)", text, flags=re.M)]
            if len(numbers) > 1:
                pieces += [PieceRef(f"{rel}#{n}", path, n, collection) for n in sorted(set(numbers))]
                continue
        pieces.append(PieceRef(rel, path, None, collection))
    return pieces


def piece_group(piece: PieceRef) -> str:
    """Coarse style group used to balance the draw: chorale, harmony, folk, early, classical."""
    if piece.path.endswith(".rntxt"):
        return "harmony"
    if piece.collection == "bach":
        return "chorale"
    if piece.collection in ("ryansMammoth", "essenFolksong", "oneills1850", "airdsAirs",
                            "nottingham-dataset", "miscFolk"):
        return "folk"
    if piece.collection in ("palestrina", "josquin", "trecento", "ciconia", "luca", "lusitano",
                            "monteverdi"):
        return "early"
    return "classical"


def _part_notes(part) -> np.ndarray:
    """float64 [n, 3] (onset_ql, duration_ql, midi pitch) of a part, tied notes merged.

    Merges ties by hand: music21's stripTies deep-copies the score and is seconds slower.
    """
    rows: list[list[float]] = []
    open_ties: dict[float, int] = {}
    for n in part.flatten().notes:
        if not hasattr(n, "pitches"):
            continue
        onset = float(n.offset)
        dur = float(n.quarterLength) or 0.125  # grace notes get a short sound
        members = n.notes if hasattr(n, "notes") and n.notes else [n]
        for member in members:
            tie = member.tie or getattr(n, "tie", None)
            kind = tie.type if tie is not None else None
            pitch = float(member.pitch.midi)
            if kind in ("stop", "continue") and pitch in open_ties:
                row = rows[open_ties[pitch]]
                row[1] = max(row[1], onset + dur - row[0])
                if kind == "stop":
                    del open_ties[pitch]
                continue
            rows.append([onset, dur, pitch])
            if kind == "start":
                open_ties[pitch] = len(rows) - 1
    return np.array(sorted(rows), dtype=np.float64).reshape(-1, 3)


class _Timeout(Exception):
    pass


def _raise_timeout(signum, frame):
    raise _Timeout()


@dataclasses.dataclass
class ParsedPiece:
    """The note content of a score, in quarter lengths, independent of any orchestration."""

    parts: list[np.ndarray]  # per part float64 [n, 3]: onset_ql, duration_ql, pitch
    length_ql: float
    bar_ql: float
    beat_ql: float
    anchor_ql: float  # where the first full bar starts (after a pickup)
    bpm: float | None  # quarter notes per minute if the score says so


def parse_piece(piece: PieceRef, timeout_s: int = 60) -> ParsedPiece:
    """Parse a corpus piece into note arrays; raises ValueError if it is unusable or too slow.

    Uses SIGALRM for the time limit, so call it from a process's main thread (pool workers are).
    """
    from music21 import converter, meter, stream, tempo

    old = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(timeout_s)
    try:
        kwargs = {"number": piece.number} if piece.number is not None else {}
        with warnings.catch_warnings():  # music21 warns about every odd bar; the log is not the place
            warnings.simplefilter("ignore")
            score = converter.parse(piece.path, **kwargs)
        if isinstance(score, stream.Opus):
            score = score.scores[0]
        parts = list(score.parts) if score.parts else [score]
        note_parts = [rows for rows in (_part_notes(part) for part in parts) if len(rows)]
        if not note_parts:
            raise ValueError(f"{piece.piece_id}: no pitched notes")
        ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
        bar_ql = float(ts.barDuration.quarterLength) if ts else 4.0
        beat_ql = float(ts.beatDuration.quarterLength) if ts else 1.0
        mm = score.recurse().getElementsByClass(tempo.MetronomeMark).first()
        bpm = None
        if mm is not None:
            try:
                bpm = float(mm.getQuarterBPM())
            except Exception:  # a text-only tempo mark
                bpm = None
        measures = parts[0].getElementsByClass(stream.Measure)
        anchor = 0.0
        if len(measures) > 1 and float(measures[0].duration.quarterLength) < bar_ql - 1e-6:
            anchor = float(measures[1].offset)
        length = float(max((p[:, 0] + p[:, 1]).max() for p in note_parts))
        return ParsedPiece(note_parts, length, bar_ql, beat_ql, anchor, bpm)
    except _Timeout:
        raise ValueError(f"{piece.piece_id}: parsing took longer than {timeout_s} s") from None
    except ValueError:
        raise
    except Exception as exc:  # music21 raises many types on odd files
        raise ValueError(f"{piece.piece_id}: music21 could not read it ({type(exc).__name__}: {exc})") from exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------- arrangement


def _tempo_map(rng: np.random.Generator, length_ql: float, seconds_per_quarter: float):
    """A function ql -> seconds with slow tempo drift (±6 %) and sometimes a final ritardando."""
    grid = np.arange(0.0, length_ql + 8.0, 1.0)
    knots = rng.normal(0.0, 0.06, size=max(2, len(grid) // 16 + 2))
    drift = np.interp(np.linspace(0, 1, len(grid)), np.linspace(0, 1, len(knots)), knots)
    spq = seconds_per_quarter * (1.0 + np.clip(drift, -0.12, 0.12))
    if rng.random() < 0.4:
        spq *= 1.0 + 0.35 * np.clip((grid - (length_ql - 4.0)) / 4.0, 0.0, 1.0)
    times = np.concatenate([[0.0], np.cumsum(spq)])[: len(grid)]
    return lambda ql: np.interp(ql, grid, times, right=None)


def _dynamics_curve(rng: np.random.Generator, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-linear velocity offsets over time: crescendi, diminuendi, sudden changes."""
    n = max(2, int(seconds / rng.uniform(3.0, 10.0)) + 2)
    t = np.sort(np.concatenate([[0.0, seconds + 1.0], rng.uniform(0, seconds, n - 2)]))
    v = rng.uniform(-30.0, 15.0, n)
    return t, v


def _fit_register(rng: np.random.Generator, pitches: np.ndarray, register: tuple[int, int]) -> np.ndarray:
    """Shift a part by octaves into the instrument's register, folding stray notes inward."""
    lo, hi = register
    median = float(np.median(pitches))
    target = rng.uniform(lo + 0.35 * (hi - lo), hi - 0.35 * (hi - lo))
    shifted = pitches + 12 * np.round((target - median) / 12.0)
    while (shifted < lo).any() or (shifted > hi).any():
        shifted = np.where(shifted < lo, shifted + 12, shifted)
        shifted = np.where(shifted > hi, shifted - 12, shifted)
        if hi - lo < 12:
            break
    return np.clip(shifted, 0, 127)


def _draw_program(rng: np.random.Generator, family: str) -> int:
    return int(rng.choice(FAMILIES[family][0]))


def _draw_family(rng: np.random.Generator, exclude: tuple[str, ...] = ()) -> str:
    names = [f for f in FAMILY_WEIGHTS if f not in exclude]
    w = np.array([FAMILY_WEIGHTS[f] for f in names])
    return str(rng.choice(names, p=w / w.sum()))


def _register_of(program: int) -> tuple[int, int]:
    if program in PROGRAM_REGISTERS:
        return PROGRAM_REGISTERS[program]
    for programs, register in FAMILIES.values():
        if program in programs:
            return register
    return (36, 96)


def _featured(rng: np.random.Generator, n_parts: int, family: str) -> tuple[str, list[int]]:
    """An orchestration that features `family`: a solo, a section of it, or it on top of a random mix."""
    if n_parts == 1:
        return "solo", [_draw_program(rng, family)]
    if rng.random() < 0.5:
        if family == "strings" and rng.random() < 0.6:
            ladder = [40, 40, 41, 42, 43]
            return "ensemble", [ladder[min(int(i * 5 / n_parts), 4)] for i in range(n_parts)]
        return "ensemble", [_draw_program(rng, family) for _ in range(n_parts)]
    return "mixed", [_draw_program(rng, family)] + [_draw_program(rng, _draw_family(rng)) for _ in range(n_parts - 1)]


def _orchestrate(rng: np.random.Generator, n_parts: int, feature: str | None = None) -> tuple[str, list[int]]:
    """Pick a style and one 0-based GM program per part (parts ordered top voice first).

    `feature` (a family name): every orchestration includes that family (for label-balanced evaluation sets).
    """
    if feature is not None:
        if feature not in FAMILIES or feature == "unlabeled":
            raise ValueError(f"unknown family {feature!r}; one of {', '.join(f for f in FAMILIES if f != 'unlabeled')}")
        return _featured(rng, n_parts, feature)
    if n_parts == 1:
        return "solo", [_draw_program(rng, _draw_family(rng))]
    style = str(rng.choice(["ensemble", "mixed", "band"], p=[0.4, 0.3, 0.3]))
    if style == "ensemble":
        family = _draw_family(rng, exclude=("bass", "unlabeled"))
        if family == "strings" and rng.random() < 0.6:  # section by register: violins down to basses
            ladder = [40, 40, 41, 42, 43]
            return "ensemble", [ladder[min(int(i * 5 / n_parts), 4)] for i in range(n_parts)]
        if rng.random() < 0.5:
            return "ensemble", [_draw_program(rng, family)] * n_parts
        return "ensemble", [_draw_program(rng, family) for _ in range(n_parts)]
    if style == "mixed":
        return "mixed", [_draw_program(rng, _draw_family(rng)) for _ in range(n_parts)]
    programs = [_draw_program(rng, _draw_family(rng, exclude=("bass",)))]
    for _ in range(n_parts - 2):
        programs.append(_draw_program(rng, str(rng.choice(["piano", "guitar", "organ", "synth", "strings"]))))
    programs.append(_draw_program(rng, "bass"))
    return "band", programs


def _bass_line(parsed: ParsedPiece) -> np.ndarray:
    """A simple bass for a lone melody: each bar's first melody note, low, held for the bar."""
    melody = parsed.parts[0]
    rows = []
    bar = parsed.bar_ql
    start = parsed.anchor_ql - bar if parsed.anchor_ql > 0 else 0.0
    t = start
    while t < parsed.length_ql:
        in_bar = melody[(melody[:, 0] >= t) & (melody[:, 0] < t + bar)]
        if len(in_bar):
            rows.append((max(t, 0.0), bar if t >= 0 else bar + t, in_bar[0, 2] - 24))
        t += bar
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _groove(rng: np.random.Generator, start_ql: float, end_ql: float, anchor_ql: float,
            bar_ql: float, beat_ql: float) -> tuple[np.ndarray, dict]:
    """A random drum part [n, 3] (onset_ql, key, velocity) from a style with variations and fills."""
    beats = max(1, int(round(bar_ql / beat_ql)))
    compound = abs(beat_ql - 1.5) < 1e-6 or abs(beat_ql - 3.0) < 1e-6
    steps = 3 if compound else 4
    step_ql = beat_ql / steps
    n_steps = beats * steps
    styles = ["rock", "pop", "funk", "halftime", "latin", "sparse", "march"]
    if beats == 3 and not compound:
        styles += ["waltz"] * 3
    if compound:
        styles += ["shuffle"] * 3
    styles += ["swing"]
    style = str(rng.choice(styles))
    kit = int(rng.choice([32, 40]) if style == "swing" else rng.choice(DRUM_KITS))

    hat_key = int(rng.choice([HAT_CLOSED, HAT_CLOSED, HAT_PEDAL, RIDE, TAMBOURINE, SHAKER]))
    hat_every = int(rng.choice([1, 2, 2, steps])) if not compound else int(rng.choice([1, 3]))
    backbeat = [b for b in range(beats) if b % 2 == 1] or [0]
    base: dict[int, list[tuple[int, float]]] = {KICK: [(0, 1.0)], hat_key: []}
    snare_key = int(rng.choice([SNARE, SNARE, SNARE2, CLAP, SIDE_STICK]))
    base[snare_key] = []
    if style in ("rock", "pop", "halftime", "march", "latin", "sparse"):
        if beats >= 4 and style != "halftime":
            base[KICK].append((2 * steps, 0.9))
        if style == "pop":
            base[KICK] = [(b * steps, 1.0) for b in range(beats)]
        if style == "halftime":
            base[snare_key] = [((beats // 2) * steps, 1.0)]
        else:
            base[snare_key] = [(b * steps, 1.0) for b in backbeat]
        if style == "march":
            base[snare_key] += [(s, 0.55) for s in range(0, n_steps, 2)]
        if style == "latin":
            base[COWBELL if rng.random() < 0.5 else CLAVES] = [(s, 0.7) for s in (0, 3, 6, 10, 12) if s < n_steps]
            base[CONGA_HI] = [(s, 0.6) for s in range(2, n_steps, 4)]
            base[CONGA_LO] = [(s, 0.6) for s in range(3, n_steps, 4)]
    elif style == "funk":
        base[KICK] += [(int(s), 0.8) for s in rng.choice(np.arange(1, n_steps), size=min(3, n_steps - 1), replace=False)]
        base[snare_key] = [(b * steps, 1.0) for b in backbeat]
        base[SNARE] = base.get(SNARE, []) + [(int(s), 0.3) for s in rng.choice(np.arange(n_steps), size=3)]
        hat_every = 1
    elif style == "waltz":
        base[snare_key] = [(steps, 0.7), (2 * steps, 0.7)]
    elif style == "shuffle":
        base[snare_key] = [(b * steps, 1.0) for b in backbeat]
        hat_every = 1
    elif style == "swing":
        hat_key = RIDE
        base = {RIDE: [(b * steps, 0.8) for b in range(beats)] + [(b * steps + steps - 1, 0.6) for b in backbeat],
                HAT_PEDAL: [(b * steps, 0.6) for b in backbeat], KICK: [(0, 0.5)],
                snare_key: [(int(rng.integers(n_steps)), 0.4)]}
    if style not in ("swing", "sparse"):
        base[hat_key] = [(s, 0.75 if s % steps == 0 else 0.55) for s in range(0, n_steps, hat_every)]
    if style == "sparse":
        base[hat_key] = [(s, 0.6) for s in range(0, n_steps, steps)]

    fill_every = int(rng.choice([4, 8, 8, 16]))
    velocity = rng.uniform(70, 115)
    rows = []
    first_bar = int(np.floor((start_ql - anchor_ql) / bar_ql))
    last_bar = int(np.ceil((end_ql - anchor_ql) / bar_ql))
    for bar in range(first_bar, last_bar):
        bar_start = anchor_ql + bar * bar_ql
        fill = (bar - first_bar) % fill_every == fill_every - 1
        fill_from = n_steps - steps * int(rng.integers(1, min(beats, 2) + 1)) if fill else n_steps
        if (bar - first_bar) % fill_every == 0 and rng.random() < 0.7:
            rows.append((bar_start, int(rng.choice([CRASH, CRASH2, SPLASH])), velocity * 1.05))
        for key, hits in base.items():
            for step, accent in hits:
                if step >= fill_from and key != KICK:
                    continue
                if rng.random() < 0.06:  # drop a hit now and then
                    continue
                rows.append((bar_start + step * step_ql, key, velocity * accent + rng.normal(0, 6)))
        if rng.random() < 0.15:  # an extra kick or open hat as variation
            rows.append((bar_start + int(rng.integers(n_steps)) * step_ql,
                         int(rng.choice([KICK, HAT_OPEN])), velocity * 0.8))
        if fill:
            toms = list(TOMS[int(rng.integers(0, 2)):]) if rng.random() < 0.7 else [SNARE]
            for i, step in enumerate(range(fill_from, n_steps)):
                key = toms[min(i * len(toms) // max(1, n_steps - fill_from), len(toms) - 1)]
                rows.append((bar_start + step * step_ql, key, velocity * (0.7 + 0.3 * i / max(1, n_steps - fill_from))))
    part = np.array(rows, dtype=np.float64).reshape(-1, 3)
    part = part[(part[:, 0] >= start_ql) & (part[:, 0] < end_ql)]
    part[:, 2] = np.clip(part[:, 2], 1, 127)
    return part, {"drum_style": style, "drum_kit": kit}


def _drum_track(rng, onsets_s: np.ndarray, keys: np.ndarray, vels: np.ndarray, kit: int) -> Track:
    ring = np.array([DRUM_RING_SECONDS.get(int(k), DEFAULT_DRUM_RING) for k in keys])
    notes = np.stack([onsets_s, onsets_s + np.minimum(ring, 0.2), keys, vels], axis=1) if len(keys) else np.zeros((0, 4))
    return Track(DRUM_CHANNEL, kit, notes, volume=int(rng.integers(95, 127)),
                 reverb=int(rng.integers(10, 60)), ring=ring)


def arrange_piece(rng: np.random.Generator, parsed: ParsedPiece, max_seconds: float,
                  drums_probability: float = 0.35, feature: str | None = None) -> tuple[list[Track], float, dict]:
    """Orchestrate a parsed piece at random: returns tracks, clip length in seconds, and a description.

    `feature`: a family every orchestration includes (None: any, as in the training data).
    """
    parts = list(parsed.parts)
    meta: dict = {}
    if len(parts) > 15:
        parts = parts[:15]
    if len(parts) > 1 and rng.random() < 0.1:  # a solo taken from an ensemble piece
        parts = [parts[int(rng.integers(len(parts)))]]
    style, programs = _orchestrate(rng, len(parts), feature)
    if len(parts) == 1 and len(parsed.parts) == 1 and rng.random() < 0.35:
        bass = _bass_line(parsed)
        if len(bass):
            parts.append(bass)
            programs.append(_draw_program(rng, "bass"))
            style = "melody+bass"
    drums = rng.random() < (0.7 if style in ("band", "melody+bass") else drums_probability)

    bpm = parsed.bpm if parsed.bpm and 30 <= parsed.bpm <= 250 else rng.uniform(70, 130)
    tempo_scale = float(rng.uniform(0.6, 1.6))
    bpm = float(np.clip(bpm * tempo_scale, 36, 240))
    transpose = int(rng.integers(-5, 7))

    # Repeat short tunes (as folk players do) until the clip is long enough.
    length_ql = parsed.length_ql
    seconds_per_quarter = 60.0 / bpm
    repeats = 1
    while length_ql * repeats * seconds_per_quarter < 0.6 * max_seconds and repeats < 4:
        repeats += 1
    if repeats > 1:
        parts = [np.concatenate([p + np.array([r * length_ql, 0, 0]) for r in range(repeats)]) for p in parts]
        length_ql *= repeats
    to_seconds = _tempo_map(rng, length_ql, seconds_per_quarter)

    total_s = float(to_seconds(length_ql))
    start_s = 0.0
    if total_s > max_seconds:
        onsets = np.unique(np.concatenate([p[:, 0] for p in parts]))
        onsets = onsets[to_seconds(onsets) <= total_s - max_seconds]
        start_s = float(to_seconds(rng.choice(onsets))) if len(onsets) else 0.0
    end_s = min(total_s, start_s + max_seconds)
    lead = 0.05
    curve_t, curve_v = _dynamics_curve(rng, end_s - start_s)

    tracks = []
    for channel_slot, (part, program) in enumerate(zip(parts, programs)):
        channel = channel_slot if channel_slot < DRUM_CHANNEL else channel_slot + 1
        on = to_seconds(part[:, 0])
        off = to_seconds(part[:, 0] + part[:, 1])
        keep = (on >= start_s) & (on < end_s)
        if not keep.any():
            continue
        on, off, pitch = on[keep] - start_s + lead, np.minimum(off[keep], end_s) - start_s + lead, part[keep, 2]
        off = np.maximum(off, on + 0.03)
        pitch = _fit_register(rng, pitch + transpose, _register_of(program))
        base_vel = rng.uniform(60, 105)
        vel = base_vel + np.interp(on, curve_t, curve_v) + rng.normal(0, 5, len(on))
        beat_pos = np.isclose(np.mod(part[keep, 0] - parsed.anchor_ql, parsed.bar_ql), 0.0)
        vel += np.where(beat_pos & (rng.random(len(on)) < 0.6), rng.uniform(5, 15), 0.0)
        on += rng.normal(0, 0.006, len(on)).clip(-0.015, 0.015)
        on = np.maximum(on, 0.0)
        notes = _no_overlaps(np.stack([on, off, pitch, np.clip(vel, 1, 127)], axis=1))
        expr_t = np.arange(0.0, end_s - start_s + lead, 0.1)
        expr_v = np.clip(110 + 0.8 * np.interp(expr_t, curve_t, curve_v), 50, 127)
        tracks.append(Track(channel, int(program), notes, volume=int(rng.integers(85, 127)),
                            reverb=int(rng.integers(0, 90)), chorus=int(rng.integers(0, 50)),
                            expression=np.stack([expr_t, expr_v], axis=1)))
    if not tracks:
        raise ValueError("the chosen excerpt holds no notes")
    if drums:
        from_ql = np.interp(start_s, to_seconds(np.arange(0, length_ql + 8)), np.arange(0, length_ql + 8))
        to_ql = np.interp(end_s, to_seconds(np.arange(0, length_ql + 8)), np.arange(0, length_ql + 8))
        groove, dmeta = _groove(rng, from_ql, to_ql, parsed.anchor_ql, parsed.bar_ql, parsed.beat_ql)
        if len(groove):
            vel = groove[:, 2] + np.interp(to_seconds(groove[:, 0]) - start_s, curve_t, curve_v) * 0.5
            tracks.append(_drum_track(rng, to_seconds(groove[:, 0]) - start_s + lead, groove[:, 1],
                                      np.clip(vel, 1, 127), dmeta["drum_kit"]))
            meta.update(dmeta)
    meta.update(style=style, programs=[t.program for t in tracks if t.channel != DRUM_CHANNEL],
                drums=any(t.channel == DRUM_CHANNEL for t in tracks), bpm=round(bpm, 1),
                tempo_scale=round(tempo_scale, 3), transpose=transpose, repeats=repeats,
                excerpt_start_s=round(start_s, 2))
    return tracks, end_s - start_s + lead, meta


def arrange_drums(rng: np.random.Generator, seconds: float) -> tuple[list[Track], float, dict]:
    """A drum-only clip: one random groove at a random tempo and metre."""
    bar_ql, beat_ql = [(4.0, 1.0), (4.0, 1.0), (3.0, 1.0), (2.0, 1.0), (3.0, 1.5), (6.0, 1.5), (5.0, 1.0)][int(rng.integers(7))]
    bpm = float(rng.uniform(65, 180))
    to_seconds = _tempo_map(rng, seconds * bpm / 60.0 + 8, 60.0 / bpm)
    end_ql = float(np.interp(seconds, to_seconds(np.arange(0, seconds * bpm / 60 + 8)), np.arange(0, seconds * bpm / 60 + 8)))
    groove, dmeta = _groove(rng, 0.0, end_ql, 0.0, bar_ql, beat_ql)
    curve_t, curve_v = _dynamics_curve(rng, seconds)
    on = to_seconds(groove[:, 0]) + 0.05
    vel = np.clip(groove[:, 2] + 0.5 * np.interp(on, curve_t, curve_v), 1, 127)
    track = _drum_track(rng, on, groove[:, 1], vel, dmeta["drum_kit"])
    meta = dict(style="drums-only", programs=[], drums=True, bpm=round(bpm, 1),
                metre=f"{bar_ql}/{beat_ql}", **dmeta)
    return [track], seconds + 0.05, meta


def _no_overlaps(notes: np.ndarray) -> np.ndarray:
    """End each note before the next one of the same pitch starts (MIDI cannot stack them)."""
    order = np.lexsort((notes[:, 0], notes[:, 2]))
    notes = notes[order]
    same = notes[1:, 2] == notes[:-1, 2]
    clash = same & (notes[:-1, 1] > notes[1:, 0] - 0.005)
    notes[:-1, 1] = np.where(clash, notes[1:, 0] - 0.005, notes[:-1, 1])
    notes = notes[notes[:, 1] > notes[:, 0] + 0.01]
    return notes[np.argsort(notes[:, 0], kind="stable")]


# --------------------------------------------------------------------------- MIDI, audio, labels


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track_chunk(events: list[tuple[int, int, bytes]]) -> bytes:
    body = bytearray()
    now = 0
    for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        body += _varlen(tick - now) + data
        now = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


# SoundFont 2.01 generators a MIDI channel offsets by NRPN (spec section 9.6), with FluidSynth's size of one
# NRPN step in the generator's unit (fluid_gen.c): cents, timecents or centibels.
GEN_VIB_LFO_TO_PITCH, GEN_FILTER_FC, GEN_FILTER_Q, GEN_MOD_LFO_TO_VOLUME = 6, 8, 9, 13
GEN_ATTACK_VOL, GEN_DECAY_VOL, GEN_SUSTAIN_VOL, GEN_RELEASE_VOL = 34, 36, 37, 38
GEN_COARSE_TUNE, GEN_FINE_TUNE = 51, 52
NRPN_STEP = {GEN_VIB_LFO_TO_PITCH: 2, GEN_FILTER_FC: 2, GEN_FILTER_Q: 1, GEN_MOD_LFO_TO_VOLUME: 1,
             GEN_ATTACK_VOL: 2, GEN_DECAY_VOL: 2, GEN_SUSTAIN_VOL: 1, GEN_RELEASE_VOL: 2, GEN_COARSE_TUNE: 1,
             GEN_FINE_TUNE: 1}


def _nrpn_generator(channel: int, gen: int, offset: float) -> list[bytes]:
    """The four controller messages that offset generator `gen` on `channel` (LSB before MSB: FluidSynth applies
    the value when the data-entry MSB arrives)."""
    if gen not in NRPN_STEP:
        raise ValueError(f"generator {gen} has no NRPN step here; one of {sorted(NRPN_STEP)}")
    data = int(np.clip(round(offset / NRPN_STEP[gen]), -8192, 8191)) + 8192
    status = 0xB0 | channel
    return [bytes([status, 99, 120]), bytes([status, 98, gen]), bytes([status, 38, data & 0x7F]),
            bytes([status, 6, data >> 7])]


def _draw_generators(rng: np.random.Generator) -> tuple[tuple[int, float], ...]:
    """Random offsets of one channel's synthesis: filter, envelope, vibrato, tremolo (each drawn or not)."""
    gens = []
    if rng.random() < 0.5:  # darker (FluidR3 leaves most filters open), sometimes resonant
        gens.append((GEN_FILTER_FC, float(rng.uniform(-4800, 0))))
        if rng.random() < 0.5:
            gens.append((GEN_FILTER_Q, float(rng.uniform(0, 150))))
    if rng.random() < 0.4:  # slower or snappier attack (timecents: +1200 doubles it)
        gens.append((GEN_ATTACK_VOL, float(rng.uniform(-1200, 6000))))
    if rng.random() < 0.3:  # decays further (a more percussive note) or sooner/later
        gens.append((GEN_SUSTAIN_VOL, float(rng.uniform(30, 300))))
        gens.append((GEN_DECAY_VOL, float(rng.uniform(-2400, 2400))))
    if rng.random() < 0.4:  # shorter release (longer ones would outlast the labels' 100 ms)
        gens.append((GEN_RELEASE_VOL, float(rng.uniform(-2400, 600))))
    if rng.random() < 0.25:
        gens.append((GEN_VIB_LFO_TO_PITCH, float(rng.uniform(5, 40))))
    if rng.random() < 0.15:
        gens.append((GEN_MOD_LFO_TO_VOLUME, float(rng.uniform(10, 60))))
    return tuple((g, round(v, 1)) for g, v in gens)


def _stretched(rng: np.random.Generator, track: Track, stretch: int) -> Track:
    """`track` keyed up to `stretch` semitones away and tuned back by as many: the same pitches from another
    key zone's sample, stretched as a small soundfont stretches one sample across many keys."""
    low, high = track.notes[:, 2].min(), track.notes[:, 2].max()
    shift = int(rng.integers(max(-stretch, -low), min(stretch, 127 - high) + 1))
    notes = track.notes.copy()
    notes[:, 2] += shift
    return dataclasses.replace(track, notes=notes, generators=track.generators + ((GEN_COARSE_TUNE, float(-shift)),))


def draw_voicing(rng: np.random.Generator, tracks: list[Track], *, layer_p: float = 0.3, voice_p: float = 0.8,
                 stretch: int = 0) -> list[Track]:
    """Re-voice an arrangement: each pitched track's synthesis offset at random (with probability `voice_p`),
    and now and then (`layer_p`) doubled on a free channel by another program of its label family, slightly
    detuned; with `stretch`, every pitched track plays from key zones up to that many semitones away.

    Why: every training note comes from one soundfont, whose samples the classifier learns rather than the
    family. The soundfont's own synthesis (filter, envelopes, LFOs), stretched samples and blends of a
    family's programs make timbres no FluidR3 preset has, still of a known family; the sounding pitches and
    note times, and so the labels, are unchanged.
    """
    out, free = [], [c for c in range(16) if c != DRUM_CHANNEL and c not in {t.channel for t in tracks}]
    for track in tracks:
        if track.channel == DRUM_CHANNEL or program_label(track.program) is None:
            out.append(track)
            continue
        voiced = [dataclasses.replace(track, generators=_draw_generators(rng) if rng.random() < voice_p else ())]
        if free and rng.random() < layer_p:
            family = LABEL_NAMES[program_label(track.program)]
            program = _draw_program(rng, family)
            detune = float(rng.uniform(5, 20) * rng.choice([-1, 1]))
            voiced.append(dataclasses.replace(track, channel=free.pop(0), program=program,
                                              volume=int(np.clip(track.volume * rng.uniform(0.5, 1.0), 1, 127)),
                                              generators=_draw_generators(rng) + ((GEN_FINE_TUNE, round(detune, 1)),)))
        out += [_stretched(rng, t, stretch) for t in voiced] if stretch and len(track.notes) else voiced
    return out


TICKS_PER_SECOND = 960  # 480 ticks per quarter at the default 120 bpm


def write_midi(path: Path, tracks: list[Track], end_seconds: float) -> None:
    """Write a format-1 Standard MIDI File; times are seconds at a fixed 120 bpm tempo.

    A harmless controller event at ``end_seconds`` keeps FluidSynth rendering release tails.
    """
    def tick(t):
        return int(round(max(0.0, t) * TICKS_PER_SECOND))

    chunks = []
    for track in tracks:
        ch = track.channel
        ev = [(0, 0, bytes([0xC0 | ch, track.program & 0x7F])),
              (0, 1, bytes([0xB0 | ch, 7, track.volume])),
              (0, 1, bytes([0xB0 | ch, 91, track.reverb])),
              (0, 1, bytes([0xB0 | ch, 93, track.chorus]))]
        for gen, offset in track.generators:
            ev += [(0, 1, data) for data in _nrpn_generator(ch, gen, offset)]
        if track.expression is not None:
            last = -1
            for t, v in track.expression:
                if int(v) != last:
                    ev.append((tick(t), 2, bytes([0xB0 | ch, 11, int(v)])))
                    last = int(v)
        for on, off, pitch, vel in track.notes:
            ev.append((tick(on), 3, bytes([0x90 | ch, int(pitch), max(1, int(vel))])))
            ev.append((tick(off), 0, bytes([0x80 | ch, int(pitch), 0])))
        ev.append((tick(end_seconds), 4, bytes([0xB0 | ch, 3, 0])))  # CC3 is undefined: a no-op
        chunks.append(_track_chunk(ev))
    tempo = _track_chunk([(0, 0, b"\xff\x51\x03\x07\xa1\x20")])
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks) + 1, 480)
    Path(path).write_bytes(header + tempo + b"".join(chunks))


def render_midi(midi_path: Path, *, gain: float = 0.4, reverb_room: float = 0.3,
                reverb_level: float = 0.7, chorus_level: float = 1.0, timeout_s: int = 600,
                soundfont: Path = SOUNDFONT) -> np.ndarray:
    """Render a MIDI file with FluidSynth; returns float32 [samples] mono at 48 kHz, tail trimmed.

    ``soundfont`` (.sf2 or .sf3) defaults to FluidR3 GM, the one the training data is made with.
    """
    import soundfile

    soundfont = Path(soundfont)
    if shutil.which("fluidsynth") is None or not soundfont.exists():
        package = "fluid-soundfont-gm" if soundfont == SOUNDFONT else f"the package that ships {soundfont.name}"
        raise RuntimeError(f"FluidSynth or the soundfont {soundfont} is missing: "
                           f"run `apt-get install fluidsynth` and install {package} (scripts/setup.sh --test).")
    with tempfile.TemporaryDirectory(prefix="rtmusic-fs-") as tmp:
        wav = Path(tmp) / "out.wav"
        cmd = ["fluidsynth", "-ni", "-q", "-g", f"{gain:.3f}", "-r", str(SAMPLE_RATE),
               "-O", "float", "-T", "wav",
               "-o", f"synth.reverb.room-size={reverb_room:.3f}",
               "-o", f"synth.reverb.level={reverb_level:.3f}",
               "-o", f"synth.chorus.level={chorus_level:.3f}",
               "-F", str(wav), str(soundfont), str(midi_path)]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
        if proc.returncode != 0 or not wav.exists():
            raise RuntimeError(f"fluidsynth failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
        audio, sr = soundfile.read(wav, dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz instead of {SAMPLE_RATE}; check its -r flag.")
    return trim_tail(audio.mean(axis=1))


def trim_tail(audio: np.ndarray, floor_db: float = -60.0, fade_s: float = 0.03) -> np.ndarray:
    """Cut trailing near-silence (below ``floor_db`` re peak), fade out, pad to whole 10 ms frames."""
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak > 0:
        loud = np.flatnonzero(np.abs(audio) > peak * 10 ** (floor_db / 20))
        audio = audio[: loud[-1] + int(0.05 * SAMPLE_RATE)]
    audio = np.array(audio, dtype=np.float32)
    n_fade = min(len(audio), int(fade_s * SAMPLE_RATE))
    if n_fade:
        audio[-n_fade:] *= np.linspace(1.0, 0.0, n_fade, dtype=np.float32)
    pad = (-len(audio)) % SAMPLES_PER_FRAME
    return np.concatenate([audio, np.zeros(pad, np.float32)])


def label_activity(tracks: list[Track], n_frames: int) -> np.ndarray:
    """uint8 [n_frames, 12]: 1 where an instrument of that label sounds (note-off + 100 ms release)."""
    delta = np.zeros((n_frames + 1, len(LABEL_NAMES)), np.int32)
    for track in tracks:
        if track.channel == DRUM_CHANNEL:
            column = DRUM_LABEL
            ring = track.ring if track.ring is not None else track.notes[:, 1] - track.notes[:, 0]
            ends = track.notes[:, 0] + ring
        else:
            column = program_label(track.program)
            ends = track.notes[:, 1]
        if column is None or not len(track.notes):
            continue
        first = np.clip(np.floor(track.notes[:, 0] * FRAME_RATE).astype(int), 0, n_frames)
        last = np.clip(np.ceil((ends + RELEASE_SECONDS) * FRAME_RATE).astype(int), 0, n_frames)
        np.add.at(delta[:, column], first, 1)
        np.add.at(delta[:, column], last, -1)
    return (np.cumsum(delta, axis=0)[:n_frames] > 0).astype(np.uint8)


def draw_synth_settings(rng: np.random.Generator) -> dict:
    """Per-clip FluidSynth gain, reverb and chorus (drawn after the arrangement, from the same generator)."""
    return dict(gain=round(float(rng.uniform(0.2, 0.6)), 3),
                reverb_room=round(float(rng.uniform(0.05, 0.9)), 3),
                reverb_level=round(float(rng.uniform(0.2, 1.0)), 3),
                chorus_level=round(float(rng.uniform(0.0, 3.0)), 3))


def render_tracks(rng: np.random.Generator, tracks: list[Track], seconds: float, *,
                  soundfont: Path = SOUNDFONT) -> tuple[np.ndarray, np.ndarray, dict]:
    """MIDI-write and render tracks; returns audio, matching labels, and the synth settings used."""
    settings = draw_synth_settings(rng)
    with tempfile.TemporaryDirectory(prefix="rtmusic-mid-") as tmp:
        midi = Path(tmp) / "clip.mid"
        write_midi(midi, tracks, seconds + 2.5)
        audio = render_midi(midi, soundfont=soundfont, **settings)
    audio = audio[: int(np.ceil((seconds + 2.5) * SAMPLE_RATE / SAMPLES_PER_FRAME)) * SAMPLES_PER_FRAME]
    labels = label_activity(tracks, len(audio) // SAMPLES_PER_FRAME)
    return audio, labels, settings


def render_piece_clip(piece: PieceRef, seed: int, max_seconds: float = 45.0) -> RenderedClip:
    """Parse, orchestrate at random (seeded) and render one excerpt of a corpus piece."""
    rng = np.random.default_rng(seed)
    parsed = parse_piece(piece)
    tracks, seconds, meta = arrange_piece(rng, parsed, max_seconds)
    audio, labels, settings = render_tracks(rng, tracks, seconds)
    if not np.abs(audio).max() > 1e-4:
        raise ValueError(f"{piece.piece_id}: rendered silence")
    meta.update(source=piece.piece_id, collection=piece.collection, group=piece_group(piece), **settings)
    return RenderedClip(audio, labels, meta)


def render_drum_clip(seed: int, seconds: float = 20.0) -> RenderedClip:
    """Render one drum-only clip (random groove, tempo, metre and kit)."""
    rng = np.random.default_rng(seed)
    tracks, seconds, meta = arrange_drums(rng, seconds)
    audio, labels, settings = render_tracks(rng, tracks, seconds)
    meta.update(source=f"drums#{seed}", collection="drums", group="drums", **settings)
    return RenderedClip(audio, labels, meta)
