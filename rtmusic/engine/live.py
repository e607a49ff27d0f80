"""LiveStream: opens a duplex PortAudio stream on the compiled callback, runs the worker, reports.

Setup (resolve devices, compile and warm up everything, allocate rings, open the stream, check the
latency budget) is done before `start()`; after it nothing compiles or allocates on the audio path.
If the audio server dies (PortAudio marks the stream inactive, or callbacks stop arriving) the stream is
*abandoned*: PortAudio's stop/close/abort can hang forever then, so they are never called.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtmusic.engine import state as S
from rtmusic.engine.callback import c_callback, callback_userdata
from rtmusic.engine.jaxenv import configure_jax_for_live
from rtmusic.engine.rate_bridge import RateBridge
from rtmusic.engine.recorder import Recorder
from rtmusic.engine.worker import Worker, warm_up_engine_functions
from rtmusic.errors import DeviceError, ParameterError, StreamAborted
from rtmusic.latency import LatencyReport
from rtmusic.processor import Processor

SWITCH_INTERVAL_S = 0.0005  # the worker and the UI thread share the GIL: keep each turn short
# Pre-fill beyond hop + block, for worker wake-up and compute jitter. Measured with `rtmusic run` on
# JACK (128 frames) while a training job loaded both cores: 1 ms -> 136 deadline misses in 15 s,
# 3 ms -> 6. On an idle machine 1 ms gave 11 misses in 23 s. 3 ms costs 2 ms of latency, not crackle.
SAFETY_MARGIN_S = 0.003
SILENT_CALLBACKS_S = 1.0  # no callback for this long while "active" = the server is gone


MAX_PLAUSIBLE_DEVICE_LATENCY_S = 2.0


def plausible_latency(seconds: float, which: str) -> float:
    """PortAudio's reported device latency, or 0 with a warning when it is nonsense.

    Seen with JACK when the stream is wired to another client instead of a hardware port: a latency
    range of -128 frames wrapped to 2**32 - 128 (about 89478 s).
    """
    if 0.0 <= seconds <= MAX_PLAUSIBLE_DEVICE_LATENCY_S:
        return seconds
    print(f"rtmusic: warning: PortAudio reports an implausible device {which} latency ({seconds:.3g} s); "
          "counting it as 0 in the latency report", file=sys.stderr)
    return 0.0


def device_rate(sd, model_rate: int, devices: tuple, channels: tuple, in_info: dict) -> int:
    """The stream's rate when the user names none: the model's if both devices take it, else the input's own.

    A JACK server, or a device locked to 44.1 kHz, refuses any rate but its own; the worker then resamples.
    """
    try:
        sd.check_input_settings(devices[0], channels=channels[0], dtype="float32", samplerate=model_rate)
        sd.check_output_settings(devices[1], channels=channels[1], dtype="float32", samplerate=model_rate)
        return model_rate
    except sd.PortAudioError:
        return int(round(in_info["default_samplerate"]))


@dataclass
class LiveSettings:
    input_device: int | None = None
    output_device: int | None = None
    samplerate: int | None = None  # None = the model's rate if the devices take it, else the input's own
    blocksize: int = 0  # 0 = let the host choose (no extra buffering)
    device_latency: str | float = "low"
    input_channel: int = 0
    record: str | Path | None = None
    record_input: str | Path | None = None
    latency_budget_ms: float = 50.0
    safety_margin_s: float = SAFETY_MARGIN_S
    stall: tuple[float, float] | None = None  # test hook: (at_s, duration_s)
    cpu_core: int | None = None  # the worker's core (the caller pinned JAX's threads there: engine.cores)


class LiveStream:
    """Context manager: `with LiveStream(processor, settings) as live: live.start(); ... live.poll()`."""

    def __init__(self, processor: Processor, settings: LiveSettings):
        self.processor = processor
        self.settings = settings
        self.stream = None
        self.state: S.EngineState | None = None
        self.worker: Worker | None = None
        self.recorder: Recorder | None = None
        self.report: LatencyReport | None = None
        self.abandoned = False
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self._last_callbacks = 0
        self._last_progress = 0.0
        self._old_switch = sys.getswitchinterval()

    # ---- setup ---------------------------------------------------------------------------------------
    def open(self) -> "LiveStream":
        import sounddevice as sd

        s = self.settings
        configure_jax_for_live()
        in_info = sd.query_devices(s.input_device, "input") if s.input_device is not None else sd.query_devices(kind="input")
        out_info = sd.query_devices(s.output_device, "output") if s.output_device is not None else sd.query_devices(kind="output")
        if s.input_channel >= in_info["max_input_channels"]:
            raise ParameterError(
                f"input channel {s.input_channel + 1} does not exist on {in_info['name']!r} "
                f"({in_info['max_input_channels']} channels)"
            )
        in_channels = s.input_channel + 1
        out_channels = min(2, int(out_info["max_output_channels"]))
        rate = s.samplerate or device_rate(sd, self.processor.samplerate, (s.input_device, s.output_device),
                                           (in_channels, out_channels), in_info)
        if rate != self.processor.samplerate:  # the worker resamples; the callback still only copies
            self.processor = RateBridge(self.processor, rate)
        proc = self.processor
        if not proc.prepared:
            proc.prepare()
        warm_up_engine_functions(proc.hop)
        block_guess = s.blocksize or max(64, round(max(in_info["default_low_input_latency"],
                                                       out_info["default_low_output_latency"]) * rate))
        margin = round(s.safety_margin_s * rate)
        prefill = proc.hop + block_guess + margin
        self.state = S.EngineState.create(
            hop=proc.hop, prefill=prefill, step_delay=proc.delay_samples, max_block=max(block_guess, 4096),
            record=bool(s.record), record_input=bool(s.record_input), input_channel=s.input_channel,
            samplerate=rate, record_seconds=10.0,
        )
        self._userdata = callback_userdata(self.state, in_channels, out_channels, rate)
        try:
            self.stream = sd._StreamBase(  # the documented way to give PortAudio a C callback (as rtmixer)
                kind="duplex", samplerate=rate, blocksize=s.blocksize,
                device=(s.input_device, s.output_device), channels=(in_channels, out_channels),
                dtype="float32", latency=s.device_latency,
                callback=sd._ffi.cast("PaStreamCallback*", c_callback.address),
                userdata=sd._ffi.cast("void*", self._userdata.ctypes.data),
            )
        except sd.PortAudioError as exc:
            raise DeviceError(
                f"cannot open the audio stream at {rate} Hz on input {in_info['name']!r} / output "
                f"{out_info['name']!r}: {exc}; try other devices (rtmusic devices) or settings"
            ) from exc
        dev_in, dev_out = (plausible_latency(x, name) for x, name in zip(self.stream.latency, ("input", "output")))
        self.report = LatencyReport(
            samplerate=rate, hop=proc.hop, algorithmic=proc.latency_samples, prefill=prefill - proc.hop,
            device_in=round(dev_in * rate), device_out=round(dev_out * rate),
        )
        self.worker = Worker(proc, self.state, stall=s.stall, core=s.cpu_core)
        if s.record or s.record_input:
            self.recorder = Recorder(self.state, rate, s.record, s.record_input)
        self.device_names = (in_info["name"], out_info["name"])
        return self

    def check_budget(self) -> None:
        self.report.check_budget(self.settings.latency_budget_ms)

    def start(self) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.worker.start()
        if self.recorder:
            self.recorder.start()
        self.stream.start()
        self.started_at = time.monotonic()
        self._compiled_at_start = self.processor.compiled_programs()
        self._last_progress = self.started_at

    # ---- while running -------------------------------------------------------------------------------
    def poll(self) -> None:
        """Raise StreamAborted if the server died, callbacks stopped, or the worker/recorder failed."""
        now = time.monotonic()
        callbacks = int(self.state.ctl[S.CALLBACKS])
        if callbacks != self._last_callbacks:
            self._last_callbacks, self._last_progress = callbacks, now
        if not self.stream.active:
            self.abandoned = True
            raise StreamAborted(
                "the audio stream stopped: the audio server died or the device disappeared; "
                "restart the server / reconnect the device and run again"
            )
        if now - self._last_progress > SILENT_CALLBACKS_S:
            self.abandoned = True
            raise StreamAborted(
                f"no audio callback for {now - self._last_progress:.1f} s: the audio server stalled or died; "
                "restart it and run again"
            )
        for part, thread in (("model worker", self.worker), ("recorder", self.recorder)):
            if thread is not None and thread.error is not None:
                raise StreamAborted(f"the {part} failed: {thread.error!r}") from thread.error

    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.stopped_at or time.monotonic()) - self.started_at

    def compute_percentiles(self) -> dict[str, float]:
        times = self.worker.compute_times_us() if self.worker else np.zeros(0)
        if times.size == 0:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0}
        p50, p99 = np.percentile(times, [50, 99])
        return {"p50": round(float(p50), 1), "p99": round(float(p99), 1), "max": round(float(times.max()), 1)}

    def stats(self) -> dict:
        counters = self.state.counters()
        return {
            "model": self.processor.model.name,
            "samplerate": self.report.samplerate,
            "hop": self.processor.hop,
            "devices": {"input": self.device_names[0], "output": self.device_names[1]},
            "duration_s": round(self.elapsed(), 3),
            "latency": self.report.as_dict(),
            "counters": {k: counters[k] for k in ("xruns", "deadline_misses", "nonfinite_resets",
                                                  "input_overflows", "output_underflows")},
            "details": counters,
            "compute_us": self.compute_percentiles(),
            "worker_realtime": bool(self.worker and self.worker.realtime),
            "cpu_core": self.worker.pinned_core if self.worker else None,  # as the worker found its mask
            # programs JAX compiled for the per-hop call after the stream started (must stay 0)
            "compiled_after_start": (self.processor.compiled_programs() - self._compiled_at_start
                                     if self.started_at is not None else 0),
        }

    # ---- teardown ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop everything. After an abandoned stream PortAudio is not touched (it could hang)."""
        if self.started_at is not None and self.stopped_at is None:
            self.stopped_at = time.monotonic()
        if self.stream is not None and not self.abandoned:
            try:
                self.stream.stop()
                self.stream.close()
            except Exception:  # noqa: BLE001 - closing must not hide the real outcome
                pass
        if self.worker is not None and self.worker.is_alive():
            self.worker.stop()
        if self.recorder is not None:
            self.recorder.finish()
            self.recorder = None
        sys.setswitchinterval(self._old_switch)

    def __enter__(self) -> "LiveStream":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
