"""The far end of a live-audio test: a JACK client that plays into a stream and records what comes back.

The process under test opens a PortAudio stream (sounddevice) on the JACK device. PortAudio's JACK host
API registers one JACK client per *process*, named ``PortAudio`` (``PortAudio-01``, ``-02``... when that
name is taken), with ports ``in_N`` / ``out_N``; N counts up over every stream that process opens
(channel 0 of the first stream is ``in_0``/``out_0``, a second mono stream gets ``in_1``/``out_1``, a
reopened stream keeps counting). Ports appear when the stream is *opened*; PortAudio connects them to
``system:capture_*`` / ``system:playback_*`` when it is *started*.

`FarEnd` registers ``far_end:out`` and ``far_end:in``, waits for the target's new ports, wires
``far_end:out -> target in`` and ``target out -> far_end:in`` (dropping the target's other input
connections so nothing is mixed in), then plays a signal from a chosen JACK frame time and records its
input. Both happen in the JACK process callback and are indexed by the cycle's frame time, so
``played[k]`` and ``recorded[k]`` belong to the same JACK frame: a lag measured between them is exact.

Loop latency of the JACK graph: with a target that copies input to output inside its callback (a
sounddevice ``Stream`` with ``blocksize=0``), ``recorded`` is ``played`` delayed by exactly
``LOOP_LATENCY_PERIODS`` = 1 JACK period (128 frames at ``-p 128``), bit-exact. The wiring is a
feedback loop (far_end -> target -> far_end), and JACK breaks a loop by handing one edge the buffer
written in the previous cycle; so whichever client runs first, the sample far_end writes in cycle c
reaches far_end's input in cycle c + 1. PortAudio's JACK callback path adds no buffering of its own.
Anything the target adds on top (its own block size, rings, declared model latency) shows up as
``lag - LOOP_LATENCY_PERIODS * period``.
"""

from __future__ import annotations

import re
import threading
import time
from typing import NamedTuple

import jack
import numpy as np

LOOP_LATENCY_PERIODS = 1  # JACK cycles between far_end:out and far_end:in through a same-cycle passthrough
PORTAUDIO_CLIENT = re.compile(r"^PortAudio(-\d+)?$")
START_MARGIN_PERIODS = 8  # default lead time before playback starts, so setup never races the callback


class Take(NamedTuple):
    """One play-and-record run; both arrays are indexed by JACK frame time minus `start_frame`."""

    played: np.ndarray  # shape=[frames] float32, exactly what far_end:out carried
    recorded: np.ndarray  # shape=[frames] float32, what far_end:in received in the same frames
    start_frame: int  # JACK frame time of played[0] / recorded[0]


class FarEndError(RuntimeError):
    """The far end could not find or wire the target, or a take did not complete."""


class FarEnd:
    """A mono JACK client that feeds a target stream and records its output, sample-aligned.

    Use as a context manager; call `connect` after the target stream has *started* (PortAudio wires
    itself to the system ports on start, and `connect` removes those links from the target's input).

    Args:
        name: JACK client name.
        servername: JACK server; None follows ``JACK_DEFAULT_SERVER`` (the `jack_server` fixture sets it).
    """

    def __init__(self, name: str = "far_end", *, servername: str | None = None) -> None:
        self.client = jack.Client(name, no_start_server=True, servername=servername)
        self.period = self.client.blocksize  # frames per JACK cycle (the server's -p)
        self.samplerate = self.client.samplerate
        self.outport = self.client.outports.register("out")
        self.inport = self.client.inports.register("in")
        self.target_in: str | None = None
        self.target_out: str | None = None
        self._baseline = {p.name for p in self.client.get_ports(is_audio=True)}
        self._take: _TakeState | None = None
        self._done = threading.Event()
        self.client.set_process_callback(self._process)
        self.client.activate()

    @property
    def loop_latency(self) -> int:
        """Frames the JACK graph alone adds between far_end:out and far_end:in (see module docstring)."""
        return LOOP_LATENCY_PERIODS * self.period

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()

    def __enter__(self) -> FarEnd:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ wiring

    def connect(self, client: str | None = None, *, timeout: float = 10.0) -> tuple[str, str]:
        """Wait for the target's ports and wire the loop.

        Args:
            client: exact JACK client name of the target. None: a PortAudio client (``PortAudio`` or
                ``PortAudio-NN``) with input and output ports, preferring ports that appeared after this
                FarEnd was made (make the FarEnd first when other PortAudio streams may be open).
            timeout: seconds to wait for the ports.

        Returns:
            (target input port, target output port): the lowest-numbered candidate ports, i.e.
            channel 0 of the target's (first new) stream.

        Raises:
            FarEndError: no candidate within `timeout`, or several candidate clients.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self._find_target(client)
            if isinstance(found, tuple):
                break
            if time.monotonic() > deadline:
                raise FarEndError(f"no target ports after {timeout:g} s: {found}")
            time.sleep(0.02)
        self.target_in, self.target_out = found
        for other in self.client.get_all_connections(self.target_in):
            self.client.disconnect(other, self.target_in)
        for other in self.client.get_all_connections(self.inport):
            self.client.disconnect(other, self.inport)
        self.client.connect(self.outport, self.target_in)
        self.client.connect(self.target_out, self.inport)
        return found

    def _find_target(self, client: str | None) -> tuple[str, str] | str:
        """(input, output) port names of the target, or a string saying what is missing."""
        ports = [
            p for p in self.client.get_ports(is_audio=True)
            if not self.client.owns(p)
            and (p.name.partition(":")[0] == client if client else PORTAUDIO_CLIENT.match(p.name.partition(":")[0]))
        ]  # fmt: skip
        new = [p for p in ports if p.name not in self._baseline]
        for pool, what in ((new, "new "), (ports, "")):
            by_client: dict[str, dict[str, list[str]]] = {}
            for port in pool:
                owner = port.name.partition(":")[0]
                by_client.setdefault(owner, {"in": [], "out": []})["in" if port.is_input else "out"].append(
                    port.name
                )
            complete = {c: p for c, p in by_client.items() if p["in"] and p["out"]}
            if len(complete) > 1:
                return f"several {what}candidate clients {sorted(complete)}; pass client="
            if complete:
                (found,) = complete.values()
                return _first(found["in"]), _first(found["out"])
        wanted = repr(client) if client else "a PortAudio client"
        seen = sorted(p.name for p in ports) or "none"
        return f"{wanted} with both input and output ports; seen {seen}"

    # ---------------------------------------------------------------- a take

    def play_and_record(
        self,
        signal: np.ndarray,
        *,
        tail: int | None = None,
        start_frame: int | None = None,
        timeout: float | None = None,
    ) -> Take:
        """Play `signal` from JACK frame `start_frame` and record far_end:in over the same frames.

        Args:
            signal: shape=[n] mono samples.
            tail: frames to keep recording after the signal ends (default: 4 periods plus 0.5 s).
            start_frame: absolute JACK frame time of the first sample; default a few periods from now.
            timeout: seconds to wait for the take (default: its duration plus 5 s).

        Returns:
            `Take`; ``played`` is `signal` zero-padded by `tail`, ``recorded`` has the same length.

        Raises:
            FarEndError: the take did not finish in time, or JACK cycles were skipped (an xrun), which
                would break the sample alignment of the target.
        """
        if self.target_in is None:
            raise FarEndError("call connect() before play_and_record()")
        signal = np.ascontiguousarray(signal, dtype=np.float32).reshape(-1)
        if tail is None:
            tail = 4 * self.period + self.samplerate // 2
        frames = signal.size + tail
        if start_frame is None:
            start_frame = self.client.frame_time + START_MARGIN_PERIODS * self.period
        if timeout is None:
            timeout = frames / self.samplerate + 5.0
        played = np.zeros(frames, np.float32)
        played[: signal.size] = signal
        take = _TakeState(played, start_frame, max_cycles=frames // max(self.period, 1) + 4)
        self._done.clear()
        self._take = take
        if not self._done.wait(timeout):
            self._take = None
            raise FarEndError(
                f"take of {frames} frames did not finish within {timeout:g} s "
                f"(frame time {self.client.frame_time}, start {start_frame})"
            )
        self._take = None
        cycles = take.cycle_frames[: take.cycles]
        if cycles[0] > start_frame:
            raise FarEndError(
                f"start frame {start_frame} had passed when the take began (first cycle {cycles[0]}); "
                "pass a later start_frame"
            )
        gaps = np.flatnonzero(np.diff(cycles) != self.period)
        if gaps.size:
            raise FarEndError(
                f"JACK skipped cycles during the take (xrun?) at frames {cycles[gaps + 1][:5].tolist()}"
            )
        return Take(played, take.recorded, start_frame)

    def _process(self, frames: int) -> None:
        """JACK process callback: write the take's slice of this cycle, record the input. No allocation."""
        out = self.outport.get_array()
        take = self._take
        if take is None or take.finished:
            out.fill(0.0)
            return
        cycle_start = self.client.last_frame_time
        lo = max(cycle_start, take.start_frame)
        hi = min(cycle_start + frames, take.start_frame + take.played.size)
        if hi <= lo:
            out.fill(0.0)
            if cycle_start >= take.start_frame + take.played.size:
                take.finished = True
                self._done.set()
            return
        if take.cycles < take.cycle_frames.size:
            take.cycle_frames[take.cycles] = cycle_start
            take.cycles += 1
        a, b = lo - cycle_start, hi - cycle_start  # slice of this cycle's buffers
        k0, k1 = lo - take.start_frame, hi - take.start_frame  # slice of the take
        out.fill(0.0)
        out[a:b] = take.played[k0:k1]
        take.recorded[k0:k1] = self.inport.get_array()[a:b]
        if k1 == take.played.size:
            take.finished = True
            self._done.set()


class _TakeState:
    """Preallocated buffers of one take, shared between `play_and_record` and the process callback."""

    def __init__(self, played: np.ndarray, start_frame: int, max_cycles: int) -> None:
        self.played = played  # shape=[frames]
        self.recorded = np.zeros_like(played)  # shape=[frames]
        self.start_frame = start_frame
        self.cycle_frames = np.zeros(max_cycles, np.int64)  # shape=[max_cycles] frame time of each cycle
        self.cycles = 0
        self.finished = False


def _first(port_names: list[str]) -> str:
    """The port with the lowest trailing number: channel 0 (PortAudio numbers ports in_0, in_1, ...)."""

    def number(name: str) -> int:
        match = re.search(r"(\d+)$", name)
        return int(match.group(1)) if match else -1

    return min(port_names, key=number)
