"""Classifier training examples: scenes mixed on the fly from train.mixer's clip stores, with per-hop targets.

The denoiser's mixing (`train.mixer.mix_batch`) is left alone; this sampler reuses its stores
(`ClipStore`: memory-mapped clips and music labels) and draws its own scenes, because a classifier needs
what a denoiser never sees: noise alone, silence and near-silence, quiet scenes around the silence
threshold, and sources that enter and leave (onsets for the decision latency).

A batch is ``dict(audio [B, T] float32, targets [B, hops, 15] float32, scene [B] int32)``; hop k covers
samples [240 k, 240 k + 240) and its targets are the labels of `rtmusic.models.CLASSIFIER_LABELS`:

* music families (12): the 100 fps MIDI activity of the music component (note-on to note-off + 100 ms),
  repeated to the 5 ms hop, kept only while the music is audible: its level (averaged over ~55 ms, held
  for 100 ms) within `AUDIBLE_DB` of the loudest component's level (averaged over ~55 ms);
* speech: the speech component's frame level within `SPEECH_VAD_DB` of its own loudest frame, held for
  `SPEECH_HANGOVER_S`, and audible by the same rule;
* noise: the noise component audible by the same rule (so noise 30 dB under music is not "noise");
* silence: the whole mix below `SILENCE_DBFS` (frame RMS over the 10 ms analysis frame, averaged over
  ~25 ms). Silence overrides: in a silent hop every other target is 0.

Training music (never validation music) is re-timbred at random by a `MusicAugment` recipe: a random EQ,
optionally moving, a resampling by up to +-1.5 semitones (labels follow), soft saturation, a short room.

Levels are set on the whole mix: RMS -50..-12 dBFS for most scenes (peak capped at -0.5 dBFS), -72..-50
for quiet ones, -88..-62 for near-silence, and digital zero or -110..-90 dBFS dither for silence.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import numpy as np

from rtmusic.models import CLASSIFIER_LABELS
from train import datapaths
from train.augment import (
    RESAMPLE_UP, MusicAugment, apply_augment, augment_recipe, pitch_ratio, resample_crop, source_samples,
)
from train.datapaths import LABEL_NAMES, SAMPLE_RATE, SAMPLES_PER_FRAME
from train.mixer import SILENT_RMS, ClipStore, _peak, _rms, band_limit, random_cutoff, split_fingerprint
from train.top_band import extend_top_band

HOP = 240
HOPS_PER_FRAME = SAMPLES_PER_FRAME // HOP
N_MUSIC = len(LABEL_NAMES)
SPEECH, NOISE, SILENCE = (CLASSIFIER_LABELS.index(n) for n in ("speech", "noise", "silence"))
assert CLASSIFIER_LABELS[:N_MUSIC] == LABEL_NAMES, "the classifier's music labels must be the data's"

SILENCE_DBFS = -60.0
AUDIBLE_DB = 25.0
SPEECH_VAD_DB = 30.0
SPEECH_HANGOVER_S = 0.1
AUDIBILITY_SMOOTH_HOPS = 11  # ~55 ms centred moving average before comparing component levels
SILENCE_SMOOTH_HOPS = 5
PEAK_LIMIT_DBFS = -0.5

SCENES = {  # name -> share of examples
    "music": 0.17,  # music alone: the rendered solos, ensembles, bands
    "drums": 0.05,  # a drum-only render
    "music+noise": 0.15,
    "music+speech": 0.10,  # half of them with noise too
    "speech": 0.07,
    "speech+noise": 0.10,
    "noise": 0.10,
    "silence": 0.04,
    "near-silence": 0.07,  # quiet hiss or noise around and below the silence threshold
    "quiet": 0.07,  # music or speech (sometimes with noise) at -72..-50 dBFS
    "music+speech+noise": 0.08,
}
SCENE_NAMES = tuple(SCENES)
GATE_SHARE = 0.3  # per component: enters late (and 40 % of those also leave early)
RECIPE_VERSION = 1  # bump when the validation recipe changes: cached validation sets are rebuilt



_EPS = 1e-12


def _db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def frame_power(x: np.ndarray) -> np.ndarray:
    """[T] -> [T // HOP] mean power of the analysis frame ending with each hop (the hop and the one before)."""
    energy = np.einsum("ij,ij->i", x.reshape(-1, HOP), x.reshape(-1, HOP)).astype(np.float64)
    return (energy + np.concatenate([[0.0], energy[:-1]])) / (2 * HOP)


def _smooth(power: np.ndarray, width: int) -> np.ndarray:
    return np.convolve(power, np.ones(width) / width, mode="same")


def _hold(power: np.ndarray, hops: int) -> np.ndarray:
    """Running maximum over the current and the previous `hops` hops (a level held through short gaps)."""
    padded = np.concatenate([np.zeros(hops), power])
    return np.lib.stride_tricks.sliding_window_view(padded, hops + 1).max(axis=1)


def hop_targets(music: np.ndarray | None, music_frames: np.ndarray | None, speech: np.ndarray | None,
                noise: np.ndarray | None, mix: np.ndarray) -> np.ndarray:
    """Per-hop targets [hops, 15] from the (final-level) components [T] and the music labels [frames, 12]."""
    hops = mix.shape[0] // HOP
    targets = np.zeros((hops, len(CLASSIFIER_LABELS)), np.float32)
    parts = {name: _smooth(frame_power(x), AUDIBILITY_SMOOTH_HOPS)
             for name, x in (("music", music), ("speech", speech), ("noise", noise)) if x is not None}
    loudest = np.max(np.stack(list(parts.values())), axis=0) if parts else np.zeros(hops)

    def audible(power):
        return (power > _EPS) & (_db(power) >= _db(loudest) - AUDIBLE_DB)

    hold = int(round(SPEECH_HANGOVER_S * SAMPLE_RATE / HOP))  # labels run on 100 ms: so does their audibility
    if music is not None and music_frames is not None:
        targets[:, :N_MUSIC] = (np.repeat(music_frames, HOPS_PER_FRAME, axis=0)[:hops]
                                * audible(_hold(parts["music"], hold))[:, None])
    if speech is not None:
        level = _db(frame_power(speech))
        active = (level >= level.max() - SPEECH_VAD_DB) & (level > -100.0)
        held = np.convolve(active.astype(np.float64), np.ones(hold + 1))[:hops] > 0  # on for `hold` hops after
        targets[:, SPEECH] = held & audible(_hold(parts["speech"], hold))
    if noise is not None:
        targets[:, NOISE] = audible(parts["noise"])
    silent = _db(_smooth(frame_power(mix), SILENCE_SMOOTH_HOPS)) < SILENCE_DBFS
    targets[silent] = 0.0
    targets[silent, SILENCE] = 1.0
    return targets



class ClassifySampler:
    """Endless random batches of classifier examples from one split (see the module docstring).

    Args:
        data_dir: the data directory (``train.datapaths.data_dir()``).
        split: "train" or "val".
        segment_seconds: length of each example; rounded down to whole 10 ms frames.
        batch_size: examples per batch.
        seed: makes the sequence of batches reproducible.
        prefetch: batches prepared ahead by a background thread (0: none).
        music_split: take the music from this packed split instead (e.g. ``val_unseen_sf``); speech and
            noise still come from ``split``.
        speech_split: take the speech from this packed split instead (e.g. ``val_unseen_tts``), likewise.
        extra_music: more packed music splits (e.g. ``train_families``) that a music crop comes from with
            probability ``extra_music_share`` (drum-only scenes keep to the main split's drum clips).
        music_augment: how training music crops are re-timbred, a `MusicAugment` or a name of
            `MUSIC_AUGMENTS` (default "colour", the v1 recipe). Ignored for any other split than "train":
            validation music is never augmented and draws nothing for it.
        speech_top_band: share of speech crops given the top band espeak-ng's renders lack
            (`train.top_band`): on real voices the shipped classifier reads that band as noise. Ignored outside
            the train split; 0 draws nothing for it.
        noise_lowpass: share of training noise crops band-limited at a random 7-22 kHz (`train.mixer.band_limit`),
            as recorded noise is; ignored outside the train split; 0 draws nothing for it.
        noise_cutoff_hz: every noise crop band-limited at this frequency (the band-limited noise probe of
            `bench.classify_eval --noise-lowpass`); draws nothing, so the set is otherwise the same.
    """

    def __init__(self, data_dir, split: str, segment_seconds: float, batch_size: int, seed: int | list[int] = 0, *,
                 prefetch: int = 0, music_split: str | None = None, speech_split: str | None = None,
                 extra_music: tuple[str, ...] = (),
                 extra_music_share: float = 0.0, music_augment: str | MusicAugment = "colour",
                 speech_top_band: float = 0.0, noise_lowpass: float = 0.0, noise_cutoff_hz: float | None = None):
        if split not in datapaths.SPLITS:
            raise ValueError(f"split must be one of {datapaths.SPLITS}, got {split!r}.")
        self.n_samples = int(segment_seconds * SAMPLE_RATE) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME
        if self.n_samples <= 0 or batch_size <= 0:
            raise ValueError(f"segment_seconds must be at least 0.01 and batch_size at least 1 "
                             f"(got {segment_seconds}, {batch_size}).")
        root = Path(data_dir)
        music_augment = augment_recipe(music_augment)
        self.augment = music_augment if split == "train" else MusicAugment()
        self.music = ClipStore(root, music_split or split, "music")
        if not 0.0 <= extra_music_share <= 1.0:
            raise ValueError(f"extra_music_share must be in [0, 1], got {extra_music_share}")
        self.extra_music = [ClipStore(root, extra, "music") for extra in extra_music]
        self.extra_music_share = extra_music_share if self.extra_music else 0.0
        self.speech = ClipStore(root, speech_split or split, "speech")
        if not 0.0 <= speech_top_band <= 1.0:
            raise ValueError(f"speech_top_band must be a share in [0, 1], got {speech_top_band}")
        self.speech_top_band = speech_top_band if split == "train" else 0.0
        if not 0.0 <= noise_lowpass <= 1.0:
            raise ValueError(f"noise_lowpass must be a share in [0, 1], got {noise_lowpass}")
        self.noise_lowpass = noise_lowpass if split == "train" else 0.0
        if noise_cutoff_hz is not None and not 0.0 < noise_cutoff_hz < SAMPLE_RATE / 2:
            raise ValueError(f"noise_cutoff_hz must lie between 0 and {SAMPLE_RATE // 2} Hz, got {noise_cutoff_hz}")
        self.noise_cutoff_hz = noise_cutoff_hz
        self.noise = ClipStore(root, split, "noise")
        styles = [c.get("style") for c in self.music.index["clips"]]
        self.drum_clips = np.array([i for i, s in enumerate(styles) if s == "drums-only"], np.int64)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self._shares = np.array(list(SCENES.values())) / sum(SCENES.values())
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        if prefetch > 0:
            self._queue = queue.Queue(maxsize=prefetch)
            self._thread = threading.Thread(target=self._produce, name="ClassifySampler-prefetch", daemon=True)
            self._thread.start()

    @property
    def n_hops(self) -> int:
        return self.n_samples // HOP

    def next_batch(self) -> dict[str, np.ndarray]:
        if self._queue is None:
            return self.make_batch(self.rng.choice(len(SCENE_NAMES), size=self.batch_size, p=self._shares))
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise RuntimeError("the prefetch thread of ClassifySampler failed") from item
        return item

    def close(self) -> None:
        self._stop.set()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()

    def _produce(self) -> None:
        while not self._stop.is_set():
            try:
                item = self.make_batch(self.rng.choice(len(SCENE_NAMES), size=self.batch_size, p=self._shares))
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

    def make_batch(self, scenes: np.ndarray) -> dict[str, np.ndarray]:
        """One example per scene index (into SCENE_NAMES) [B], drawn with this sampler's generator."""
        audio = np.zeros((len(scenes), self.n_samples), np.float32)
        targets = np.zeros((len(scenes), self.n_hops, len(CLASSIFIER_LABELS)), np.float32)
        for i, scene in enumerate(scenes):
            audio[i], targets[i] = self.make_example(SCENE_NAMES[int(scene)])
        return {"audio": audio, "targets": targets, "scene": np.asarray(scenes, np.int32)}

    # ---- one example -----------------------------------------------------------------------------------
    def _music_store(self) -> ClipStore:
        """The main music split, or with `extra_music_share` one of the extra ones (no draw when there are none,
        so a sampler without extras makes the very examples it always made)."""
        if self.extra_music and self.rng.random() < self.extra_music_share:
            return self.extra_music[int(self.rng.integers(len(self.extra_music)))]
        return self.music

    def _crop(self, store: ClipStore, loop: bool, with_labels: bool, clips: np.ndarray | None = None,
              down: int = RESAMPLE_UP):
        """A unit-RMS crop (redrawn while silent, up to 8 times) and its label frames (or None); resampled
        by RESAMPLE_UP / down (`resample_crop`) when `down` differs from RESAMPLE_UP."""
        rng, t = self.rng, self.n_samples
        source = t if down == RESAMPLE_UP else source_samples(t, down)
        labels = np.zeros((source // SAMPLES_PER_FRAME, N_MUSIC), np.uint8) if with_labels else None
        for _ in range(8):
            clip = int(rng.choice(clips)) if clips is not None and clips.size else int(store.draw_clips(rng, 1)[0])
            audio, _ = store.crop(rng, clip, source, loop=loop, out_labels=labels)
            if source != t:
                audio, out_labels = resample_crop(audio, labels, t, down)
            level = float(_rms(audio))
            if level > SILENT_RMS:
                break
        if source != t and labels is not None:
            labels = out_labels
        return audio / max(level, _EPS), labels

    def _augment_music(self, music: np.ndarray) -> np.ndarray:
        """A unit-RMS training music crop [T] re-timbred by `self.augment` (after any resampling), unit RMS.
        Validation's recipe is "none", which draws nothing: its sets stay put."""
        return apply_augment(music, self.rng, self.augment)

    def _gate(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        """With GATE_SHARE: the source enters late (and maybe leaves early), 10 ms fades; labels follow."""
        rng, t = self.rng, self.n_samples
        if rng.random() >= GATE_SHARE:
            return
        frames = t // SAMPLES_PER_FRAME
        enter = int(rng.uniform(0.1, 0.7) * frames)
        leave = int(rng.uniform(enter + 0.2 * frames, frames)) if rng.random() < 0.4 else frames
        envelope = np.zeros(t, np.float32)
        a, b = enter * SAMPLES_PER_FRAME, leave * SAMPLES_PER_FRAME
        envelope[a:b] = 1.0
        fade = np.linspace(0.0, 1.0, SAMPLES_PER_FRAME, endpoint=False, dtype=np.float32)
        envelope[a:a + SAMPLES_PER_FRAME] = fade
        if b < t:
            envelope[b - SAMPLES_PER_FRAME:b] = fade[::-1]
        x *= envelope
        if labels is not None:
            labels[:enter] = 0
            labels[leave:] = 0

    def _band_limit_noise(self, noise: np.ndarray) -> np.ndarray:
        """The noise crop low-passed (`noise_cutoff_hz`, or with `noise_lowpass` a random cutoff) at its old RMS:
        the synthesised noise fills the band to 24 kHz, recorded noise seldom has anything above 16-20 kHz."""
        cutoff = self.noise_cutoff_hz
        if self.noise_lowpass and self.rng.random() < self.noise_lowpass:
            cutoff = random_cutoff(self.rng)
        if cutoff is None:
            return noise
        limited = band_limit(noise, cutoff)
        return limited * np.float32(_rms(noise) / max(float(_rms(limited)), _EPS))

    def make_example(self, scene: str) -> tuple[np.ndarray, np.ndarray]:
        """(audio [T], targets [hops, 15]) for one named scene."""
        rng = self.rng
        quiet_pick = rng.choice(["music", "speech", "music+noise", "speech+noise"]) if scene == "quiet" else ""
        has = {
            "music": scene in ("music", "drums", "music+noise", "music+speech", "music+speech+noise")
            or quiet_pick.startswith("music"),
            "speech": scene in ("speech", "speech+noise", "music+speech", "music+speech+noise")
            or quiet_pick.startswith("speech"),
            "noise": scene in ("music+noise", "speech+noise", "noise", "near-silence", "music+speech+noise")
            or quiet_pick.endswith("noise") or (scene == "music+speech" and rng.random() < 0.5),
        }
        if scene == "silence":
            t = self.n_samples
            audio = np.zeros(t, np.float32)
            if rng.random() < 0.5:  # dither / a dead-quiet input rather than digital zero
                audio = rng.standard_normal(t).astype(np.float32) * np.float32(10 ** (rng.uniform(-110, -90) / 20))
            return audio, hop_targets(None, None, None, None, audio)

        music = labels = speech = noise = None
        if has["music"]:
            down = RESAMPLE_UP
            if self.augment.pitch and rng.random() < self.augment.pitch:
                down = pitch_ratio(rng, self.augment.max_semitones)
            if scene == "drums":
                music, labels = self._crop(self.music, False, True, self.drum_clips, down)
            else:
                music, labels = self._crop(self._music_store(), False, True, down=down)
            music = self._augment_music(music)
            self._gate(music, labels)
        if has["speech"]:
            speech, _ = self._crop(self.speech, False, False)
            if self.speech_top_band and rng.random() < self.speech_top_band:
                speech = extend_top_band(speech, rng)
            if music is not None:
                speech *= np.float32(10 ** (rng.uniform(-15, 15) / 20))
            self._gate(speech, None)
        if has["noise"]:
            noise, _ = self._crop(self.noise, True, False)
            if rng.random() < 0.3:  # a second noise beneath the first
                extra, _ = self._crop(self.noise, True, False)
                noise += extra * np.float32(10 ** (rng.uniform(-15, 0) / 20))
            noise = self._band_limit_noise(noise)
            if music is not None or speech is not None:
                signal_power = max(float(_rms(music)) ** 2 if music is not None else 0.0,
                                   float(_rms(speech)) ** 2 if speech is not None else 0.0)
                noise *= np.float32(np.sqrt(signal_power / (float(_rms(noise)) ** 2 + _EPS))
                                    * 10 ** (rng.uniform(-35, 10) / 20))  # signal-to-noise -10..35 dB
            if scene != "near-silence":
                self._gate(noise, None)

        mix = np.zeros(self.n_samples, np.float32)
        for part in (music, speech, noise):
            if part is not None:
                mix += part
        rms_db = {"quiet": (-72.0, -50.0), "near-silence": (-88.0, -62.0)}.get(scene, (-50.0, -12.0))
        gain = 10 ** (rng.uniform(*rms_db) / 20) / max(float(_rms(mix)), _EPS)
        gain = min(gain, 10 ** (PEAK_LIMIT_DBFS / 20) / max(float(_peak(mix)), _EPS))
        gain = np.float32(gain)
        mix *= gain
        scaled = [None if p is None else p * gain for p in (music, speech, noise)]
        return mix, hop_targets(scaled[0], labels, scaled[1], scaled[2], mix)


def make_classify_validation_set(data_dir, n_clips: int = datapaths.CLASSIFY_VAL_SET[0],
                                 seconds: float = datapaths.CLASSIFY_VAL_SET[1], seed: int = datapaths.CLASSIFY_VAL_SET[2],
                                 *, music_split: str | None = None, speech_split: str | None = None,
                                 noise_cutoff_hz: float | None = None) -> dict[str, np.ndarray]:
    """A fixed classifier validation set from the val split, saved once and reloaded after.

    Scenes cycle through SCENE_NAMES (every scene equally often). Returns audio float32 [N, T], targets
    uint8 [N, hops, 15], scene int32 [N]. Cached as ``classify_val_set.npz`` in the data directory (another
    size or seed in a file of its own: `datapaths.classify_val_set_path`), checked against
    (n_clips, seconds, seed, RECIPE_VERSION). ``music_split`` (e.g. ``val_unseen_sf``): the same scenes
    with the music taken from that split, cached as ``classify_val_set.<music_split>.npz``; ``speech_split``
    (e.g. ``val_unseen_tts``) likewise for the speech. ``noise_cutoff_hz``: the same scenes with every noise
    low-passed there (same levels), cached in a file of its own.
    """
    root = Path(data_dir)
    path = datapaths.classify_val_set_path(root, music_split, n_clips, seconds, seed, speech_split, noise_cutoff_hz)
    params = np.array([n_clips, seconds, seed, RECIPE_VERSION], dtype=np.float64)
    if music_split is not None:
        params = np.append(params, split_fingerprint(root, music_split))
    if speech_split is not None:
        params = np.append(params, split_fingerprint(root, speech_split, "speech"))
    if noise_cutoff_hz is not None:
        params = np.append(params, noise_cutoff_hz)
    if path.exists():
        with np.load(path) as stored:
            if np.array_equal(stored["params"], params):
                return {k: stored[k] for k in stored.files if k != "params"}
    sampler = ClassifySampler(root, "val", seconds, batch_size=1, seed=seed, music_split=music_split,
                              speech_split=speech_split, noise_cutoff_hz=noise_cutoff_hz)
    scenes = np.arange(n_clips) % len(SCENE_NAMES)
    batch = sampler.make_batch(scenes)
    result = {"audio": batch["audio"], "targets": batch["targets"].astype(np.uint8), "scene": batch["scene"]}
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")  # two runs building it at once must not collide
    np.savez(tmp, params=params, **result)
    tmp.replace(path)
    return result
