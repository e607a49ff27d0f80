"""The denoisers shipped inside the package: loadable, small, and streaming output equals offline output."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rtmusic import checkpoint, registry
from rtmusic.engine.emulate import emulate_stream
from rtmusic.engine import state as S
from rtmusic.models import DenoiserConfig
from rtmusic.processor import Processor, load_model

# name -> algorithmic latency in ms: the default is causal (window 10 ms); `lookahead` shapes a frame one hop old
SHIPPED_LATENCY_MS = {"default": 10.0, "lookahead": 15.0}


@pytest.mark.parametrize("name", sorted(registry.SHIPPED_DENOISERS))
def test_builtin_name_is_a_shipped_trained_denoiser(name):
    path = registry.shipped_weights_path(registry.SHIPPED_DENOISERS[name])
    assert path is not None, f"rtmusic/weights/{registry.SHIPPED_DENOISERS[name]} is missing from the package"
    assert path.stat().st_size < 5_000_000
    header = checkpoint.read_header(path)
    assert header["kind"] == "denoiser" and header["meta"]["validation"]["sisdri_speech"] > 0
    assert path.with_suffix(".md").is_file(), "the model card belongs beside the weights"
    model = load_model(name)
    assert model.name == name and model.kind == "denoiser"
    assert model.algorithmic_latency * 1000 / model.samplerate == pytest.approx(SHIPPED_LATENCY_MS[name])


def test_lookahead_is_the_default_net_shaping_an_older_frame():
    """The look-ahead model is the default's net one hop later: since session 22 both shape the 40 ms low-delay
    analysis, the look-ahead one's ending with the frame it shapes. Only what acts on the fine bins (the per-fine-bin
    correction's width and context, the fine gain head, the fine-bin floor) may differ: a cycle that grows it reaches
    one model before the other."""
    default, lookahead = (DenoiserConfig.from_dict(checkpoint.read_header(
        registry.shipped_weights_path(registry.SHIPPED_DENOISERS[n]))["config"]) for n in ("default", "lookahead"))
    assert (default.lookahead_hops, lookahead.lookahead_hops) == (0, 1)
    assert default.analysis_window == lookahead.analysis_window == 1920
    correction = {name: getattr(default, name) for name in ("fine_gain_channels", "fine_gain_context", "fine_head_bins",
                                                            "fine_floor_rise_db_per_s")}
    assert replace(lookahead, lookahead_hops=0, **correction) == default


@pytest.mark.parametrize("name", sorted(registry.SHIPPED_DENOISERS))
def test_shipped_model_streams_exactly_like_offline(name):
    processor = Processor.from_name(name).prepare()
    rng = np.random.default_rng(7)
    t = np.arange(3 * 48000) / 48000
    music = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    signal = (music + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    offline = processor.process(signal).out
    sizes = (1, 7, 64, 65, 128, 480, 1000, 4096)
    live, state = emulate_stream(processor, signal, sizes, prefill=processor.hop + max(sizes))
    lag = int(state.ctl[S.TOTAL_DELAY])
    assert lag >= processor.model.algorithmic_latency
    assert state.counters()["deadline_misses"] == 0
    np.testing.assert_allclose(live[lag:lag + signal.size], offline, atol=1e-5)
