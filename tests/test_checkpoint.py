"""rtmusic.checkpoint: a data-only format that round-trips and reports every kind of damage clearly."""

from __future__ import annotations

import json
import importlib
import struct

import jax
import numpy as np
import pytest

from rtmusic import checkpoint
from rtmusic.errors import CheckpointError
from rtmusic.models import DenoiserConfig, init_mask_net
from rtmusic.processor import Processor, model_from_checkpoint

SMALL = DenoiserConfig(hop=64, window=128, hidden=16, layers=1)


@pytest.fixture(scope="module")
def weights():
    return jax.tree_util.tree_map(np.asarray, init_mask_net(SMALL, seed=1))


@pytest.fixture
def saved(tmp_path, weights):
    return checkpoint.save(tmp_path / "m.rtm", weights, kind="denoiser", config=SMALL.to_dict(), meta={"note": "t"})


def _leaves(tree) -> dict[str, np.ndarray]:
    return {jax.tree_util.keystr(path): leaf for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


@pytest.mark.parametrize("dtype", [None, "float16"])
def test_round_trip(tmp_path, weights, dtype):
    path = checkpoint.save(tmp_path / "m.rtm", weights, kind="denoiser", config=SMALL.to_dict(),
                           meta={"step": 7}, dtype=dtype)
    assert not (tmp_path / "m.rtm.tmp").exists()  # written atomically
    header, loaded = checkpoint.load(path)
    assert header["kind"] == "denoiser" and header["config"] == SMALL.to_dict() and header["meta"] == {"step": 7}
    assert {e["dtype"] for e in header["arrays"]} == {dtype or "float32"}
    want, got = _leaves(weights), _leaves(loaded)
    assert want.keys() == got.keys()
    for key in want:
        assert got[key].dtype == np.float32 and got[key].shape == want[key].shape
        expected = want[key] if dtype is None else want[key].astype(np.float16).astype(np.float32)
        assert np.array_equal(got[key], expected), key
    if dtype == "float16":
        assert path.stat().st_size < 0.6 * checkpoint.save(tmp_path / "f32.rtm", weights, kind="denoiser",
                                                           config=SMALL.to_dict()).stat().st_size


def test_loaded_model_computes_the_same_output(saved, weights):
    from rtmusic.step import denoiser_model

    x = (0.1 * np.random.default_rng(0).standard_normal(2000)).astype(np.float32)
    original = Processor(denoiser_model(SMALL, weights)).process(x).out
    restored = Processor(model_from_checkpoint(saved)).process(x).out
    assert np.array_equal(original, restored)
    assert checkpoint.read_header(saved)["version"] == checkpoint.FORMAT_VERSION


def test_no_pickle_involved(saved, monkeypatch):
    unpickler = importlib.import_module("pickle")  # only to make every way of unpickling fail

    def forbidden(*args, **kwargs):
        raise AssertionError("checkpoint loading must not unpickle or np.load")

    for name in ("load", "loads"):
        monkeypatch.setattr(unpickler, name, forbidden)
    monkeypatch.setattr(unpickler, "Unpickler", forbidden)
    monkeypatch.setattr(np, "load", forbidden)
    header, loaded = checkpoint.load(saved)
    assert loaded and header["format"] == "rtmusic-checkpoint"
    assert saved.read_bytes().startswith(checkpoint.MAGIC)


def _rewrite_header(path, **changes):
    data = path.read_bytes()
    (n,) = struct.unpack_from("<Q", data, len(checkpoint.MAGIC))
    start = len(checkpoint.MAGIC) + 8
    header = {**json.loads(data[start:start + n]), **changes}
    body = json.dumps(header).encode()
    path.write_bytes(checkpoint.MAGIC + struct.pack("<Q", len(body)) + body + data[start + n:])


def _truncate_payload(path):
    path.write_bytes(path.read_bytes()[:-100])


def _truncate_header(path):
    path.write_bytes(path.read_bytes()[:40])


def _flip_payload_byte(path):
    data = bytearray(path.read_bytes())
    data[-7] ^= 0x10
    path.write_bytes(bytes(data))


def _wrong_magic(path):
    path.write_bytes(b"NOTMAGIC" + path.read_bytes()[8:])


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(0).bytes(5000))


def _newer_version(path):
    _rewrite_header(path, version=checkpoint.FORMAT_VERSION + 1)


def _other_format(path):
    _rewrite_header(path, format="something-else")


def _missing(path):
    path.unlink()


@pytest.mark.parametrize("damage, message", [
    (_truncate_payload, r"truncated: \d+ of \d+ parameter bytes"),
    (_truncate_header, r"corrupt or truncated header .*re-export or re-download"),
    (_flip_payload_byte, r"corrupt: parameter checksum mismatch"),
    (_wrong_magic, r"not an rtmusic checkpoint \(bad magic bytes\)"),
    (_random_bytes, r"not an rtmusic checkpoint"),
    (_newer_version, r"checkpoint format 2; upgrade rtmusic"),
    (_other_format, r"not an rtmusic checkpoint \(format='something-else'\)"),
    (_missing, r"not found; check the path"),
])
def test_damaged_files_raise_checkpoint_error(saved, damage, message):
    damage(saved)
    with pytest.raises(CheckpointError, match=message) as info:
        checkpoint.load(saved)
    assert str(saved) in str(info.value)  # names the file
    assert "\n" not in str(info.value)  # one line for the CLI


def test_newer_version_is_refused_even_for_header_only(saved):
    _newer_version(saved)
    with pytest.raises(CheckpointError, match="upgrade rtmusic"):
        checkpoint.read_header(saved)


def test_unknown_model_kind_is_refused(tmp_path, weights):
    path = checkpoint.save(tmp_path / "k.rtm", weights, kind="transformer", config={})
    with pytest.raises(CheckpointError, match="kind 'transformer'.*upgrade rtmusic"):
        model_from_checkpoint(path)


def test_unstorable_values_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="dtype"):
        checkpoint.save(tmp_path / "x.rtm", {"w": np.zeros(3, np.complex64)}, kind="denoiser", config={})
    with pytest.raises(CheckpointError, match="'/'"):
        checkpoint.save(tmp_path / "y.rtm", {"a/b": np.zeros(3, np.float32)}, kind="denoiser", config={})
