"""Speech from synthesisers no training clip came from (train.render_unseen_speech): rendering, packing, errors."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from train import datapaths, render_speech, render_unseen_speech
from train.datapaths import SAMPLE_RATE, SAMPLES_PER_FRAME

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One clip each of a Flite and a Festival voice, two sentences long."""
    assert shutil.which("flite") and shutil.which("text2wave"), "flite/festival missing: run `bash scripts/setup.sh --test`"
    root = tmp_path_factory.mktemp("tts")
    voices = render_unseen_speech.resolve_voices(["flite:awb", "festival:ked_diphone"])
    summary = render_unseen_speech.build(root, voices, clips_per_voice=1, n_sentences=2, log=lambda text: None)
    return root, summary


def test_clips_are_packed_with_their_voice_at_48k(rendered):
    root, summary = rendered
    assert summary["clips"] == 2 and summary["voices"] == 2
    index = json.loads(datapaths.index_path(root, datapaths.UNSEEN_TTS_SPLIT, "speech").read_text())
    audio = np.load(datapaths.audio_path(root, datapaths.UNSEEN_TTS_SPLIT, "speech"))
    assert index["sample_rate"] == SAMPLE_RATE and index["total_samples"] == len(audio)
    assert [(c["engine"], c["voice"], c["language"]) for c in index["clips"]] == [("flite", "awb", "en"),
                                                                                 ("festival", "ked_diphone", "en")]
    for clip in index["clips"]:
        assert clip["length"] % SAMPLES_PER_FRAME == 0 and clip["length"] > SAMPLE_RATE  # two sentences: > 1 s
        assert clip["sentences"] == 2 and 0.85 <= clip["duration_stretch"] <= 1.25
        x = audio[clip["offset"]: clip["offset"] + clip["length"]].astype(np.float64)
        assert np.abs(x).max() > 20000  # stored peak-normalised
        spectrum = np.abs(np.fft.rfft(x)) ** 2
        low = spectrum[: len(spectrum) * 4000 // 24000].sum()  # speech: most energy below 4 kHz
        assert low / spectrum.sum() > 0.8


def test_rendering_again_keeps_the_clips(rendered):
    root, _ = rendered
    files = sorted(datapaths.clip_dir(root, datapaths.UNSEEN_TTS_SPLIT, "speech").glob("*.npy"))
    before = {f: f.stat().st_mtime_ns for f in files}
    voices = render_unseen_speech.resolve_voices(["flite:awb", "festival:ked_diphone"])
    render_unseen_speech.build(root, voices, clips_per_voice=1, n_sentences=2, log=lambda text: None)
    assert {f: f.stat().st_mtime_ns for f in files} == before


def test_other_languages_read_pseudo_words_without_digits():
    rng = np.random.default_rng(3)
    for language in ("it", "cs", "fi", "ca"):
        text = render_unseen_speech.make_text(rng, language, 5)
        assert not re.search(r"\d", text) and len(text.split()) >= 15
    # espeak's own sentences keep their numbers, drawn as before
    with_numbers = " ".join(render_speech.make_sentence(np.random.default_rng(7), "it") for _ in range(1))
    assert with_numbers == render_speech.make_sentence(np.random.default_rng(7), "it", numbers=True)


def test_trailing_warning_text_is_cut_from_the_wav(tmp_path):
    buffer = io.BytesIO()
    soundfile.write(buffer, np.linspace(-0.5, 0.5, 1600, dtype=np.float32), 16000, format="WAV", subtype="PCM_16")
    wav = tmp_path / "speech.wav"
    wav.write_bytes(buffer.getvalue() + b"UniSyn: using default diphone #-# for w-u1\n")
    render_unseen_speech._drop_trailing_text(wav)
    audio, rate = soundfile.read(wav)
    assert rate == 16000 and len(audio) == 1600 and wav.stat().st_size == len(buffer.getvalue())


def test_unknown_voice_lists_the_known_ones(capsys):
    with pytest.raises(KeyError, match="festival:kal_diphone"):
        render_unseen_speech.resolve_voices(["festival:nobody"])
    assert render_unseen_speech.main(["--voices", "flite:nobody"]) == 1
    assert "unknown voice(s) flite:nobody; known: flite:kal16" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        render_unseen_speech.main(["--clips-per-voice", "0"])


def test_setup_installs_every_synthesiser_the_set_needs():
    setup = (REPO / "scripts" / "setup.sh").read_text()
    packages = re.search(r"TEST_PACKAGES=\((.*?)\)", setup, re.S).group(1)
    listed = {word for line in packages.splitlines() for word in line.split("#")[0].split()}
    assert set(render_unseen_speech.PACKAGES) <= listed
