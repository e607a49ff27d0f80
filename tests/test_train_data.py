"""The training-data recipe: real FluidSynth / espeak-ng renders of tiny items, a --quick build, the mixer."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from train import datapaths, noises, render_music, render_speech
from train.datapaths import LABEL_NAMES, SAMPLE_RATE, SAMPLES_PER_FRAME

needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None or not render_music.SOUNDFONT.exists(),
                                      reason="fluidsynth and fluid-soundfont-gm are not installed")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
REPO = Path(__file__).resolve().parents[1]


def rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20)


# --------------------------------------------------------------------------- music


def test_program_label_follows_the_gm_families():
    assert render_music.program_label(0) == LABEL_NAMES.index("piano")
    assert render_music.program_label(8) == LABEL_NAMES.index("mallets")
    assert render_music.program_label(52) == LABEL_NAMES.index("voice")
    assert render_music.program_label(54) == LABEL_NAMES.index("voice")
    assert render_music.program_label(55) is None  # GM 56, orchestra hit
    assert render_music.program_label(56) == LABEL_NAMES.index("brass")
    assert render_music.program_label(103) == LABEL_NAMES.index("synth")
    assert all(render_music.program_label(p) is None for p in range(104, 128))
    with pytest.raises(ValueError):
        render_music.program_label(128)


@needs_fluidsynth
def test_hand_made_tracks_render_with_matching_labels():
    notes = lambda pitch, start, end: np.array([[start, end, pitch, 100.0]])  # noqa: E731
    tracks = [render_music.Track(0, 0, notes(60, 0.1, 1.0)),  # piano, 0.1-1.0 s
              render_music.Track(1, 33, notes(40, 1.5, 2.0)),  # bass, 1.5-2.0 s
              render_music.Track(render_music.DRUM_CHANNEL, 0, notes(36, 0.5, 0.6), ring=np.array([0.3]))]
    audio, labels, _ = render_music.render_tracks(np.random.default_rng(0), tracks, 2.0)
    assert audio.dtype == np.float32 and len(audio) % SAMPLES_PER_FRAME == 0
    assert labels.shape == (len(audio) // SAMPLES_PER_FRAME, 12) and labels.dtype == np.uint8
    piano, bass, drums = (labels[:, LABEL_NAMES.index(n)] for n in ("piano", "bass", "drums"))
    assert piano[10:100].all() and not piano[:10].any() and piano[100:110].all() and not piano[111:].any()
    assert bass[150:210].all() and not bass[:150].any()
    assert drums[50:90].all() and not drums[91:].any()
    assert labels.sum(axis=0)[[i for i in range(12) if i not in (0, 4, 11)]].sum() == 0
    frames = audio[: len(labels) * SAMPLES_PER_FRAME].reshape(len(labels), -1)
    loud = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    assert loud[20:90].mean() > loud[130:145].mean() + 20  # sound where the piano label is on, quiet in the gap


@needs_fluidsynth
def test_corpus_piece_renders_48k_audio_and_labels_of_its_programs():
    piece = next(p for p in render_music.list_pieces() if p.piece_id == "bach/bwv66.6.mxl")
    clip = render_music.render_piece_clip(piece, seed=3, max_seconds=4.0)
    assert 3.0 < len(clip.audio) / SAMPLE_RATE < 8.0
    assert np.isfinite(clip.audio).all() and rms_db(clip.audio) > -60
    expected = {render_music.program_label(p) for p in clip.meta["programs"]} - {None}
    if clip.meta["drums"]:
        expected.add(render_music.DRUM_LABEL)
    assert set(np.flatnonzero(clip.labels.any(axis=0))) == expected


def test_voicing_writes_sf2_nrpn_offsets_and_keeps_the_labels(tmp_path):
    notes = np.array([[0.0, 1.0, 60, 100.0], [1.0, 2.0, 64, 90.0]])
    tracks = [render_music.Track(0, 40, notes), render_music.Track(1, 68, notes),
              render_music.Track(render_music.DRUM_CHANNEL, 0, notes, ring=np.array([0.3, 0.3]))]
    for seed in range(30):
        voiced = render_music.draw_voicing(np.random.default_rng(seed), tracks, layer_p=0.5)
        assert voiced[-1] is tracks[-1] or voiced[-1].channel == render_music.DRUM_CHANNEL  # drums untouched
        assert not any(t.generators for t in voiced if t.channel == render_music.DRUM_CHANNEL)
        channels = [t.channel for t in voiced]
        assert len(set(channels)) == len(channels)  # layers take free channels
        for track in voiced:  # every layer plays the notes of a track of its own family
            assert any(render_music.program_label(track.program) == render_music.program_label(t.program)
                       and np.array_equal(track.notes, t.notes) for t in tracks)
        assert np.array_equal(render_music.label_activity(voiced, 250), render_music.label_activity(tracks, 250))
    for seed, stretch in zip(range(30), [7, 12] * 15):  # stretched: other key zones, tuned back to the same pitches
        voiced = render_music.draw_voicing(np.random.default_rng(seed), tracks, layer_p=0.5, voice_p=1.0,
                                           stretch=stretch)
        for track in voiced:
            if track.channel == render_music.DRUM_CHANNEL:
                continue
            tune = dict(track.generators)[render_music.GEN_COARSE_TUNE]
            assert abs(tune) <= stretch and np.array_equal(track.notes[:, 2] + tune, notes[:, 2])
            assert np.array_equal(track.notes[:, [0, 1, 3]], notes[:, [0, 1, 3]])
        assert np.array_equal(render_music.label_activity(voiced, 250), render_music.label_activity(tracks, 250))
    midi = tmp_path / "v.mid"
    track = render_music.Track(3, 0, notes, generators=((render_music.GEN_FILTER_FC, -3000.0),
                                                        (render_music.GEN_SUSTAIN_VOL, 120.0)))
    render_music.write_midi(midi, [track], 2.5)
    data = midi.read_bytes()
    value = 8192 - 1500  # -3000 cents in FluidSynth's 2-cent NRPN steps
    assert bytes([0xB3, 99, 120, 0, 0xB3, 98, 8, 0, 0xB3, 38, value & 0x7F, 0, 0xB3, 6, value >> 7]) in data
    assert bytes([0xB3, 98, 37, 0, 0xB3, 38, (8192 + 120) & 0x7F, 0, 0xB3, 6, (8192 + 120) >> 7]) in data
    with pytest.raises(ValueError, match="generator 50"):
        render_music.write_midi(midi, [render_music.Track(0, 0, notes, generators=((50, 1.0),))], 2.5)


@needs_fluidsynth
def test_voiced_filter_darkens_the_rendered_sound(tmp_path):
    notes = np.array([[0.1, 1.5, 67, 100.0]])
    centroid = {}
    for name, gens in (("plain", ()), ("dark", ((render_music.GEN_FILTER_FC, -4800.0),))):
        render_music.write_midi(tmp_path / "n.mid", [render_music.Track(0, 68, notes, generators=gens)], 2.0)
        audio = render_music.render_midi(tmp_path / "n.mid", reverb_level=0.0, chorus_level=0.0)[4800:72000]
        power = np.abs(np.fft.rfft(audio)) ** 2
        centroid[name] = float((power * np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)).sum() / power.sum())
    assert centroid["dark"] < 0.85 * centroid["plain"], centroid


@needs_fluidsynth
def test_stretched_voicing_keeps_the_pitch_and_changes_the_sound(tmp_path):
    def spectrum(track):
        render_music.write_midi(tmp_path / "n.mid", [track], 2.0)
        audio = render_music.render_midi(tmp_path / "n.mid", reverb_level=0.0, chorus_level=0.0)[9600:57600]
        return np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2

    notes = np.array([[0.1, 1.5, 60, 100.0]])
    plain = spectrum(render_music.Track(0, 0, notes))  # piano middle C
    shifted = notes.copy()
    shifted[:, 2] += 6
    stretched = spectrum(render_music.Track(0, 0, shifted, generators=((render_music.GEN_COARSE_TUNE, -6.0),)))
    hz = np.fft.rfftfreq(48000, 1 / SAMPLE_RATE)  # 1 Hz bins
    fundamental = lambda power: hz[150 + np.argmax(power[150:400])]  # noqa: E731 (C4 = 261.6 Hz)
    assert abs(fundamental(plain) - 261.6) < 3 and abs(fundamental(stretched) - 261.6) < 3
    centroid = lambda power: (power * hz).sum() / power.sum()  # noqa: E731
    assert centroid(stretched) > 1.3 * centroid(plain)  # a brighter sample, tuned down


# --------------------------------------------------------------------------- speech


@needs_espeak
def test_espeak_phrase_renders_at_48k():
    audio = render_speech.speak("Music should survive the denoiser.", render_speech.Voice("en-US", "f3"))
    assert audio.dtype == np.float32 and len(audio) > SAMPLE_RATE // 2
    assert np.isfinite(audio).all() and rms_db(audio) > -40


@needs_espeak
def test_speech_clip_voices_respect_the_split():
    clip = render_speech.render_speech_clip(seed=5, split="val", n_sentences=1)
    assert len(clip.audio) % SAMPLES_PER_FRAME == 0 and rms_db(clip.audio) > -40
    voice = render_speech.Voice(clip.meta["language"], clip.meta["variant"])
    assert voice.split == "val"
    languages, variants = render_speech.voices_for_split("train")
    assert not set(languages) & set(render_speech.VAL_LANGUAGES)
    assert not set(variants) & set(render_speech.VAL_VARIANTS)


# --------------------------------------------------------------------------- noise


@pytest.fixture(scope="module")
def speech_pool():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(SAMPLE_RATE).astype(np.float32) * np.hanning(SAMPLE_RATE).astype(np.float32)
            for _ in range(3)]


@pytest.mark.parametrize("noise_type", sorted(noises.NOISE_TYPES))
def test_every_noise_type_is_finite_sized_audible_and_level_controlled(noise_type, speech_pool):
    n = SAMPLE_RATE + 123
    for level in (-20.0, -45.0):
        x = noises.make_noise(np.random.default_rng(1), noise_type, n, rms_db=level, speech=speech_pool)
        assert x.dtype == np.float32 and x.shape == (n,)
        assert np.isfinite(x).all()
        assert abs(rms_db(x) - level) < 0.1


def test_babble_without_speech_says_what_to_pass():
    with pytest.raises(ValueError, match="speech="):
        noises.make_noise(np.random.default_rng(0), "babble", 1000)


def test_vary_level_moves_the_level_but_stays_finite():
    x = noises.make_noise(np.random.default_rng(0), "white", 10 * SAMPLE_RATE)
    y = noises.vary_level(np.random.default_rng(2), x)
    seconds = [rms_db(s) for s in y.reshape(10, -1)]
    assert np.isfinite(y).all() and max(seconds) - min(seconds) > 1.0


# --------------------------------------------------------------------------- quick build and mixer


@pytest.fixture(scope="module")
def quick_data(tmp_path_factory):
    missing = [tool for tool in ("fluidsynth", "espeak-ng") if shutil.which(tool) is None]
    assert not missing, f"{missing} not installed: run `bash scripts/setup.sh --test`"
    out = tmp_path_factory.mktemp("data")
    proc = subprocess.run([sys.executable, "-m", "train.build_data", "--quick", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_quick_build_packs_every_split_and_kind(quick_data):
    for split in datapaths.SPLITS:
        for kind in datapaths.KINDS:
            index = json.loads(datapaths.index_path(quick_data, split, kind).read_text())
            audio = np.load(datapaths.audio_path(quick_data, split, kind), mmap_mode="r")
            assert audio.dtype == np.int16 and len(audio) == index["total_samples"] > 0
            for clip in index["clips"]:
                assert clip["offset"] % SAMPLES_PER_FRAME == 0 and clip["frame_offset"] * SAMPLES_PER_FRAME == clip["offset"]
                assert np.abs(audio[clip["offset"]: clip["offset"] + clip["length"]]).max() > 1000
        labels = np.load(datapaths.labels_path(quick_data, split))
        assert labels.shape == (index_total_frames(quick_data, split), 12)
    speech_voices = {c["voice"] for s in datapaths.SPLITS
                     for c in json.loads(datapaths.index_path(quick_data, s, "speech").read_text())["clips"]}
    assert speech_voices


def index_total_frames(root: Path, split: str) -> int:
    return json.loads(datapaths.index_path(root, split, "music").read_text())["total_samples"] // SAMPLES_PER_FRAME


def test_quick_build_is_idempotent(quick_data):
    before = datapaths.audio_path(quick_data, "train", "music").stat().st_mtime_ns
    proc = subprocess.run([sys.executable, "-m", "train.build_data", "--quick", "--out", str(quick_data)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert datapaths.audio_path(quick_data, "train", "music").stat().st_mtime_ns == before


def test_mixer_hits_the_asked_snr_and_keeps_clean_only_and_noise_only_right(quick_data):
    from train.mixer import KIND_NOISE_ONLY, MixtureSampler

    sampler = MixtureSampler(quick_data, "train", segment_seconds=0.5, batch_size=400, seed=0, with_labels=True)
    batch = sampler.next_batch()
    noisy, clean, kind, snr = batch["noisy"], batch["clean"], batch["kind"], batch["snr_db"]
    assert noisy.shape == clean.shape == (400, SAMPLE_RATE // 2) and noisy.dtype == np.float32
    assert batch["labels"].shape == (400, 50, 12)
    assert np.abs(noisy).max() <= 1.0 and np.abs(clean).max() <= 1.0
    mixed = np.isfinite(snr)
    measured = [10 * np.log10(np.mean(clean[i].astype(np.float64) ** 2) / np.mean((noisy[i] - clean[i]).astype(np.float64) ** 2))
                for i in np.flatnonzero(mixed)]
    assert np.max(np.abs(np.array(measured) - snr[mixed])) < 0.5
    assert (snr[mixed] >= -5).all() and (snr[mixed] <= 20).all()
    clean_only = snr == np.inf
    noise_only = snr == -np.inf
    assert 15 <= clean_only.sum() <= 70 and 5 <= noise_only.sum() <= 40
    assert all(np.array_equal(noisy[i], clean[i]) for i in np.flatnonzero(clean_only))
    assert (kind[noise_only] == KIND_NOISE_ONLY).all() and not clean[noise_only].any()
    assert (np.abs(noisy[noise_only]).max(axis=1) > 0).all()
    assert not batch["labels"][kind == 1].any()  # speech carries no instrument labels


def test_mixer_retimbres_training_music_only_and_the_target_is_the_retimbred_music(quick_data, monkeypatch):
    from train import augment, mixer
    from train.augment import MusicAugment
    from train.mixer import MixtureSampler

    plain = MixtureSampler(quick_data, "train", 0.5, batch_size=24, seed=3, with_labels=True).next_batch()
    named = MixtureSampler(quick_data, "train", 0.5, batch_size=24, seed=3, with_labels=True,
                           music_augment="none").next_batch()
    assert all(np.array_equal(plain[k], named[k]) for k in plain)  # "none" makes the old batches

    calls = {"resample_crop": 0, "random_lowpass": 0, "random_room": 0}
    home = {"resample_crop": mixer, "random_lowpass": augment, "random_room": augment}

    def counted(name):
        real = getattr(home[name], name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(home[name], name, counted(name))
    every = MusicAugment(colour=1.0, pitch=1.0, max_semitones=5.0, room=1.0, lowpass=1.0)
    batch = MixtureSampler(quick_data, "train", 0.5, batch_size=24, seed=3, with_labels=True,
                           music_augment=every).next_batch()
    music = np.flatnonzero(np.isin(batch["kind"], (0, 2)))
    assert music.size and all(n >= music.size for n in calls.values()), calls
    assert batch["labels"].shape == plain["labels"].shape and batch["labels"][music].any()
    mixed = np.isfinite(batch["snr_db"])
    measured = [10 * np.log10(np.mean(batch["clean"][i].astype(np.float64) ** 2)
                              / np.mean((batch["noisy"][i] - batch["clean"][i]).astype(np.float64) ** 2))
                for i in np.flatnonzero(mixed)]
    assert np.max(np.abs(np.array(measured) - batch["snr_db"][mixed])) < 0.5  # noisy = re-timbred clean + noise
    assert not np.array_equal(batch["clean"][music], plain["clean"][music])

    # The validation split is never re-timbred, whatever the recipe; extra music splits are checked by name.
    val = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=2, music_augment=every).next_batch()
    val_plain = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=2).next_batch()
    assert all(np.array_equal(val[k], val_plain[k]) for k in val)
    with pytest.raises(ValueError, match="music_augment"):
        MixtureSampler(quick_data, "train", 0.5, batch_size=2, music_augment="loud")
    with pytest.raises(FileNotFoundError, match="render_families"):
        MixtureSampler(quick_data, "train", 0.5, batch_size=2, extra_music=("train_families",), extra_music_share=0.3)


def test_mixer_retimbres_training_speech_when_asked_and_leaves_music_and_validation_alone(quick_data):
    from train.mixer import MixtureSampler

    def batch(split, **kw):
        return MixtureSampler(quick_data, split, 0.5, batch_size=24, seed=4, **kw).next_batch()

    plain, named = batch("train"), batch("train", speech_augment="none")
    assert all(np.array_equal(plain[k], named[k]) for k in plain)  # "none" makes the old batches
    voiced = batch("train", speech_augment="speech")
    assert np.array_equal(voiced["kind"], plain["kind"]) and np.array_equal(voiced["snr_db"], plain["snr_db"])
    speech_only = np.flatnonzero(plain["kind"] == 1)
    music_only = np.flatnonzero(plain["kind"] == 0)
    assert speech_only.size and music_only.size
    # Speech crops change; music crops are drawn before any speech, so they stay the same up to the
    # example's level (set from the peak of the mixture, whose noise comes after the speech).
    assert not np.array_equal(voiced["clean"][speech_only], plain["clean"][speech_only])
    for i in music_only:
        a, b = voiced["clean"][i].astype(np.float64), plain["clean"][i].astype(np.float64)
        assert np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)) > 1 - 1e-6
    mixed = np.flatnonzero(np.isfinite(voiced["snr_db"]) & (voiced["kind"] == 1))
    measured = [10 * np.log10(np.mean(voiced["clean"][i].astype(np.float64) ** 2)
                              / np.mean((voiced["noisy"][i] - voiced["clean"][i]).astype(np.float64) ** 2))
                for i in mixed]
    assert np.max(np.abs(np.array(measured) - voiced["snr_db"][mixed])) < 0.5  # noisy = re-timbred speech + noise
    assert all(np.array_equal(batch("val", speech_augment="speech")[k], batch("val")[k]) for k in plain)
    with pytest.raises(ValueError, match="speech_augment"):
        MixtureSampler(quick_data, "train", 0.5, batch_size=2, speech_augment="loud")


def test_mixer_draws_kinds_and_snrs_from_the_shares_and_range_asked(quick_data):
    from train.mixer import KIND_SHARES, SNR_RANGE_DB, MixtureSampler

    def draws(n_batches=6, **kw):
        sampler = MixtureSampler(quick_data, "train", 0.1, batch_size=64, seed=7, **kw)
        batches = [sampler.next_batch() for _ in range(n_batches)]
        return np.concatenate([b["kind"] for b in batches]), np.concatenate([b["snr_db"] for b in batches])

    plain = MixtureSampler(quick_data, "train", 0.1, batch_size=16, seed=3).next_batch()
    named = MixtureSampler(quick_data, "train", 0.1, batch_size=16, seed=3, kind_shares=KIND_SHARES,
                           snr_range_db=SNR_RANGE_DB).next_batch()
    assert all(np.array_equal(plain[k], named[k]) for k in plain)  # the defaults make the old batches
    kinds, snrs = draws(kind_shares=(0.0, 1.0, 0.0), snr_range_db=(10.0, 30.0))
    assert set(np.unique(kinds)) == {1, 3}  # speech, and the noise-only examples
    finite = snrs[np.isfinite(snrs)]
    assert finite.min() >= 10.0 and finite.max() <= 30.0 and finite.max() > 25.0
    kinds, _ = draws(kind_shares=(0.2, 0.6, 0.2))
    clean_kinds = kinds[kinds < 3]
    assert 0.5 < np.mean(clean_kinds == 1) < 0.7 and np.mean(clean_kinds == 0) < 0.3
    with pytest.raises(ValueError, match="kind_shares"):
        MixtureSampler(quick_data, "train", 0.1, batch_size=2, kind_shares=(0.5, 0.6, 0.2))
    with pytest.raises(ValueError, match="snr_range_db"):
        MixtureSampler(quick_data, "train", 0.1, batch_size=2, snr_range_db=(20.0, 5.0))


def test_validation_set_is_deterministic_and_covers_music_at_15_db(quick_data):
    from train.mixer import KIND_MUSIC, make_validation_set

    first = make_validation_set(quick_data, n_clips=21, seconds=1.0, seed=4)
    assert datapaths.val_set_path(quick_data).exists()
    datapaths.val_set_path(quick_data).unlink()
    again = make_validation_set(quick_data, n_clips=21, seconds=1.0, seed=4)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert ((first["kind"] == KIND_MUSIC) & (first["snr_db"] == 15)).any()
    assert set(np.unique(first["kind"])) == {0, 1, 2}


def test_noise_type_weights_draw_a_type_that_many_times_as_often(quick_data):
    from train.mixer import ClipStore, MixtureSampler

    store = ClipStore(quick_data, "train", "noise")
    types = np.array([c["noise_type"] for c in store.index["clips"]])
    rng = np.random.default_rng(0)
    before = store.draw_clips(np.random.default_rng(5), 50)
    store.weight_by_type({})
    assert np.array_equal(store.draw_clips(np.random.default_rng(5), 50), before)  # no weights: the old draws
    target = types[0]
    share_plain = np.mean(types[store.draw_clips(rng, 20000)] == target)
    store.weight_by_type({target: 4})
    share_weighted = np.mean(types[store.draw_clips(rng, 20000)] == target)
    seconds = store.lengths.astype(float)
    expected = 4 * seconds[types == target].sum() / (seconds.sum() + 3 * seconds[types == target].sum())
    assert share_weighted == pytest.approx(expected, abs=0.02) and share_weighted > 2 * share_plain
    store.weight_by_type({t: 0 for t in set(types) - {target}})
    assert set(types[store.draw_clips(rng, 500)]) == {target}  # weight 0: never drawn
    with pytest.raises(ValueError, match="no clip of this store"):
        store.weight_by_type({"theremin": 2})
    with pytest.raises(ValueError, match="whole numbers"):
        store.weight_by_type({target: 1.5})
    sampler = MixtureSampler(quick_data, "train", 0.1, batch_size=2, noise_type_weights=((target, 3),))
    val = MixtureSampler(quick_data, "val", 0.1, batch_size=2, noise_type_weights=((target, 3),))
    assert sampler.noise._cumulative[-1] > ClipStore(quick_data, "train", "noise")._cumulative[-1]
    assert val.noise._cumulative[-1] == ClipStore(quick_data, "val", "noise")._cumulative[-1]  # val unweighted


def test_mixture_lowpass_band_limits_mixture_and_target_together_in_training_only(quick_data, monkeypatch):
    import train.mixer
    from train.mixer import MixtureSampler

    plain = MixtureSampler(quick_data, "train", 0.5, batch_size=8, seed=4).next_batch()
    off = MixtureSampler(quick_data, "train", 0.5, batch_size=8, seed=4, mixture_lowpass=0.0).next_batch()
    assert all(np.array_equal(plain[k], off[k]) for k in plain)  # off: the batches it always made
    monkeypatch.setattr(train.mixer, "MIXTURE_CUTOFFS_HZ", (8000.0, 8000.0))  # one cutoff, to look above it
    limited = MixtureSampler(quick_data, "train", 0.5, batch_size=8, seed=4, mixture_lowpass=1.0).next_batch()
    freqs = np.fft.rfftfreq(plain["noisy"].shape[1], 1 / 48000)
    window = np.hanning(plain["noisy"].shape[1])  # no leakage from hum and rumble into the band looked at

    def power(x):
        return np.abs(np.fft.rfft(x * window, axis=1)) ** 2
    above = freqs > 14000.0  # the order-8 filter, run both ways, is 78 dB down there
    for key in ("noisy", "clean"):
        p = power(limited[key])
        share = p[:, above].sum(1) / np.maximum(p.sum(1), 1e-20)
        assert share.max() < 1e-4, (key, share)
    before = power(plain["noisy"])
    assert (before[:, above].sum(1) / before.sum(1)).max() > 1e-3  # the full-band mixtures had some up there
    # one filter on both: the noise left in the mixture is the band-limited noise, the target the band-limited clean
    noise_energy = power(limited["noisy"] - limited["clean"])
    assert (noise_energy[:, above].sum(1) < 1e-4 * np.maximum(noise_energy.sum(1), 1e-20)).all()
    val = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=4, mixture_lowpass=1.0).next_batch()
    val_plain = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=4).next_batch()
    assert all(np.array_equal(val[k], val_plain[k]) for k in val)  # validation stays the same set
    with pytest.raises(ValueError, match="mixture_lowpass"):
        MixtureSampler(quick_data, "train", 0.5, batch_size=2, mixture_lowpass=1.5)


def test_noise_lowpass_band_limits_the_noise_and_keeps_the_target(quick_data, monkeypatch):
    import train.mixer
    from train.mixer import MixtureSampler

    plain = MixtureSampler(quick_data, "train", 0.5, batch_size=8, seed=6).next_batch()
    monkeypatch.setattr(train.mixer, "MIXTURE_CUTOFFS_HZ", (8000.0, 8000.0))
    limited = MixtureSampler(quick_data, "train", 0.5, batch_size=8, seed=6, noise_lowpass=1.0).next_batch()
    assert np.array_equal(limited["clean"], plain["clean"])  # the target is the clean signal as it was
    window = np.hanning(plain["noisy"].shape[1])
    above = np.fft.rfftfreq(plain["noisy"].shape[1], 1 / 48000) > 14000.0

    def share_above(noise):
        power = np.abs(np.fft.rfft(noise * window, axis=1)) ** 2
        return power[:, above].sum(1) / np.maximum(power.sum(1), 1e-20)

    assert share_above(plain["noisy"] - plain["clean"]).max() > 1e-3  # full-band noise had some up there
    assert share_above(limited["noisy"] - limited["clean"]).max() < 1e-4
    val = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=6, noise_lowpass=1.0).next_batch()
    val_plain = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=6).next_batch()
    assert all(np.array_equal(val[k], val_plain[k]) for k in val)


def test_extend_top_band_adds_a_voice_like_band_at_the_asked_level():
    import scipy.signal

    from train.top_band import REFERENCE_BAND_HZ, band_envelope, extend_top_band

    rng = np.random.default_rng(0)
    t = np.arange(48000) / 48000
    # an espeak-like render: a voiced tone, and a noise burst (a fricative) low-passed at 9.5 kHz, in 0.4-0.6 s
    burst = scipy.signal.sosfilt(scipy.signal.butter(8, 9500, fs=48000, output="sos"), rng.standard_normal(48000))
    x = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * burst * ((t > 0.4) & (t < 0.6))).astype(np.float32)
    y = extend_top_band(x, rng, level_db=6.0, end_hz=16000.0)
    added = y - x
    freqs = np.fft.rfftfreq(len(x), 1 / 48000)
    power = np.abs(np.fft.rfft(added)) ** 2
    assert power[freqs > 10000].sum() > 0.9 * power.sum()  # the addition lives above the render's band
    reference = np.mean(band_envelope(x, REFERENCE_BAND_HZ) ** 2)
    assert 10 * np.log10(reference / np.mean(added ** 2)) == pytest.approx(6.0, abs=0.1)
    inside, outside = added[int(0.42 * 48000):int(0.58 * 48000)], added[int(0.8 * 48000):]
    assert np.mean(inside ** 2) > 100 * np.mean(outside ** 2)  # it follows the fricative, not the vowel
    silent = np.zeros(4800, np.float32)
    assert np.array_equal(extend_top_band(silent, rng), silent)


def test_speech_top_band_extends_the_training_speech_and_its_target(quick_data):
    from train.mixer import KIND_MUSIC, KIND_SPEECH, MixtureSampler

    plain = MixtureSampler(quick_data, "train", 0.5, batch_size=16, seed=8).next_batch()
    extended = MixtureSampler(quick_data, "train", 0.5, batch_size=16, seed=8, speech_top_band=1.0).next_batch()
    assert np.array_equal(plain["kind"], extended["kind"])
    music = plain["kind"] == KIND_MUSIC
    speech = plain["kind"] == KIND_SPEECH
    assert music.any() and speech.any()
    def unit(x):  # the noise after the speech differs, and with it each example's peak gain
        return x / np.sqrt(np.mean(x ** 2, axis=1, keepdims=True))

    assert np.allclose(unit(plain["clean"][music]), unit(extended["clean"][music]), atol=1e-5)  # drawn first
    above = np.fft.rfftfreq(plain["clean"].shape[1], 1 / 48000) > 11000.0

    def share_above(x):
        power = np.abs(np.fft.rfft(x, axis=1)) ** 2
        return power[:, above].sum(1) / np.maximum(power.sum(1), 1e-20)

    assert np.all(share_above(extended["clean"][speech]) > 10 * share_above(plain["clean"][speech]))
    val = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=8, speech_top_band=1.0).next_batch()
    val_plain = MixtureSampler(quick_data, "val", 0.5, batch_size=8, seed=8).next_batch()
    assert all(np.array_equal(val[k], val_plain[k]) for k in val)
    with pytest.raises(ValueError, match="speech_top_band"):
        MixtureSampler(quick_data, "train", 0.5, batch_size=2, speech_top_band=-0.1)
