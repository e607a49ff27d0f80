"""rtmusic.processor: model names, declared latency, and offline == hop-by-hop, across chunk boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from rtmusic import processor as processor_module
from rtmusic.errors import CheckpointError, ParameterError
from rtmusic.processor import BUILTIN_MODELS, OFFLINE_CHUNK_HOPS, Processor, load_model


@pytest.fixture(scope="module")
def lstm():
    return Processor(load_model("lstm-random"))


def _noise(n: int, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def test_builtin_names():
    assert set(BUILTIN_MODELS) == {"default", "lookahead", "bypass", "lstm-random"}
    bypass = load_model("bypass")
    assert (bypass.name, bypass.kind, bypass.samplerate, bypass.hop, bypass.window) == ("bypass", "bypass", 48000, 240, 480)
    lstm = load_model("lstm-random")
    assert (lstm.name, lstm.kind, lstm.aux_names) == ("lstm-random", "denoiser", ("gain_db",))
    default = load_model("default")
    assert default.kind == "denoiser" and default.name.startswith("default")
    # every built-in declares the same latency: one 10 ms window, no look-ahead
    for model in (bypass, lstm, default):
        assert model.algorithmic_latency == 480 and model.lookahead == 0 and model.delay == 240


def test_declared_properties(lstm):
    assert (lstm.samplerate, lstm.hop, lstm.delay_samples, lstm.latency_samples) == (48000, 240, 240, 480)


def test_unknown_name_lists_the_builtins():
    with pytest.raises(CheckpointError, match="no model named 'nosuch'.*default, lookahead, bypass, lstm-random.*.rtm"):
        load_model("nosuch")


@pytest.mark.parametrize("path", ["missing.rtm", "dir/missing"])
def test_missing_checkpoint_path(tmp_path, path):
    with pytest.raises(CheckpointError, match="not found; check the path"):
        load_model(str(tmp_path / path))


def test_a_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "model.rtm"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match="not an rtmusic checkpoint"):
        load_model(str(bad))


def test_process_rejects_non_mono(lstm):
    with pytest.raises(ParameterError, match="mono"):
        lstm.process(np.zeros((100, 2), np.float32))


def test_bypass_process_is_delay_compensated_and_exact():
    proc = Processor(load_model("bypass"))
    x = _noise(12345, seed=1)
    result = proc.process(x)
    assert result.out.shape == x.shape and np.array_equal(result.out, x)
    assert result.nonfinite_resets == 0


def _hop_by_hop(proc: Processor, x: np.ndarray) -> np.ndarray:
    proc.reset()
    n_hops = -(-(x.size + proc.delay_samples) // proc.hop)
    padded = np.zeros(n_hops * proc.hop, np.float32)
    padded[: x.size] = x
    outs = [proc.process_hop(h).out for h in padded.reshape(-1, proc.hop)]
    return np.concatenate(outs)[proc.delay_samples: proc.delay_samples + x.size]


def test_process_equals_hop_by_hop_across_chunk_boundaries(lstm):
    """A signal longer than one offline chunk: the scan in chunks equals the live, one-hop path."""
    n = (OFFLINE_CHUNK_HOPS + 77) * lstm.hop + 123
    t = np.arange(n) / 48000
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.7 * t)) / 2 + _noise(n, seed=2, scale=0.05))
    x = x.astype(np.float32)
    progress = []
    offline = lstm.process(x, progress=lambda done, total: progress.append((done, total)))
    assert offline.out.shape == x.shape
    assert progress[-1][0] == progress[-1][1] and len(progress) == 2  # two chunks
    assert offline.aux.shape == (progress[-1][1], 1)
    live = _hop_by_hop(lstm, x)
    np.testing.assert_allclose(offline.out, live, atol=1e-5, rtol=0)
    # the model really does something, so the equality above is not trivially the input
    assert np.max(np.abs(offline.out - x)) > 1e-3


def test_process_is_independent_of_the_chunk_size(lstm, monkeypatch):
    x = _noise(300 * lstm.hop + 17, seed=3)
    whole = lstm.process(x).out
    monkeypatch.setattr(processor_module, "OFFLINE_CHUNK_HOPS", 64)
    chunked = lstm.process(x).out
    np.testing.assert_allclose(chunked, whole, atol=1e-5, rtol=0)


def test_process_resets_state_by_default(lstm):
    x = _noise(4800, seed=4)
    first = lstm.process(x).out
    lstm.process(_noise(4800, seed=5, scale=0.8))
    assert np.array_equal(lstm.process(x).out, first)


def test_prepare_compiles_and_leaves_a_fresh_state():
    proc = Processor(load_model("lstm-random"), atten_lim_db=12.0)
    assert not proc.prepared
    proc.prepare(warmup_hops=4)
    assert proc.prepared and proc._step._cache_size() == 1
    for got, fresh in zip(np.asarray(proc.carry.frame_tail), np.asarray(proc.model.init_carry().frame_tail)):
        assert got == fresh
    result = proc.process_hop(_noise(240, seed=6))
    assert result.out.shape == (240,) and result.aux.shape == (1,) and result.aux[0] >= -12.01
