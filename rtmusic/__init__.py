"""rtmusic: real-time, music-preserving denoising and classification of a live audio stream.

Public API (heavy modules load lazily, so `import rtmusic` stays light):

- ``rtmusic.Processor``: one model, one streaming state; ``prepare()`` compiles and warms up,
  ``process_hop()`` runs one hop live, ``process()`` scans a whole signal offline with the same step.
- ``rtmusic.load_model(name_or_path)``: a built-in name (``default``, ``lookahead``, ``bypass``,
  ``lstm-random``) or a checkpoint path.
- ``rtmusic.load_classifier(name_or_path)``: ``default``, ``classifier-random`` or a checkpoint of kind
  "classifier"; ``rtmusic.model_for_tasks("denoise,classify", model, classifier)``: the one model a stream
  runs for its tasks (the combined model for both). Label probabilities are the step's aux
  (``rtmusic.labels`` summarises them per window).
- ``rtmusic.errors``: ``RtmusicError`` and its subclasses.
"""

from __future__ import annotations

__version__ = "0.1.0"

from rtmusic.errors import (  # noqa: F401  (re-exports)
    AudioFileError,
    CheckpointError,
    DeviceError,
    LatencyBudgetError,
    ParameterError,
    RtmusicError,
    StreamAborted,
)


def __getattr__(name: str):
    if name in ("Processor", "load_model", "load_classifier", "model_for_tasks"):
        from rtmusic import processor

        return getattr(processor, name)
    raise AttributeError(f"module 'rtmusic' has no attribute {name!r}")
