"""The denoiser shipped inside the package: loadable, small, and streaming output equals offline output."""

from __future__ import annotations

import numpy as np

from rtmusic import checkpoint, registry
from rtmusic.engine.emulate import emulate_stream
from rtmusic.engine import state as S
from rtmusic.processor import Processor, load_model


def test_default_is_the_shipped_trained_denoiser():
    path = registry.shipped_weights_path(registry.SHIPPED_DENOISER)
    assert path is not None, "rtmusic/weights/denoiser.rtm is missing from the package"
    assert path.stat().st_size < 5_000_000
    header = checkpoint.read_header(path)
    assert header["kind"] == "denoiser" and header["meta"]["validation"]["sisdri_speech"] > 0
    assert path.with_suffix(".md").is_file(), "the model card belongs beside the weights"
    model = load_model("default")
    assert model.name == "default" and model.kind == "denoiser"
    assert model.algorithmic_latency * 1000 / model.samplerate <= 20.0


def test_shipped_model_streams_exactly_like_offline():
    processor = Processor.from_name("default").prepare()
    rng = np.random.default_rng(7)
    t = np.arange(3 * 48000) / 48000
    music = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    signal = (music + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    offline = processor.process(signal).out
    sizes = (1, 7, 64, 65, 128, 480, 1000, 4096)
    live, state = emulate_stream(processor, signal, sizes, prefill=processor.hop + max(sizes))
    lag = int(state.ctl[S.TOTAL_DELAY])
    assert state.counters()["deadline_misses"] == 0
    np.testing.assert_allclose(live[lag:lag + signal.size], offline, atol=1e-5)
