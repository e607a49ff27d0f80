"""Instruments synthesised from scratch, one recipe per label family: timbres no soundfont has.

Why: every training note of the classifier comes from FluidR3's samples -- re-timbred, re-voiced through the
soundfont's own filters and envelopes, stretched across key zones -- and it still loses half its AP on a
soundfont it never heard (TimGM6mb: piano 0.33, organ 0.28, guitar 0.25, synth 0.13, voice 0.29). A family is
a way of making sound, not one sample set: struck strings with inharmonic, fast-fading upper partials; drawbar
and reed organs; plucked strings damped by the finger; bowed strings with vibrato through a body's fixed
resonances; sung vowels; brass that brightens as it gets louder; clarinets' odd harmonics; breathy flutes;
subtractive and FM synthesisers. Each recipe draws its parameters per track (one instrument per part), so a
family is heard through many instruments that share its physics and none of FluidR3's recordings.

`render_track(rng, track, n_samples)` plays one `render_music.Track` (notes in seconds, GM program) into
float32 mono at 48 kHz; the sounding notes, and so the labels, are those of the track. Plain numpy: a 10 s
part costs well under a second.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import signal

from train import render_music
from train.datapaths import SAMPLE_RATE

MAX_PARTIAL_HZ = 16_000.0
"""Partials above this are dropped (and all above Nyquist): the band the classifier's features cover."""
MAX_PARTIALS = 40
VOWELS = {  # F1, F2, F3 (Hz) of sung vowels
    "a": (800, 1150, 2900), "e": (450, 1900, 2600), "i": (300, 2250, 3000), "o": (480, 820, 2800),
    "u": (340, 700, 2500),
}
FAMILY_OF_PROGRAM = {program: family for family, (programs, _) in render_music.FAMILIES.items()
                     if family != "unlabeled" for program in programs}
"""GM program (0-based) -> label family, as the arrangements label it (unlabeled programs have no recipe)."""
FAMILIES = tuple(dict.fromkeys(FAMILY_OF_PROGRAM.values()))


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def _peaks(rng: np.random.Generator, n: int, low: float, high: float, gain_db: tuple[float, float]) -> list:
    """`n` random resonances (centre Hz, relative bandwidth, linear gain) between `low` and `high` Hz."""
    centres = np.exp(rng.uniform(np.log(low), np.log(high), n))
    return [(float(c), float(rng.uniform(0.08, 0.35)), float(10 ** (rng.uniform(*gain_db) / 20))) for c in centres]


def _resonance_gain(freqs: np.ndarray, peaks: list, floor: float = 1.0) -> np.ndarray:
    """Gain at `freqs` of fixed resonances (a body, a vowel's formants): independent of the note's pitch."""
    gain = np.full(freqs.shape, floor)
    for centre, rel_bw, g in peaks:
        gain += g / (1.0 + ((freqs - centre) / (0.5 * rel_bw * centre)) ** 2)
    return gain


def _base(**overrides) -> dict:
    """Defaults of one instrument recipe; every family draws some of them."""
    p = dict(tilt=1.0, even=1.0, inharm=0.0, ratios=None, ratio_amps=None, comb=None, peaks=[], peak_floor=1.0,
             attack=0.01, decay=0.2, sustain=1.0, release=0.03, percussive=False, tau=1.0, tau_pitch=0.0,
             partial_decay=0.0, two_stage=0.0, bright=0.0, vib_rate=5.0, vib_cents=0.0, vib_delay=0.0,
             trem_rate=5.0, trem_depth=0.0, unison=1, detune_cents=0.0, noise=0.0, noise_band=(1.0, 8.0),
             click=0.0, fm=None, lowpass=None, drive=0.0, velocity_bright=0.5, glide_cents=0.0, max_partials=MAX_PARTIALS)
    p.update(overrides)
    return p


# ---------------------------------------------------------------------------------------------- recipes


def _piano(rng, program):
    kind = rng.choice(["acoustic", "acoustic", "honky", "fm", "harpsichord", "clav"])
    if kind in ("acoustic", "honky"):
        return _base(percussive=True, tilt=rng.uniform(0.7, 1.5), inharm=10 ** rng.uniform(-4.3, -3.2),
                     comb=rng.uniform(1 / 12, 1 / 7), tau=rng.uniform(1.5, 4.0), tau_pitch=rng.uniform(0.02, 0.05),
                     partial_decay=rng.uniform(0.05, 0.3), two_stage=rng.uniform(0.3, 0.7),
                     unison=int(rng.integers(2, 4)) if kind == "honky" else 2,
                     detune_cents=rng.uniform(6, 18) if kind == "honky" else rng.uniform(0.3, 2.0),
                     click=rng.uniform(0.01, 0.06), release=rng.uniform(0.03, 0.08), velocity_bright=rng.uniform(0.5, 1.0),
                     peaks=_peaks(rng, int(rng.integers(0, 4)), 150, 3000, (0, 8)))
    if kind == "fm":  # tine and DX electric pianos
        return _base(percussive=True, fm=(1.0, rng.uniform(0.8, 3.0), rng.uniform(0.1, 0.6), float(rng.choice([1, 14, 7]))),
                     tau=rng.uniform(1.0, 3.0), tau_pitch=rng.uniform(0.02, 0.04), release=rng.uniform(0.03, 0.08),
                     trem_rate=rng.uniform(3, 6), trem_depth=rng.choice([0.0, rng.uniform(0.1, 0.4)]),
                     unison=int(rng.integers(1, 3)), detune_cents=rng.uniform(2, 8))
    if kind == "harpsichord":
        return _base(percussive=True, tilt=rng.uniform(0.3, 0.8), comb=rng.uniform(1 / 20, 1 / 10),
                     tau=rng.uniform(1.0, 2.5), tau_pitch=0.03, partial_decay=rng.uniform(0.02, 0.1),
                     unison=int(rng.integers(1, 3)), detune_cents=rng.uniform(1, 5), release=0.05, velocity_bright=0.0,
                     peaks=_peaks(rng, 3, 200, 4000, (0, 10)))
    return _base(percussive=True, tilt=rng.uniform(0.4, 0.9), comb=rng.uniform(1 / 16, 1 / 8),  # clavinet
                 tau=rng.uniform(0.4, 1.2), partial_decay=rng.uniform(0.1, 0.3), release=0.02,
                 lowpass=(rng.uniform(6, 20), rng.uniform(2, 6), rng.uniform(0.05, 0.3), rng.uniform(1.0, 4.0)))


def _mallets(rng, program):
    modes = {"marimba": [1, 3.93, 9.2], "xylophone": [1, 3.0, 5.98, 9.5], "vibraphone": [1, 4.0, 10.1],
             "glockenspiel": [1, 2.76, 5.4, 8.93], "bell": [0.5, 1, 1.19, 1.5, 2.0, 2.51, 3.0, 4.1],
             "musicbox": [1, 2.0, 5.2, 8.3], "dulcimer": None}
    kind = str(rng.choice(list(modes)))
    ratios = None if modes[kind] is None else np.array(modes[kind]) * rng.uniform(0.98, 1.02, len(modes[kind]))
    return _base(percussive=True, ratios=ratios, tilt=rng.uniform(0.3, 1.2), inharm=2e-4 if ratios is None else 0.0,
                 tau=rng.uniform(0.3, 2.5), tau_pitch=rng.uniform(0.01, 0.04), partial_decay=rng.uniform(0.3, 2.0),
                 click=rng.uniform(0.02, 0.1), release=rng.uniform(0.05, 0.1), unison=1 if ratios is not None else 2,
                 detune_cents=rng.uniform(1, 6), trem_rate=rng.uniform(4, 7),
                 trem_depth=rng.uniform(0.2, 0.6) if kind == "vibraphone" else 0.0)


def _organ(rng, program):
    kind = rng.choice(["drawbar", "drawbar", "church", "reed"])
    if kind == "drawbar":  # 16', 5 1/3', 8', 4', 2 2/3', 2', 1 3/5', 1 1/3', 1'
        bars = np.array([0.5, 1.5, 1, 2, 3, 4, 5, 6, 8])
        levels = rng.integers(0, 9, 9) * (rng.random(9) < 0.7)
        levels[2] = max(levels[2], 4)
        return _base(ratios=bars, ratio_amps=10 ** ((levels - 8) * 3 / 20) * (levels > 0), attack=rng.uniform(0.003, 0.01),
                     release=rng.uniform(0.01, 0.04), click=rng.uniform(0.0, 0.05),
                     vib_rate=rng.choice([0.8, 6.5]) * rng.uniform(0.9, 1.1), vib_cents=rng.uniform(0, 15),
                     trem_rate=rng.uniform(0.7, 7), trem_depth=rng.uniform(0, 0.3), drive=rng.choice([0.0, rng.uniform(1, 4)]))
    if kind == "church":  # ranks of flue pipes, a chiff at the start
        ranks = np.array([0.5, 1, 2, 3, 4, 6, 8])
        amps = rng.uniform(0.2, 1.0, len(ranks)) * (rng.random(len(ranks)) < 0.75)
        amps[1] = 1.0
        return _base(ratios=ranks, ratio_amps=amps, tilt=rng.uniform(0.5, 1.5), attack=rng.uniform(0.02, 0.08),
                     release=rng.uniform(0.03, 0.06), noise=rng.uniform(0.005, 0.03), noise_band=(1.0, 4.0),
                     unison=2, detune_cents=rng.uniform(1, 4), peaks=_peaks(rng, 2, 300, 3000, (0, 6)))
    return _base(tilt=rng.uniform(0.4, 1.0), even=rng.uniform(0.5, 1.0), attack=rng.uniform(0.01, 0.05),  # accordion
                 release=rng.uniform(0.02, 0.05), unison=int(rng.integers(1, 4)), detune_cents=rng.uniform(5, 25),
                 peaks=_peaks(rng, 3, 400, 4000, (3, 12)), noise=rng.uniform(0, 0.02), trem_rate=rng.uniform(4, 7),
                 trem_depth=rng.uniform(0, 0.2))


def _guitar(rng, program):
    kind = rng.choice(["nylon", "steel", "clean", "muted", "overdrive"])
    tilt = {"nylon": (1.0, 1.6), "steel": (0.6, 1.1), "clean": (0.7, 1.2), "muted": (1.0, 1.6), "overdrive": (0.7, 1.2)}
    return _base(percussive=True, tilt=rng.uniform(*tilt[kind]), comb=rng.uniform(1 / 9, 1 / 4),
                 inharm=10 ** rng.uniform(-5, -4), tau=rng.uniform(0.08, 0.25) if kind == "muted" else rng.uniform(0.8, 3.0),
                 tau_pitch=rng.uniform(0.01, 0.03), partial_decay=rng.uniform(0.1, 0.6), release=rng.uniform(0.02, 0.06),
                 click=rng.uniform(0.005, 0.04), peaks=_peaks(rng, int(rng.integers(2, 5)), 90, 3000, (0, 12)),
                 drive=rng.uniform(3, 20) if kind == "overdrive" else 0.0,
                 unison=2 if kind == "clean" and rng.random() < 0.4 else 1, detune_cents=rng.uniform(3, 10))


def _bass(rng, program):
    if rng.random() < 0.3:  # synth bass
        return _base(tilt=1.0, even=rng.choice([0.0, 1.0]), attack=0.005, release=0.03, decay=rng.uniform(0.1, 0.5),
                     sustain=rng.uniform(0.4, 1.0),
                     lowpass=(rng.uniform(3, 12), rng.uniform(1.2, 4), rng.uniform(0.05, 0.4), rng.uniform(1, 5)),
                     unison=int(rng.integers(1, 3)), detune_cents=rng.uniform(3, 12))
    return _base(percussive=True, tilt=rng.uniform(0.8, 1.6), comb=rng.uniform(1 / 8, 1 / 4), inharm=10 ** rng.uniform(-5, -4),
                 tau=rng.uniform(0.6, 3.0), tau_pitch=0.01, partial_decay=rng.uniform(0.1, 0.5), release=rng.uniform(0.02, 0.05),
                 click=rng.uniform(0.0, 0.06), peaks=_peaks(rng, 2, 60, 1500, (0, 8)),
                 glide_cents=rng.choice([0.0, rng.uniform(-40, 0)]))


def _bowed(rng, section: bool):
    return _base(tilt=rng.uniform(0.8, 1.4), attack=rng.uniform(0.04, 0.3), release=rng.uniform(0.03, 0.08),
                 peaks=_peaks(rng, int(rng.integers(3, 7)), 200, 5000, (0, 14)), vib_rate=rng.uniform(4.5, 6.5),
                 vib_cents=rng.uniform(5, 15) if section else rng.uniform(10, 35), vib_delay=rng.uniform(0.0, 0.3),
                 unison=int(rng.integers(3, 7)) if section else 1, detune_cents=rng.uniform(3, 12),
                 noise=rng.uniform(0.0, 0.02), noise_band=(2.0, 20.0), bright=rng.uniform(0.0, 1.0))


def _strings(rng, program):
    kind = rng.choice(["solo", "section", "section", "tremolo", "pizzicato", "harp"])
    if kind in ("solo", "section", "tremolo"):
        p = _bowed(rng, kind != "solo")
        if kind == "tremolo":
            p.update(trem_rate=rng.uniform(8, 14), trem_depth=rng.uniform(0.5, 0.9))
        return p
    return _base(percussive=True, tilt=rng.uniform(1.0, 1.8), comb=rng.uniform(1 / 6, 1 / 3),
                 tau=rng.uniform(0.2, 0.6) if kind == "pizzicato" else rng.uniform(1.5, 4.0), tau_pitch=0.02,
                 partial_decay=rng.uniform(0.2, 0.8), release=0.05 if kind == "pizzicato" else 0.08,
                 peaks=_peaks(rng, 3, 150, 3000, (0, 10)))


def _voice(rng, program):
    vowel = VOWELS[str(rng.choice(list(VOWELS)))]
    shift = rng.uniform(0.9, 1.2)  # vocal-tract length: deeper or brighter voices
    peaks = [(f * shift, rng.uniform(0.08, 0.2), 10 ** (g / 20)) for f, g in zip(vowel, (rng.uniform(20, 30), rng.uniform(14, 26),
                                                                                         rng.uniform(6, 20)))]
    if rng.random() < 0.5:
        peaks.append((rng.uniform(2700, 3300), 0.15, 10 ** (rng.uniform(6, 18) / 20)))  # the singer's formant
    choir = rng.random() < 0.6
    return _base(tilt=rng.uniform(0.8, 1.5), peaks=peaks, peak_floor=0.05, attack=rng.uniform(0.05, 0.25),
                 release=rng.uniform(0.04, 0.08), vib_rate=rng.uniform(4.5, 6.5),
                 vib_cents=rng.uniform(10, 25) if choir else rng.uniform(25, 70), vib_delay=rng.uniform(0.0, 0.3),
                 unison=int(rng.integers(3, 8)) if choir else 1, detune_cents=rng.uniform(4, 14),
                 noise=rng.uniform(0.005, 0.04), noise_band=(2.0, 12.0), bright=rng.uniform(0.0, 0.8))


def _brass(rng, program):
    kind = rng.choice(["trumpet", "trombone", "horn", "tuba", "muted", "section", "synth"])
    if kind == "synth":
        return _base(tilt=1.0, attack=rng.uniform(0.02, 0.1), release=0.04, unison=int(rng.integers(2, 5)),
                     detune_cents=rng.uniform(4, 15),
                     lowpass=(rng.uniform(1.5, 4), rng.uniform(3, 10), rng.uniform(0.05, 0.3), rng.uniform(1, 3)))
    body = {"trumpet": (900, 2000), "trombone": (450, 1200), "horn": (300, 800), "tuba": (200, 500),
            "muted": (1400, 2600), "section": (500, 1500)}[kind]
    return _base(tilt=rng.uniform(0.5, 1.2) if kind != "horn" else rng.uniform(1.4, 2.2),
                 peaks=[(rng.uniform(*body), rng.uniform(0.3, 0.8), 10 ** (rng.uniform(8, 18) / 20))]
                 + _peaks(rng, 1, 1500, 4000, (0, 8)),
                 peak_floor=0.15 if kind == "muted" else 1.0, attack=rng.uniform(0.02, 0.08), release=rng.uniform(0.03, 0.07),
                 bright=rng.uniform(1.5, 4.0), glide_cents=rng.uniform(-60, -10), vib_rate=rng.uniform(4.5, 6),
                 vib_cents=rng.uniform(0, 15), vib_delay=0.2, unison=int(rng.integers(2, 5)) if kind == "section" else 1,
                 detune_cents=rng.uniform(4, 12), noise=rng.uniform(0, 0.01))


def _reed(rng, program):
    kind = rng.choice(["sax", "sax", "clarinet", "oboe", "bassoon"])
    body = {"sax": (500, 1800), "clarinet": (1200, 2500), "oboe": (1000, 1600), "bassoon": (400, 600)}[kind]
    return _base(tilt=rng.uniform(0.6, 1.2) if kind != "clarinet" else rng.uniform(0.9, 1.4),
                 even=rng.uniform(0.05, 0.3) if kind == "clarinet" else 1.0,
                 peaks=[(rng.uniform(*body), rng.uniform(0.3, 0.8), 10 ** (rng.uniform(6, 16) / 20))]
                 + _peaks(rng, 2, 300, 4000, (0, 8)),
                 attack=rng.uniform(0.02, 0.06), release=rng.uniform(0.03, 0.06), bright=rng.uniform(0.5, 2.5),
                 vib_rate=rng.uniform(4.5, 6.0), vib_cents=rng.uniform(0, 30) if kind == "sax" else rng.uniform(0, 10),
                 vib_delay=0.15, noise=rng.uniform(0.005, 0.04), noise_band=(1.0, 12.0), drive=rng.choice([0.0, rng.uniform(1, 3)]))


def _pipe(rng, program):
    breathy = rng.random() < 0.4  # pan flute, shakuhachi, bottle
    return _base(tilt=rng.uniform(1.8, 3.5), even=rng.uniform(0.5, 1.5), attack=rng.uniform(0.03, 0.12),
                 release=rng.uniform(0.03, 0.07), vib_rate=rng.uniform(4.5, 6.0), vib_cents=rng.uniform(0, 25),
                 vib_delay=rng.uniform(0.0, 0.3), noise=rng.uniform(0.05, 0.2) if breathy else rng.uniform(0.01, 0.05),
                 noise_band=(0.8, 6.0), click=rng.uniform(0.0, 0.03), max_partials=int(rng.integers(4, 10)))


def _synth(rng, program):
    kind = rng.choice(["lead", "lead", "pad", "pad", "fm", "pluck"])
    wave = rng.choice(["saw", "square", "pulse"])
    even = 0.0 if wave == "square" else 1.0
    comb = rng.uniform(0.1, 0.45) if wave == "pulse" else None
    if kind == "fm":
        return _base(fm=(float(rng.choice([1, 2, 3, 0.5, 1.41, 3.5])), rng.uniform(0.5, 5.0), rng.uniform(0.1, 2.0), 1.0),
                     attack=rng.uniform(0.005, 0.3), release=rng.uniform(0.03, 0.08), sustain=rng.uniform(0.3, 1.0),
                     decay=rng.uniform(0.1, 1.0), unison=int(rng.integers(1, 3)), detune_cents=rng.uniform(3, 10))
    if kind == "pluck":
        return _base(tilt=1.0, even=even, comb=comb, percussive=True, tau=rng.uniform(0.2, 1.0), release=0.03,
                     lowpass=(rng.uniform(2, 8), rng.uniform(4, 20), rng.uniform(0.05, 0.3), rng.uniform(1, 6)))
    return _base(tilt=1.0, even=even, comb=comb, attack=rng.uniform(0.003, 0.05) if kind == "lead" else rng.uniform(0.2, 1.0),
                 release=rng.uniform(0.02, 0.08), decay=rng.uniform(0.1, 1.0), sustain=rng.uniform(0.5, 1.0),
                 unison=int(rng.integers(1, 8)), detune_cents=rng.uniform(3, 25),
                 lowpass=(rng.uniform(2, 16), rng.uniform(1.0, 6), rng.uniform(0.05, 1.5), rng.uniform(1, 8)),
                 vib_rate=rng.uniform(4, 7), vib_cents=rng.choice([0.0, rng.uniform(5, 30)]), vib_delay=0.2,
                 drive=rng.choice([0.0, 0.0, rng.uniform(1, 5)]))


RECIPES = {"piano": _piano, "mallets": _mallets, "organ": _organ, "guitar": _guitar, "bass": _bass, "strings": _strings,
           "voice": _voice, "brass": _brass, "reed": _reed, "pipe": _pipe, "synth": _synth}


def draw_instrument(rng: np.random.Generator, program: int) -> dict:
    """One instrument of `program`'s family: the recipe's parameters, drawn once per track."""
    family = FAMILY_OF_PROGRAM.get(int(program))
    if family is None:
        raise ValueError(f"GM program {program} has no synthesised family; one of {', '.join(FAMILIES)}")
    params = RECIPES[family](rng, program)
    params["family"] = family
    return params


# ---------------------------------------------------------------------------------------------- notes


def _partials(p: dict, f0: float, vel: float) -> tuple[np.ndarray, np.ndarray]:
    """(frequency ratios, amplitudes) of a note's partials, band-limited."""
    if p["ratios"] is not None:
        ratios = np.asarray(p["ratios"], float)
        amps = np.asarray(p["ratio_amps"], float) if p["ratio_amps"] is not None else ratios ** -p["tilt"]
    else:
        n = np.arange(1, p["max_partials"] + 1, dtype=float)
        ratios = n * np.sqrt(1.0 + p["inharm"] * n ** 2)
        amps = n ** -p["tilt"] * np.where(n % 2 == 0, p["even"], 1.0)
        if p["comb"] is not None:  # where the string is struck or plucked (or a pulse's width)
            amps = amps * np.abs(np.sin(np.pi * n * p["comb"])) / max(np.sin(np.pi * p["comb"]), 1e-3)
    amps = amps * np.exp(-(np.arange(len(ratios))) * p["velocity_bright"] * (1.0 - vel) * 0.15)  # softer: darker
    amps = amps * _resonance_gain(ratios * f0, p["peaks"], p["peak_floor"]) if p["peaks"] else amps
    keep = (ratios * f0 < min(MAX_PARTIAL_HZ, 0.45 * SAMPLE_RATE)) & (amps > 1e-4)
    return ratios[keep], amps[keep]


def _envelope(p: dict, t: np.ndarray, dur: float, f0: float) -> np.ndarray:
    """Amplitude over `t` (s): attack, then a decay (to a sustain, or the free decay of a struck string), then release."""
    attack = np.minimum(t / max(p["attack"], 1e-3), 1.0)
    if p["percussive"]:
        tau = p["tau"] * (440.0 / f0) ** (p["tau_pitch"] * 12) if p["tau_pitch"] else p["tau"]
        body = (1 - p["two_stage"]) * np.exp(-t / tau) + p["two_stage"] * np.exp(-t / (0.15 * tau))
    else:
        body = p["sustain"] + (1 - p["sustain"]) * np.exp(-np.maximum(t - p["attack"], 0) / max(p["decay"], 1e-3))
    release = np.exp(-np.maximum(t - dur, 0.0) / p["release"])
    return (attack * body * release).astype(np.float64)


def _phase(p: dict, t: np.ndarray, f0: float, detune: float, rng) -> np.ndarray:
    """Instantaneous phase (rad) of the fundamental: vibrato (fading in), an attack glide, a unison voice's detune."""
    cents = detune + p["glide_cents"] * np.exp(-t / 0.04)
    if p["vib_cents"]:
        fade = np.clip((t - p["vib_delay"]) / 0.3, 0.0, 1.0)
        rate = p["vib_rate"] * rng.uniform(0.93, 1.07)
        cents = cents + p["vib_cents"] * fade * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    freq = f0 * 2.0 ** (cents / 1200.0)
    return 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE


def _noise(rng, n: int, f0: float, band: tuple[float, float]) -> np.ndarray:
    low, high = f0 * band[0], min(f0 * band[1], 0.45 * SAMPLE_RATE)
    if high <= low * 1.1:
        return np.zeros(n)
    sos = signal.butter(2, [low, high], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(n)) * np.sqrt(SAMPLE_RATE / 2 / (high - low))


CONTROL = 32
"""Samples between two computed values of the partials' gains (linearly interpolated between): 1.5 kHz."""


def _partial_gains(p: dict, amps: np.ndarray, ratios: np.ndarray, f0: float, vel: float, t: np.ndarray,
                   env: np.ndarray) -> np.ndarray:
    """Each partial's gain at control times `t`: [partials, len(t) + 1] (the last column repeated for interpolation)."""
    k = np.arange(len(ratios))[:, None]
    gains = amps[:, None] * np.ones((1, len(t)))
    if p["percussive"] and p["partial_decay"]:  # upper partials of a struck string die first
        gains = gains * np.exp(-t[None, :] * p["partial_decay"] * k * (f0 / 200.0) ** 0.5)
    if p["bright"]:  # louder is brighter (brass, bows, breath)
        gains = gains * np.maximum(env[None, :], 1e-3) ** (p["bright"] * k / max(len(ratios), 1))
    if p["lowpass"] is not None:  # a subtractive synth's filter, opened by its own envelope
        start_mult, end_mult, fall_s, q = p["lowpass"]
        fc = f0 * (end_mult + (start_mult * (1 + vel) - end_mult) * np.exp(-t / fall_s))
        x = (ratios * f0)[:, None] / fc[None, :]
        gains = gains / np.sqrt((1 - x ** 2) ** 2 + (x / q) ** 2 + 1e-6) / np.sqrt(1 + x ** 4)
    return np.concatenate([gains, gains[:, -1:]], axis=1)


@numba.njit(cache=True, fastmath=True)
def _oscillator_bank(phi, ratios, phases, gains, control, out):
    """out += sum_k gain_k(t) sin(ratio_k phi(t) + phase_k), gains given every `control` samples.

    Within a control block each partial turns by a fixed angle per sample (a complex rotation, no sine per
    sample), re-anchored to the exact phase at every block: vibrato and glides stay exact to 1/1500 s.
    """
    n = len(phi)
    for k in range(len(ratios)):
        r = ratios[k]
        for j in range(0, (n + control - 1) // control):
            i0 = j * control
            i1 = min(n, i0 + control)
            g0 = gains[k, j]
            if g0 < 1e-7 and gains[k, j + 1] < 1e-7:
                continue
            end = phi[i1] if i1 < n else phi[n - 1] + (phi[n - 1] - phi[max(n - 2, 0)])
            step = r * (end - phi[i0]) / (i1 - i0) if i1 < n else r * (phi[n - 1] - phi[max(n - 2, 0)])
            angle = r * phi[i0] + phases[k]
            zr, zi = math.cos(angle), math.sin(angle)
            cr, ci = math.cos(step), math.sin(step)
            dg = (gains[k, j + 1] - g0) / control
            for i in range(i0, i1):
                out[i] += (g0 + dg * (i - i0)) * zi
                zr, zi = zr * cr - zi * ci, zr * ci + zi * cr


def render_note(rng: np.random.Generator, p: dict, pitch: float, velocity: float, dur: float) -> np.ndarray:
    """One note of instrument `p`: float64 samples, from its onset to the end of its release."""
    f0 = midi_hz(pitch)
    vel = float(np.clip(velocity / 127.0, 0.05, 1.0))
    n = int((dur + 5 * p["release"]) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    env = _envelope(p, t, dur, f0)
    out = np.zeros(n)
    voices = max(1, int(p["unison"]))
    spread = np.linspace(-1, 1, voices) if voices > 1 else np.zeros(1)
    for v in range(voices):
        phi = _phase(p, t, f0, p["detune_cents"] * spread[v], rng)
        if p["fm"] is not None:  # two-operator FM: a modulator at `ratio` whose index falls from `index`
            ratio, index, fall_s, carrier = p["fm"]
            idx = index * vel * (0.3 + 0.7 * np.exp(-t / fall_s))
            out += np.sin(carrier * phi + idx * np.sin(ratio * phi + rng.uniform(0, 6.28)))
            if carrier != 1.0:
                out += 2.0 * np.sin(phi)  # a tine's fundamental under its bell partial
            continue
        ratios, amps = _partials(p, f0, vel)
        _oscillator_bank(phi, ratios, rng.uniform(0, 2 * np.pi, len(ratios)),
                         _partial_gains(p, amps, ratios, f0, vel, t[::CONTROL], env[::CONTROL]), CONTROL, out)
    out /= np.sqrt(voices)
    if p["trem_depth"]:
        out *= 1 - p["trem_depth"] * 0.5 * (1 + np.sin(2 * np.pi * p["trem_rate"] * t + rng.uniform(0, 6.28)))
    out *= env
    if p["noise"]:
        out += p["noise"] * np.sqrt(env) * _noise(rng, n, f0, p["noise_band"]) * np.sqrt(np.mean(out ** 2) + 1e-12) * 5
    if p["click"]:
        m = min(n, int(0.006 * SAMPLE_RATE))
        burst = _noise(rng, m, max(f0, 200.0), (2.0, 30.0)) * np.exp(-np.arange(m) / (0.0015 * SAMPLE_RATE))
        out[:m] += p["click"] * burst * 10 * vel
    return out * vel ** 1.2


def render_track(rng: np.random.Generator, track, n_samples: int, instrument: dict | None = None) -> np.ndarray:
    """Play a pitched `render_music.Track` (notes start_s, end_s, pitch, velocity) with one drawn instrument of its
    program's family: float32 [n_samples], peak near 1 before any drive."""
    p = instrument if instrument is not None else draw_instrument(rng, track.program)
    out = np.zeros(n_samples + SAMPLE_RATE)
    for on, off, pitch, vel in track.notes:
        start = int(on * SAMPLE_RATE)
        if start >= n_samples:
            continue
        note = render_note(rng, p, float(pitch), float(vel), max(float(off - on), 0.02))
        stop = min(len(out), start + len(note))
        out[start:stop] += note[: stop - start]
    out = out[:n_samples]
    peak = np.abs(out).max()
    if peak > 0:
        out /= peak
    if p["drive"]:  # an amp's saturation, then its cabinet's band
        out = np.tanh(p["drive"] * out) / np.tanh(p["drive"])
        sos = signal.butter(2, [80.0, float(rng.uniform(2500, 6000))], btype="bandpass", fs=SAMPLE_RATE, output="sos")
        out = signal.sosfilt(sos, out)
    return out.astype(np.float32)
