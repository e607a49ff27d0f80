"""Audio devices: list them, resolve a user's choice (index, name substring or a prompt) to an index.

Light on purpose: no JAX, no Numba, and sounddevice (which loads PortAudio and scans every host API)
is imported only when a device list is actually needed. Everything below `list_devices` works on a
plain list of `DeviceInfo`, so it is tested on made-up device lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Literal

from rtmusic.errors import DeviceError, ParameterError

Kind = Literal["input", "output"]
KINDS = ("input", "output")

NO_DEVICE_HINT = (
    "plug one in, start your audio server (e.g. `jackd -d alsa` or PipeWire/PulseAudio), "
    "or process a file with `rtmusic process IN OUT`"
)


@dataclasses.dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device, as `sounddevice.query_devices()` reports it (latencies in seconds)."""

    index: int
    name: str
    hostapi: str  # host API name, e.g. "ALSA", "JACK Audio Connection Kit"
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_low_input_latency: float = 0.0
    default_high_input_latency: float = 0.0
    default_low_output_latency: float = 0.0
    default_high_output_latency: float = 0.0
    is_default_input: bool = False
    is_default_output: bool = False

    def channels(self, kind: Kind) -> int:
        """Channels this device offers for `kind` ("input" or "output")."""
        return self.max_input_channels if kind == "input" else self.max_output_channels

    def is_default(self, kind: Kind) -> bool:
        return self.is_default_input if kind == "input" else self.is_default_output

    def describe(self) -> str:
        """One line: index, name, host API and channel counts."""
        return (
            f"{self.index} {self.name}, {self.hostapi} "
            f"({self.max_input_channels} in, {self.max_output_channels} out)"
        )


def import_sounddevice():
    """Import sounddevice, turning a missing PortAudio library into a `DeviceError` that says what to do."""
    try:
        import sounddevice
    except OSError as exc:
        if "PortAudio" not in str(exc):
            raise
        raise DeviceError(
            "PortAudio library not found — install it (Debian/Ubuntu: `apt-get install libportaudio2`, "
            "or run `bash scripts/setup.sh`), or process a file with `rtmusic process IN OUT`"
        ) from exc
    return sounddevice


def list_devices() -> list[DeviceInfo]:
    """Every audio device PortAudio sees now, with the system default input/output marked."""
    sd = import_sounddevice()
    hostapis = sd.query_hostapis()
    default_input = _default_index(sd, "input")
    default_output = _default_index(sd, "output")
    devices = []
    for raw in sd.query_devices():
        devices.append(
            DeviceInfo(
                index=raw["index"],
                name=raw["name"],
                hostapi=hostapis[raw["hostapi"]]["name"],
                max_input_channels=raw["max_input_channels"],
                max_output_channels=raw["max_output_channels"],
                default_samplerate=raw["default_samplerate"],
                default_low_input_latency=raw["default_low_input_latency"],
                default_high_input_latency=raw["default_high_input_latency"],
                default_low_output_latency=raw["default_low_output_latency"],
                default_high_output_latency=raw["default_high_output_latency"],
                is_default_input=raw["index"] == default_input,
                is_default_output=raw["index"] == default_output,
            )
        )
    return devices


def _default_index(sd, kind: Kind) -> int | None:
    """PortAudio's default device for `kind` (or the one set in `sd.default.device`), None if there is none."""
    try:
        return sd.query_devices(kind=kind)["index"]
    except sd.PortAudioError:  # "Error querying device -1": no default of this kind
        return None


def resolve_device(
    spec: int | str | None, kind: Kind, devices: Sequence[DeviceInfo] | None = None
) -> int | None:
    """Turn a user's device choice into a PortAudio device index.

    Args:
        spec: None for the system default; an int or a string of digits for an index; anything else
            is a case-insensitive substring of ``"name, host API"`` (so ``"usb"`` or ``"jack"`` work).
            When several devices match, one whose name equals `spec` (ignoring case) wins.
        kind: "input" or "output"; only devices with channels of this kind are considered.
        devices: the device list (default: `list_devices()`).

    Returns:
        The device index, or None for the system default.

    Raises:
        DeviceError: no such index, no match, or an ambiguous name (the message lists the candidates).
        ParameterError: `spec` is neither an int nor a string, or `kind` is not "input"/"output".
    """
    _check_kind(kind)
    if spec is None:
        return None
    if devices is None:
        devices = list_devices()
    usable = [d for d in devices if d.channels(kind) > 0]
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec.strip())
    if isinstance(spec, int) and not isinstance(spec, bool):
        for device in usable:
            if device.index == spec:
                return device.index
        valid = ", ".join(str(d.index) for d in usable) or "none"
        raise DeviceError(
            f"no {kind} device with index {spec} (valid {kind} indices: {valid}); "
            "see `rtmusic devices`"
        )
    if not isinstance(spec, str):
        raise ParameterError(f"device must be an index or a name, not {type(spec).__name__} {spec!r}")
    query = spec.strip().lower()
    matches = [d for d in usable if query in f"{d.name}, {d.hostapi}".lower()]
    if len(matches) > 1:
        exact = [d for d in matches if d.name.lower() == query]
        if len(exact) == 1:
            matches = exact
    if len(matches) == 1:
        return matches[0].index
    if not matches:
        raise DeviceError(
            f"no {kind} device matches {spec!r}; run `rtmusic devices` to see them, "
            "then pass an index or a longer part of the name"
        )
    candidates = "; ".join(d.describe() for d in matches)
    raise DeviceError(
        f"{spec!r} matches {len(matches)} {kind} devices: {candidates} — pass the index instead"
    )


def format_device_table(devices: Sequence[DeviceInfo]) -> str:
    """The device list as `python -m sounddevice` prints it, plus each default sample rate.

    Marks: ``>`` default input, ``<`` default output, ``*`` both.
    """
    if not devices:
        return f"no audio devices found — {NO_DEVICE_HINT}"
    width = len(str(max(d.index for d in devices)))
    lines = []
    for d in devices:
        mark = {(True, True): "*", (True, False): ">", (False, True): "<"}.get(
            (d.is_default_input, d.is_default_output), " "
        )
        lines.append(
            f"{mark} {d.index:{width}} {d.name}, {d.hostapi} "
            f"({d.max_input_channels} in, {d.max_output_channels} out) {d.default_samplerate:g} Hz"
        )
    lines.append("(> default input, < default output, * both)")
    return "\n".join(lines)


def require_audio_devices(
    devices: Sequence[DeviceInfo], *, need_input: bool = True, need_output: bool = True
) -> None:
    """Raise one clear `DeviceError` when there is no input (or no output) device at all."""
    for kind, needed in (("input", need_input), ("output", need_output)):
        if needed and not any(d.channels(kind) > 0 for d in devices):
            raise DeviceError(f"no audio {kind} device found — {NO_DEVICE_HINT}")


def pick_device(
    kind: Kind,
    input_fn: Callable[[str], str] = input,
    devices: Sequence[DeviceInfo] | None = None,
) -> int:
    """Ask the user to choose a device: show the table, ask, re-ask until the answer resolves.

    Args:
        kind: "input" or "output".
        input_fn: reads one answer (the prompt is its argument); the default reads stdin.
        devices: the device list (default: `list_devices()`).

    Returns:
        The chosen index; an empty answer means the system default.

    Raises:
        DeviceError: there is no device of this kind, or stdin closed before an answer.
    """
    _check_kind(kind)
    if devices is None:
        devices = list_devices()
    require_audio_devices(devices, need_input=kind == "input", need_output=kind == "output")
    default = next((d.index for d in devices if d.is_default(kind) and d.channels(kind) > 0), None)
    print(format_device_table(devices))
    hint = f"Enter = default {default}" if default is not None else "no default: type one"
    while True:
        try:
            answer = input_fn(f"{kind} device (index or part of the name; {hint}): ").strip()
        except EOFError:
            raise DeviceError(
                f"no {kind} device chosen (input closed); pass it on the command line instead"
            ) from None
        if not answer:
            if default is not None:
                return default
            print(f"there is no default {kind} device; type an index from the table")
            continue
        try:
            return resolve_device(answer, kind, devices)
        except DeviceError as exc:
            print(exc)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ParameterError(f"kind must be 'input' or 'output', not {kind!r}")
