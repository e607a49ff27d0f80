"""RateBridge: a Processor as seen from a device at another sample rate (e.g. 44.1 kHz).

The live engine moves fixed hops at one constant lag. At a device rate R the bridge takes hops of
`device_hop(R)` samples (the shortest whole number that is a whole number of model hops: 441 = 10 ms at
44.1 kHz), resamples each to the model's rate, runs the model's hops on it and resamples the result back,
with `rtmusic.resample.StreamResampler` on both sides, so every hop in gives exactly one hop out and the lag
is a constant the engine declares and keeps. It runs in the worker thread, never in the audio callback.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from rtmusic.errors import ParameterError
from rtmusic.processor import HopResult, Processor
from rtmusic.resample import DEFAULT_TAPS, StreamResampler

MAX_MODEL_HOPS_PER_DEVICE_HOP = 4  # 20 ms hops at most: rates needing longer hops are refused
MIN_DEVICE_RATE = 8000


class BridgedModel(NamedTuple):
    """What the engine and the label display read of a model, in device samples."""

    name: str
    kind: str
    samplerate: int
    hop: int
    delay: int
    aux_names: tuple[str, ...]
    config: dict[str, Any]


def device_hop(device_rate: int, model_rate: int, model_hop: int) -> int:
    """Device samples per bridged hop: the fewest that span a whole number of model hops."""
    # device_rate * k * model_hop / model_rate must be whole: k = model_rate / gcd(model_rate, device_rate * model_hop)
    k = model_rate // math.gcd(model_rate, device_rate * model_hop)
    return device_rate * k * model_hop // model_rate


def check_device_rate(device_rate: int, model_rate: int, model_hop: int) -> None:
    """Raise ParameterError, saying what to do, for a rate the bridge cannot serve well."""
    if device_rate < MIN_DEVICE_RATE:
        raise ParameterError(f"sample rate {device_rate} Hz is too low; run the device at {model_rate} Hz "
                             "(or 44100 Hz)")
    hops = device_hop(device_rate, model_rate, model_hop) * model_rate // (device_rate * model_hop)
    if hops > MAX_MODEL_HOPS_PER_DEVICE_HOP:
        raise ParameterError(
            f"sample rate {device_rate} Hz would need hops of {hops * model_hop * 1000 // model_rate} ms to "
            f"resample to the model's {model_rate} Hz; run the device at {model_rate} Hz (or 44100, 96000, "
            "88200, 32000 Hz)")


class RateBridge:
    """Wraps a Processor for `device_rate`; offers what the live engine uses of a Processor."""

    def __init__(self, processor: Processor, device_rate: int):
        model_rate, model_hop = processor.samplerate, processor.hop
        check_device_rate(device_rate, model_rate, model_hop)
        self.processor = processor
        self.samplerate = int(device_rate)
        self.hop = device_hop(self.samplerate, model_rate, model_hop)
        self.model_hops = self.hop * model_rate // (self.samplerate * model_hop)
        self._to_device = StreamResampler(model_rate, self.samplerate, max_chunk=self.hop * model_rate // self.samplerate)
        # input sample t reaches the model delay_in (device samples) later, the model's output of it comes
        # model.delay model samples after that, and the way back adds the other delay_in (model samples). The
        # way in takes the fraction that makes the sum whole, so the callback's dry path (a whole number of
        # samples back) lines up with the processed hops exactly.
        ratio = self.samplerate / model_rate
        back = (processor.delay_samples + self._to_device.delay_in) * ratio
        self.delay_samples = math.ceil(back - 1e-9) + DEFAULT_TAPS // 2
        self._to_model = StreamResampler(self.samplerate, model_rate, max_chunk=self.hop,
                                         delay=self.delay_samples - back)
        self.model = BridgedModel(name=processor.model.name, kind=processor.model.kind, samplerate=self.samplerate,
                                  hop=self.hop, delay=self.delay_samples, aux_names=tuple(processor.model.aux_names),
                                  config=processor.model.config)
        self._model_out = np.zeros(self.model_hops * model_hop, np.float32)

    @property
    def latency_samples(self) -> int:
        """Block-I/O latency in device samples: the bridged lag plus one (device) hop collected."""
        return self.delay_samples + self.hop

    @property
    def prepared(self) -> bool:
        return self.processor.prepared

    def prepare(self, warmup_hops: int = 32) -> "RateBridge":
        """Compile and warm up the model's step and the resamplers (Numba), then reset."""
        self.processor.prepare(warmup_hops)
        silence = np.zeros(self.hop, np.float32)
        for _ in range(4):
            self.process_hop(silence)
        self.reset()
        return self

    def reset(self) -> None:
        self.processor.reset()
        self._to_model.reset()
        self._to_device.reset()

    def compiled_programs(self) -> int:
        return self.processor.compiled_programs()

    def process_hop(self, hop: np.ndarray) -> HopResult:
        """One device hop [hop] -> HopResult of one device hop; aux is the last model hop's."""
        at_model_rate = self._to_model.process(hop)
        model_hop = self.processor.hop
        aux, reset = None, False
        for k in range(self.model_hops):
            part = slice(k * model_hop, (k + 1) * model_hop)
            result = self.processor.process_hop(at_model_rate[part])
            self._model_out[part] = result.out
            aux, reset = result.aux, reset or result.nonfinite_reset
        out = self._to_device.process(self._model_out).copy()
        return HopResult(out, aux, reset)
