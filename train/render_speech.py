"""Render speech clips with espeak-ng: many languages, voice variants, rates and pitches.

Why this exists: speech is the second thing the denoiser must keep. No speech corpus can be
downloaded here, so we synthesise it. Formant synthesis is not a human voice, but it covers many
languages' phonetics and prosody, and every clip says which voice made it, so validation can hold
out whole languages and voice variants the model never heard.

Text comes from local material only: English sentences from the docstrings of Python's own standard
library (plus its licence text); for other languages, pseudo-words written in the language's own
script (so espeak applies that language's letter-to-sound rules) mixed with numbers, which espeak
reads as real number words of the language.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
import subprocess
import sysconfig
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

from train.datapaths import SAMPLE_RATE, SAMPLES_PER_FRAME

VAL_LANGUAGES = ("en-GB-scotland", "en-029", "nl", "pt-BR", "pl", "tr", "hi", "ko", "sw", "fi", "el",
                 "vi-VN-x-south", "ta", "cy")
"""Languages heard only in validation."""

VAL_VARIANTS = ("f4", "m6", "klatt4", "Andy", "anika", "steph2", "grandma", "whisperf", "edward2", "Lee")
"""espeak-ng voice variants heard only in validation."""

EXCLUDED_VARIANTS = ("fast", "Mr serious")  # a test voice, and a name with a space espeak cannot take

ENGLISH_SHARE = 0.3
"""Fraction of clips spoken in an English voice with real English sentences."""


@dataclasses.dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: a language and an optional variant (``-v language+variant``)."""

    language: str
    variant: str | None

    @property
    def name(self) -> str:
        return self.language if self.variant is None else f"{self.language}+{self.variant}"

    @property
    def split(self) -> str:
        """"val" if the language or the variant is held out, else "train"."""
        held_out = self.language in VAL_LANGUAGES or self.variant in VAL_VARIANTS
        return "val" if held_out else "train"


@dataclasses.dataclass
class SpeechClip:
    """Audio of one clip and a JSON-able description of how it was made."""

    audio: np.ndarray  # float32 [samples], 48 kHz mono, length a multiple of 480
    meta: dict


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is missing: run `apt-get install espeak-ng`.")
    return exe


@functools.lru_cache(maxsize=1)
def list_languages() -> tuple[str, ...]:
    """Every installed espeak-ng language voice, named by its voice file (what ``-v`` accepts), sorted.

    The file name, not the language column, because a few language codes (Cherokee's) are not
    accepted by ``-v`` and two Cantonese voices share one code.
    """
    out = subprocess.run([_espeak(), "--voices"], capture_output=True, text=True, check=True).stdout
    return tuple(sorted({line.split()[4].rsplit("/", 1)[-1] for line in out.splitlines()[1:] if line.strip()}))


@functools.lru_cache(maxsize=1)
def list_variants() -> tuple[str, ...]:
    """Names of every installed espeak-ng voice variant (the part after ``+``), sorted."""
    out = subprocess.run([_espeak(), "--voices=variant"], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        match = re.search(r"!v/(\S+)", line)
        if match and match.group(1) not in EXCLUDED_VARIANTS:
            names.add(match.group(1))
    return tuple(sorted(names))


def voices_for_split(split: str) -> tuple[list[str], list[str]]:
    """(languages, variants) a clip of ``split`` may use; val clips use at least one held-out part."""
    languages, variants = list(list_languages()), list(list_variants())
    if split == "train":
        return ([lang for lang in languages if lang not in VAL_LANGUAGES],
                [v for v in variants if v not in VAL_VARIANTS])
    if split == "val":
        return languages, variants
    raise ValueError(f"unknown split {split!r}; use 'train' or 'val'.")


def draw_voice(rng: np.random.Generator, split: str) -> Voice:
    """A random voice of ``split``: English in about 30 % of draws, else any language."""
    languages, variants = voices_for_split(split)
    for _ in range(1000):
        english = [lang for lang in languages if lang.startswith("en")]
        pool = english if rng.random() < ENGLISH_SHARE and english else languages
        voice = Voice(str(rng.choice(pool)), str(rng.choice(variants)) if rng.random() < 0.85 else None)
        if voice.split == split:
            return voice
    raise RuntimeError(f"no espeak-ng voice belongs to split {split!r}; check VAL_LANGUAGES.")


# --------------------------------------------------------------------------- text


@functools.lru_cache(maxsize=1)
def english_sentences() -> tuple[str, ...]:
    """Plain English sentences from the standard library's docstrings and licence (offline)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = []
    for path in sorted(stdlib.glob("*.py")):  # docstrings, found by pattern (ast is 10x slower)
        source = path.read_text(encoding="utf-8", errors="replace")
        texts += re.findall(r'"""(.*?)"""', source, flags=re.S)
    licence = stdlib / "LICENSE.txt"
    if licence.exists():
        texts.append(licence.read_text(encoding="utf-8", errors="replace"))
    sentences = set()
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            words = sentence.split()
            if 5 <= len(words) <= 24 and re.fullmatch(r"[A-Z][A-Za-z0-9 ,;'()-]*[.!?]", sentence):
                sentences.add(sentence)
    if not sentences:
        raise RuntimeError(f"found no English sentences in {stdlib}; is the Python standard library installed?")
    return tuple(sorted(sentences))


def _chars(*ranges: tuple[int, int]) -> list[str]:
    out = []
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            try:
                unicodedata.name(chr(cp))
            except ValueError:
                continue
            out.append(chr(cp))
    return out


def _brahmic(base: int) -> tuple[list[str], list[str]]:
    """Consonants and vowel signs of an Indic block laid out like Devanagari."""
    return _chars((base + 0x15, base + 0x39)), [""] * 3 + _chars((base + 0x3E, base + 0x4C))


_COMMON_HAN = ("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她"
               "里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老"
               "从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机")

# script -> (onsets, nuclei): pseudo-syllables are onset + nucleus (+ sometimes another onset)
SCRIPTS: dict[str, tuple[list[str], list[str]]] = {
    "latin": (list("bcdfghjklmnprstvwzbdgklmnprst") + ["ch", "sh", "th", "tr", "st", "br"], list("aeiouaeioy")),
    "cyrillic": (list("бвгджзклмнпрстфхцчшщ"), list("аеиоуыэюя")),
    "greek": (list("βγδζθκλμνξπρστφχψ"), list("αεηιουωάέίό")),
    "arabic": (_chars((0x0628, 0x063A), (0x0641, 0x064A)), ["ا", "و", "ي", "", ""]),
    "hebrew": (_chars((0x05D1, 0x05EA)), ["א", "ו", "י", "", ""]),
    "devanagari": _brahmic(0x0900),
    "bengali": _brahmic(0x0980),
    "gurmukhi": _brahmic(0x0A00),
    "gujarati": _brahmic(0x0A80),
    "oriya": _brahmic(0x0B00),
    "tamil": _brahmic(0x0B80),
    "telugu": _brahmic(0x0C00),
    "kannada": _brahmic(0x0C80),
    "malayalam": _brahmic(0x0D00),
    "sinhala": (_chars((0x0D9A, 0x0DC6)), [""] * 3 + _chars((0x0DCF, 0x0DDF))),
    "thai": (_chars((0x0E01, 0x0E2E)), [""] + _chars((0x0E30, 0x0E39))),
    "myanmar": (_chars((0x1000, 0x1020)), [""] * 2 + _chars((0x102B, 0x1035))),
    "georgian": (list("ბგდვზთკლმნპჟრსტფქღყშჩცძწჭხჯჰ"), list("აეიოუ")),
    "armenian": (list("բգդզթժլխծկհձղճմյնշչպջռսվտրցփքֆ"), list("աեէըիոօ")),
    "ethiopic": (_chars((0x1200, 0x1357)), [""]),
    "cherokee": (_chars((0x13A0, 0x13F4)), [""]),
    "han": (list(_COMMON_HAN), [""]),
    "kana": (_chars((0x3042, 0x3093), (0x30A2, 0x30F3)), [""]),
}
LANGUAGE_SCRIPTS = {
    "cyrillic": ("ru", "ru-LV", "uk", "bg", "be", "mk", "kk", "ky", "tt", "ba", "cv", "nog"),
    "greek": ("el", "grc"), "arabic": ("ar", "fa", "ur", "sd", "ug"), "hebrew": ("he",),
    "devanagari": ("hi", "mr", "ne", "kok"), "bengali": ("bn", "as", "bpy"), "gurmukhi": ("pa",),
    "gujarati": ("gu",), "oriya": ("or",), "tamil": ("ta",), "telugu": ("te",), "kannada": ("kn",),
    "malayalam": ("ml",), "sinhala": ("si",), "thai": ("th",), "myanmar": ("my", "shn"),
    "georgian": ("ka",), "armenian": ("hy", "hyw"), "ethiopic": ("am",), "han": ("cmn", "yue", "hak"),
    "kana": ("ja",), "cherokee": ("chr",),
}
_SCRIPT_OF = {lang: script for script, langs in LANGUAGE_SCRIPTS.items() for lang in langs}


def script_of(language: str) -> str:
    """The writing system we generate text in for an espeak-ng language code ("latin" by default)."""
    return _SCRIPT_OF.get(language, "latin")


def _hangul_syllable(rng: np.random.Generator) -> str:
    lead, vowel, tail = int(rng.integers(19)), int(rng.integers(21)), int(rng.integers(28)) * (rng.random() < 0.4)
    return chr(0xAC00 + (lead * 21 + vowel) * 28 + tail)


def _pseudo_word(rng: np.random.Generator, script: str) -> str:
    n = int(rng.integers(1, 4))
    if script == "hangul":
        return "".join(_hangul_syllable(rng) for _ in range(n))
    onsets, nuclei = SCRIPTS[script]
    word = "".join(str(rng.choice(onsets)) + str(rng.choice(nuclei)) for _ in range(n))
    if rng.random() < 0.3:
        word += str(rng.choice(onsets))
    return word


def make_sentence(rng: np.random.Generator, language: str, numbers: bool = True) -> str:
    """One sentence for ``language``: real English, else pseudo-words in its script (plus numbers unless
    ``numbers`` is False: a synthesiser other than espeak may read digits in English)."""
    if language.startswith("en"):
        return str(rng.choice(english_sentences()))
    script = "hangul" if language == "ko" else script_of(language)
    words = []
    for _ in range(int(rng.integers(3, 12))):
        if numbers and rng.random() < 0.18:
            words.append(str(int(rng.choice([rng.integers(0, 100), rng.integers(100, 10000)]))))
        else:
            words.append(_pseudo_word(rng, script))
        if rng.random() < 0.1:
            words[-1] += ","
    if script == "latin":
        words[0] = words[0].capitalize()
    return " ".join(words) + str(rng.choice([".", ".", ".", "?", "!"]))


def make_text(rng: np.random.Generator, language: str, n_sentences: int) -> str:
    """Several sentences for one clip."""
    return " ".join(make_sentence(rng, language) for _ in range(n_sentences))


# --------------------------------------------------------------------------- audio


def speak(text: str, voice: Voice, *, rate: int = 170, pitch: int = 50, amplitude: int = 100,
          word_gap: int = 0, timeout_s: int = 120) -> np.ndarray:
    """Speak ``text`` with espeak-ng; returns float32 [samples] at 48 kHz (resampled with soxr)."""
    import soundfile
    import soxr

    with tempfile.TemporaryDirectory(prefix="rtmusic-espeak-") as tmp:
        wav = Path(tmp) / "speech.wav"
        cmd = [_espeak(), "-v", voice.name, "-s", str(rate), "-p", str(pitch), "-a", str(amplitude),
               "-g", str(word_gap), "-w", str(wav), "--", text]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
        if proc.returncode != 0 or not wav.exists():
            raise RuntimeError(f"espeak-ng -v {voice.name} failed ({proc.returncode}): {proc.stderr.decode()[-300:]}")
        audio, sr = soundfile.read(wav, dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    return soxr.resample(audio, sr, SAMPLE_RATE).astype(np.float32)


def trim_silence(audio: np.ndarray, keep_s: float = 0.25, floor_db: float = -50.0) -> np.ndarray:
    """Trim leading/trailing silence to at most ``keep_s``, pad to whole 10 ms frames."""
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak > 0:
        loud = np.flatnonzero(np.abs(audio) > peak * 10 ** (floor_db / 20))
        keep = int(keep_s * SAMPLE_RATE)
        audio = audio[max(0, loud[0] - keep): loud[-1] + keep]
    pad = (-len(audio)) % SAMPLES_PER_FRAME
    return np.concatenate([audio, np.zeros(pad, np.float32)]).astype(np.float32)


def render_speech_clip(seed: int, split: str, n_sentences: int | None = None) -> SpeechClip:
    """One clip: a random voice of ``split`` speaking a few sentences at random rate and pitch."""
    rng = np.random.default_rng(seed)
    voice = draw_voice(rng, split)
    n = int(n_sentences or rng.integers(2, 7))
    text = make_text(rng, voice.language, n)
    settings = dict(rate=int(rng.integers(120, 221)), pitch=int(rng.integers(20, 81)),
                    amplitude=int(rng.integers(60, 181)), word_gap=int(rng.choice([0, 0, 0, 1, 3, 6])))
    audio = trim_silence(speak(text, voice, **settings))
    if len(audio) < SAMPLE_RATE // 4 or not np.abs(audio).max() > 1e-4:
        raise ValueError(f"espeak-ng voice {voice.name} produced (almost) nothing for {text[:40]!r}")
    meta = dict(voice=voice.name, language=voice.language, variant=voice.variant,
                script=script_of(voice.language), sentences=n, text=text[:200], **settings)
    return SpeechClip(audio, meta)

