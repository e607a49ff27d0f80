"""rtmusic.offline: file in -> file out keeps the file's format and lines up with it sample for sample."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from rtmusic.cli import main
from rtmusic.errors import AudioFileError
from rtmusic.offline import process_file, read_audio
from rtmusic.processor import Processor, load_model

RATE = 44100


@pytest.fixture(scope="module")
def bypass():
    return Processor(load_model("bypass"))


@pytest.fixture(scope="module")
def stereo_pcm16(tmp_path_factory):
    """1.5 s at 44.1 kHz, PCM_16: chirp bursts on the left, noise swells (band-limited to 12 kHz) on the right."""
    n = int(1.5 * RATE)
    t = np.arange(n) / RATE
    left = 0.4 * np.sin(2 * np.pi * (200 + 1500 * t) * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    spectrum = np.fft.rfft(np.random.default_rng(0).standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1 / RATE) > 12000] = 0  # the resamplers' anti-alias filters keep this band
    right = 0.2 * np.fft.irfft(spectrum, n) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t + 1))
    path = tmp_path_factory.mktemp("audio") / "in.wav"
    sf.write(path, np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    return path


def _xcorr_peak_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 2000) -> int:
    """Lag (samples) at which b best matches a: positive = b is late."""
    spectrum = np.fft.rfft(b, 2 * a.size) * np.conj(np.fft.rfft(a, 2 * a.size))
    corr = np.fft.irfft(spectrum)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[-max_lag:]])
    return int(lags[np.argmax(values)])


def test_bypass_file_keeps_format_and_alignment(bypass, stereo_pcm16, tmp_path):
    out_path = tmp_path / "out.wav"
    result = process_file(bypass, stereo_pcm16, out_path)
    info_in, info_out = sf.info(str(stereo_pcm16)), sf.info(str(out_path))
    assert (info_out.samplerate, info_out.channels, info_out.frames, info_out.subtype) == \
           (info_in.samplerate, info_in.channels, info_in.frames, "PCM_16")
    assert (result.samplerate, result.channels) == (RATE, 2) and result.seconds == pytest.approx(1.5)
    x, _ = sf.read(stereo_pcm16, dtype="float32")
    y, _ = sf.read(out_path, dtype="float32")
    for ch in range(2):
        assert _xcorr_peak_lag(x[:, ch], y[:, ch]) == 0
        # 44.1 -> 48 -> 44.1 kHz and 16-bit rounding: close to, but not bit-equal to, the input
        err = y[:, ch] - x[:, ch]
        assert 10 * np.log10(np.sum(x[:, ch] ** 2) / np.sum(err ** 2)) > 40.0
    # channels are processed separately: no left-right leakage
    assert abs(np.corrcoef(y[:, 0], x[:, 1])[0, 1]) < 0.05


def test_realtime_factor_is_reported(bypass, stereo_pcm16, tmp_path):
    result = process_file(bypass, stereo_pcm16, tmp_path / "out.flac")
    assert 0 < result.wall_seconds and result.realtime_factor == pytest.approx(result.wall_seconds / 1.5)
    assert result.realtime_factor < 5.0  # bypass + resampling is far faster than real time
    assert result.nonfinite_resets == 0 and len(result.aux) == 2
    assert sf.info(str(tmp_path / "out.flac")).subtype == "PCM_16"  # FLAC takes the input subtype too


def test_cli_process_prints_the_realtime_factor(stereo_pcm16, tmp_path, capsys):
    out_path = tmp_path / "cli.wav"
    assert main(["process", str(stereo_pcm16), str(out_path), "--model", "bypass", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "real-time factor" in err and "2 channel(s) at 44100 Hz" in err and out_path.is_file()


def test_model_rate_float_file_equals_processor_output(tmp_path):
    """At the model's rate no resampling happens: the file holds exactly what Processor.process returns."""
    proc = Processor(load_model("lstm-random"))
    x = (0.2 * np.random.default_rng(1).standard_normal(24000)).astype(np.float32)
    in_path, out_path = tmp_path / "in48.wav", tmp_path / "out48.wav"
    sf.write(in_path, x, 48000, subtype="FLOAT")
    result = process_file(proc, in_path, out_path)
    y, rate = sf.read(out_path, dtype="float32")
    assert rate == 48000 and y.shape == x.shape and sf.info(str(out_path)).subtype == "FLOAT"
    np.testing.assert_allclose(y, proc.process(x).out, atol=1e-6, rtol=0)
    assert result.aux[0].shape[1] == 1  # gain_db per hop


def test_read_audio_errors(tmp_path):
    with pytest.raises(AudioFileError, match="not found; check the path"):
        read_audio(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), 48000)
    with pytest.raises(AudioFileError, match="no audio frames"):
        read_audio(empty)
