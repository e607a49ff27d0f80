"""Flax modules: the learned cores of rtmusic's streaming models.

Each core is a recurrent cell, ``cell(carry, features) -> (carry, outputs)`` with ``initialize_carry``,
so the same module serves one hop live and a scanned sequence in training. The DSP around the cores
(windows, STFT, overlap-add, feature normalisation) lives in ``rtmusic.step``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from rtmusic.errors import ParameterError

LstmState = tuple[tuple[jax.Array, jax.Array], ...]  # per layer (c [hidden], h [hidden])


@dataclass(frozen=True)
class DenoiserConfig:
    """Everything that fixes a denoiser's shapes and streaming behaviour (stored in checkpoints)."""

    samplerate: int = 48000
    hop: int = 240  # 5 ms: one LSTM step per hop
    window: int = 480  # 10 ms sqrt-Hann analysis/synthesis window -> 10 ms algorithmic latency
    hidden: int = 128
    layers: int = 2
    level_tau_s: float = 1.0  # time constant of the running per-bin level used to normalise features
    gain_bias_init: float = 3.0  # sigmoid(3) = 0.95: an untrained net starts close to pass-through

    def __post_init__(self):
        if self.window % self.hop or self.window < self.hop:
            raise ParameterError(
                f"window ({self.window}) must be a multiple of hop ({self.hop}); pick e.g. hop=240, window=480"
            )
        if self.window // self.hop != 2:
            raise ParameterError("only 50 % overlap (window = 2 * hop) is supported by the sqrt-Hann OLA")

    @property
    def bins(self) -> int:
        return self.window // 2 + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DenoiserConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ParameterError(f"unknown denoiser config keys {sorted(unknown)}; is the checkpoint newer than rtmusic?")
        return cls(**data)


class MaskNet(nn.Module):
    """Per-bin gain estimator: features of one frame -> gains in (0, 1) for each STFT bin.

    Dense embedding -> stacked LSTM cells -> dense gain head (with a skip from the embedding).
    """

    bins: int
    hidden: int = 128
    layers: int = 2
    gain_bias_init: float = 3.0

    @nn.compact
    def __call__(self, carry: LstmState, features: jax.Array) -> tuple[LstmState, jax.Array]:
        embed = nn.relu(nn.Dense(self.hidden, name="embed")(features))
        x = embed
        new_carry = []
        for i in range(self.layers):
            layer_carry, x = nn.OptimizedLSTMCell(self.hidden, name=f"lstm{i}")(carry[i], x)
            new_carry.append(layer_carry)
        logits = nn.Dense(
            self.bins, name="gain", bias_init=nn.initializers.constant(self.gain_bias_init)
        )(jnp.concatenate([x, embed], axis=-1))
        return tuple(new_carry), nn.sigmoid(logits)

    def initialize_carry(self, batch_shape: tuple[int, ...] = ()) -> LstmState:
        zeros = jnp.zeros(batch_shape + (self.hidden,), jnp.float32)
        return tuple((zeros, zeros) for _ in range(self.layers))


def mask_net(config: DenoiserConfig) -> MaskNet:
    return MaskNet(
        bins=config.bins, hidden=config.hidden, layers=config.layers, gain_bias_init=config.gain_bias_init
    )


def feature_size(config: DenoiserConfig) -> int:
    """Normalised level and absolute level per bin."""
    return 2 * config.bins


def init_mask_net(config: DenoiserConfig, seed: int = 0):
    """Random weights of the shipped size (used until trained weights exist, and to start training)."""
    net = mask_net(config)
    carry = net.initialize_carry()
    features = jnp.zeros((feature_size(config),), jnp.float32)
    return net.init(jax.random.PRNGKey(seed), carry, features)["params"]
