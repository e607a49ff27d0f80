"""bench.real_audio: real recordings under the val noises, end to end on a tiny rendered data set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from bench import real_audio


@pytest.fixture
def recordings(tmp_path):
    """A 'voice' at 48 kHz with a hissing band above 11 kHz, and a stereo 'instrument' at 44.1 kHz whose last
    second is silent."""
    rng = np.random.default_rng(3)
    t = np.arange(48000) / 48000
    voice = 0.3 * np.sin(2 * np.pi * 150 * t) + 0.05 * rng.standard_normal(48000)
    sf.write(tmp_path / "voice.wav", voice.astype(np.float32), 48000)
    t = np.arange(3 * 44100) / 44100
    tone = 0.2 * np.sin(2 * np.pi * 440 * t) * (t < 2.0)
    sf.write(tmp_path / "instrument.flac", np.stack([tone, tone], axis=1), 44100)
    return tmp_path / "voice.wav", tmp_path / "instrument.flac"


def test_set_mixes_every_recording_with_every_noise_type_at_the_asked_snr(quick_data, recordings):
    voice, instrument = recordings
    data = real_audio.make_set(quick_data, [voice], [instrument], snrs_db=(0.0, 10.0), seconds=1.0)
    n_types = len(set(data["noise_type"]))
    # the voice, the voice low-passed and two audible 1 s pieces of the instrument (its silent third is dropped)
    assert data["kind"].count("voice") == data["kind"].count("voice low-passed at 11 kHz") == n_types * 2
    assert data["kind"].count("instrument") == n_types * 2 * 2
    lead = int(real_audio.LEAD_SECONDS * real_audio.SAMPLE_RATE)
    freqs = np.fft.rfftfreq(48000, 1 / 48000)
    for i in range(len(data["noisy"])):
        clean = data["clean"][i].astype(np.float64)
        noise = data["noisy"][i].astype(np.float64) - clean
        assert np.all(clean[:lead] == 0.0)  # the noise-only lead
        snr = 10 * np.log10(np.sum(clean[lead:] ** 2) / np.sum(noise[lead:] ** 2))
        assert snr == pytest.approx(data["snr_db"][i], abs=0.05)
        assert np.abs(data["noisy"][i]).max() <= 10 ** (-6 / 20) + 1e-6
        if data["kind"][i].startswith("voice"):
            power = np.abs(np.fft.rfft(clean[lead:] * np.hanning(len(clean) - lead))) ** 2
            share_above = power[freqs > 12000].sum() / power.sum()
            if data["kind"][i] == "voice":
                assert share_above > 1e-3
            else:
                assert share_above < 1e-5


def test_noise_lowpass_leaves_the_noise_nothing_above_the_cutoff_at_the_same_snr(quick_data, recordings):
    voice, _ = recordings
    data = real_audio.make_set(quick_data, [voice], [], snrs_db=(5.0,), noise_cutoff_hz=6000.0)
    lead = int(real_audio.LEAD_SECONDS * real_audio.SAMPLE_RATE)
    for noisy, clean, snr_db in zip(data["noisy"], data["clean"], data["snr_db"]):
        noise = noisy.astype(np.float64) - clean
        freqs = np.fft.rfftfreq(len(noise), 1 / 48000)
        power = np.abs(np.fft.rfft(noise * np.hanning(len(noise)))) ** 2
        assert power[freqs > 9000].sum() < 1e-4 * power.sum()
        snr = 10 * np.log10(np.sum(clean[lead:].astype(np.float64) ** 2) / np.sum(noise[lead:] ** 2))
        assert snr == pytest.approx(snr_db, abs=0.05)


def test_cli_scores_bypass_at_zero_and_writes_the_report(quick_data, recordings, tmp_path):
    voice, instrument = recordings
    out = tmp_path / "report"
    code = real_audio.main(["--model", "bypass", "--voice", str(voice), "--instrument", str(instrument),
                            "--seconds", "1", "--snr", "5", "--data-dir", str(quick_data), "--out", str(out),
                            "--noise-lowpass", "8000", "--no-progress"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    values = results["systems"]["rtmusic:bypass"]["sisdri"]
    assert len(values) == len(results["clips"]) > 0
    assert all(abs(v) < 1e-3 for v in values)  # a pure delay, compensated: no change
    summary = (out / "summary.md").read_text()
    assert "the noise low-passed at 8 kHz" in summary and results["data"]["noise_cutoff_hz"] == 8000.0
    for kind in real_audio.KINDS:
        assert f"| {kind} | **all** |" in summary
    assert (out / "real_audio.png").stat().st_size > 1000


def test_cells_pair_every_model_clip_by_clip_against_the_first():
    clips = [{"kind": "voice", "snr_db": snr} for snr in (0.0, 0.0, 5.0, 5.0)]
    results = {"clips": clips, "data": {"snrs_db": [0.0, 5.0]},
               "systems": {"a": {"sisdri": [1.0, 2.0, 3.0, 4.0]}, "b": {"sisdri": [2.0, 2.0, 3.0, 6.0]}}}
    table = real_audio.cells(results)
    assert set(table) == {("voice", 0.0), ("voice", 5.0), ("voice", "all")}
    assert table[("voice", 0.0)]["b"] == pytest.approx((2.0, 0.5, 0.5))  # mean, paired difference, its error
    assert table[("voice", "all")]["a"][:2] == pytest.approx((2.5, 0.0))
    assert table[("voice", "all")]["b"] == pytest.approx((3.25, 0.75, np.std([1, 0, 0, 2], ddof=1) / 2))


def test_cli_says_what_is_missing(quick_data, tmp_path, capsys):
    assert real_audio.main(["--voice", str(tmp_path / "nosuch.wav"), "--instrument",
                            "--data-dir", str(quick_data), "--no-progress"]) == 1
    assert "no such file" in capsys.readouterr().err
    assert real_audio.main(["--voice", "--instrument", "--data-dir", str(quick_data)]) == 1
    assert "alsa-utils" in capsys.readouterr().err
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    assert real_audio.main(["--voice", str(tmp_path / "bad.wav"), "--instrument", "--data-dir", str(quick_data),
                            "--no-progress"]) == 1
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        real_audio.main(["--competitors", "nosuch", "--data-dir", str(quick_data)])
