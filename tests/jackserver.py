"""A real JACK server (dummy backend) for live-audio tests: no sound card, no mocks.

The dummy backend runs the JACK graph on a timer, so PortAudio streams, the rtmusic engine and the
test's `FarEnd` client all exchange real samples through real JACK ports, exactly as on a machine with
a sound card. Each test session runs its own *named* server (``jackd -n NAME``) and exports
``JACK_DEFAULT_SERVER=NAME``, so concurrent test sessions on one machine never share a server and a
server someone left running under another name (e.g. ``default``) is never touched.

Names come from a small pool (``rtmusic-test-0`` .. ``-3``), not one per process: libjack's shared
registry holds only 8 servers, and the entry of a SIGKILLed server is reclaimed only when a server of
the *same* name starts again, so unique names would leak slots until ``Too many servers already active``.

Usage::

    server = JackServer(rate=48000, period=128)
    server.start()     # exports JACK_NO_START_SERVER=1 and JACK_DEFAULT_SERVER to os.environ
    ...
    server.kill()      # SIGKILL, to test how clients survive a crashed server
    server.start()     # a fresh server under the same name
    server.stop()
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable

NAME_POOL = tuple(f"rtmusic-test-{i}" for i in range(4))
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.05


class JackServerError(RuntimeError):
    """The JACK server could not start, or one with our name was already running."""


class JackServer:
    """One ``jackd -R -S -d dummy`` process in its own process group, stopped by its PID.

    Args:
        name: JACK server name; it must not be in use. None: the first free name of `NAME_POOL`.
        rate: sample rate in Hz.
        period: frames per JACK cycle (the dummy driver's ``-p``).
        realtime: pass ``-R`` (realtime scheduling for the JACK threads).
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        rate: int = 48000,
        period: int = 128,
        realtime: bool = True,
    ) -> None:
        self.name = name or NAME_POOL[0]
        self._pooled = name is None
        self.rate = rate
        self.period = period
        self.realtime = realtime
        self._process: subprocess.Popen | None = None
        self._log_path: str | None = None
        self.starts = 0  # how many times this object started jackd (restarts after kill() included)
        # Called while the server still runs, just before stop() or kill() signals it: lets a process
        # detach its own JACK clients (PortAudio cannot survive its server dying under it).
        self.before_stop: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ state

    @property
    def alive(self) -> bool:
        """True while the jackd process we started is running."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that make libjack (PortAudio, jack_lsp, JACK-Client) use this server."""
        return {"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": self.name}

    @property
    def command(self) -> list[str]:
        realtime = ["-R"] if self.realtime else ["-r"]
        return [
            "jackd", "-n", self.name, *realtime, "-S",
            "-d", "dummy", "-r", str(self.rate), "-p", str(self.period),
        ]  # fmt: skip

    def log(self) -> str:
        """Everything jackd printed so far (stdout and stderr)."""
        if not self._log_path or not os.path.exists(self._log_path):
            return ""
        with open(self._log_path, errors="replace") as log_file:
            return log_file.read()

    # -------------------------------------------------------------- lifecycle

    def start(self, *, timeout: float = READY_TIMEOUT_S, export: bool = True) -> JackServer:
        """Start jackd and wait until `jack_lsp` sees its system ports.

        Args:
            timeout: seconds to wait for the server to answer.
            export: also set ``self.env`` in ``os.environ`` so every client started later (in this
                process or a child) talks to this server and never auto-starts another.

        Raises:
            JackServerError: jackd is missing, a server with this name already answers (every pool
                name, when pooled), or it did not come up in time (the message includes jackd's log).
        """
        if self.alive:
            return self
        for tool in ("jackd", "jack_lsp"):
            if shutil.which(tool) is None:
                raise JackServerError(
                    f"{tool} not found — run `bash scripts/setup.sh --test` (installs jackd2) first"
                )
        pooled = self._pooled and self.starts == 0  # a restart keeps the name it had
        names = [n for n in NAME_POOL if n != self.name] if pooled else []
        names.insert(0, self.name)
        busy = []
        for name in names:
            self.name = name
            if self._ports() is not None:
                busy.append(name)
                continue
            try:
                self._launch(timeout)
            except JackServerError:
                if not pooled or self._ports() is None:
                    raise
                busy.append(name)  # another test session took this name between our check and start
                continue
            if export:
                os.environ.update(self.env)
            return self
        raise JackServerError(
            f"JACK server(s) named {', '.join(busy)} are already running and were not started by this "
            "test session; stop them (`kill <pid of jackd>`) or pass another name"
        )

    def _launch(self, timeout: float) -> None:
        """Run jackd under `self.name` and wait for its system ports, or raise with its log."""
        self._remove_log()
        log_fd, self._log_path = tempfile.mkstemp(prefix=f"jackd-{self.name}-", suffix=".log")
        # setpriv (util-linux): SIGTERM jackd if the test process dies, so no server outlives its session.
        watchdog = ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []
        self._process = subprocess.Popen(
            [*watchdog, *self.command],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # own process group: Ctrl-C in the test runner doesn't reach it
        )
        os.close(log_fd)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.log()
                hint = ""
                if "Too many servers" in log:
                    hint = (
                        "\nlibjack's registry (/dev/shm/jack-shm-registry) is full of servers that were "
                        "killed; start and stop a jackd with each stale name listed by "
                        "`strings /dev/shm/jack-shm-registry`, or remove /dev/shm/jack* when no jackd runs"
                    )
                raise JackServerError(
                    f"jackd exited with code {self._process.returncode} while starting "
                    f"({' '.join(self.command)}); its log:\n{log}{hint}"
                )
            ports = self._ports()
            if ports is not None and any(p.startswith("system:playback") for p in ports):
                return
            time.sleep(POLL_INTERVAL_S)
        self.kill()
        raise JackServerError(
            f"jackd did not answer within {timeout:g} s ({' '.join(self.command)}); its log:\n{self.log()}"
        )

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM our jackd (by PID), then SIGKILL if it has not exited after `timeout` seconds.

        Its log file is removed: `log()` is for diagnosing a server that is running or died.
        """
        if not self.alive:
            self._reap()
            self._remove_log()
            return
        self._run_before_stop()
        self._signal(signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reap()
        self._remove_log()

    def kill(self) -> None:
        """SIGKILL our jackd at once, as a crash would (for tests of clients surviving a dead server)."""
        if self.alive:
            self._run_before_stop()
            self._signal(signal.SIGKILL)
        self._reap()

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -------------------------------------------------------------- internals

    def _remove_log(self) -> None:
        if self._log_path and os.path.exists(self._log_path):
            os.remove(self._log_path)
        self._log_path = None

    def _run_before_stop(self) -> None:
        for hook in self.before_stop:
            hook()

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self._process.pid, signum)  # its own group: start_new_session made pgid == pid
        except ProcessLookupError:
            pass

    def _reap(self) -> None:
        if self._process is not None:
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass

    def _ports(self) -> list[str] | None:
        """The server's port names, or None when no server with our name answers."""
        result = subprocess.run(
            ["jack_lsp", "-s", self.name],
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if result.returncode != 0:
            return None
        return result.stdout.split()

