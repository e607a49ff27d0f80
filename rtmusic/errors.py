"""The exception tree: one root so callers can catch everything rtmusic raises on purpose.

Every message says what went wrong *and* what to do next; the CLI prints it as one line.
"""


class RtmusicError(Exception):
    """Root of every error rtmusic raises deliberately."""


class ParameterError(RtmusicError, ValueError):
    """A malformed argument: wrong type, out of range, inconsistent settings."""


class DeviceError(RtmusicError):
    """An audio device is missing, ambiguous, or cannot open with the asked settings."""


class CheckpointError(RtmusicError):
    """A model file is missing, corrupt, truncated, or not an rtmusic checkpoint."""


class AudioFileError(RtmusicError):
    """An audio file cannot be read or written."""


class LatencyBudgetError(RtmusicError):
    """The total latency of the chosen settings exceeds the budget."""


class StreamAborted(RtmusicError):
    """The live stream ended abnormally (audio server died, device vanished, worker failed)."""

    exit_code = 3
