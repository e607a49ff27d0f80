"""Shared fixtures: one real JACK server (dummy backend) per test session, for every live-audio test.

``jack_server`` (per test) hands out the session's `JackServer` (48 kHz, 128-frame periods), restarting
it first if an earlier test killed it, and makes sure PortAudio sees its JACK device: in a fresh
process (as a CLI subprocess will) and, when sounddevice is already imported here, in this process.

Crash tests: kill the server with ``jack_server.kill()`` and run the PortAudio stream under test in a
*subprocess*. With Debian's PortAudio 19.6, a process whose JACK server dies under it hangs in
``stream.stop()/abort()/close()`` (PortAudio waits up to 10 minutes for a callback that never comes)
and aborts at exit (``pa_jack.c: Terminate: Assertion `err == 0'`` from sounddevice's atexit
``Pa_Terminate``). So before `JackServer` stops or kills the server, this process's own PortAudio is
terminated cleanly (closing any stream opened here) and re-initialised after the restart. If jackd dies
on its own, this process's PortAudio is disarmed (never terminated) and stays unusable for the session.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests/ helpers: jackserver, far_end

from jackserver import JackServer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def quick_data(tmp_path_factory):
    """A tiny rendered data set (real FluidSynth and espeak-ng: `train.build_data --quick`), one per module."""
    out = tmp_path_factory.mktemp("data")
    subprocess.run([sys.executable, "-m", "train.build_data", "--quick", "--out", str(out)], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    return out

# Before anything imports sounddevice (PortAudio reads these when it initialises): never auto-start a
# server, and never talk to someone else's `default` server. JackServer.start() sets the real name.
os.environ["JACK_NO_START_SERVER"] = "1"
os.environ["JACK_DEFAULT_SERVER"] = "rtmusic-test-not-started"

_PORTAUDIO_PROBE = (
    "import sounddevice as sd, sys; "
    "sys.exit(0 if any('JACK' in h['name'] and h['devices'] for h in sd.query_hostapis()) else 1)"
)


class _InProcessPortAudio:
    """This process's PortAudio (only if something imported sounddevice): attach, detach, disarm."""

    def __init__(self) -> None:
        self.stale = False  # its JACK client died with the server: never touch PortAudio again

    @staticmethod
    def _module():
        return sys.modules.get("sounddevice")

    def _sees_jack(self, sd) -> bool:
        return bool(sd._initialized) and any(
            "JACK" in h["name"] and h["devices"] for h in sd.query_hostapis()
        )

    def attach(self) -> None:
        """Re-scan so an imported sounddevice sees the running server (it initialised without one)."""
        sd = self._module()
        if sd is None or self.stale or self._sees_jack(sd):
            return
        while sd._initialized:
            sd._terminate()  # holds no JACK client here, so the pa_jack assertion cannot fire
        sd._initialize()
        if not self._sees_jack(sd):
            pytest.fail("this process's PortAudio sees no JACK device after re-initialising")

    def detach(self) -> None:
        """While the server still runs: terminate PortAudio so its JACK client closes cleanly."""
        sd = self._module()
        if sd is not None and not self.stale:
            while sd._initialized:
                sd._terminate()

    def disarm(self) -> None:
        """The server died under PortAudio: skip sounddevice's atexit Pa_Terminate (it would abort)."""
        sd = self._module()
        if sd is not None and not self.stale and self._sees_jack(sd):
            sd._initialized = 0  # PortAudio is leaked until exit: far better than SIGABRT or a hang
            self.stale = True


_portaudio = _InProcessPortAudio()


def _check_fresh_portaudio_sees(server: JackServer) -> None:
    """Fail with the reason when a fresh PortAudio (as in a CLI subprocess) shows no JACK device."""
    result = subprocess.run(
        [sys.executable, "-c", _PORTAUDIO_PROBE], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        pytest.fail(
            f"PortAudio sees no JACK device although jackd {server.name!r} runs — is libportaudio2 built "
            f"with JACK support? stderr:\n{result.stderr}\njackd log:\n{server.log()}"
        )


@pytest.fixture(scope="session")
def jack_server_session():
    """Start the session's JACK server; stop it after the last test."""
    server = JackServer(rate=48000, period=128)
    server.before_stop.append(_portaudio.detach)
    server.start()
    _check_fresh_portaudio_sees(server)
    yield server
    if not server.alive:
        _portaudio.disarm()
    server.stop()


@pytest.fixture
def jack_server(jack_server_session):
    """The live JACK server for one test; restarted first if a previous test killed it."""
    server = jack_server_session
    if not server.alive:
        _portaudio.disarm()  # no-op when it was killed through server.kill() (already detached)
        server.start()
        _check_fresh_portaudio_sees(server)
    _portaudio.attach()
    yield server
    if not server.alive:
        _portaudio.disarm()
