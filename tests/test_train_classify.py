"""Classifier data and training end to end on a tiny config and a tiny rendered data set, plus the eval bench."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from rtmusic import checkpoint
from rtmusic.models import CLASSIFIER_LABELS
from rtmusic.processor import Processor, load_classifier, model_from_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SPEECH, NOISE, SILENCE = (CLASSIFIER_LABELS.index(n) for n in ("speech", "noise", "silence"))


def test_sampler_scenes_have_the_targets_they_should(quick_data):
    from train.classify_data import SCENE_NAMES, ClassifySampler, hop_targets

    sampler = ClassifySampler(quick_data, "train", 1.0, batch_size=3, seed=0)
    batch = sampler.next_batch()
    assert batch["audio"].shape == (3, 48000) and batch["targets"].shape == (3, 200, 15)
    assert set(np.unique(batch["targets"])) <= {0.0, 1.0}
    again = ClassifySampler(quick_data, "train", 1.0, batch_size=3, seed=0).next_batch()
    assert np.array_equal(batch["audio"], again["audio"])  # seeded

    def example(scene):
        audio, targets = sampler.make_example(scene)
        assert np.abs(audio).max() <= 10 ** (-0.5 / 20) + 1e-6 and targets.shape == (200, 15)
        return audio, targets

    audio, targets = example("silence")
    assert targets[:, SILENCE].all() and targets.sum() == 200 and np.sqrt(np.mean(audio ** 2)) < 1e-4
    _, targets = example("near-silence")
    assert targets[:, :NOISE].sum() == 0 and targets[:, SILENCE].mean() > 0.5
    for scene in SCENE_NAMES:  # every scene: silence excludes every other label
        _, targets = example(scene)
        assert targets[targets[:, SILENCE] == 1, :SILENCE].sum() == 0
    # the rules, on hand-made components: quiet noise under loud music is not "noise", alone it is
    t = np.arange(48000) / 48000
    music = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    frames = np.zeros((100, 12), np.uint8)
    frames[:, 0] = 1
    hiss = (3e-3 * np.random.default_rng(0).standard_normal(48000)).astype(np.float32)  # -50 dBFS, 27 dB under
    targets = hop_targets(music, frames, None, hiss, music + hiss)
    assert targets[20:, 0].all() and not targets[20:, NOISE].any() and not targets[:, SILENCE].any()
    targets = hop_targets(None, None, None, hiss, hiss)
    assert targets[20:, NOISE].all() and not targets[20:, SILENCE].any()  # alone, it is audible
    quiet = hiss * np.float32(0.1)
    targets = hop_targets(None, None, None, quiet, quiet)
    assert targets[20:, SILENCE].all() and not targets[:, NOISE].any()
    speech = (music * (t < 0.5)).astype(np.float32)  # "speaks" for half a second over a quiet bed of hiss
    targets = hop_targets(None, None, speech, hiss, speech + hiss)
    assert targets[10:100, SPEECH].all() and targets[105:119, SPEECH].all()  # with a 100 ms hangover
    assert not targets[130:, SPEECH].any() and targets[130:, NOISE].all() and not targets[10:90, NOISE].any()
    targets = hop_targets(None, None, speech, None, speech)  # over digital silence: silence right away
    assert targets[105:, SILENCE].all() and not targets[105:, SPEECH].any()


def test_random_colour_is_a_bounded_eq_on_training_music_only(quick_data):
    from train.augment import random_colour
    from train.classify_data import ClassifySampler

    t = np.arange(48000) / 48000  # whole cycles in one second: each sine sits on one FFT bin
    x = (np.sin(2 * np.pi * 200 * t) + 0.5 * np.sin(2 * np.pi * 4000 * t)).astype(np.float32)
    gains = []
    for seed in range(20):
        y = random_colour(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        spectrum = np.abs(np.fft.rfft(y))
        others = np.delete(spectrum, [200, 4000])
        assert (others ** 2).sum() < 1e-9 * (spectrum ** 2).sum()  # an EQ: no new frequencies
        gain_db = 20 * np.log10(spectrum[[200, 4000]] / np.abs(np.fft.rfft(x))[[200, 4000]])
        assert np.all(np.abs(gain_db) <= 2 * np.abs(np.log2([0.2, 4.0])) + 27 + 1e-3)  # tilt + 3 bells
        gains.append(gain_db)
    assert np.ptp(np.array(gains), axis=0).min() > 3.0  # it really varies from crop to crop
    assert np.array_equal(random_colour(x, np.random.default_rng(3)), random_colour(x, np.random.default_rng(3)))
    assert ClassifySampler(quick_data, "train", 0.5, batch_size=1).augment.colour > 0
    assert ClassifySampler(quick_data, "val", 0.5, batch_size=1).augment.colour == 0  # validation is untouched


def test_timbre_augmentation_on_training_music_only(quick_data, monkeypatch):
    from train import augment, classify_data
    from train.classify_data import SCENE_NAMES, ClassifySampler, MusicAugment, make_classify_validation_set

    scenes = np.arange(3 * len(SCENE_NAMES)) % len(SCENE_NAMES)
    timbre = ClassifySampler(quick_data, "train", 1.0, batch_size=1, seed=5, music_augment="timbre")
    batch = timbre.make_batch(scenes)
    assert batch["audio"].dtype == np.float32 and batch["audio"].shape == (len(scenes), 48000)
    assert batch["targets"].shape == (len(scenes), 200, 15) and set(np.unique(batch["targets"])) <= {0.0, 1.0}
    assert np.isfinite(batch["audio"]).all() and np.abs(batch["audio"]).max() <= 10 ** (-0.5 / 20) + 1e-6
    again = ClassifySampler(quick_data, "train", 1.0, batch_size=1, seed=5, music_augment="timbre").make_batch(scenes)
    assert all(np.array_equal(batch[k], again[k]) for k in batch)  # seeded
    plain = ClassifySampler(quick_data, "train", 1.0, batch_size=1, seed=5, music_augment="colour").make_batch(scenes)
    assert not np.array_equal(batch["audio"], plain["audio"])

    # Every transformation is used; resampled crops come with label frames for the output's length.
    calls = {name: 0 for name in ("resample_crop", "random_sweep", "random_saturation", "random_room",
                                  "random_lowpass")}
    home = {name: classify_data if name == "resample_crop" else augment for name in calls}

    def counted(name):
        real = getattr(home[name], name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            result = real(*args, **kwargs)
            if name == "resample_crop" and args[1] is not None:
                assert result[1].shape == (args[2] // 480, 12)
            return result
        return wrapper

    for name in calls:
        monkeypatch.setattr(home[name], name, counted(name))
    every = MusicAugment(colour=1.0, sweep=1.0, pitch=1.0, saturate=1.0, room=1.0, lowpass=1.0)
    sampler = ClassifySampler(quick_data, "train", 1.0, batch_size=1, seed=1, music_augment=every)
    for _ in range(3):
        audio, targets = sampler.make_example("music")
        assert np.abs(audio).max() > 0 and targets[:, :12].any()
    assert all(n >= 3 for n in calls.values()), calls

    # Validation draws nothing for augmentation whatever the recipe: its examples are the unaugmented ones.
    def never(*args, **kwargs):
        raise AssertionError("validation music was augmented")

    monkeypatch.setattr(classify_data, "resample_crop", never)
    for name in ("random_sweep", "random_saturation", "random_room", "random_colour", "random_lowpass"):
        monkeypatch.setattr(augment, name, never)
    val_timbre = ClassifySampler(quick_data, "val", 1.0, batch_size=1, seed=3, music_augment=every).make_batch(scenes)
    val_plain = ClassifySampler(quick_data, "val", 1.0, batch_size=1, seed=3, music_augment="none").make_batch(scenes)
    assert all(np.array_equal(val_timbre[k], val_plain[k]) for k in val_timbre)
    make_classify_validation_set(quick_data, n_clips=11, seconds=0.5, seed=8)  # no augmentation reached
    with pytest.raises(ValueError, match="music_augment"):
        ClassifySampler(quick_data, "train", 1.0, batch_size=1, music_augment="loud")


def test_sampler_draws_music_from_the_label_balanced_training_split(quick_data):
    from train.classify_data import ClassifySampler
    from train.datapaths import TRAIN_FAMILIES_SPLIT

    with pytest.raises(FileNotFoundError, match="python -m train.render_families --split train"):
        ClassifySampler(quick_data, "train", 1.0, batch_size=1, extra_music=(TRAIN_FAMILIES_SPLIT,))
    proc = subprocess.run([sys.executable, "-m", "train.render_families", "--split", "train", "--per-family", "1",
                           "--seconds", "2", "--out", str(quick_data)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    index = json.loads((quick_data / f"{TRAIN_FAMILIES_SPLIT}_music.json").read_text())
    assert len(index["clips"]) == 12 and {c["soundfont"] for c in index["clips"]} == {"fluidr3"}  # never TimGM6mb

    sampler = ClassifySampler(quick_data, "train", 1.0, batch_size=1, seed=0, extra_music=(TRAIN_FAMILIES_SPLIT,),
                              extra_music_share=1.0)

    def main_store_crop(*args, **kwargs):
        raise AssertionError("a music scene cropped the main split")

    sampler.music.crop = main_store_crop
    for _ in range(4):
        audio, targets = sampler.make_example("music")
        assert np.abs(audio).max() > 0 and targets[:, :12].any()  # music with labels, from train_families
    with pytest.raises(ValueError, match="extra_music_share"):
        ClassifySampler(quick_data, "train", 1.0, batch_size=1, extra_music=(TRAIN_FAMILIES_SPLIT,),
                        extra_music_share=1.5)


def test_validation_set_is_cached_and_covers_the_scenes(quick_data):
    from train import datapaths
    from train.classify_data import SCENE_NAMES, make_classify_validation_set

    first = make_classify_validation_set(quick_data, n_clips=11, seconds=0.5, seed=7)
    assert first["audio"].shape == (11, 24000) and first["targets"].shape == (11, 100, 15)
    assert sorted(first["scene"].tolist()) == list(range(len(SCENE_NAMES)))
    path = datapaths.classify_val_set_path(quick_data, None, 11, 0.5, 7)
    stamp = path.stat().st_mtime_ns
    other = make_classify_validation_set(quick_data, n_clips=22, seconds=0.5, seed=7)  # a benchmark's larger set
    assert other["audio"].shape[0] == 22 and path.stat().st_mtime_ns == stamp  # has a file of its own
    second = make_classify_validation_set(quick_data, n_clips=11, seconds=0.5, seed=7)
    assert all(np.array_equal(first[k], second[k]) for k in first) and path.stat().st_mtime_ns == stamp
    assert datapaths.classify_val_set_path(quick_data).name == "classify_val_set.npz"  # training's set
    assert not list(quick_data.glob("*.tmp*"))


def _train(run_dir: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "train.classify", "--config", "tiny", "--run-dir", str(run_dir), "--data-dir",
         str(data), "--no-progress", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )


def test_tiny_training_checkpoints_evaluates_resumes_and_benches(quick_data, tmp_path):
    run_dir = tmp_path / "run"
    first = _train(run_dir, quick_data)
    assert first.returncode == 0, first.stderr[-2000:]
    for name in ("latest.rtm", "optimizer.rtm", "best.rtm", "best.json", "metrics.jsonl", "curves.png", "config.json"):
        assert (run_dir / name).is_file(), name
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss"]) for r in rows if "loss" in r)
    assert any("map" in r and "macro_f1" in r and "val_bce" in r for r in rows)
    assert checkpoint.read_header(run_dir / "latest.rtm")["meta"]["step"] == 4

    # A best.json scored on another validation set is not compared with: the next evaluation replaces it.
    (run_dir / "best.json").write_text(json.dumps({"step": 2, "val_set": "elsewhere", "score": 99.0}))
    second = _train(run_dir, quick_data, "--steps", "6")  # resumes from step 4
    assert second.returncode == 0, second.stderr[-2000:]
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert checkpoint.read_header(run_dir / "latest.rtm")["meta"]["step"] == 6
    best = json.loads((run_dir / "best.json").read_text())
    assert best["val_set"] == "val" and best["step"] == 6 and best["score"] < 99.0

    # The checkpoint is a classifier rtmusic runs.
    model = model_from_checkpoint(run_dir / "best.rtm")
    assert model.kind == "classifier" and model.aux_names == CLASSIFIER_LABELS
    assert load_classifier(str(run_dir / "best.rtm")).kind == "classifier"
    x = np.random.default_rng(0).standard_normal(4800).astype(np.float32) * 0.1
    result = Processor(model).process(x)
    assert np.array_equal(result.out, x) and np.all((result.aux >= 0) & (result.aux <= 1))

    out = tmp_path / "eval"
    bench = subprocess.run(
        [sys.executable, "-m", "bench.classify_eval", "--model", str(run_dir / "best.rtm"), "--clips", "11",
         "--seconds", "1.5", "--data-dir", str(quick_data), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert bench.returncode == 0, bench.stderr[-2000:]
    report = json.loads((out / "results.json").read_text())
    assert report["clips"] == 11 and set(report["summary"]["per_label"]) == set(CLASSIFIER_LABELS)
    assert report["summary"]["windows"] == 22 and 0.0 <= report["summary"]["map"] <= 1.0
    assert "| silence |" in (out / "summary.md").read_text()
    assert (out / "per_label.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    shipped = tmp_path / "weights" / "classifier.rtm"
    export = subprocess.run(
        [sys.executable, "-m", "train.export_classifier", "--run-dir", str(run_dir), "--data-dir", str(quick_data),
         "--out", str(shipped)], cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert export.returncode == 0, export.stderr[-2000:]
    header = checkpoint.read_header(shipped)
    assert header["kind"] == "classifier" and {a["dtype"] for a in header["arrays"]} == {"float16"}
    assert "map" in header["meta"]["validation"] and shipped.with_suffix(".md").is_file()


def test_init_from_starts_a_new_run_from_trained_weights(quick_data, tmp_path):
    source = tmp_path / "source"
    trained_run = _train(source, quick_data, "--ema-decay", "0.9")  # the source keeps a weight average too
    assert trained_run.returncode == 0, trained_run.stderr[-2000:]
    assert checkpoint.read_header(source / "ema.rtm")["meta"] == {"step": 4, "ema_decay": 0.9}
    evals = [json.loads(line) for line in (source / "metrics.jsonl").read_text().splitlines() if "score" in line]
    assert evals and all("ema_map" in r and "map" in r for r in evals)
    _, trained = checkpoint.load(source / "latest.rtm")

    # One step with a fresh schedule: the warm-up's first learning rate is 0, so the weights are the source's.
    run_dir = tmp_path / "warm"
    warm = _train(run_dir, quick_data, "--init-from", str(source / "latest.rtm"), "--max-minutes", "0")
    assert warm.returncode == 0, warm.stderr[-2000:]
    assert "weights start from" in warm.stdout
    header, weights = checkpoint.load(run_dir / "latest.rtm")
    assert header["meta"]["step"] == 1  # a new run: its own steps, a fresh optimizer
    assert checkpoint.read_header(run_dir / "optimizer.rtm")["config"]["step"] == 1
    origin = json.loads((run_dir / "init_from.json").read_text())  # the model card counts the source's steps
    assert origin["step"] == 4 and Path(origin["run_dir"]) == source.resolve()
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(trained), jax.tree_util.tree_leaves(weights)))
    cold = _train(tmp_path / "cold", quick_data, "--max-minutes", "0")
    assert cold.returncode == 0
    _, random_start = checkpoint.load(tmp_path / "cold" / "latest.rtm")
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(trained),
                                                       jax.tree_util.tree_leaves(random_start)))

    # A classifier of another architecture, or a denoiser, is refused.
    wrong = _train(tmp_path / "wrong", quick_data, "--init-from", str(ROOT / "rtmusic" / "weights" / "classifier.rtm"))
    assert wrong.returncode != 0 and "another model config" in wrong.stderr
    denoiser = _train(tmp_path / "wrong2", quick_data, "--init-from", str(ROOT / "rtmusic" / "weights" / "denoiser.rtm"))
    assert denoiser.returncode != 0 and "not a classifier" in denoiser.stderr


def test_init_from_a_plain_classifier_grows_fine_bins_and_refuses_other_changes(tmp_path):
    from dataclasses import replace

    from rtmusic.models import ClassifierConfig, init_label_net
    from train.classify import initial_weights
    from train.configs.classify import get_config

    plain = ClassifierConfig(bands=16, hidden=16, layers=1, conv_channels=(4,), conv_kernel=3)
    trained = init_label_net(plain, seed=5)
    path = checkpoint.save(tmp_path / "plain.rtm", jax.device_get(trained), kind="classifier",
                           config=json.loads(json.dumps(plain.to_dict())))
    fine = replace(get_config("tiny"), model=replace(plain, fine_window=960, fine_bins=24))
    grown = initial_weights(fine, path)
    kernel, old_kernel = np.asarray(grown["embed"]["kernel"]), np.asarray(trained["embed"]["kernel"])
    assert kernel.shape == (old_kernel.shape[0] + 48, 16)
    assert np.array_equal(kernel[:old_kernel.shape[0]], old_kernel) and np.all(kernel[old_kernel.shape[0]:] == 0)
    assert np.array_equal(np.asarray(grown["lstm0"]["hi"]["kernel"]), np.asarray(trained["lstm0"]["hi"]["kernel"]))
    for other in (replace(plain, bands=24), replace(plain, hidden=8), replace(plain, layers=2)):
        with pytest.raises(SystemExit, match="another model config"):
            initial_weights(replace(fine, model=other), path)


def test_a_wider_classifier_warm_started_from_a_narrower_one_computes_the_same_probabilities(tmp_path):
    from dataclasses import replace

    from rtmusic.models import ClassifierConfig, classifier_feature_size, init_label_net, label_net
    from train.classify import initial_weights
    from train.configs.classify import get_config

    narrow = ClassifierConfig(bands=16, hidden=16, layers=2, conv_channels=(4,), conv_kernel=3, fine_window=960,
                              fine_bins=24)
    trained = init_label_net(narrow, seed=5)
    path = checkpoint.save(tmp_path / "narrow.rtm", jax.device_get(trained), kind="classifier",
                           config=json.loads(json.dumps(narrow.to_dict())))
    wide = replace(narrow, hidden=40)
    grown = initial_weights(replace(get_config("tiny"), model=wide), path)
    assert np.asarray(grown["lstm1"]["hi"]["kernel"]).shape == (40, 40)
    features = np.random.default_rng(0).normal(size=(30, classifier_feature_size(narrow))).astype(np.float32)

    def run(config, weights):
        net, logits = label_net(config), []
        carry = net.initialize_carry()
        for frame in features:
            carry, out = net.apply({"params": weights}, carry, frame)
            logits.append(np.asarray(out))
        return np.stack(logits)

    before, after = run(narrow, trained), run(wide, grown)
    assert np.abs(before).max() > 0.1 and np.abs(after - before).max() < 1e-5


def test_tiny_training_with_feature_dropout_hides_features_in_training_only(quick_data, tmp_path):
    from dataclasses import replace

    from train.classify import train
    from train.configs.classify import get_config
    from train.feature_dropout import FeatureDropout

    config = replace(get_config("tiny"), feature_dropout=FeatureDropout(masked_share=1.0, level_share=1.0))
    figures = train(config, tmp_path / "run", quick_data, progress=False)
    assert 0.0 <= figures["map"] <= 1.0
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4] and all(np.isfinite(r["loss"]) for r in rows if "loss" in r)
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    assert stored["feature_dropout"]["masked_share"] == 1.0
    # The weights run live as any classifier's: the mask is a training input, not part of the model.
    model = model_from_checkpoint(tmp_path / "run" / "latest.rtm")
    result = Processor(model).process(np.random.default_rng(1).standard_normal(4800).astype(np.float32) * 0.1)
    assert np.all((result.aux >= 0) & (result.aux <= 1))


def test_speech_top_band_extends_the_classifier_training_speech_only(quick_data):
    from train.classify_data import SCENE_NAMES, ClassifySampler

    scenes = np.array([SCENE_NAMES.index("speech")] * 4)
    plain = ClassifySampler(quick_data, "train", 1.0, batch_size=4, seed=2).make_batch(scenes)
    extended = ClassifySampler(quick_data, "train", 1.0, batch_size=4, seed=2, speech_top_band=1.0).make_batch(scenes)
    above = np.fft.rfftfreq(48000, 1 / 48000) > 11000.0

    def share_above(x):
        power = np.abs(np.fft.rfft(x * np.hanning(x.shape[1]), axis=1)) ** 2
        return power[:, above].sum(1) / np.maximum(power.sum(1), 1e-20)

    assert np.all(share_above(extended["audio"]) > 10 * share_above(plain["audio"]))
    speech, noise = CLASSIFIER_LABELS.index("speech"), CLASSIFIER_LABELS.index("noise")
    assert extended["targets"][..., speech].any(axis=1).all()  # still speech, and not noise
    assert not extended["targets"][..., noise].any()
    val = ClassifySampler(quick_data, "val", 1.0, batch_size=4, seed=2, speech_top_band=1.0).make_batch(scenes)
    val_plain = ClassifySampler(quick_data, "val", 1.0, batch_size=4, seed=2).make_batch(scenes)
    assert np.array_equal(val["audio"], val_plain["audio"])
    with pytest.raises(ValueError, match="speech_top_band"):
        ClassifySampler(quick_data, "train", 1.0, batch_size=1, speech_top_band=2.0)


def test_noise_band_limits_keep_the_scene_and_its_levels_and_empty_the_top_band(quick_data):
    from train.classify_data import SCENE_NAMES, ClassifySampler

    scenes = np.array([SCENE_NAMES.index("noise")] * 4)
    plain = ClassifySampler(quick_data, "val", 1.0, batch_size=4, seed=3).make_batch(scenes)
    cut = ClassifySampler(quick_data, "val", 1.0, batch_size=4, seed=3, noise_cutoff_hz=8000.0).make_batch(scenes)
    power = lambda x: np.abs(np.fft.rfft(x * np.hanning(x.shape[1]), axis=1)) ** 2  # noqa: E731
    above = np.fft.rfftfreq(48000, 1 / 48000) > 9000.0
    assert np.all(power(cut["audio"])[:, above].sum(1) < 1e-3 * power(cut["audio"]).sum(1))  # fades' leakage only
    assert np.all(power(plain["audio"])[:, above].sum(1) > 1e-2 * power(plain["audio"]).sum(1))
    rms = lambda x: np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=1))  # noqa: E731
    np.testing.assert_allclose(rms(cut["audio"]), rms(plain["audio"]), rtol=0.05)  # the same levels
    assert np.array_equal(cut["targets"], plain["targets"])  # the same scenes, labelled alike
    # The training share draws random cutoffs on the train split only; validation ignores it.
    train_cut = ClassifySampler(quick_data, "train", 1.0, batch_size=4, seed=3, noise_lowpass=1.0).make_batch(scenes)
    train_plain = ClassifySampler(quick_data, "train", 1.0, batch_size=4, seed=3).make_batch(scenes)
    assert np.all(power(train_cut["audio"])[:, np.fft.rfftfreq(48000, 1 / 48000) > 22500.0].sum(1)
                  < 1e-4 * power(train_plain["audio"])[:, np.fft.rfftfreq(48000, 1 / 48000) > 22500.0].sum(1))
    val = ClassifySampler(quick_data, "val", 1.0, batch_size=4, seed=3, noise_lowpass=1.0).make_batch(scenes)
    assert np.array_equal(val["audio"], plain["audio"])
    with pytest.raises(ValueError, match="noise_lowpass"):
        ClassifySampler(quick_data, "train", 1.0, batch_size=1, noise_lowpass=1.5)
    with pytest.raises(ValueError, match="noise_cutoff_hz"):
        ClassifySampler(quick_data, "val", 1.0, batch_size=1, noise_cutoff_hz=30000.0)


def test_classify_eval_band_limited_noise_set_is_cached_apart_and_reported(quick_data):
    from bench import classify_eval
    from train import datapaths
    from train.classify_data import SCENE_NAMES

    plain, plain_sources = classify_eval.load_validation(quick_data, 11, 1.0, seed=4)
    cut, sources = classify_eval.load_validation(quick_data, 11, 1.0, seed=4, noise_lowpass_hz=8000.0)
    assert sources == {**plain_sources, "noise_lowpass_hz": 8000.0}
    assert datapaths.classify_val_set_path(quick_data, None, 11, 1.0, 4, noise_cutoff_hz=8000.0).exists()
    # The same scenes; the labels differ only where the noise's local level crosses the audibility rule.
    assert np.array_equal(cut["scene"], plain["scene"]) and not np.array_equal(cut["audio"], plain["audio"])
    assert np.mean(cut["targets"] == plain["targets"]) > 0.97
    silence = SCENE_NAMES.index("silence")
    assert np.array_equal(cut["audio"][plain["scene"] == silence], plain["audio"][plain["scene"] == silence])
    report = {"model": "m", "clips": 11, "seconds": 1.0, "max_wait_s": 2.0, **sources,
              "summary": {"windows": 11, "map": 0.5, "macro_f1": 0.5, "latency_median_ms": 10, "detection_rate": 1,
                          "per_label": {}}}
    assert "Noise low-passed at 8000 Hz" in classify_eval.markdown(report)
