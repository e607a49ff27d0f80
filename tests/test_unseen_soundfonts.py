"""The unseen-soundfont validation music (same val pieces and labels, other sound), the label-balanced
families set and the unseen-synthesiser speech: how they are rendered, and that the evaluations select them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from train import datapaths, render_unseen
from train.datapaths import SAMPLES_PER_FRAME, UNSEEN_SF_SPLIT

REPO = Path(__file__).resolve().parents[1]
SETUP = "run `bash scripts/setup.sh --test`"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A --quick data build with --all: its one val music clip rendered 2 s long with every unseen soundfont, and
    label-balanced families sets (val and the training splits) of one 2 s clip per family."""
    missing = [tool for tool in ("fluidsynth", "espeak-ng", "flite", "text2wave") if shutil.which(tool) is None]
    missing += [str(sf.path) for sf in render_unseen.UNSEEN_SOUNDFONTS.values() if not sf.path.exists()]
    assert not missing, f"{missing} not installed: {SETUP}"
    out = tmp_path_factory.mktemp("data")
    proc = subprocess.run([sys.executable, "-m", "train.build_data", "--quick", "--all", "--jobs", "2", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def clip_audio(root: Path, split: str, kind: str = "music") -> dict[str, np.ndarray]:
    index = json.loads(datapaths.index_path(root, split, kind).read_text())
    audio = np.load(datapaths.audio_path(root, split, kind))
    return {c["name"]: audio[c["offset"]: c["offset"] + c["length"]].astype(np.float64) for c in index["clips"]}


def best_match(x: np.ndarray, clips: dict[str, np.ndarray]) -> float:
    """Highest normalised correlation of x [T] with any frame-aligned window of the clips."""
    best = 0.0
    x = x.astype(np.float64) / (np.linalg.norm(x) + 1e-20)
    for audio in clips.values():
        for start in range(0, len(audio) - len(x) + 1, SAMPLES_PER_FRAME):
            window = audio[start: start + len(x)]
            best = max(best, abs(float(window @ x)) / (np.linalg.norm(window) + 1e-20))
    return best


def best_match_any_offset(x: np.ndarray, clips: dict[str, np.ndarray]) -> float:
    """Highest normalised correlation of x [T] with any window of the clips, at any sample offset."""
    from scipy.signal import fftconvolve

    x = x.astype(np.float64) / (np.linalg.norm(x) + 1e-20)
    best = 0.0
    for audio in clips.values():
        if len(audio) < len(x):
            continue
        dots = fftconvolve(audio, x[::-1], mode="valid")
        energy = np.convolve(audio ** 2, np.ones(len(x)), mode="valid")
        audible = energy > 1e-6 * energy.max()  # silent windows: FFT round-off over ~0
        best = max(best, float(np.max(np.abs(dots[audible]) / np.sqrt(energy[audible]))))
    return best


def test_unseen_split_renders_the_val_pieces_with_each_soundfont(data):
    val = json.loads(datapaths.index_path(data, "val", "music").read_text())["clips"]
    unseen = json.loads(datapaths.index_path(data, UNSEEN_SF_SPLIT, "music").read_text())["clips"]
    assert sorted(c["soundfont"] for c in unseen) == sorted(render_unseen.UNSEEN_SOUNDFONTS) * len(val)
    by_name = {c["name"]: c for c in val}
    for clip in unseen:
        own = by_name[clip["val_clip"]]
        assert clip["name"] == f"{own['name']}.{clip['soundfont']}"
        for key in ("source", "seed", "programs", "style", "bpm", "gain", "reverb_room"):
            assert clip[key] == own[key], key
        assert clip["length"] == min(own["length"], 2 * datapaths.SAMPLE_RATE)


def test_unseen_clips_have_the_val_labels_but_a_different_sound(data):
    val_labels = np.load(datapaths.labels_path(data, "val"))
    unseen_labels = np.load(datapaths.labels_path(data, UNSEEN_SF_SPLIT))
    val_index = {c["name"]: c for c in json.loads(datapaths.index_path(data, "val", "music").read_text())["clips"]}
    unseen_index = json.loads(datapaths.index_path(data, UNSEEN_SF_SPLIT, "music").read_text())["clips"]
    val_audio, unseen_audio = clip_audio(data, "val"), clip_audio(data, UNSEEN_SF_SPLIT)
    for clip in unseen_index:
        own = val_index[clip["val_clip"]]
        mine = unseen_labels[clip["frame_offset"]: clip["frame_offset"] + clip["frames"]]
        theirs = val_labels[own["frame_offset"]: own["frame_offset"] + clip["frames"]]
        assert mine.any() and np.array_equal(mine, theirs)
        ref = val_audio[own["name"]][: clip["length"]]
        audio = unseen_audio[clip["name"]]
        assert np.abs(audio).max() > 10_000  # peak-normalised like every clip, so audible
        assert abs(audio @ ref) / (np.linalg.norm(audio) * np.linalg.norm(ref)) < 0.9  # another sound
    sounds = list(unseen_audio.values())
    for i, a in enumerate(sounds):  # several soundfonts differ from each other too
        for b in sounds[i + 1:]:
            assert abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)) < 0.9


def test_control_split_holds_the_same_excerpts_in_fluidr3(data):
    control = json.loads(datapaths.index_path(data, datapaths.VAL_EXCERPTS_SPLIT, "music").read_text())["clips"]
    unseen = json.loads(datapaths.index_path(data, UNSEEN_SF_SPLIT, "music").read_text())["clips"]
    assert [(c["val_clip"], c["length"], c["soundfont"]) for c in control] == [
        (c["val_clip"], c["length"], "fluidr3") for c in unseen if c["soundfont"] == unseen[0]["soundfont"]]
    val_audio, control_audio = clip_audio(data, "val"), clip_audio(data, datapaths.VAL_EXCERPTS_SPLIT)
    val_labels = np.load(datapaths.labels_path(data, "val"))
    control_labels = np.load(datapaths.labels_path(data, datapaths.VAL_EXCERPTS_SPLIT))
    val_index = {c["name"]: c for c in json.loads(datapaths.index_path(data, "val", "music").read_text())["clips"]}
    for clip in control:
        a, b = control_audio[clip["name"]], val_audio[clip["val_clip"]][: clip["length"]]
        assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.9999  # the val audio, renormalised
        f0 = val_index[clip["val_clip"]]["frame_offset"]
        assert np.array_equal(control_labels[clip["frame_offset"]: clip["frame_offset"] + clip["frames"]],
                              val_labels[f0: f0 + clip["frames"]])


def test_control_and_unseen_sets_are_paired(data):
    from train.mixer import KIND_SPEECH, make_validation_set

    unseen = make_validation_set(data, n_clips=21, seconds=1.0, seed=5, music_split=UNSEEN_SF_SPLIT)
    control = make_validation_set(data, n_clips=21, seconds=1.0, seed=5, music_split=datapaths.VAL_EXCERPTS_SPLIT)
    assert np.array_equal(unseen["labels"], control["labels"]) and unseen["labels"].any()  # same crops
    speech = unseen["kind"] == KIND_SPEECH
    assert np.array_equal(unseen["noisy"][speech], control["noisy"][speech])  # same speech and noise draws


def test_rendering_again_keeps_the_clips(data):
    before = datapaths.audio_path(data, UNSEEN_SF_SPLIT, "music").stat().st_mtime_ns
    summary = render_unseen.build(data, list(render_unseen.UNSEEN_SOUNDFONTS.values()), 2.0, log=lambda _: None)
    assert summary["clips"] == len(render_unseen.UNSEEN_SOUNDFONTS)
    assert summary["soundfonts"] == sorted(render_unseen.UNSEEN_SOUNDFONTS)
    assert datapaths.audio_path(data, UNSEEN_SF_SPLIT, "music").stat().st_mtime_ns == before


def test_another_length_is_rendered_and_packed_again(tmp_path, data):
    for name in ("val_music.json", "val_music.npy", "val_music_labels.npy"):
        (tmp_path / name).symlink_to(data / name)
    fonts = list(render_unseen.UNSEEN_SOUNDFONTS.values())
    for seconds in (1.0, 1.5):
        summary = render_unseen.build(tmp_path, fonts, seconds, log=lambda _: None)
        assert summary["seconds"] == seconds * summary["clips"]
        assert json.loads(datapaths.index_path(tmp_path, datapaths.VAL_EXCERPTS_SPLIT, "music").read_text())[
            "seconds"] == seconds * summary["pieces"]


def test_unknown_or_missing_soundfont_says_what_to_do():
    with pytest.raises(KeyError, match="known: timgm6mb"):
        render_unseen.resolve_soundfonts(["fluidr3"])


def test_denoiser_validation_music_comes_from_the_unseen_split(data, monkeypatch):
    from bench import quality as quality_cli
    from train import mixer

    real = mixer.make_validation_set
    monkeypatch.setattr(mixer, "make_validation_set",
                        lambda root, **kw: real(root, n_clips=21, seconds=1.0, seed=4, **kw))
    loaded = quality_cli.load_music_source(data, None, "unseen-soundfonts")
    assert loaded["music_source"] == "unseen-soundfonts"
    assert loaded["soundfonts"] == sorted(render_unseen.UNSEEN_SOUNDFONTS)
    assert loaded["source"].endswith(f"val_set.{UNSEEN_SF_SPLIT}.npz") and not datapaths.val_set_path(data).exists()
    unseen, val = clip_audio(data, UNSEEN_SF_SPLIT), clip_audio(data, "val")
    music = np.flatnonzero(loaded["kind"] == mixer.KIND_MUSIC)
    assert music.size == 7
    for i in music[:3]:
        assert best_match(loaded["clean"][i], unseen) > 0.999  # a crop of an unseen-soundfont clip
        assert best_match(loaded["clean"][i], val) < 0.95  # and not of the FluidR3 original
    assert "unseen-soundfonts" in quality_cli.music_note(loaded)
    assert quality_cli.music_note({"music_source": "val"}) == ""


def test_classifier_validation_music_comes_from_the_unseen_split(data, monkeypatch):
    from bench import classify_eval
    from train import classify_data

    opened = []
    real_store = classify_data.ClipStore

    def spy(root, split, kind):
        opened.append((split, kind))
        return real_store(root, split, kind)

    monkeypatch.setattr(classify_data, "ClipStore", spy)
    val, music = classify_eval.load_validation(data, 11, 1.0, seed=4, music_source="unseen-soundfonts")
    assert opened == [(UNSEEN_SF_SPLIT, "music"), ("val", "speech"), ("val", "noise")]
    assert music == {"music_source": "unseen-soundfonts", "music_split": UNSEEN_SF_SPLIT,
                     "soundfonts": sorted(render_unseen.UNSEEN_SOUNDFONTS)}
    assert val["audio"].shape == (11, datapaths.SAMPLE_RATE)
    assert datapaths.classify_val_set_path(data, UNSEEN_SF_SPLIT, 11, 1.0, 4).exists()
    assert not datapaths.classify_val_set_path(data, None, 11, 1.0, 4).exists()


def test_missing_unseen_split_names_the_command(tmp_path):
    from train.mixer import make_validation_set

    with pytest.raises(FileNotFoundError, match="python -m train.render_unseen"):
        make_validation_set(tmp_path, n_clips=21, seconds=1.0, music_split=UNSEEN_SF_SPLIT)


def test_evaluations_offer_the_source_and_default_to_the_val_music(capsys):
    from bench import classify_eval
    from bench import quality as quality_cli

    sources = "{val,unseen-soundfonts,val-excerpts,families,families-unseen-soundfonts,train-families}"
    for module in (quality_cli, classify_eval):
        with pytest.raises(SystemExit):
            module.main(["--help"])
        assert f"--music-source {sources}" in " ".join(capsys.readouterr().out.split())
        with pytest.raises(SystemExit):
            module.main(["--music-source", "nowhere"])
    assert datapaths.MUSIC_SOURCES == {"val": None, "unseen-soundfonts": UNSEEN_SF_SPLIT,
                                       "val-excerpts": datapaths.VAL_EXCERPTS_SPLIT,
                                       "families": datapaths.FAMILIES_SPLIT,
                                       "families-unseen-soundfonts": datapaths.FAMILIES_UNSEEN_SPLIT,
                                       "train-families": datapaths.TRAIN_FAMILIES_SPLIT}
    outs = {datapaths.music_source_out(classify_eval.DEFAULT_OUT, source) for source in datapaths.MUSIC_SOURCES}
    assert len(outs) == len(datapaths.MUSIC_SOURCES)  # no source overwrites another's report
    assert datapaths.music_source_out(quality_cli.DEFAULT_OUT, "val") == quality_cli.DEFAULT_OUT
    assert set(datapaths.MUSIC_SOURCE_NOTES) == set(datapaths.MUSIC_SOURCES) - {"val"}


# ---- speech from other synthesisers (train.render_unseen_speech) ------------------------------------------
def test_denoiser_validation_speech_comes_from_the_unseen_tts_split(data, monkeypatch):
    from bench import quality as quality_cli
    from train import mixer

    real = mixer.make_validation_set
    monkeypatch.setattr(mixer, "make_validation_set",
                        lambda root, **kw: real(root, n_clips=21, seconds=1.0, seed=4, **kw))
    loaded = quality_cli.load_music_source(data, None, "val", "unseen-tts")
    assert loaded["speech_source"] == "unseen-tts" and loaded["voices"] == ["festival:kal_diphone", "flite:slt"]
    assert loaded["source"].endswith(f"val_set.{datapaths.UNSEEN_TTS_SPLIT}.npz")
    tts, espeak = clip_audio(data, datapaths.UNSEEN_TTS_SPLIT, "speech"), clip_audio(data, "val", "speech")
    speech = np.flatnonzero(loaded["kind"] == mixer.KIND_SPEECH)
    assert speech.size == 7
    for i in speech[:3]:
        assert best_match(loaded["clean"][i], tts) > 0.999  # a crop of (or a whole) unseen-synthesiser clip
        assert best_match(loaded["clean"][i], espeak) < 0.95  # and not espeak-ng's
    both = quality_cli.load_music_source(data, None, "unseen-soundfonts", "unseen-tts")
    assert both["source"].endswith(f"val_set.{UNSEEN_SF_SPLIT}.{datapaths.UNSEEN_TTS_SPLIT}.npz")
    music = np.flatnonzero(both["kind"] == mixer.KIND_MUSIC)
    assert best_match(both["clean"][music[0]], clip_audio(data, UNSEEN_SF_SPLIT)) > 0.999
    note = quality_cli.music_note(both)
    assert "Music source: unseen-soundfonts" in note and "Speech source: unseen-tts" in note and "2 voices" in note


def test_classifier_validation_speech_comes_from_the_unseen_tts_split(data):
    from bench import classify_eval
    from train.classify_data import SCENE_NAMES

    val, sources = classify_eval.load_validation(data, 11, 1.0, seed=4, speech_source="unseen-tts")
    assert sources["speech_split"] == datapaths.UNSEEN_TTS_SPLIT and sources["music_split"] == "val"
    assert sources["voices"] == ["festival:kal_diphone", "flite:slt"]
    assert datapaths.classify_val_set_path(data, None, 11, 1.0, 4, datapaths.UNSEEN_TTS_SPLIT).exists()
    speech_label = len(datapaths.LABEL_NAMES)  # speech is the 13th target, after the instruments
    solo = [i for i, scene in enumerate(val["scene"]) if SCENE_NAMES[scene] == "speech"]
    assert solo and val["targets"][solo[0], :, speech_label].any()
    clip = val["audio"][solo[0]]
    loud = np.flatnonzero(np.abs(clip) > 1e-4)
    middle = (loud[0] + loud[-1]) // 2  # inside the speech, past any fade-in
    window = clip[middle - 2400: middle + 2400]
    assert best_match_any_offset(window, clip_audio(data, datapaths.UNSEEN_TTS_SPLIT, "speech")) > 0.99
    assert best_match_any_offset(window, clip_audio(data, "val", "speech")) < 0.9  # not espeak-ng's


def test_speech_source_is_offered_and_keeps_reports_apart(capsys):
    from bench import classify_eval
    from bench import quality as quality_cli

    for module in (quality_cli, classify_eval):
        with pytest.raises(SystemExit):
            module.main(["--help"])
        assert "--speech-source {val,unseen-tts}" in " ".join(capsys.readouterr().out.split())
        with pytest.raises(SystemExit):
            module.main(["--speech-source", "nowhere"])
    outs = {datapaths.music_source_out(quality_cli.DEFAULT_OUT, music, speech)
            for music in datapaths.MUSIC_SOURCES for speech in datapaths.SPEECH_SOURCES}
    assert len(outs) == len(datapaths.MUSIC_SOURCES) * len(datapaths.SPEECH_SOURCES)
    assert datapaths.music_source_out(quality_cli.DEFAULT_OUT, "val", "unseen-tts").name == "quality_unseen_tts"
    assert set(datapaths.SPEECH_SOURCE_NOTES) == set(datapaths.SPEECH_SOURCES) - {"val"}


def test_missing_unseen_tts_split_names_the_command(tmp_path):
    from train.mixer import make_validation_set

    with pytest.raises(FileNotFoundError, match="python -m train.render_unseen_speech"):
        make_validation_set(tmp_path, n_clips=21, seconds=1.0, speech_split=datapaths.UNSEEN_TTS_SPLIT)


# ---- the label-balanced set (train.render_families) -------------------------------------------------------
def test_families_set_features_every_family_in_both_soundfonts(data):
    from train import render_families
    from train.build_data import piece_split

    names = [name for _, _, name in render_families.plan(1)]
    index = {split: json.loads(datapaths.index_path(data, split, "music").read_text())["clips"]
             for split in (datapaths.FAMILIES_SPLIT, datapaths.FAMILIES_UNSEEN_SPLIT)}
    seen, unseen = index[datapaths.FAMILIES_SPLIT], index[datapaths.FAMILIES_UNSEEN_SPLIT]
    assert [c["name"] for c in seen] == [c["name"] for c in unseen] == names
    assert {c["soundfont"] for c in seen} == {"fluidr3"} and {c["soundfont"] for c in unseen} == {"timgm6mb"}
    labels = {split: np.load(datapaths.labels_path(data, split)) for split in index}
    audio = {split: clip_audio(data, split) for split in index}
    for a, b in zip(seen, unseen):
        for key in ("source", "seed", "programs", "style", "bpm", "gain", "frames"):
            assert a[key] == b[key], key
        family = render_families.families()[names.index(a["name"])]
        if family != render_families.DRUMS:
            assert piece_split(a["source"]) == "val"  # held-out pieces only
        mine = labels[datapaths.FAMILIES_SPLIT][a["frame_offset"]: a["frame_offset"] + a["frames"]]
        assert np.array_equal(mine, labels[datapaths.FAMILIES_UNSEEN_SPLIT][b["frame_offset"]: b["frame_offset"] + b["frames"]])
        assert mine[:, datapaths.LABEL_NAMES.index(family)].any()  # the featured family sounds
        x, y = audio[datapaths.FAMILIES_SPLIT][a["name"]], audio[datapaths.FAMILIES_UNSEEN_SPLIT][b["name"]]
        assert abs(x @ y) / (np.linalg.norm(x) * np.linalg.norm(y)) < 0.9  # the same notes, another sound


def test_build_all_renders_every_extra_split_once(data):
    from train import build_data, render_families

    commands = build_data.extra_commands(quick=True)
    assert len(commands) == len({tuple(c) for c in commands}) == 6  # the val families twins come from one render
    for split in build_data.EXTRA_SPLITS:  # each with its clips, as the samplers read them
        clips = json.loads(datapaths.index_path(data, split, "music").read_text())["clips"]
        assert len(clips) == (len(render_families.plan(1)) if "families" in split else 1), split
    speech = json.loads(datapaths.index_path(data, datapaths.UNSEEN_TTS_SPLIT, "speech").read_text())["clips"]
    assert [c["source"] for c in speech] == ["flite:slt", "festival:kal_diphone"]  # the --quick voices
    assert sorted(p.name for p in (data / "logs").iterdir()) == [
        "render_families.log", "render_families_train-voiced-2.log", "render_families_train-voiced.log",
        "render_families_train.log", "render_unseen.log", "render_unseen_speech.log"]


def test_voiced_training_families_are_fresh_arrangements_of_training_pieces_in_fluidr3():
    from train import render_families

    seeds = {split: {seed for _, seed, _ in render_families.plan(100, split)} for split in render_families.SPLITS}
    assert all(not seeds[a] & seeds[b] for a in seeds for b in seeds if a < b)  # no arrangement is shared
    assert render_families.output_splits("train-voiced") == [(datapaths.TRAIN_FAMILIES_VOICED_SPLIT, "fluidr3")]
    assert render_families.output_splits("train-voiced-2") == [(datapaths.TRAIN_FAMILIES_VOICED_2_SPLIT, "fluidr3")]
    assert render_families.output_splits("train-voiced-3") == [(datapaths.TRAIN_FAMILIES_VOICED_3_SPLIT, "fluidr3")]
    assert render_families.VOICING["train-voiced-3"]["stretch"] == 12  # an octave: one sample per octave
    assert set(render_families.VOICING) == {s for s in render_families.SPLITS if "voiced" in s}
    for split in render_families.SPLITS[1:]:  # a missing training split names the command that renders it
        assert datapaths.SPLIT_MADE_BY[render_families.output_splits(split)[0][0]].startswith(
            f"train.render_families --split {split} ")
    pieces = render_families.split_pieces("train-voiced")
    assert pieces.keys() == render_families.split_pieces("train").keys()
    with pytest.raises(ValueError, match="train-voiced"):
        render_families.output_splits("test")


def test_featured_orchestration_always_includes_the_family():
    from train import render_music

    for family in ("strings", "voice", "pipe"):
        programs = render_music.FAMILIES[family][0]
        for seed in range(40):
            rng = np.random.default_rng(seed)
            n_parts = 1 + seed % 5
            style, drawn = render_music._orchestrate(rng, n_parts, family)
            assert len(drawn) == n_parts and any(p in programs for p in drawn), (family, style, drawn)
    with pytest.raises(ValueError, match="unknown family 'kazoo'"):
        render_music._orchestrate(np.random.default_rng(0), 3, "kazoo")


def test_classifier_and_denoiser_sets_take_the_families_music(data, monkeypatch):
    from bench import classify_eval
    from bench import quality as quality_cli
    from train import mixer

    val, music = classify_eval.load_validation(data, 11, 1.0, seed=4, music_source="families-unseen-soundfonts")
    assert music == {"music_source": "families-unseen-soundfonts", "music_split": datapaths.FAMILIES_UNSEEN_SPLIT,
                     "soundfonts": ["timgm6mb"]}
    assert val["targets"][:, :, :12].any()
    real = mixer.make_validation_set
    monkeypatch.setattr(mixer, "make_validation_set",
                        lambda root, **kw: real(root, n_clips=21, seconds=1.0, seed=4, **kw))
    loaded = quality_cli.load_music_source(data, None, "families")
    music_clips = np.flatnonzero(loaded["kind"] == mixer.KIND_MUSIC)
    assert best_match(loaded["clean"][music_clips[0]], clip_audio(data, datapaths.FAMILIES_SPLIT)) > 0.999


def test_missing_families_split_names_its_command(tmp_path):
    from train.mixer import make_validation_set

    with pytest.raises(FileNotFoundError, match="python -m train.render_families"):
        make_validation_set(tmp_path, n_clips=21, seconds=1.0, music_split=datapaths.FAMILIES_SPLIT)


# ---- what the classifier hears when one family plays alone (bench.family_confusion) ------------------------
def test_solo_windows_are_those_where_only_the_family_sounds():
    from bench.family_confusion import solo_windows

    labels = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [0, 0, 0], [1, 0, 0]], np.uint8)  # piano, organ, drums
    assert solo_windows(labels, 0).tolist() == [True, False, False, False, True]
    assert solo_windows(labels, 1).tolist() == [False] * 5


def test_family_confusion_reports_every_family_against_every_label(data, tmp_path):
    from bench import family_confusion
    from train import render_families

    assert family_confusion.main(["--data-dir", str(data), "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    pitched = [f for f in render_families.families() if f != render_families.DRUMS]
    assert report["families"] == pitched and report["split"] == datapaths.FAMILIES_UNSEEN_SPLIT
    table = np.array(report["mean_probability"])
    assert table.shape == (len(pitched), len(report["labels"])) and ((table >= 0) & (table <= 1)).all()
    heard = np.array(report["windows"]) > 0
    assert heard.sum() >= 3  # the solo clips of the 2 s set
    assert (table[heard].sum(axis=1) > 0).all() and not table[~heard].any()
    assert (tmp_path / "confusion.png").stat().st_size > 0
    assert "| piano |" in (tmp_path / "summary.md").read_text()
