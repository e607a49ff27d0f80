"""`rtmusic run` end to end on a real JACK server (dummy backend): lag, stalls, xruns, crashes, errors.

Each test runs ``python3 -m rtmusic run ...`` as a subprocess on the `jack_server` fixture's server and,
where audio matters, wires a `CycleFarEnd` into it: a JACK client that plays a test signal into the
rtmusic stream and records what comes back. The expected lag is always computed from what rtmusic itself
declares (``latency.engine_samples`` in ``--stats-json``) plus the JACK loop latency of one period
(`far_end.LOOP_LATENCY_PERIODS`), and must hold to the sample.

The machine is shared: JACK xruns and deadline misses happen. Tests assert that they are counted and
that they do not move the timeline, never that there are none.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import correlate

from far_end import LOOP_LATENCY_PERIODS, FarEnd
from jackserver import JackServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = 48000
HOP = 240  # both built-in models (checked against --stats-json)
START_TIMEOUT_S = 120.0  # JAX import + model build + compile on a loaded 2-core machine
EXIT_TIMEOUT_S = 30.0
TAIL = SR // 2  # frames recorded after a signal ends
TONE_F0 = 25.0  # Hz: period 1920 samples, longer than the search range needed (see `lag_by_xcorr`)
TONE_PERIOD = round(SR / TONE_F0)
STALL_AT_S, STALL_S = 2.0, 0.3
REQUIRED_STATS = {
    "latency": {"algorithmic_ms", "prefill_ms", "device_in_ms", "device_out_ms", "total_ms", "total_samples"},
    "counters": {"xruns", "deadline_misses", "nonfinite_resets", "input_overflows", "output_underflows"},
    "compute_us": {"p50", "p99", "max"},
}
REPORT_ROW = re.compile(r"^\s+(algorithmic|pre-fill|device input|device output|total)\s+(-?[\d.]+) ms\s+(\d+) samples$")


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def jax_cache(tmp_path_factory) -> dict[str, str]:
    """A persistent JAX compilation cache shared by this module's subprocesses (lstm-random: ~15 s -> ~5 s)."""
    return {
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path_factory.mktemp("jax-cache")),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


@pytest.fixture
def cli_env(jack_server, jax_cache) -> dict[str, str]:
    """The environment of an `rtmusic` subprocess: the fixture's JACK server, the JAX cache."""
    return {**os.environ, **jack_server.env, **jax_cache}


class Cli:
    """``python3 -m rtmusic run ARGS`` in a subprocess; stdout/stderr collected by threads (never blocks)."""

    def __init__(self, args: list[str], env: dict[str, str], sigint_ignored: bool = False) -> None:
        self.args = args
        # sigint_ignored: started as a shell starts a background job, with SIGINT ignored (inherited through exec)
        prefix = ["sh", "-c", 'trap "" INT; exec "$@"', "sh"] if sigint_ignored else []
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "rtmusic", "run", *args], cwd=REPO, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.err_lines: list[str] = []
        self.out_lines: list[str] = []
        self.running_at: float | None = None  # time.monotonic() when "rtmusic: running" was read
        self.exited_at: float | None = None
        self._running = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err_lines), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out_lines), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            if line.startswith("rtmusic: running") and not self._running.is_set():
                self.running_at = time.monotonic()
                self._running.set()

    @property
    def stderr(self) -> str:
        return "\n".join(self.err_lines)

    def wait_running(self, timeout: float = START_TIMEOUT_S) -> float:
        deadline = time.monotonic() + timeout
        while not self._running.wait(0.05):
            if self.proc.poll() is not None:
                self._join_readers()
                pytest.fail(f"rtmusic {self.args} exited with {self.proc.returncode} before running:\n{self.stderr}")
            if time.monotonic() > deadline:
                pytest.fail(f"rtmusic {self.args} not running after {timeout:g} s:\n{self.stderr}")
        return self.running_at

    def wait(self, timeout: float = EXIT_TIMEOUT_S) -> int:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            pytest.fail(f"rtmusic {self.args} did not exit within {timeout:g} s:\n{self.stderr}")
        self.exited_at = time.monotonic()
        self._join_readers()
        return self.proc.returncode

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(5)

    def error_lines(self) -> list[str]:
        return [line for line in self.err_lines if line.startswith("rtmusic: error:")]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@contextlib.contextmanager
def rtmusic_run(args: list[str], env: dict[str, str], sigint_ignored: bool = False):
    cli = Cli(args, env, sigint_ignored)
    try:
        yield cli
    finally:
        cli.close()


def run_to_exit(args: list[str], env: dict[str, str], timeout: float = 90.0) -> Cli:
    with rtmusic_run(args, env) as cli:
        cli.wait(timeout)
    return cli


class CycleTake:
    """Preallocated buffers of one take, indexed by JACK cycle (not frame time): see `CycleFarEnd`."""

    def __init__(self, played: np.ndarray, period: int, hiccups: dict[int, float]) -> None:
        self.played = played  # shape=[cycles * period] float32
        self.recorded = np.zeros_like(played)  # shape=[cycles * period] float32
        self.n_cycles = played.size // period
        self.frame_times = np.zeros(self.n_cycles, np.int64)  # shape=[cycles] JACK frame time of each cycle
        self.hiccups = hiccups  # cycle index -> seconds the far end's callback sleeps there (provokes an xrun)
        self.cycles = 0
        self.finished = False
        self.armed_at = 0.0  # time.monotonic() when the take was handed to the process callback

    @property
    def frame_gaps(self) -> int:
        """Cycles after which JACK's frame time jumped (a late cycle); harmless for cycle indexing."""
        return int(np.count_nonzero(np.diff(self.frame_times) != self.played.size // self.n_cycles))


class CycleFarEnd(FarEnd):
    """`FarEnd` whose takes are indexed by JACK *cycle*, so a late JACK cycle cannot break the alignment.

    `FarEnd.play_and_record` indexes by frame time and rejects a take in which the frame time jumped
    (JACK's dummy driver advances it by wall-clock time after a late cycle). Every client still processes
    exactly one period per cycle, so indexing played and recorded samples by cycle keeps them aligned
    through any xrun: on a loaded machine the take survives and the lag stays exact. The loop latency is
    the same `LOOP_LATENCY_PERIODS`. A take may also *provoke* xruns (`hiccups`).
    """

    def play_cycles(self, signal: np.ndarray, *, tail: int = TAIL, hiccups: dict[int, float] | None = None,
                    timeout: float | None = None) -> CycleTake:
        signal = np.ascontiguousarray(signal, dtype=np.float32).reshape(-1)
        frames = -(-(signal.size + tail) // self.period) * self.period
        played = np.zeros(frames, np.float32)
        played[: signal.size] = signal
        take = CycleTake(played, self.period, hiccups or {})
        timeout = frames / self.samplerate + 10.0 if timeout is None else timeout
        self._done.clear()
        take.armed_at = time.monotonic()
        self._take = take
        finished = self._done.wait(timeout)
        self._take = None
        if not finished:
            pytest.fail(f"take of {frames} frames not done after {timeout:g} s ({take.cycles} cycles)")
        return take

    def _process(self, frames: int) -> None:
        out = self.outport.get_array()
        take = self._take
        if not isinstance(take, CycleTake) or take.finished:
            out.fill(0.0)
            return
        i = take.cycles
        if i in take.hiccups:
            time.sleep(take.hiccups[i])
        a, b = i * frames, (i + 1) * frames
        out[:] = take.played[a:b]
        take.recorded[a:b] = self.inport.get_array()
        take.frame_times[i] = self.client.last_frame_time
        take.cycles = i + 1
        if take.cycles == take.n_cycles:
            take.finished = True
            self._done.set()


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, round(seconds * SR)).astype(np.float32)


def tone(seconds: float, seed: int = 0) -> np.ndarray:
    """A constant sum of 400 harmonics of 25 Hz (up to 10 kHz), random phases: sharp autocorrelation peaks."""
    t = np.arange(round(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    x = np.zeros(t.size)
    for k, phase in zip(range(1, 401), rng.uniform(0, 2 * np.pi, 400)):
        x += np.cos(2 * np.pi * TONE_F0 * k * t + phase)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def lag_by_xcorr(played: np.ndarray, recorded: np.ndarray, start: int, length: int, lags: range) -> int:
    """The lag L in `lags` maximising sum_i recorded[start + i] * played[start + i - L], i < length."""
    lo, hi = lags.start, lags.stop
    assert start - hi + 1 >= 0
    segment = recorded[start : start + length].astype(np.float64)
    reference = played[start - hi + 1 : start + length - lo].astype(np.float64)
    c = correlate(reference, segment, mode="valid")  # c[j] = sum_i reference[i + j] * segment[i]
    return hi - 1 - int(np.argmax(c))


def tone_lag(played: np.ndarray, recorded: np.ndarray, start_s: float, length_s: float, onset: int) -> int:
    """Lag of the tonal signal in a window; searched over one tone period from the output's onset.

    The correlation of a periodic signal is periodic in the lag (period 1920 samples here), so the lag is
    only defined modulo that period. The true lag lies in [onset, onset + window]: the first non-zero
    output sample can precede the lag by at most one STFT window (480 samples, < 1920) and cannot come
    before it. One period from the onset therefore holds exactly one candidate.
    """
    return lag_by_xcorr(played, recorded, round(start_s * SR) + onset + TONE_PERIOD,
                        round(length_s * SR), range(onset, onset + TONE_PERIOD))


def dry_mask(take: CycleTake, lag: int, n: int) -> np.ndarray:
    """[n] bool: recorded[i + lag] is bit-identical to played[i] (the delay-aligned dry path)."""
    return take.recorded[lag : lag + n] == take.played[:n]


def longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in a 1-D bool array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[::2], edges[1::2]
    if starts.size == 0:
        return 0, 0
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k] - starts[k])


def first_nonzero(x: np.ndarray) -> int:
    nz = np.flatnonzero(x)
    assert nz.size, "the far end recorded only silence"
    return int(nz[0])


def read_stats(path) -> dict:
    with open(path) as f:
        return json.load(f)


def expected_lag(stats: dict, far_end: FarEnd) -> int:
    """What rtmusic declares (callback input -> output) plus the JACK loop's one period."""
    assert stats["hop"] == HOP and stats["samplerate"] == SR
    return stats["latency"]["engine_samples"] + LOOP_LATENCY_PERIODS * far_end.period


def describe(cli: Cli, stats: dict | None = None, take: CycleTake | None = None) -> str:
    """Context for assertion messages: counters and the end of rtmusic's stderr."""
    parts = []
    if stats:
        parts.append(f"counters {stats['counters']} skipped_hops {stats['details'].get('skipped_hops')}")
    if take is not None:
        parts.append(f"take frame-time gaps {take.frame_gaps}")
    parts.append("stderr tail:\n" + "\n".join(cli.err_lines[-8:]))
    return "; ".join(parts)


def start_with_far_end(far_end: CycleFarEnd, args: list[str], env: dict[str, str]) -> Cli:
    """Start rtmusic (the far end must exist before, to tell its ports from older ones) and wire the loop."""
    cli = Cli(args, env)
    cli.wait_running()
    far_end.connect()
    return cli


def play_through(far_end: CycleFarEnd, args: list[str], env: dict[str, str], signal: np.ndarray) -> tuple[Cli, CycleTake]:
    """Start rtmusic, play `signal` through it and wait for it to exit (with 0) after its --duration."""
    cli = start_with_far_end(far_end, args, env)
    try:
        take = far_end.play_cycles(signal)
        assert cli.wait() == 0, cli.stderr
    finally:
        cli.close()
    return cli, take


# ------------------------------------------------------------------------------------------------ tests


def test_bypass_lag_is_declared_engine_latency_plus_loop_bit_exact(jack_server, cli_env, tmp_path):
    """Noise through `--model bypass`, with two provoked JACK xruns: exact lag, exact samples, xruns counted."""
    stats_path = tmp_path / "stats.json"
    signal = noise(2.5)
    server_log_before = jack_server.log().count("XRun")
    with CycleFarEnd() as far_end:
        cli = start_with_far_end(far_end, ["--model", "bypass", "--duration", "4", "--stats-json", str(stats_path)],
                                 cli_env)
        try:
            # the far end's callback sleeps 30 ms twice: JACK's cycle is late, every client gets an xrun
            take = far_end.play_cycles(signal, hiccups={150: 0.03, 600: 0.03})
            assert cli.wait() == 0, cli.stderr
        finally:
            cli.close()
    server_xruns = jack_server.log().count("XRun") - server_log_before
    stats = read_stats(stats_path)
    lag = first_nonzero(take.recorded)
    print(f"bypass: measured lag {lag} = engine_samples {stats['latency']['engine_samples']} + loop {far_end.period}; "
          f"xruns {stats['counters']['xruns']} (jackd logged {server_xruns})")
    assert lag == expected_lag(stats, far_end), describe(cli, stats, take)
    assert np.array_equal(take.recorded[lag : lag + signal.size], signal), describe(cli, stats, take)
    assert not take.recorded[:lag].any() and not take.recorded[lag + signal.size :].any()
    # both provoked xruns reached rtmusic's counter; it never counts more than the server had
    assert 2 <= stats["counters"]["xruns"] <= server_xruns, describe(cli, stats, take)

    rows = {m[1]: (float(m[2]), int(m[3])) for m in map(REPORT_ROW.match, cli.err_lines) if m}
    assert set(rows) == {"algorithmic", "pre-fill", "device input", "device output", "total"}, cli.stderr
    latency = stats["latency"]
    assert rows["algorithmic"][1] + rows["pre-fill"][1] == latency["engine_samples"]
    assert rows["total"][1] == latency["total_samples"] == sum(
        rows[k][1] for k in ("algorithmic", "pre-fill", "device input", "device output"))
    assert rows["total"][0] == pytest.approx(latency["total_ms"], abs=0.01)


def test_lstm_lag_is_constant_over_ten_seconds(jack_server, cli_env, tmp_path):
    stats_path = tmp_path / "stats.json"
    signal = tone(10.0)
    with CycleFarEnd() as far_end:
        cli = start_with_far_end(far_end, ["--model", "lstm-random", "--duration", "11.5",
                                           "--stats-json", str(stats_path)], cli_env)
        try:
            take = far_end.play_cycles(signal)
            assert cli.wait() == 0, cli.stderr
        finally:
            cli.close()
    stats = read_stats(stats_path)
    expected = expected_lag(stats, far_end)
    onset = first_nonzero(take.recorded)
    start_lag = tone_lag(take.played, take.recorded, 0.25, 0.5, onset)
    end_lag = tone_lag(take.played, take.recorded, 9.25, 0.5, onset)
    print(f"lstm-random: lag {start_lag} (start) / {end_lag} (end), expected {expected}; "
          f"misses {stats['counters']['deadline_misses']}, xruns {stats['counters']['xruns']}")
    assert start_lag == end_lag == expected, describe(cli, stats, take)
    assert stats["compiled_after_start"] == 0, "the per-hop step compiled while audio was flowing"

    # The dry fallback (deadline misses) has the same lag by design; show the *processed* samples do too.
    dry = dry_mask(take, expected, signal.size)
    processed = take.recorded.copy()
    processed[expected : expected + signal.size][dry] = 0.0
    assert np.count_nonzero(~dry) > SR, "under 1 s of processed output; " + describe(cli, stats, take)
    assert tone_lag(take.played, processed, 0.25, 9.5, onset) == expected, describe(cli, stats, take)


@pytest.mark.parametrize("model", ["bypass", "lstm-random"])
def test_stall_plays_the_delay_aligned_dry_input_and_keeps_the_lag(jack_server, cli_env, tmp_path, model):
    stats_path = tmp_path / "stats.json"
    signal = (noise if model == "bypass" else tone)(3.5, seed=2)
    with CycleFarEnd() as far_end:
        cli = start_with_far_end(far_end, ["--model", model, "--duration", "5", "--stats-json", str(stats_path),
                                           "--inject-stall", f"{STALL_AT_S},{STALL_S}"], cli_env)
        try:
            take = far_end.play_cycles(signal)
            assert cli.wait() == 0, cli.stderr
        finally:
            cli.close()
    stats = read_stats(stats_path)
    # the worker's clock starts just before "running" is printed; the stall must fall inside the take
    stall_index = round((cli.running_at + STALL_AT_S - take.armed_at) * SR)
    assert 0.3 * SR < stall_index < signal.size - SR, f"stall at {stall_index / SR:.2f} s of the take"
    assert stats["counters"]["deadline_misses"] >= 0.8 * STALL_S * SR / HOP, describe(cli, stats, take)

    lag = expected_lag(stats, far_end)
    if model == "bypass":  # processed == dry: the whole take, stall included, is the input at one lag
        assert np.array_equal(take.recorded[lag : lag + signal.size], signal), describe(cli, stats, take)
        assert first_nonzero(take.recorded) == lag
        return

    dry = dry_mask(take, lag, signal.size)
    run_start, run_length = longest_run(dry)
    # the stall's hops are exactly the input (not silence, not a shifted copy) for at least most of the stall
    assert run_length >= 0.8 * STALL_S * SR, f"longest dry run {run_length} samples; " + describe(cli, stats, take)
    assert abs(run_start - stall_index) < 0.5 * SR, (run_start, stall_index)
    assert np.abs(signal[run_start : run_start + run_length]).max() > 0.1
    assert not dry.all(), "no processed output at all"
    onset = first_nonzero(take.recorded)
    before = tone_lag(take.played, take.recorded, 0.2, 0.5, onset)
    after = tone_lag(take.played, take.recorded, (run_start + run_length) / SR + 0.2, 0.5, onset)
    print(f"stall lstm-random: dry run {run_length / SR:.3f} s at {run_start / SR:.3f} s (stall expected at "
          f"{stall_index / SR:.3f} s); lag before {before} after {after} expected {lag}; counters {stats['counters']}")
    assert before == after == lag, describe(cli, stats, take)


def test_killing_jackd_exits_3_quickly_and_keeps_the_recording(jax_cache, tmp_path):
    """A second server (not the fixture's) is SIGKILLed under a running `rtmusic run --record`."""
    record = tmp_path / "out.wav"
    server = JackServer(rate=48000, period=128)
    server.start(export=False)  # a free pool name: other tests keep the fixture's server
    env = {**os.environ, **server.env, **jax_cache}
    try:
        with rtmusic_run(["--model", "bypass", "--duration", "60", "--record", str(record)], env) as cli:
            cli.wait_running()
            time.sleep(1.0)  # twice the recording asserted below: "running" can come a few ms before the first block
            killed_at = time.monotonic()
            server.kill()
            code = cli.wait(timeout=15.0)
    finally:
        if not server.alive:  # start and stop the same name: frees its slot in libjack's registry
            try:
                server.start(export=False)
            finally:
                server.stop()
    print(f"kill: exit {code} {cli.exited_at - killed_at:.2f} s after SIGKILL of jackd; {cli.error_lines()}")
    assert code == 3, cli.stderr
    assert cli.exited_at - killed_at < 2.0, f"exited {cli.exited_at - killed_at:.2f} s after the kill"
    errors = cli.error_lines()
    assert len(errors) == 1 and "audio server" in errors[0], cli.stderr
    assert "Traceback" not in cli.stderr
    info = sf.info(str(record))
    assert info.samplerate == SR and info.frames > 0.5 * SR, info


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "started-with-sigint-ignored"])
def test_sigint_exits_130_with_summary_recording_and_stats(cli_env, tmp_path, sigint_ignored):
    record, stats_path = tmp_path / "out.flac", tmp_path / "stats.json"
    with rtmusic_run(["--model", "bypass", "--record", str(record), "--stats-json", str(stats_path)],
                     cli_env, sigint_ignored) as cli:
        cli.wait_running()
        time.sleep(1.0)
        cli.proc.send_signal(signal.SIGINT)
        code = cli.wait(timeout=15.0)
    assert code == 130, cli.stderr
    assert any(line.startswith("rtmusic: stopped after") for line in cli.err_lines), cli.stderr
    assert "Traceback" not in cli.stderr
    stats = read_stats(stats_path)
    for section, keys in REQUIRED_STATS.items():
        assert keys <= set(stats[section]), (section, stats[section])
        assert all(isinstance(v, (int, float)) and v >= 0 for k, v in stats[section].items() if k in keys)
    assert {"samplerate", "hop", "model"} <= set(stats)
    assert (stats["samplerate"], stats["hop"], stats["model"]) == (SR, HOP, "bypass")
    assert stats["duration_s"] >= 0.9
    assert stats["compute_us"]["p50"] > 0 and stats["details"]["hops"] > 0
    info = sf.info(str(record))
    # the recording holds every callback's output: as long as the run (within a few blocks)
    assert info.frames == pytest.approx(stats["duration_s"] * SR, abs=0.2 * SR), (info.frames, stats["duration_s"])


def test_errors_that_need_a_device_are_one_line_exit_2(jack_server, cli_env):
    with CycleFarEnd():  # a second JACK client with ports = a second PortAudio device ("far_end")
        runs = {
            "index": Cli(["--model", "bypass", "-i", "99"], cli_env),
            "ambiguous": Cli(["--model", "bypass", "-i", "jack"], cli_env),
            "budget": Cli(["--model", "bypass", "--latency-budget", "5"], cli_env),
        }
        try:
            for cli in runs.values():
                cli.wait(90.0)
        finally:
            for cli in runs.values():
                cli.close()
    for name, cli in runs.items():
        assert cli.proc.returncode == 2, (name, cli.stderr)
        assert len(cli.error_lines()) == 1, (name, cli.stderr)
        assert "Traceback" not in cli.stderr and not cli.out_lines, (name, cli.stderr)
    index_error = runs["index"].error_lines()[0]
    assert "99" in index_error and "rtmusic devices" in index_error
    ambiguous = runs["ambiguous"].error_lines()[0]
    assert "matches 2 input devices" in ambiguous and "system" in ambiguous and "far_end" in ambiguous, ambiguous
    assert "index" in ambiguous
    budget = runs["budget"]
    rows = {m[1]: float(m[2]) for m in map(REPORT_ROW.match, budget.err_lines) if m}
    largest = max((k for k in rows if k != "total"), key=rows.get)
    assert f"largest part is {largest}" in budget.error_lines()[0], budget.stderr
    assert "5 ms budget" in budget.error_lines()[0]


def test_record_input_is_the_raw_input_bit_exact_and_aligned(jack_server, cli_env, tmp_path):
    record_in, record_out, stats_path = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "stats.json"
    signal = noise(2.0, seed=3)
    with CycleFarEnd() as far_end:
        cli = start_with_far_end(far_end, ["--model", "bypass", "--duration", "3.5", "--record-input", str(record_in),
                                           "--record", str(record_out), "--stats-json", str(stats_path)], cli_env)
        try:
            take = far_end.play_cycles(signal)
            assert cli.wait() == 0, cli.stderr
        finally:
            cli.close()
    stats = read_stats(stats_path)
    heard, rate = sf.read(str(record_in), dtype="float32")
    played, _ = sf.read(str(record_out), dtype="float32")
    assert rate == SR and heard.ndim == 1 and heard.shape == played.shape
    start = first_nonzero(heard)
    assert np.array_equal(heard[start : start + signal.size], signal), describe(cli, stats, take)
    assert not heard[:start].any() and not heard[start + signal.size :].any()
    # both files count the same callback positions: output = input delayed by the declared engine latency
    engine = stats["latency"]["engine_samples"]
    assert np.array_equal(played[engine:], heard[:-engine]) and not played[:engine].any()
    # and what the far end got back is that output, one JACK period later
    assert np.array_equal(take.recorded[expected_lag(stats, far_end):][: signal.size], signal)


def test_nonfinite_input_bursts_keep_the_output_finite(jack_server, cli_env, tmp_path):
    record_in, record_out, stats_path = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "stats.json"
    signal = tone(3.2, seed=4)
    bursts = []
    for k, value in enumerate([np.nan, np.inf, -np.inf] * 3):
        at = round((0.4 + 0.25 * k) * SR)
        length = 1 if k % 2 else 300
        signal[at : at + length] = value
        bursts.append(at)
    with CycleFarEnd() as far_end:
        cli = start_with_far_end(far_end, ["--model", "lstm-random", "--duration", "4.7", "--record-input",
                                           str(record_in), "--record", str(record_out),
                                           "--stats-json", str(stats_path)], cli_env)
        try:
            take = far_end.play_cycles(signal)
            assert cli.wait() == 0, cli.stderr
        finally:
            cli.close()
    stats = read_stats(stats_path)
    assert isinstance(stats["counters"]["nonfinite_resets"], int) and stats["counters"]["nonfinite_resets"] >= 0
    assert np.isfinite(take.recorded).all(), describe(cli, stats, take)
    played, _ = sf.read(str(record_out), dtype="float32")
    assert np.isfinite(played).all()
    heard, _ = sf.read(str(record_in), dtype="float32")
    start = int(np.flatnonzero(heard)[0])
    assert np.array_equal(heard[start : start + signal.size], signal, equal_nan=True)  # raw: NaN/Inf kept
    # the model keeps working after the last burst: same lag, real signal
    lag = expected_lag(stats, far_end)
    onset = first_nonzero(take.recorded)
    assert tone_lag(take.played, take.recorded, bursts[-1] / SR + 0.3, 0.4, onset) == lag, describe(cli, stats, take)
    tail = take.recorded[lag + bursts[-1] + SR // 4 : lag + signal.size]
    assert np.sqrt(np.mean(tail**2)) > 0.01


def _thread_cores(pid: int) -> dict[int, set[int]]:
    """{thread id: the cores it may run on} of every thread of process `pid`, from /proc."""
    cores = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            allowed = next(line.split(":", 1)[1].strip() for line in f if line.startswith("Cpus_allowed_list"))
        cores[int(tid)] = set()
        for part in allowed.split(","):
            first, _, last = part.partition("-")
            cores[int(tid)].update(range(int(first), int(last or first) + 1))
    return cores


@pytest.mark.parametrize("request_core", ["last", "none"])
def test_cpu_core_runs_worker_and_jax_threads_on_one_core_and_keeps_the_lag(jack_server, cli_env, tmp_path,
                                                                            request_core):
    """`--cpu-core N`: the worker and the threads JAX started share core N; the main thread (UI, the audio
    client's thread it starts) keeps every core. `none`: no thread is pinned. Either way the declared lag."""
    stats_path = tmp_path / "stats.json"
    usable = set(os.sched_getaffinity(0))
    core = max(usable) if request_core == "last" else None
    signal = tone(3.0)
    with CycleFarEnd() as far_end:
        cli = start_with_far_end(far_end, ["--model", "lstm-random", "--cpu-core", str(core).lower(),
                                           "--duration", "4.5", "--stats-json", str(stats_path)], cli_env)
        try:
            threads = _thread_cores(cli.proc.pid)
            policies = {tid: os.sched_getscheduler(tid) for tid in threads}  # all alive: rtmusic is running
            take = far_end.play_cycles(signal)
            assert cli.wait() == 0, cli.stderr
        finally:
            cli.close()
    stats = read_stats(stats_path)
    assert threads[cli.proc.pid] == usable, threads  # the main thread has (or was given back) every core
    pinned = [tid for tid, cores in threads.items() if len(cores) == 1 and cores != usable]
    if core is None:  # unpinned; a process confined to one core (taskset) still reports the core it runs on
        assert stats["cpu_core"] == (None if len(usable) > 1 else min(usable)) and not pinned, (stats, threads)
    else:
        assert stats["cpu_core"] == core, stats
        assert all(threads[tid] == {core} for tid in pinned), threads
        if len(usable) > 1:
            assert 2 <= len(pinned) < len(threads), threads  # the worker and JAX's runtime threads
        if stats["worker_realtime"]:  # JAX's threads share the worker's priority, not only its core
            assert stats["runtime_threads_realtime"] >= 1, stats
            assert all(policies[tid] == os.SCHED_FIFO for tid in pinned), (threads, policies)
    expected = expected_lag(stats, far_end)
    onset = first_nonzero(take.recorded)
    assert tone_lag(take.played, take.recorded, 0.25, 2.5, onset) == expected, describe(cli, stats, take)
    assert stats["compiled_after_start"] == 0
