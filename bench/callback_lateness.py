"""How late does the audio callback run while the model worker computes? Python vs compiled callback.

Why: sounddevice's Python callback needs the GIL, and a worker thread running Python (JAX dispatch
included) can hold it for up to the interpreter's switch interval, longer than a 128-frame period.
rtmusic's callback is a compiled C function (Numba cfunc) that never takes the GIL. This measures both
on a real JACK server (dummy backend, 128-frame periods) with the LSTM worker running every hop:

  python -m bench.callback_lateness [--seconds 10] [--out bench/results/callback_lateness.json]

Lateness of callback j = (entry_j - j * period) - min over the surrounding second of (entry_k - k * period):
how far it started behind the best-case schedule (the local minimum absorbs the dummy clock's slow drift). Starts its own dummy JACK server unless one answers already.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

RATE, PERIOD = 48000, 128


def ensure_jack(server: str = "rtmusic-bench") -> subprocess.Popen | None:
    os.environ["JACK_NO_START_SERVER"] = "1"
    if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
        return None
    if shutil.which("jackd") is None:
        raise SystemExit("jackd not found: apt-get install jackd2 (or run scripts/setup.sh --test)")
    os.environ["JACK_DEFAULT_SERVER"] = server
    proc = subprocess.Popen(["jackd", "-n", server, "-R", "-S", "-d", "dummy", "-r", str(RATE), "-p", str(PERIOD)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(100):
        if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
            return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("jackd did not start")


def lateness_us(entries: np.ndarray) -> dict[str, float]:
    from numpy.lib.stride_tricks import sliding_window_view

    j = np.arange(entries.size)
    offset = entries - j * (PERIOD / RATE)
    half = RATE // PERIOD // 2  # half a second each side
    padded = np.pad(offset, half, mode="edge")
    local_min = sliding_window_view(padded, 2 * half + 1).min(axis=1)
    late = (offset - local_min) * 1e6
    return {"callbacks": int(entries.size), "p50": round(float(np.percentile(late, 50)), 1),
            "p99": round(float(np.percentile(late, 99)), 1), "max": round(float(late.max()), 1),
            "over_one_period": int((late > 1e6 * PERIOD / RATE).sum())}


def run_python_callback(seconds: float, switch_interval: float) -> dict:
    """A minimal Python callback (copy in->out, note the time) and a worker running the LSTM each hop."""
    import sounddevice as sd

    from rtmusic.processor import Processor

    processor = Processor.from_name("lstm-random").prepare()
    entries = np.zeros(int(seconds * RATE / PERIOD) + 1000)
    count = [0]
    xruns = [0]

    def callback(indata, outdata, frames, time_info, status):
        n = count[0]
        if n < entries.size:
            entries[n] = time.monotonic()
        count[0] = n + 1
        if status:
            xruns[0] += 1
        outdata[:] = indata

    stop = threading.Event()

    def worker():
        hop = np.zeros(processor.hop, np.float32)
        while not stop.is_set():
            processor.process_hop(hop)
            time.sleep(0.004)

    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    thread = threading.Thread(target=worker, daemon=True)
    with sd.Stream(samplerate=RATE, blocksize=0, channels=1, dtype="float32", callback=callback):
        thread.start()
        time.sleep(seconds)
        stop.set()
    thread.join()
    sys.setswitchinterval(old)
    result = lateness_us(entries[500:min(count[0], entries.size)])  # skip the first ~1.3 s (start-up)
    result["xrun_callbacks"] = xruns[0]
    return result


def run_compiled_callback(seconds: float) -> dict:
    from rtmusic.engine.live import LiveSettings, LiveStream
    from rtmusic.processor import Processor

    live = LiveStream(Processor.from_name("lstm-random"), LiveSettings()).open()
    live.start()
    time.sleep(seconds)
    entries = live.state.callback_times()
    counters = live.state.counters()
    live.close()
    result = lateness_us(entries[500:])
    result["xrun_callbacks"] = counters["xruns"]
    result["deadline_misses"] = counters["deadline_misses"]
    result["callback_max_us"] = counters["callback_max_us"]
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/callback_lateness.json"))
    args = parser.parse_args(argv)
    server = ensure_jack()
    try:
        results = {
            "python callback, 5 ms switch interval": run_python_callback(args.seconds, 0.005),
            "python callback, 0.5 ms switch interval": run_python_callback(args.seconds, 0.0005),
            "compiled callback (rtmusic)": run_compiled_callback(args.seconds),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(5)
    print(f"{'callback':<42}{'p50 us':>9}{'p99 us':>9}{'max us':>9}{'>1 period':>11}{'xruns':>7}")
    for name, r in results.items():
        print(f"{name:<42}{r['p50']:>9.0f}{r['p99']:>9.0f}{r['max']:>9.0f}{r['over_one_period']:>11}{r['xrun_callbacks']:>7}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": {"cpu": platform.processor() or platform.machine(),
                                                "cores": os.cpu_count(), "load_avg": os.getloadavg()},
                                    "period": PERIOD, "samplerate": RATE, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
