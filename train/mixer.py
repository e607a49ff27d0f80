"""Noisy/clean training pairs, mixed on the fly from the packed clips that train.build_data made.

Why on the fly: every batch gets new crops, new SNRs and new levels, so a few hours of rendered
audio give endless distinct examples, at numpy speed (contiguous memory-mapped slices, vectorised
mixing, an optional prefetch thread).

A batch is ``dict(noisy, clean, kind, snr_db)`` (plus ``labels`` when asked):

* ``clean`` is what the denoiser must output: music, speech, or both; ``noisy = clean + noise``.
* ``kind``: 0 music, 1 speech, 2 music+speech, 3 noise only (``clean`` is all zeros).
* ``snr_db``: clean-to-noise power ratio over the whole segment, uniform in [-5, 20] dB;
  +inf for clean-only examples (``noisy == clean``), -inf for noise-only ones.
* Levels: each example's peak (of noisy and clean alike) is set to a random -35..-0.5 dBFS, so
  nothing clips and the model sees quiet and loud inputs.
* Some examples start with noise alone (a 0.2-2 s "lead-in") before the clean signal enters, the
  way a live stream starts; the noise-bank clips themselves also drift, step and pause in level.
* ``labels`` (``with_labels=True``): float32 [B, frames, 12] instrument activity at 100 frames/s,
  frame i covering samples [480 i, 480 (i + 1)); zeros for speech and noise.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import zlib
from pathlib import Path

import numpy as np

from train import datapaths
from train.augment import (
    RESAMPLE_UP, MusicAugment, apply_augment, augment_recipe, pitch_ratio, resample_crop, source_samples,
)
from train.datapaths import LABEL_NAMES, SAMPLE_RATE, SAMPLES_PER_FRAME
from train.top_band import extend_top_band

KIND_MUSIC, KIND_SPEECH, KIND_BOTH, KIND_NOISE_ONLY = 0, 1, 2, 3
KIND_NAMES = ("music", "speech", "music+speech", "noise")

SNR_RANGE_DB = (-5.0, 20.0)
PEAK_RANGE_DBFS = (-35.0, -0.5)
CLEAN_ONLY_SHARE = 0.10
NOISE_ONLY_SHARE = 0.05
LEAD_IN_SHARE = 0.15
KIND_SHARES = (0.45, 0.35, 0.20)  # music, speech, both, among examples that have a clean signal
SILENT_RMS = 10 ** (-55 / 20)  # a crop quieter than this (re full scale) is drawn again
_EPS = 1e-12


class ClipStore:
    """One packed split/kind: memory-mapped int16 audio, its clip table, and music labels."""

    def __init__(self, root: Path, split: str, kind: str):
        index_file = datapaths.index_path(root, split, kind)
        if not index_file.exists():
            made_by = datapaths.SPLIT_MADE_BY.get(split, "train.build_data")
            raise FileNotFoundError(f"{index_file} is missing: render it first with "
                                    f"`python -m {made_by} --out {root}`.")
        self.index = json.loads(index_file.read_text())
        clips = self.index["clips"]
        if not clips:
            raise ValueError(f"{index_file} lists no clips; rebuild with `python -m train.build_data`.")
        self.audio = np.load(datapaths.audio_path(root, split, kind), mmap_mode="r")  # int16 [total]
        self.offsets = np.array([c["offset"] for c in clips], dtype=np.int64)  # [clips]
        self.lengths = np.array([c["length"] for c in clips], dtype=np.int64)  # [clips]
        self.names = [c["name"] for c in clips]
        self.sources = [c.get("source", c["name"]) for c in clips]
        self.labels = np.load(datapaths.labels_path(root, split), mmap_mode="r") if kind == "music" else None
        self._cumulative = np.cumsum(self.lengths)

    def draw_clips(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Clip numbers [n], each clip as likely as its length (every second of audio equally so), times its
        weight if :meth:`weight_by_type` set one."""
        return np.searchsorted(self._cumulative, rng.integers(0, self._cumulative[-1], size=n), side="right")

    def weight_by_type(self, weights: dict[str, int]) -> None:
        """Draw the clips of each noise type named in ``weights`` that many times as often (others: 1).

        So a type the net keeps failing on (babble, knocks: bench.noise_types) gets more of the gradient; the
        draw stays integer, so weights of 1 make the draws made before.
        """
        types = [c.get("noise_type") for c in self.index["clips"]]
        unknown = set(weights) - set(types)
        if unknown:
            raise ValueError(f"noise type weights name {sorted(unknown)}, which no clip of this store has; "
                             f"its types: {sorted(set(t for t in types if t))}")
        if any(not (isinstance(w, int) and w >= 0) for w in weights.values()) or not any(
                weights.get(t, 1) for t in types):
            raise ValueError(f"noise type weights must be whole numbers >= 0, not all 0; got {weights}")
        scale = np.array([weights.get(t, 1) for t in types], dtype=np.int64)
        self._cumulative = np.cumsum(self.lengths * scale)

    def crop(self, rng: np.random.Generator, clip: int, n_samples: int, loop: bool = False,
             out_labels: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """A random frame-aligned window of ``n_samples`` from one clip, float32 in [-1, 1].

        A clip shorter than the window is looped (``loop``) or placed at a random spot among zeros.
        If ``out_labels`` [frames, 12] is given, it receives the matching label frames.
        Returns the audio and the clip's position inside the window (samples; 0 if it fills it).
        """
        offset, length = int(self.offsets[clip]), int(self.lengths[clip])
        frames = n_samples // SAMPLES_PER_FRAME
        if length >= n_samples:
            start = int(rng.integers(0, (length - n_samples) // SAMPLES_PER_FRAME + 1)) * SAMPLES_PER_FRAME
            audio = self.audio[offset + start: offset + start + n_samples]
            if out_labels is not None and self.labels is not None:
                f0 = (offset + start) // SAMPLES_PER_FRAME
                out_labels[:] = self.labels[f0: f0 + frames]
            return audio.astype(np.float32) / 32768.0, 0
        whole = self.audio[offset: offset + length].astype(np.float32) / 32768.0
        if loop:
            shift = int(rng.integers(length))
            return np.resize(np.roll(whole, -shift), n_samples), 0
        place = int(rng.integers(0, (n_samples - length) // SAMPLES_PER_FRAME + 1)) * SAMPLES_PER_FRAME
        audio = np.zeros(n_samples, np.float32)
        audio[place: place + length] = whole
        if out_labels is not None and self.labels is not None:
            out_labels[:] = 0
            f0, fp = offset // SAMPLES_PER_FRAME, place // SAMPLES_PER_FRAME
            out_labels[fp: fp + length // SAMPLES_PER_FRAME] = self.labels[f0: f0 + length // SAMPLES_PER_FRAME]
        return audio, place


def _rms(x: np.ndarray) -> np.ndarray:
    """RMS over the last axis (float32 dot products: fast, and exact to well within 0.01 dB)."""
    x2 = x.reshape(-1, x.shape[-1])
    power = np.einsum("ij,ij->i", x2, x2).astype(np.float64) / x.shape[-1]
    return np.sqrt(power).reshape(x.shape[:-1])


def _peak(x: np.ndarray) -> np.ndarray:
    """max |x| over the last axis, without a temporary |x| array."""
    return np.maximum(x.max(axis=-1), -x.min(axis=-1))


class MixtureSampler:
    """Endless random batches of (noisy, clean) pairs from one split.

    Args:
        data_dir: the data directory (``train.datapaths.data_dir()``).
        split: "train" or "val".
        segment_seconds: length of each example; rounded down to whole 10 ms frames.
        batch_size: examples per batch.
        seed: makes the sequence of batches reproducible.
        with_labels: also return ``labels`` float32 [B, frames, 12] (instrument activity).
        prefetch: batches prepared ahead by a background thread (0: none, made on demand).
        music_split: take the music from this packed split instead (e.g. ``val_unseen_sf``); speech and
            noise still come from ``split``.
        speech_split: take the speech from this packed split instead (e.g. ``val_unseen_tts``), likewise.
        music_augment: how training music is re-timbred (`train.augment`), a `MusicAugment` or a name of
            ``MUSIC_AUGMENTS``; the target is the re-timbred music. Ignored outside the train split.
        extra_music: more packed music splits (e.g. ``train_families``) that a music crop comes from with
            probability ``extra_music_share``.
        speech_augment: how training speech is re-timbred (a recipe as ``music_augment``, e.g. ``"speech"``):
            espeak-ng has a few dozen voices, and a denoiser that learned them keeps another voice less well.
            Ignored outside the train split.
        kind_shares: the shares of music, speech and both among examples with a clean signal (the default
            ``KIND_SHARES``); a cycle that weights speech more draws more of it.
        snr_range_db: the (low, high) of the uniform SNR draw (the default ``SNR_RANGE_DB``).
        noise_type_weights: (noise type, whole-number weight) pairs: clips of that type are drawn that many
            times as often (:meth:`ClipStore.weight_by_type`); () = by length alone. Ignored outside the train
            split, so validation stays the same set.
        mixture_lowpass: share of examples whose mixture and target are band-limited together
            (:func:`band_limit_mixture`). Ignored outside the train split.
        noise_lowpass: share of examples whose noise alone is band-limited (the same filter): the music and
            speech renders have nothing above 11-22 kHz while the synthesised noise fills the band, so without
            it a net can take any energy up there for noise. Ignored outside the train split.
        speech_top_band: share of speech crops given the top band espeak-ng's renders lack
            (:func:`train.top_band.extend_top_band`), target included: a real voice's sibilants reach 16 kHz.
            Ignored outside the train split.

    With neither augmentation nor extra music, the batches are exactly the ones this sampler always made.
    """

    def __init__(self, data_dir, split: str, segment_seconds: float, batch_size: int, seed: int | list[int] = 0,
                 *, with_labels: bool = False, prefetch: int = 0, music_split: str | None = None,
                 speech_split: str | None = None, music_augment: str | MusicAugment = "none", extra_music: tuple[str, ...] = (),
                 extra_music_share: float = 0.0, speech_augment: str | MusicAugment = "none",
                 kind_shares: tuple[float, float, float] = KIND_SHARES,
                 snr_range_db: tuple[float, float] = SNR_RANGE_DB,
                 noise_type_weights: tuple[tuple[str, int], ...] = (), mixture_lowpass: float = 0.0,
                 noise_lowpass: float = 0.0, speech_top_band: float = 0.0):
        if split not in datapaths.SPLITS:
            raise ValueError(f"split must be one of {datapaths.SPLITS}, got {split!r}.")
        if len(kind_shares) != 3 or min(kind_shares) < 0 or abs(sum(kind_shares) - 1.0) > 1e-6:
            raise ValueError(f"kind_shares must be three shares (music, speech, both) >= 0 that sum to 1, "
                             f"got {tuple(kind_shares)}; e.g. {KIND_SHARES}")
        if len(snr_range_db) != 2 or not snr_range_db[0] < snr_range_db[1]:
            raise ValueError(f"snr_range_db must be (low, high) with low < high, got {tuple(snr_range_db)}; "
                             f"e.g. {SNR_RANGE_DB}")
        self.kind_shares = tuple(float(x) for x in kind_shares)
        self.snr_range_db = tuple(float(x) for x in snr_range_db)
        music_augment = augment_recipe(music_augment)
        speech_augment = augment_recipe(speech_augment, "speech_augment")
        if not 0.0 <= extra_music_share <= 1.0:
            raise ValueError(f"extra_music_share must be in [0, 1], got {extra_music_share}")
        self.n_samples = int(segment_seconds * SAMPLE_RATE) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME
        if self.n_samples <= 0 or batch_size <= 0:
            raise ValueError(f"segment_seconds must be at least 0.01 and batch_size at least 1 "
                             f"(got {segment_seconds}, {batch_size}).")
        root = Path(data_dir)
        self.music = ClipStore(root, music_split or split, "music")
        self.speech = ClipStore(root, speech_split or split, "speech")
        self.noise = ClipStore(root, split, "noise")
        if noise_type_weights and split == "train":
            self.noise.weight_by_type(dict(noise_type_weights))
        for name, share in (("mixture_lowpass", mixture_lowpass), ("noise_lowpass", noise_lowpass),
                            ("speech_top_band", speech_top_band)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be a share in [0, 1], got {share}")
        self.mixture_lowpass = mixture_lowpass if split == "train" else 0.0
        self.noise_lowpass = noise_lowpass if split == "train" else 0.0
        self.speech_top_band = speech_top_band if split == "train" else 0.0
        self.augment = music_augment if split == "train" else MusicAugment()
        self.speech_augment = speech_augment if split == "train" else MusicAugment()
        self.extra_music = [ClipStore(root, extra, "music") for extra in extra_music]
        self.extra_music_share = extra_music_share if self.extra_music else 0.0
        self.batch_size = batch_size
        self.with_labels = with_labels
        self.rng = np.random.default_rng(seed)
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        if prefetch > 0:
            self._queue = queue.Queue(maxsize=prefetch)
            self._thread = threading.Thread(target=self._produce, name="MixtureSampler-prefetch", daemon=True)
            self._thread.start()

    @property
    def n_frames(self) -> int:
        return self.n_samples // SAMPLES_PER_FRAME

    def next_batch(self) -> dict[str, np.ndarray]:
        """The next batch: noisy, clean float32 [B, T]; kind int32 [B]; snr_db float32 [B] (+ labels)."""
        if self._queue is None:
            return self._make_batch()
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise RuntimeError("the prefetch thread of MixtureSampler failed") from item
        return item

    def __iter__(self):
        while True:
            yield self.next_batch()

    def close(self) -> None:
        """Stop the prefetch thread (if any)."""
        self._stop.set()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _produce(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._make_batch()
            except BaseException as exc:  # handed to the consumer, which re-raises it
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return

    def _make_batch(self) -> dict[str, np.ndarray]:
        rng, b = self.rng, self.batch_size
        u = rng.random(b)
        kinds = rng.choice(3, size=b, p=self.kind_shares).astype(np.int32)
        kinds[u < NOISE_ONLY_SHARE] = KIND_NOISE_ONLY
        snr = rng.uniform(*self.snr_range_db, size=b)
        snr[(u >= NOISE_ONLY_SHARE) & (u < NOISE_ONLY_SHARE + CLEAN_ONLY_SHARE)] = np.inf
        snr[kinds == KIND_NOISE_ONLY] = -np.inf
        lead_in = np.where((rng.random(b) < LEAD_IN_SHARE) & np.isfinite(snr),
                           rng.uniform(0.2, 2.0, size=b), 0.0)
        batch = mix_batch(self, rng, kinds, snr, lead_in, rng.uniform(*PEAK_RANGE_DBFS, size=b), self.with_labels)
        if self.noise_lowpass:  # drawn only when on, as the mixture's below
            for i in np.flatnonzero(rng.random(b) < self.noise_lowpass):
                clean = batch["clean"][i]
                batch["noisy"][i] = clean + band_limit(batch["noisy"][i] - clean, random_cutoff(rng))
        if self.mixture_lowpass:  # drawn only when on: without it the batches are the ones this sampler always made
            for i in np.flatnonzero(rng.random(b) < self.mixture_lowpass):
                batch["noisy"][i], batch["clean"][i] = band_limit_mixture(batch["noisy"][i], batch["clean"][i], rng)
        return batch


MIXTURE_CUTOFFS_HZ = (7000.0, 22000.0)  # 16 kHz speech ... 44.1 kHz sources (codecs cut at 16-20 kHz)


def random_cutoff(rng: np.random.Generator) -> float:
    """A log-uniform cutoff in MIXTURE_CUTOFFS_HZ."""
    low, high = np.log(MIXTURE_CUTOFFS_HZ[0]), np.log(MIXTURE_CUTOFFS_HZ[1])
    return float(np.exp(rng.uniform(low, high)))


def band_limit(x: np.ndarray, cutoff: float) -> np.ndarray:
    """`x` low-passed at `cutoff` Hz by a steep zero-phase filter (Butterworth of order 8, forward and back), as a
    resampler or codec leaves it."""
    import scipy.signal

    sos = scipy.signal.butter(8, cutoff, fs=SAMPLE_RATE, output="sos")
    return scipy.signal.sosfiltfilt(sos, x).astype(np.float32)


def band_limit_mixture(noisy: np.ndarray, clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same low-pass on a mixture and its target, at a random cutoff: what is above it is gone from input and
    target alike, so the net learns to leave empty bins be and is never asked to restore them."""
    cutoff = random_cutoff(rng)
    return band_limit(noisy, cutoff), band_limit(clean, cutoff)


def _draw_audible(rng, store: ClipStore, n: int, n_samples: int, loop: bool, labels: np.ndarray | None):
    """[n, n_samples] crops whose RMS is above SILENT_RMS (redrawn up to 8 times), unit RMS."""
    out = np.zeros((n, n_samples), np.float32)
    clips = store.draw_clips(rng, n)
    for i in range(n):
        for attempt in range(8):
            out[i], _ = store.crop(rng, int(clips[i]), n_samples, loop=loop,
                                   out_labels=labels[i] if labels is not None else None)
            level = _rms(out[i])
            if level > SILENT_RMS:
                break
            clips[i] = store.draw_clips(rng, 1)[0]
        out[i] /= max(level, _EPS)
    return out


def _draw_music(sampler: MixtureSampler, rng, n: int, n_samples: int, labels: np.ndarray | None) -> np.ndarray:
    """[n, n_samples] unit-RMS music crops, re-timbred and drawn from the extra splits as the sampler says."""
    if sampler.augment == MusicAugment() and not sampler.extra_music:
        return _draw_audible(rng, sampler.music, n, n_samples, False, labels)
    return _draw_retimbred(rng, sampler.music, sampler.extra_music, sampler.extra_music_share, sampler.augment,
                           n, n_samples, labels)


def _draw_speech(sampler: MixtureSampler, rng, n: int, n_samples: int) -> np.ndarray:
    """[n, n_samples] unit-RMS speech crops, re-timbred and given a top band as the sampler says."""
    if sampler.speech_augment == MusicAugment():
        speech = _draw_audible(rng, sampler.speech, n, n_samples, False, None)
    else:
        speech = _draw_retimbred(rng, sampler.speech, [], 0.0, sampler.speech_augment, n, n_samples, None)
    if sampler.speech_top_band:  # drawn only when on: without it the batches are the ones this sampler always made
        for i in np.flatnonzero(rng.random(n) < sampler.speech_top_band):
            speech[i] = extend_top_band(speech[i], rng)
    return speech


def _draw_retimbred(rng, main: ClipStore, extra: list[ClipStore], extra_share: float, aug: MusicAugment, n: int,
                    n_samples: int, labels: np.ndarray | None) -> np.ndarray:
    """[n, n_samples] audible crops of `main` (or, with probability extra_share, of one of `extra`), each
    resampled and re-timbred by `aug`, at unit RMS before the re-timbring; labels follow the resampling."""
    out = np.zeros((n, n_samples), np.float32)
    for i in range(n):
        store = main
        if extra and rng.random() < extra_share:
            store = extra[int(rng.integers(len(extra)))]
        down = pitch_ratio(rng, aug.max_semitones) if aug.pitch and rng.random() < aug.pitch else RESAMPLE_UP
        source = n_samples if down == RESAMPLE_UP else source_samples(n_samples, down)
        source_labels = (np.zeros((source // SAMPLES_PER_FRAME, len(LABEL_NAMES)), np.uint8)
                         if labels is not None else None)
        for attempt in range(8):
            audio, _ = store.crop(rng, int(store.draw_clips(rng, 1)[0]), source, out_labels=source_labels)
            crop_labels = source_labels
            if source != n_samples:
                audio, crop_labels = resample_crop(audio, source_labels, n_samples, down)
            level = float(_rms(audio))
            if level > SILENT_RMS:
                break
        out[i] = apply_augment(audio / np.float32(max(level, _EPS)), rng, aug)
        if labels is not None:
            labels[i] = crop_labels
    return out


def mix_batch(sampler: MixtureSampler, rng: np.random.Generator, kinds: np.ndarray, snr_db: np.ndarray,
              lead_in_s: np.ndarray, peak_dbfs: np.ndarray, with_labels: bool) -> dict[str, np.ndarray]:
    """Mix one batch with the given per-example kind [B], SNR [B], lead-in [B] and peak level [B].

    Exposed so deterministic sets (:func:`make_validation_set`) use the very same mixing.
    """
    b, t, f = len(kinds), sampler.n_samples, sampler.n_frames
    labels = np.zeros((b, f, len(LABEL_NAMES)), np.uint8) if with_labels else None
    clean = np.zeros((b, t), np.float32)
    has_music = (kinds == KIND_MUSIC) | (kinds == KIND_BOTH)
    has_speech = (kinds == KIND_SPEECH) | (kinds == KIND_BOTH)
    if has_music.any():
        idx = np.flatnonzero(has_music)
        music_labels = np.zeros((len(idx), f, len(LABEL_NAMES)), np.uint8) if with_labels else None
        clean[idx] += _draw_music(sampler, rng, len(idx), t, music_labels)
        if with_labels:
            labels[idx] = music_labels
    if has_speech.any():
        idx = np.flatnonzero(has_speech)
        speech_gain = np.where(kinds[idx] == KIND_BOTH, 10 ** (rng.uniform(-10, 10, len(idx)) / 20), 1.0)
        clean[idx] += _draw_speech(sampler, rng, len(idx), t) * speech_gain[:, None].astype(np.float32)

    noise = _draw_audible(rng, sampler.noise, b, t, True, None)
    second = rng.random(b) < 0.3  # a second noise beneath the first
    if second.any():
        idx = np.flatnonzero(second)
        extra = _draw_audible(rng, sampler.noise, len(idx), t, True, None)
        noise[idx] += extra * (10 ** (rng.uniform(-15, 0, len(idx)) / 20))[:, None].astype(np.float32)

    # Noise-only lead-in: the clean signal enters after lead_in_s, with a 10 ms fade.
    entry = np.minimum((lead_in_s * SAMPLE_RATE).astype(np.int64) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME, t // 2)
    fade = np.linspace(0.0, 1.0, SAMPLES_PER_FRAME, endpoint=False, dtype=np.float32)
    for i in np.flatnonzero(entry > 0):
        clean[i, : entry[i]] = 0.0
        clean[i, entry[i]: entry[i] + SAMPLES_PER_FRAME] *= fade
        if with_labels:
            labels[i, : entry[i] // SAMPLES_PER_FRAME] = 0

    clean_power = _rms(clean) ** 2
    noise_power = _rms(noise) ** 2
    finite = np.isfinite(snr_db)
    noise_gain = np.zeros(b)
    noise_gain[finite] = np.sqrt(clean_power[finite] / (noise_power[finite] * 10 ** (snr_db[finite] / 10) + _EPS))
    noise_gain[snr_db == -np.inf] = 1.0  # noise only
    clean[snr_db == -np.inf] = 0.0
    noise *= noise_gain[:, None].astype(np.float32)
    noisy = noise
    noisy += clean

    peak = np.maximum(_peak(noisy), _peak(clean))
    gain = (10 ** (peak_dbfs / 20) / np.maximum(peak, _EPS)).astype(np.float32)[:, None]
    noisy *= gain
    clean *= gain
    out = {"noisy": noisy, "clean": clean,
           "kind": kinds.astype(np.int32), "snr_db": snr_db.astype(np.float32)}
    if with_labels:
        out["labels"] = labels.astype(np.float32)
    return out


VAL_KINDS = (KIND_MUSIC, KIND_SPEECH, KIND_BOTH)
VAL_SNRS_DB = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, np.inf)
"""The validation grid: every kind at every SNR (inf = clean input, to check it is left alone)."""


def split_fingerprint(root: Path, split: str, kind: str = "music") -> float:
    """CRC32 of a packed split's index: a cached set made from an older render of it is made again."""
    index_file = datapaths.index_path(root, split, kind)
    if not index_file.exists():
        made_by = datapaths.SPLIT_MADE_BY.get(split, "train.build_data")
        raise FileNotFoundError(f"{index_file} is missing: render it first with `python -m {made_by} --out {root}`.")
    return float(zlib.crc32(index_file.read_bytes()))


def make_validation_set(data_dir, n_clips: int = 210, seconds: float = 6.0, seed: int = 1234, *,
                        music_split: str | None = None, speech_split: str | None = None) -> dict[str, np.ndarray]:
    """A fixed validation set from the val split, saved once as ``val_set.npz`` and reloaded after.

    Covers music, speech and both at SNRs -5..20 dB and clean (the grid repeats over ``n_clips``),
    so music at 15 dB (the "music preservation" figure) is always present. No lead-ins; peaks at a
    seeded -35..-0.5 dBFS. Returns noisy, clean float32 [N, T]; kind int32 [N]; snr_db float32 [N];
    labels float32 [N, frames, 12]. ``music_split`` (e.g. ``val_unseen_sf``): the same recipe with the
    music taken from that split, cached as ``val_set.<music_split>.npz``; ``speech_split`` (e.g.
    ``val_unseen_tts``) likewise for the speech (``val_set[.<music_split>].<speech_split>.npz``).
    """
    root = Path(data_dir)
    path = datapaths.val_set_path(root, music_split, speech_split)
    params = np.array([n_clips, seconds, seed], dtype=np.float64)
    if music_split is not None:
        params = np.append(params, split_fingerprint(root, music_split))
    if speech_split is not None:
        params = np.append(params, split_fingerprint(root, speech_split, "speech"))
    if path.exists():
        with np.load(path) as stored:
            if np.array_equal(stored["params"], params):
                return {k: stored[k] for k in stored.files if k != "params"}
    sampler = MixtureSampler(root, "val", seconds, batch_size=1, seed=seed, with_labels=True, music_split=music_split,
                             speech_split=speech_split)
    rng = np.random.default_rng(seed)
    grid = [(k, s) for s in VAL_SNRS_DB for k in VAL_KINDS]
    kinds = np.array([grid[i % len(grid)][0] for i in range(n_clips)], dtype=np.int32)
    snrs = np.array([grid[i % len(grid)][1] for i in range(n_clips)], dtype=np.float64)
    parts = []
    for start in range(0, n_clips, 32):  # in chunks, to bound memory
        sl = slice(start, min(n_clips, start + 32))
        parts.append(mix_batch(sampler, rng, kinds[sl], snrs[sl], np.zeros(sl.stop - sl.start),
                               rng.uniform(*PEAK_RANGE_DBFS, size=sl.stop - sl.start), True))
    result = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # two trainings starting at once each write their own
    np.savez(tmp, params=params, **result)
    tmp.replace(path)
    return result
