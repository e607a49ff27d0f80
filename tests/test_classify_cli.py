"""`rtmusic process --task classify` (the labels JSON and its windows) and the CLI's task errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from rtmusic.cli import main
from rtmusic.models import CLASSIFIER_LABELS

RATE = 44100
SECONDS = 2.5


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    """2.5 s stereo at 44.1 kHz: a tone on the left, noise on the right."""
    t = np.arange(int(SECONDS * RATE)) / RATE
    audio = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.05 * np.random.default_rng(0).standard_normal(t.size)], 1)
    path = tmp_path_factory.mktemp("in") / "in.wav"
    sf.write(path, audio.astype(np.float32), RATE, subtype="PCM_16")
    return path


def _check_document(doc: dict) -> None:
    assert doc["labels"] == list(CLASSIFIER_LABELS)
    assert [(w["start"], w["end"]) for w in doc["windows"]] == [(0.0, 1.0), (1.0, 2.0), (2.0, 2.5)]
    for window in doc["windows"]:
        assert list(window["probs"]) == list(CLASSIFIER_LABELS)
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in window["probs"].values())
    assert "percentile" in doc["window_statistic"]


def test_labels_out_json_without_an_output_file(wav, tmp_path, capsys):
    out = tmp_path / "labels.json"
    assert main(["process", str(wav), "--task", "classify", "--classifier", "classifier-random",
                 "--labels-out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "wrote" in captured.err and "3 one-second windows" in captured.err
    doc = json.loads(out.read_text())
    _check_document(doc)
    assert doc["model"] == "classifier-random" and doc["channels"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.json"]  # no audio written


def test_labels_go_to_stdout_without_labels_out_and_out_is_the_input(wav, tmp_path, capsys):
    out_wav, wav48 = tmp_path / "same.wav", tmp_path / "in48.wav"  # 48 kHz: no resampling, so bit-exact
    sf.write(wav48, np.random.default_rng(1).uniform(-0.5, 0.5, (int(SECONDS * 48000), 2)).astype(np.float32), 48000,
             subtype="FLOAT")
    wav = wav48
    assert main(["process", str(wav), str(out_wav), "--task", "classify", "--classifier", "classifier-random",
                 "--no-progress"]) == 0
    _check_document(json.loads(capsys.readouterr().out))
    original, _ = sf.read(wav, dtype="float32")
    passed, _ = sf.read(out_wav, dtype="float32")
    assert np.array_equal(original, passed)  # classify alone leaves the audio untouched


def test_denoise_and_classify_writes_the_denoisers_audio_and_labels(wav, tmp_path, capsys):
    both_wav, alone_wav, labels = tmp_path / "both.wav", tmp_path / "alone.wav", tmp_path / "labels.json"
    assert main(["process", str(wav), str(both_wav), "--task", "denoise,classify", "--model", "lstm-random",
                 "--classifier", "classifier-random", "--labels-out", str(labels), "--no-progress"]) == 0
    assert main(["process", str(wav), str(alone_wav), "--model", "lstm-random", "--no-progress"]) == 0
    capsys.readouterr()
    assert np.array_equal(sf.read(both_wav)[0], sf.read(alone_wav)[0])
    _check_document(json.loads(labels.read_text()))


def _one_line_error(capsys, argv, *needles) -> str:
    assert main([str(a) for a in argv]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtmusic: error: "), captured.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("command", ["process", "run"])
def test_unknown_task_is_one_line_exit_2(capsys, wav, tmp_path, command):
    argv = ["process", wav, tmp_path / "o.wav"] if command == "process" else ["run"]
    _one_line_error(capsys, argv + ["--task", "denoise,sing"], "unknown task 'sing'", "denoise,classify")


def test_task_argument_errors(capsys, wav, tmp_path):
    _one_line_error(capsys, ["process", wav], "OUT is missing", "--task classify")
    _one_line_error(capsys, ["process", wav, tmp_path / "o.wav", "--labels-out", tmp_path / "l.json"],
                    "--labels-out needs --task classify")
    _one_line_error(capsys, ["run", "--labels-jsonl", tmp_path / "l.jsonl"], "--labels-jsonl needs --task classify")
    _one_line_error(capsys, ["run", "--task", "classify", "--classifier", "nosuch"],
                    "no classifier named 'nosuch'", "classifier-random")
    _one_line_error(capsys, ["process", wav, "--task", "classify", "--classifier", tmp_path / "missing.rtm"],
                    "missing.rtm not found")
    assert not (tmp_path / "o.wav").exists()
