"""JACK plumbing for the live benchmarks: a dummy server of our own, a far end, a plain passthrough.

`DummyJack` runs ``jackd -n NAME -R -S -d dummy`` (own server name, own process group, stopped by its
PID) unless a server already answers under the name in use. `FarEnd` is a JACK client that plays a
periodic linear chirp into a target and records what comes back, both indexed by JACK *cycle*, so a late
cycle (an xrun) never breaks the sample alignment. It keeps only the first `head` frames and a rolling last
`head` frames of the recording, so a soak of hours needs no more memory than a run of seconds.

Loop latency: far_end:out -> target -> far_end:in adds exactly one JACK period through a same-cycle
passthrough (JACK breaks the feedback loop with the previous cycle's buffer); anything the target adds
shows on top. `Passthrough` is that same-cycle copy, as a reference in the same graph.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import numpy as np

from rtmusic.errors import RtmusicError

CHIRP_PERIOD = 48000  # samples: 1 s sweep, so the lag is unambiguous far beyond any plausible latency
MAX_LAG = 9600  # 200 ms: the lag search range
PORTAUDIO_CLIENT = re.compile(r"^PortAudio(-\d+)?$")


class JackBenchError(RtmusicError):
    """jackd missing or not starting, the far end could not wire the loop, or a take did not finish."""


def jack_env(name: str) -> dict[str, str]:
    return {"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": name}


def server_answers(name: str) -> bool:
    if shutil.which("jack_lsp") is None:
        return False
    result = subprocess.run(["jack_lsp", "-s", name], env={**os.environ, **jack_env(name)},
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    return result.returncode == 0


class DummyJack:
    """A ``jackd`` dummy-backend server of our own (or the one already answering under `name`).

    Args:
        name: server name. If a server answers under it, it is used as is (`started` stays False).
        period: frames per cycle; rate: Hz.
    """

    def __init__(self, name: str, period: int = 128, rate: int = 48000) -> None:
        self.name, self.period, self.rate = name, period, rate
        self.process: subprocess.Popen | None = None
        self.log_path: str | None = None

    @property
    def started(self) -> bool:
        return self.process is not None

    @property
    def env(self) -> dict[str, str]:
        return jack_env(self.name)

    def start(self, timeout: float = 10.0) -> DummyJack:
        if server_answers(self.name):
            return self
        if shutil.which("jackd") is None:
            raise JackBenchError("jackd not found: install jackd2 (`bash scripts/setup.sh --test`)")
        fd, self.log_path = tempfile.mkstemp(prefix=f"jackd-{self.name}-", suffix=".log")
        watchdog = ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []
        self.process = subprocess.Popen(
            [*watchdog, "jackd", "-n", self.name, "-R", "-S", "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)],
            stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            start_new_session=True)
        os.close(fd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log()
                self.process = None
                raise JackBenchError(f"jackd -n {self.name} exited while starting: {log.strip()[-500:]}")
            if server_answers(self.name):
                return self
            time.sleep(0.05)
        self.stop()
        raise JackBenchError(f"jackd -n {self.name} did not answer within {timeout:g} s")

    def log(self) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def xruns_logged(self) -> int | None:
        """XRuns jackd logged so far (None: not our server, no log)."""
        return self.log().count("XRun") if self.started else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(5)
        self.process = None
        if self.log_path and os.path.exists(self.log_path):
            os.remove(self.log_path)
        self.log_path = None

    def __enter__(self) -> DummyJack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def chirp(rate: int = 48000, period: int = CHIRP_PERIOD, f0: float = 50.0, f1: float = 12000.0) -> np.ndarray:
    """[period] float32: one linear sweep f0 -> f1, played over and over (sharp, unambiguous correlation)."""
    t = np.arange(period) / rate
    duration = period / rate
    phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / duration * t * t)
    return (0.3 * np.sin(phase)).astype(np.float32)


class Take:
    """A cycle-indexed take: chirp from cycle 0 for `cycles` cycles; keeps head and rolling tail recordings."""

    def __init__(self, period: int, cycles: int, head: int, sweep: np.ndarray) -> None:
        self.period, self.n_cycles = period, cycles
        self.sweep = sweep
        self.head_frames = min(head // period * period, cycles * period)
        self.head = np.zeros(self.head_frames, np.float32)  # recorded frames [0, head_frames)
        self.tail = np.zeros(self.head_frames, np.float32)  # ring of the last head_frames recorded frames
        self.cycles = 0
        self.finished = False

    @property
    def frames(self) -> int:
        return self.cycles * self.period

    def played(self, start: int, stop: int) -> np.ndarray:
        """Played frames [start, stop) (zeros before frame 0)."""
        k = np.arange(start, stop)
        out = self.sweep[k % self.sweep.size]
        out[k < 0] = 0.0
        return out

    def tail_recording(self) -> tuple[int, np.ndarray]:
        """(first frame index, recorded samples) of the last `head_frames` frames, in order."""
        n = self.head_frames
        end = self.frames
        start = max(end - n, 0)
        pos = start % n
        ordered = np.concatenate([self.tail[pos:], self.tail[:pos]]) if end >= n else self.tail[:end]
        return start, ordered


def lag_in(take: Take, first: int, recorded: np.ndarray, max_lag: int = MAX_LAG) -> tuple[int, float]:
    """(lag, peak ratio): L maximising sum recorded[i] * played[first + i - L], 0 <= L < max_lag.

    The peak ratio (best / second-best correlation outside +-2 samples) says how sure the estimate is.
    """
    from scipy.signal import correlate

    seg = recorded.astype(np.float64)
    ref = take.played(first - max_lag + 1, first + seg.size).astype(np.float64)
    c = correlate(ref, seg, mode="valid")  # c[j] = sum_i ref[i + j] * seg[i], lag = max_lag - 1 - j
    j = int(np.argmax(c))
    masked = c.copy()
    masked[max(j - 2, 0): j + 3] = -np.inf
    second = float(masked.max()) if np.isfinite(masked).any() else 0.0
    ratio = float(c[j] / second) if second > 0 else float("inf")
    return max_lag - 1 - j, round(ratio, 2)


class _ActiveClient:
    """A JACK client of ours (`self.client`, activated): closed on `close()` or at the end of a with block."""

    client: object

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FarEnd(_ActiveClient):
    """JACK client ``rtmusic_bench_far`` with ports out/in; see the module docstring."""

    def __init__(self, server: str, name: str = "rtmusic_bench_far") -> None:
        import jack

        self.client = jack.Client(name, no_start_server=True, servername=server)
        self.period = self.client.blocksize
        self.samplerate = self.client.samplerate
        self.outport = self.client.outports.register("out")
        self.inport = self.client.inports.register("in")
        self._baseline = {p.name for p in self.client.get_ports(is_audio=True)}
        self._take: Take | None = None
        self._done = threading.Event()
        self.sweep = chirp(self.samplerate)
        self.xrun_times: list[float] = []  # time.monotonic() of every JACK xrun the server reported to us
        self.client.set_xrun_callback(lambda delayed_usecs: self.xrun_times.append(time.monotonic()))
        self.client.set_process_callback(self._process)
        self.client.activate()

    def connect(self, client: str | None = None, timeout: float = 10.0) -> tuple[str, str]:
        """Wire far_end:out -> target input 0 and target output 0 -> far_end:in (dropping other links).

        `client`: the target's exact JACK client name; None: a PortAudio client that appeared after us.
        """
        deadline = time.monotonic() + timeout
        while True:
            ports = [p for p in self.client.get_ports(is_audio=True) if not self.client.owns(p)
                     and (p.name.partition(":")[0] == client if client
                          else PORTAUDIO_CLIENT.match(p.name.partition(":")[0]) and p.name not in self._baseline)]
            ins = sorted((p.name for p in ports if p.is_input), key=_port_number)
            outs = sorted((p.name for p in ports if p.is_output), key=_port_number)
            if ins and outs:
                break
            if time.monotonic() > deadline:
                raise JackBenchError(f"no {client or 'new PortAudio'} client with input and output ports after {timeout:g} s")
            time.sleep(0.02)
        target_in, target_out = ins[0], outs[0]
        for other in self.client.get_all_connections(target_in):
            self.client.disconnect(other, target_in)
        for other in self.client.get_all_connections(self.inport):
            self.client.disconnect(other, self.inport)
        self.client.connect(self.outport, target_in)
        self.client.connect(target_out, self.inport)
        return target_in, target_out

    def play(self, seconds: float, head_s: float = 2.0, on_cycle=None, timeout: float | None = None) -> Take:
        """Play the chirp for `seconds` and record; blocks until done. `on_cycle` is unused by the callback."""
        cycles = max(int(seconds * self.samplerate) // self.period, 1)
        take = Take(self.period, cycles, int(head_s * self.samplerate), self.sweep)
        self._done.clear()
        self._take = take
        finished = self._done.wait(cycles * self.period / self.samplerate * 3 + 10 if timeout is None else timeout)
        self._take = None
        if not finished:
            raise JackBenchError(f"take of {cycles} cycles not done in time ({take.cycles} cycles)")
        return take

    def _process(self, frames: int) -> None:
        out = self.outport.get_array()
        take = self._take
        if take is None or take.finished:
            out.fill(0.0)
            return
        i = take.cycles
        a, b = i * frames, (i + 1) * frames
        n = take.sweep.size
        s = a % n
        if s + frames <= n:
            out[:] = take.sweep[s:s + frames]
        else:
            out[:] = take.played(a, b)
        rec = self.inport.get_array()
        if b <= take.head_frames:
            take.head[a:b] = rec
        h = take.head_frames
        if h:
            t = a % h
            if t + frames <= h:
                take.tail[t:t + frames] = rec
            else:
                k = h - t
                take.tail[t:] = rec[:k]
                take.tail[: frames - k] = rec[k:]
        take.cycles = i + 1
        if take.cycles == take.n_cycles:
            take.finished = True
            self._done.set()


class Passthrough(_ActiveClient):
    """JACK client ``rtmusic_bench_thru``: copies its input to its output in the same cycle (the reference)."""

    NAME = "rtmusic_bench_thru"

    def __init__(self, server: str) -> None:
        import jack

        self.client = jack.Client(self.NAME, no_start_server=True, servername=server)
        self.inport = self.client.inports.register("in_0")
        self.outport = self.client.outports.register("out_0")
        self.client.set_process_callback(lambda frames: self.outport.get_array().__setitem__(
            slice(None), self.inport.get_array()))
        self.client.activate()



def _port_number(name: str) -> int:
    match = re.search(r"(\d+)$", name)
    return int(match.group(1)) if match else -1


def measure_lags(take: Take, window_s: float = 1.0, skip_s: float = 0.3) -> dict:
    """Lag at the start (after `skip_s`) and at the end of a take, with the onset (first non-zero sample)."""
    rate = 48000
    w = int(window_s * rate)
    nz = np.flatnonzero(take.head)
    onset = int(nz[0]) if nz.size else None
    first = int(skip_s * rate) + MAX_LAG
    w = min(w, take.head_frames - first)
    if w < rate // 4:
        raise JackBenchError(f"take of {take.frames} frames too short to measure a lag (needs about 1 s)")
    start_lag = lag_in(take, first, take.head[first:first + w]) if take.head_frames >= first + w else (None, 0.0)
    tail_first, tail = take.tail_recording()
    end_lag = lag_in(take, tail_first + tail.size - w, tail[-w:]) if tail.size >= w and tail_first >= first else (None, 0.0)
    return {"onset": onset, "start_lag": start_lag[0], "start_peak_ratio": start_lag[1],
            "end_lag": end_lag[0], "end_peak_ratio": end_lag[1],
            "drift": (end_lag[0] - start_lag[0]) if start_lag[0] is not None and end_lag[0] is not None else None,
            "seconds": round(take.frames / rate, 2)}
