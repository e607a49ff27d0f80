"""Bad input through the CLI: exit code 2, one line on stderr that names the problem and the fix, no traceback.

`run` cases only use arguments that are rejected before any audio device is resolved or opened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rtmusic.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "in.wav"
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal(4800).astype(np.float32), 48000)
    return path


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "corrupt.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + np.random.default_rng(1).bytes(200))
    return path


@pytest.fixture(scope="module")
def garbage_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "garbage.rtm"
    path.write_bytes(np.random.default_rng(2).bytes(1000))
    return path


def _one_line_error(err: str, out: str, *needles: str) -> str:
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rtmusic: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _fails(capsys, argv, *needles) -> str:
    assert main([str(a) for a in argv]) == 2
    captured = capsys.readouterr()
    return _one_line_error(captured.err, captured.out, *needles)


def test_missing_input_file(capsys, tmp_path):
    _fails(capsys, ["process", tmp_path / "nope.wav", tmp_path / "o.wav", "--model", "bypass"],
           "nope.wav not found", "check the path")


def test_corrupt_input_file(capsys, corrupt, tmp_path):
    _fails(capsys, ["process", corrupt, tmp_path / "o.wav", "--model", "bypass"],
           "cannot read", "corrupt.wav", "audio file soundfile understands")


def test_input_that_is_not_audio(capsys, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not audio\n")
    _fails(capsys, ["process", text, tmp_path / "o.wav"], "cannot read", "notes.txt")


def test_missing_model_file(capsys, wav, tmp_path):
    _fails(capsys, ["process", wav, tmp_path / "o.wav", "--model", tmp_path / "missing.rtm"],
           "missing.rtm not found", "built-in model")
    assert not (tmp_path / "o.wav").exists()


def test_unknown_model_name(capsys, wav, tmp_path):
    _fails(capsys, ["process", wav, tmp_path / "o.wav", "--model", "nosuch"],
           "no model named 'nosuch'", "lstm-random", ".rtm")


def test_corrupt_model_file(capsys, wav, garbage_model, tmp_path):
    _fails(capsys, ["process", wav, tmp_path / "o.wav", "--model", garbage_model], "not an rtmusic checkpoint")


def test_unwritable_output(capsys, wav, tmp_path):
    _fails(capsys, ["process", wav, tmp_path / "o.xyz", "--model", "bypass", "--no-progress"],
           "unknown audio format .xyz", "use .wav or .flac")
    _fails(capsys, ["process", wav, tmp_path / "no-such-dir" / "o.wav", "--model", "bypass", "--no-progress"],
           "cannot write", "check the folder exists")


@pytest.mark.parametrize("command", ["process", "run"])
@pytest.mark.parametrize("mix", ["1.5", "-0.1"])
def test_bad_mix(capsys, wav, tmp_path, command, mix):
    argv = ["process", wav, tmp_path / "o.wav"] if command == "process" else ["run"]
    _fails(capsys, argv + ["--model", "bypass", "--mix", mix], "--mix must be between 0", f"got {float(mix)}")


@pytest.mark.parametrize("command", ["process", "run"])
def test_negative_atten_lim(capsys, wav, tmp_path, command):
    argv = ["process", wav, tmp_path / "o.wav"] if command == "process" else ["run"]
    _fails(capsys, argv + ["--model", "bypass", "--atten-lim", "-3"], "--atten-lim must be >= 0 dB", "-3")


@pytest.mark.parametrize("budget", ["0", "-5"])
def test_non_positive_latency_budget(capsys, budget):
    _fails(capsys, ["run", "--model", "bypass", "--latency-budget", budget],
           "--latency-budget must be a positive number of milliseconds", f"got {float(budget):g}")


@pytest.mark.parametrize("rate, needle", [("11025", "hops of 40 ms"), ("4000", "too low")])
def test_samplerate_the_resampler_cannot_serve_is_refused_before_devices(capsys, rate, needle):
    # 44100, 32000, 96000 ... are resampled live (tests/test_rate_bridge.py); these are not
    _fails(capsys, ["run", "--model", "bypass", "--samplerate", rate], rate, needle, "run the device at 48000 Hz")


def test_run_with_missing_model_fails_before_devices(capsys, tmp_path):
    _fails(capsys, ["run", "--model", tmp_path / "gone.rtm"], "gone.rtm not found")


@pytest.mark.parametrize("argv, needle", [
    (["run", "--model", "bypass", "--blocksize", "-1"], "--blocksize must be 0"),
    (["run", "--model", "bypass", "--input-channel", "0"], "--input-channel counts from 1"),
    (["run", "--model", "bypass", "--duration", "0"], "--duration must be positive"),
])
def test_other_run_arguments(capsys, argv, needle):
    _fails(capsys, argv, needle)


def test_subprocess_entry_point(tmp_path):
    """`python -m rtmusic` really exits 2 with one line (no traceback) — the process boundary, not just main()."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, "-m", "rtmusic", "process", str(tmp_path / "missing.wav"), str(tmp_path / "o.wav")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )
    assert result.returncode == 2
    _one_line_error(result.stderr, result.stdout, "missing.wav not found", "check the path")
