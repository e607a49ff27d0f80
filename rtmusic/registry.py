"""Which model a name or path means, answered without loading JAX (so argument errors come fast)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rtmusic import checkpoint
from rtmusic.errors import CheckpointError, ParameterError

BUILTIN_MODELS = ("default", "lookahead", "bypass", "lstm-random")
BUILTIN_SAMPLERATE = 48000
BUILTIN_HOP = 240
SHIPPED_DENOISER = "denoiser.rtm"  # inside rtmusic/weights/
SHIPPED_LOOKAHEAD_DENOISER = "denoiser-lookahead.rtm"  # the same net shaping a frame 5 ms old: +5 ms, cleaner
SHIPPED_DENOISERS = {"default": SHIPPED_DENOISER, "lookahead": SHIPPED_LOOKAHEAD_DENOISER}
BUILTIN_CLASSIFIERS = ("default", "classifier-random")
SHIPPED_CLASSIFIER = "classifier.rtm"  # inside rtmusic/weights/
TASKS = ("denoise", "classify")


def shipped_weights_path(filename: str) -> Path | None:
    path = Path(str(resources.files("rtmusic") / "weights" / filename))
    return path if path.is_file() else None


def checkpoint_path(name_or_path: str) -> Path | None:
    """The file behind a model argument (None for weight-free built-ins); raises for unknown names."""
    if name_or_path in ("bypass", "lstm-random", "classifier-random"):
        return None
    if name_or_path == "default":
        return shipped_weights_path(SHIPPED_DENOISER)
    if name_or_path in SHIPPED_DENOISERS:
        path = shipped_weights_path(SHIPPED_DENOISERS[name_or_path])
        if path is None:
            raise CheckpointError(f"the bundled {name_or_path!r} model ({SHIPPED_DENOISERS[name_or_path]}) is missing "
                                  "from rtmusic/weights/; reinstall rtmusic, or use --model default")
        return path
    path = Path(name_or_path)
    if path.suffix == ".rtm" or path.exists() or "/" in name_or_path:
        return path
    raise CheckpointError(
        f"no model named {name_or_path!r}; built-in models: {', '.join(BUILTIN_MODELS)}, or give a .rtm file path"
    )


def classifier_checkpoint_path(name_or_path: str) -> Path | None:
    """The file behind a classifier argument: `default` = the shipped weights when present (else None,
    meaning random weights), `classifier-random` = None, anything else a checkpoint path."""
    if name_or_path == "default":
        return shipped_weights_path(SHIPPED_CLASSIFIER)
    if name_or_path == "classifier-random":
        return None
    path = Path(name_or_path)
    if path.suffix == ".rtm" or path.exists() or "/" in name_or_path:
        return path
    raise CheckpointError(
        f"no classifier named {name_or_path!r}; built-in classifiers: {', '.join(BUILTIN_CLASSIFIERS)}, "
        "or give a .rtm file path"
    )


def parse_tasks(text: str) -> tuple[str, ...]:
    """`--task` value -> tasks in canonical order: "denoise", "classify" or "denoise,classify"."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    unknown = [p for p in parts if p not in TASKS]
    if unknown or not parts:
        raise ParameterError(
            f"unknown task {(unknown[0] if unknown else text)!r}; choose denoise, classify or denoise,classify"
        )
    return tuple(t for t in TASKS if t in parts)


def classifier_samplerate(name_or_path: str) -> int:
    """The rate a classifier runs at (from its checkpoint header; built-ins run at 48 kHz)."""
    path = classifier_checkpoint_path(name_or_path)
    if path is None:
        return BUILTIN_SAMPLERATE
    return int(checkpoint.read_header(path)["config"].get("samplerate", BUILTIN_SAMPLERATE))


def model_samplerate(name_or_path: str) -> int:
    """The rate a model runs at, from its checkpoint header (missing/corrupt files raise CheckpointError)."""
    path = checkpoint_path(name_or_path)
    if path is None:
        return BUILTIN_SAMPLERATE
    return int(checkpoint.read_header(path)["config"].get("samplerate", BUILTIN_SAMPLERATE))


def model_hop(name_or_path: str, *, classifier: bool = False) -> int:
    """Samples per step of a denoiser (or a classifier), from its checkpoint header."""
    path = (classifier_checkpoint_path if classifier else checkpoint_path)(name_or_path)
    if path is None:
        return BUILTIN_HOP
    return int(checkpoint.read_header(path)["config"].get("hop", BUILTIN_HOP))


def validate_knobs(atten_lim_db: float | None, mix: float) -> None:
    """Runtime knobs in user units: raise ParameterError saying what range is allowed."""
    if atten_lim_db is not None and not atten_lim_db >= 0:
        raise ParameterError(f"--atten-lim must be >= 0 dB, got {atten_lim_db}")
    if not 0.0 <= mix <= 1.0:
        raise ParameterError(f"--mix must be between 0 (processed) and 1 (dry), got {mix}")
