"""Algorithmic latency in the three conventions found in papers and product sheets.

For an STFT model with analysis window W, hop H and look-ahead A (frames of future context, in samples):

- ``window_minus_hop`` = W - H: the overlap-add convention (the delay of an offline STFT round trip when
  samples are streamed one at a time; it ignores the hop a block-based system must collect first).
- ``window_plus_lookahead`` = W + A: the block-I/O convention rtmusic reports as "algorithmic"; it already
  includes collecting one hop (rtmusic's `StreamModel.algorithmic_latency`).
- ``window_hop_lookahead`` = W + H + A: block-I/O with hop-sized host blocks (the DNS-challenge style
  figure, counting one more hop of buffering).

None of them contains the engine's pre-fill or the device latency: those are measured (`roundtrip`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rtmusic.errors import ParameterError


@dataclass(frozen=True)
class LatencyConventions:
    samplerate: int
    window: int
    hop: int
    lookahead: int

    def samples(self) -> dict[str, int]:
        w, h, a = self.window, self.hop, self.lookahead
        return {"window_minus_hop": w - h, "window_plus_lookahead": w + a, "window_hop_lookahead": w + h + a}

    def as_dict(self) -> dict:
        s = self.samples()
        return {"samplerate": self.samplerate, "window": self.window, "hop": self.hop, "lookahead": self.lookahead,
                "samples": s, "ms": {k: round(1000.0 * v / self.samplerate, 3) for k, v in s.items()}}


def conventions(*, samplerate: int, window: int, hop: int, lookahead: int = 0) -> LatencyConventions:
    """Validate and build; all arguments in samples (rate in Hz)."""
    if samplerate <= 0 or window <= 0 or hop <= 0 or hop > window or lookahead < 0:
        raise ParameterError(f"need samplerate > 0, 0 < hop <= window, lookahead >= 0; got samplerate={samplerate}, "
                             f"window={window}, hop={hop}, lookahead={lookahead}")
    return LatencyConventions(samplerate, window, hop, lookahead)


def model_conventions(model) -> LatencyConventions:
    """The conventions of a `rtmusic.step.StreamModel`."""
    return conventions(samplerate=model.samplerate, window=model.window, hop=model.hop, lookahead=model.lookahead)
