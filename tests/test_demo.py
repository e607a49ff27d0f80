"""rtmusic demo: the bundled clip, the three files it writes, its printed figures, and its errors."""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import rtmusic
from rtmusic import demo
from rtmusic.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = r"(-?\d+(?:\.\d+)?)"


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bypass_demo(tmp_path_factory):
    """One `rtmusic demo --model bypass` run into a folder that does not exist yet."""
    out = tmp_path_factory.mktemp("demo") / "not" / "yet"
    code, stdout, stderr = _run(["demo", "--model", "bypass", "--out", str(out)])
    return out, code, stdout, stderr


def test_bundled_clip_is_what_the_readme_says():
    noisy_path, clean_path = demo.bundled_path(demo.NOISY_CLIP), demo.bundled_path(demo.CLEAN_CLIP)
    for path in (noisy_path, clean_path):
        info = sf.info(str(path))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", 48000, 1)
        assert 7.5 <= info.duration <= 10.0
    assert noisy_path.stat().st_size < 800_000
    noisy, _ = sf.read(noisy_path, dtype="float64")
    clean, _ = sf.read(clean_path, dtype="float64")
    assert 20 * np.log10(np.max(np.abs(noisy))) == pytest.approx(-6.0, abs=0.1)
    snr = 10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2))
    assert snr == pytest.approx(5.0, abs=0.1)
    assert "SNR" in demo.clip_description(noisy_path)
    assert (noisy_path.parent / "README.md").is_file()


def test_demo_writes_before_after_and_picture(bypass_demo):
    out, code, stdout, stderr = bypass_demo
    assert code == 0, stderr
    clip = sf.info(str(demo.bundled_path(demo.NOISY_CLIP)))
    for name in ("demo_before.wav", "demo_after.wav"):
        info = sf.info(str(out / name))
        assert (info.samplerate, info.channels, info.frames) == (clip.samplerate, clip.channels, clip.frames)
        assert str(out / name) in stdout
    before, _ = sf.read(out / "demo_before.wav", dtype="int16")
    after, _ = sf.read(out / "demo_after.wav", dtype="int16")
    bundled, _ = sf.read(demo.bundled_path(demo.NOISY_CLIP), dtype="int16")
    np.testing.assert_array_equal(before, bundled)
    np.testing.assert_array_equal(after, before)  # bypass is delay-compensated: sample for sample

    png = (out / "demo_spectrogram.png").read_bytes()
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert 800 <= width <= 2000 and 600 <= height <= 2000
    assert 20_000 < len(png) < 3_000_000


def test_demo_prints_si_sdr_and_realtime_factor(bypass_demo):
    _, code, stdout, _ = bypass_demo
    match = re.search(rf"before {NUMBER} dB, after {NUMBER} dB", stdout)
    assert match, stdout
    before, after = float(match[1]), float(match[2])
    assert before == pytest.approx(5.0, abs=0.2) and after == pytest.approx(before, abs=0.01)
    rtf = re.search(rf"real-time factor {NUMBER}", stdout)
    assert rtf and float(rtf[1]) > 0


def _assert_one_line_error(code: int, stdout: str, stderr: str, *words: str) -> None:
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("rtmusic: error: "), stderr
    assert all(w in stderr for w in words), stderr
    assert "Traceback" not in stderr and "wrote" not in stdout


def test_out_is_a_file(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    _assert_one_line_error(*_run(["demo", "--model", "bypass", "--out", str(blocker)]), "--out", "not a folder")
    _assert_one_line_error(*_run(["demo", "--model", "bypass", "--out", str(blocker / "sub")]), "--out",
                           "cannot write")


def test_out_is_read_only(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.geteuid() == 0:  # root writes to read-only folders anyway: make the write probe fail as it would
        from rtmusic.cli import demo_cmd

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(demo_cmd.tempfile, "NamedTemporaryFile", refuse)
    try:
        _assert_one_line_error(*_run(["demo", "--model", "bypass", "--out", str(locked)]), "cannot write",
                               "Permission denied")
    finally:
        locked.chmod(0o755)


def test_missing_bundled_clip_says_reinstall(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "NOISY_CLIP", "gone.flac")
    _assert_one_line_error(*_run(["demo", "--model", "bypass", "--out", str(tmp_path / "o")]),
                           "gone.flac", "reinstall")
    assert not (tmp_path / "o").exists()


def test_unknown_model_fails_before_writing(tmp_path):
    _assert_one_line_error(*_run(["demo", "--model", "nosuch", "--out", str(tmp_path / "o")]), "nosuch")
    assert not (tmp_path / "o").exists()


def test_imports_stay_light():
    code = ("import sys, rtmusic.cli.demo_cmd, rtmusic.demo; "
            "heavy = [m for m in ('jax', 'matplotlib') if m in sys.modules]; "
            "sys.exit(f'loaded {heavy}' if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(rtmusic.__file__)))
    assert result.returncode == 0, result.stderr


def test_spectrogram_reads_a_full_scale_sine_as_0_dbfs():
    rate = 48000
    t = np.arange(rate) / rate
    _, edges, level = demo.log_spectrogram(np.sin(2 * np.pi * 1000 * t), rate)
    row = np.searchsorted(edges, 1000.0) - 1
    assert level[row, 20:-20].mean() == pytest.approx(0.0, abs=1.5)
    assert level[: np.searchsorted(edges, 500.0), 20:-20].max() < -60
