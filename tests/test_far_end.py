"""FarEnd against a plain sounddevice passthrough in another process: exact lag, bit-exact samples."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from far_end import LOOP_LATENCY_PERIODS, FarEnd

PASSTHROUGH = textwrap.dedent(
    """
    import sys
    import sounddevice as sd

    def copy(indata, outdata, frames, time, status):
        outdata[:] = indata

    blocksize = int(sys.argv[1])
    with sd.Stream(samplerate=48000, channels=1, dtype="float32", blocksize=blocksize, callback=copy):
        print("started", flush=True)
        sys.stdin.read()  # run until the test closes our stdin
    """
)


@pytest.fixture
def passthrough(jack_server):
    """Start a passthrough stream (blocksize given by the test) in a subprocess; stop it after."""
    processes = []

    def start(blocksize: int = 0) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", PASSTHROUGH, str(blocksize)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        line = process.stdout.readline()
        if line.strip() != "started":
            process.kill()
            pytest.fail(f"passthrough did not start: {line!r} {process.stderr.read()}")
        return process

    yield start
    for process in processes:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def measured_lag(played: np.ndarray, recorded: np.ndarray, signal_size: int) -> int:
    first = int(np.flatnonzero(recorded)[0])
    assert np.array_equal(recorded[first : first + signal_size], played[:signal_size])
    return first


def test_far_end_loop_latency_is_one_period_and_bit_exact(jack_server, passthrough):
    signal = np.random.default_rng(1).uniform(-1, 1, 24000).astype(np.float32)
    with FarEnd() as far_end:
        passthrough(0)
        target_in, target_out = far_end.connect()
        assert target_in.split(":")[1] == "in_0" and target_out.split(":")[1] == "out_0"
        assert far_end.period == jack_server.period
        lags = []
        for _ in range(3):
            take = far_end.play_and_record(signal)
            assert take.played.shape == take.recorded.shape
            assert take.recorded.dtype == np.float32
            lag = measured_lag(take.played, take.recorded, signal.size)
            # nothing but the echo: zeros before and after it
            assert not take.recorded[:lag].any()
            assert not take.recorded[lag + signal.size :].any()
            lags.append(lag)
    assert lags == [LOOP_LATENCY_PERIODS * jack_server.period] * 3
    assert far_end.loop_latency == LOOP_LATENCY_PERIODS * jack_server.period


@pytest.mark.parametrize("blocksize", [100, 256])
def test_portaudio_fixed_blocksize_adds_exactly_one_block(jack_server, passthrough, blocksize):
    """PortAudio's block adapter (blocksize != 0) delays by one block on top of the JACK loop."""
    signal = np.random.default_rng(2).uniform(-1, 1, 4800).astype(np.float32)
    with FarEnd() as far_end:
        passthrough(blocksize)
        far_end.connect()
        take = far_end.play_and_record(signal)
    assert measured_lag(take.played, take.recorded, signal.size) == far_end.loop_latency + blocksize


def test_play_starts_at_the_requested_frame(jack_server, passthrough):
    signal = np.ones(300, np.float32)
    with FarEnd() as far_end:
        passthrough(0)
        far_end.connect()
        start = far_end.client.frame_time + 50 * far_end.period + 37  # not on a cycle boundary
        take = far_end.play_and_record(signal, start_frame=start, tail=1000)
    assert take.start_frame == start
    assert measured_lag(take.played, take.recorded, signal.size) == far_end.loop_latency


def test_connect_times_out_with_what_it_saw(jack_server):
    from far_end import FarEndError

    with FarEnd() as far_end:
        with pytest.raises(FarEndError, match="a PortAudio client with both input and output ports"):
            far_end.connect(timeout=0.2)
