"""Model files: a JSON header (format, version, model kind, config) followed by raw parameter arrays.

No pickle: a checkpoint is data only, safe to open from anywhere. Layout::

    b"RTMUSIC1" | u64 little-endian header length | header JSON (utf-8) | array bytes ...

The header lists every array (path, dtype, shape, offset, nbytes) and the SHA-256 of the payload, so a
truncated or corrupted file is reported as such instead of loading garbage.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from rtmusic.errors import CheckpointError

MAGIC = b"RTMUSIC1"
FORMAT_VERSION = 1
_ALLOWED_DTYPES = {"float32", "float16", "int32", "uint8"}


def _flatten(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    if isinstance(tree, dict):
        flat: dict[str, np.ndarray] = {}
        for key in sorted(tree):
            if "/" in str(key):
                raise CheckpointError(f"parameter name {key!r} contains '/', which the format reserves")
            flat.update(_flatten(tree[key], f"{prefix}{key}/"))
        return flat
    return {prefix[:-1]: np.asarray(tree)}


def _unflatten(flat: dict[str, np.ndarray]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path, array in flat.items():
        node = tree
        *parents, leaf = path.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = array
    return tree


def save(path: str | Path, weights: Any, *, kind: str, config: dict[str, Any], meta: dict[str, Any] | None = None,
         dtype: str | None = None) -> Path:
    """Write `weights` (nested dict of arrays) with its header. `dtype` (e.g. "float16") shrinks the file."""
    path = Path(path)
    flat = _flatten(weights)
    arrays, entries, offset = [], [], 0
    for name, array in flat.items():
        if dtype is not None and np.issubdtype(array.dtype, np.floating):
            array = array.astype(dtype)
        array = np.ascontiguousarray(array)
        if array.dtype.name not in _ALLOWED_DTYPES:
            raise CheckpointError(f"cannot store {name} of dtype {array.dtype}; use one of {sorted(_ALLOWED_DTYPES)}")
        arrays.append(array.astype(array.dtype.newbyteorder("<"), copy=False))
        entries.append({"name": name, "dtype": array.dtype.name, "shape": list(array.shape),
                        "offset": offset, "nbytes": array.nbytes})
        offset += array.nbytes
    payload = b"".join(a.tobytes() for a in arrays)
    header = {
        "format": "rtmusic-checkpoint",
        "version": FORMAT_VERSION,
        "kind": kind,
        "config": config,
        "meta": meta or {},
        "arrays": entries,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    header_bytes = json.dumps(header, indent=1).encode()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(header_bytes)) + header_bytes + payload)
    tmp.replace(path)  # atomic: an interrupted save never leaves a half-written checkpoint behind
    return path


def read_header(path: str | Path) -> dict[str, Any]:
    return load(path, header_only=True)[0]


def load(path: str | Path, header_only: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (header, weights) where weights is a nested dict of float32/int arrays."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file {path} not found; check the path or pick a built-in model (default, lookahead, bypass, lstm-random)")
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{path} is not an rtmusic checkpoint (bad magic bytes); was it saved by rtmusic?")
    try:
        (header_len,) = struct.unpack_from("<Q", data, len(MAGIC))
        start = len(MAGIC) + 8
        header = json.loads(data[start:start + header_len].decode())
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} has a corrupt or truncated header ({exc}); re-export or re-download it") from exc
    if header.get("format") != "rtmusic-checkpoint":
        raise CheckpointError(f"{path} is not an rtmusic checkpoint (format={header.get('format')!r})")
    if header.get("version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} uses checkpoint format {header['version']}; upgrade rtmusic to read it")
    if header_only:
        return header, {}
    payload = data[start + header_len:]
    expected = sum(e["nbytes"] for e in header["arrays"])
    if len(payload) != expected:
        raise CheckpointError(f"{path} is truncated: {len(payload)} of {expected} parameter bytes present")
    if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise CheckpointError(f"{path} is corrupt: parameter checksum mismatch")
    flat = {}
    for e in header["arrays"]:
        if e["dtype"] not in _ALLOWED_DTYPES:
            raise CheckpointError(f"{path}: array {e['name']} has unsupported dtype {e['dtype']}")
        array = np.frombuffer(payload, dtype=np.dtype(e["dtype"]).newbyteorder("<"),
                              count=int(np.prod(e["shape"], dtype=np.int64)), offset=e["offset"]).reshape(e["shape"])
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)
        flat[e["name"]] = array.astype(array.dtype.newbyteorder("="))
    return header, _unflatten(flat)
