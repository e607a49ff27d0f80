"""What users would pick instead of rtmusic, each as ``name(noisy_48k [T]) -> out [T]`` aligned with the input.

| name | what runs | native rate | settings | delay compensated (48 kHz samples) |
|------|-----------|-------------|----------|------------------------------------|
| `rnnoise` | RNNoise C library shipped in `pyrnnoise` (`rnnoise_process_frame`, 480-sample frames, float samples in int16 scale) | 48 kHz | the library's only model | 960 (two 10 ms frames) |
| `webrtc` | WebRTC APM through `webrtc-noise-gain` (`AudioProcessor(auto_gain, noise_suppression).Process10ms(bytes)`) | 16 kHz only (the wrapper fixes its stream config at 16 kHz: 160-sample int16 frames) | noise suppression 4 = kVeryHigh, auto gain 0 = off; its high-pass filter is always on | 288 (96 at 16 kHz: its 256-point FFT minus the 160-sample frame) |
| `noisereduce` | `noisereduce.reduce_noise(y, sr=48000, stationary=False)`, every other argument at its default | any (STFT) | non-stationary spectral gating, offline (non-causal, 2 s time constant) | 0 |
| `dtln` | DTLN ONNX pair (`model_1.onnx`, `model_2.onnx` in `../shared/anchors/dtln/`, or `$RTMUSIC_DTLN_DIR`) with `onnxruntime`, host loop exactly as upstream `real_time_processing_onnx.py` | 16 kHz | 512-sample block, 128 shift, no windows | 1152 (384 at 16 kHz = block - shift) |

The delays in the last column are what :func:`measure_delay` found (GCC-PHAT cross-correlation of each
system's raw output with a synthetic speech-like probe: gliding harmonics under a syllable envelope, with
fricative-like noise bursts; the same lags come out on a clean speech and a clean music clip of the
validation set). They are measured again each time a competitor is loaded, so a package update that
changes one cannot silently misalign the scores; the results record them. The 16 kHz systems are wrapped in offline soxr
resampling (48 -> 16 -> 48 kHz, zero-delay), so only their own algorithmic delay remains.

The streaming ones also open as a :class:`FrameProcessor` (one native frame per call, fresh state), which
`rtmusic bench --compare` times frame by frame; their whole-signal function is that same step in a loop.

A competitor whose package or files are missing is *skipped*: :func:`missing` names what is absent and
:func:`load` raises :class:`CompetitorUnavailable` with that message, never an ImportError mid-run.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

SAMPLERATE = 48_000
MAX_DELAY = 4800  # longest delay searched for (100 ms)
# DTLN's ONNX files are not shipped: $RTMUSIC_DTLN_DIR, else ../shared/anchors/dtln next to a source checkout.
DTLN_DIR = Path(os.environ.get("RTMUSIC_DTLN_DIR", Path(__file__).resolve().parents[3] / "shared" / "anchors" / "dtln"))

RawFn = Callable[[np.ndarray], np.ndarray]  # noisy [T] float32 at 48 kHz -> out [T] float32, NOT delay-compensated


class CompetitorUnavailable(RuntimeError):
    """A competitor cannot run here (package or model file missing); the message says which."""


@dataclass(frozen=True)
class Competitor:
    """One alternative denoiser: what it needs and how to build its raw (uncompensated) function."""

    name: str
    description: str
    modules: tuple[str, ...]  # importable top-level modules it needs
    factory: Callable[[], RawFn]  # loads models once; the returned function starts from a fresh state per call
    files: tuple[Path, ...] = ()
    install: str = ""  # what to do when it is missing
    settings: dict = field(default_factory=dict)
    frames: Callable[[], FrameProcessor] | None = None  # opens one fresh stream; None: offline only
    # Declared algorithmic latency at its own rate: (samplerate, analysis window, hop), for the three
    # conventions of `rtmusic.bench.conventions`; None when it has none (offline, non-causal).
    declared: tuple[int, int, int] | None = None
    latency_note: str = ""


@dataclass(frozen=True)
class Denoiser:
    """A loaded competitor: ``denoiser(noisy [T]) -> out [T]`` aligned with the input."""

    name: str
    raw: RawFn
    delay: int  # samples at 48 kHz, measured
    delay_peak: float  # GCC-PHAT peak height at that delay (1 = output is the input, delayed)
    competitor: Competitor

    def __call__(self, noisy: np.ndarray) -> np.ndarray:
        noisy = np.asarray(noisy, np.float32)
        n = noisy.shape[0]
        padded = np.concatenate([noisy, np.zeros(self.delay, np.float32)])
        return np.asarray(self.raw(padded), np.float32)[self.delay:self.delay + n]


# ---- the four systems -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameProcessor:
    """A streaming competitor opened with fresh state: ``step(frame [frame] at samplerate) -> out [frame]``.

    The per-frame call is what `rtmusic bench --compare` times (as rtmusic's `process_hop` is timed), and the
    whole-signal function is this same step in a loop, so the two figures cannot come from different code.
    """

    frame: int  # native frame (samples at samplerate)
    samplerate: int
    step: Callable[[np.ndarray], np.ndarray]  # float32 [frame] in [-1, 1] -> float32 [frame]
    close: Callable[[], None] = lambda: None


def _framed(open_frames: Callable[[], FrameProcessor]) -> RawFn:
    """The whole-signal function at the processor's native rate: zero-pad to whole frames, step, trim."""

    def run(x: np.ndarray) -> np.ndarray:
        proc = open_frames()
        try:
            n, frame = x.shape[0], proc.frame
            padded = np.zeros(-(-n // frame) * frame, np.float32)
            padded[:n] = x
            out = np.empty_like(padded)
            for start in range(0, padded.shape[0], frame):
                out[start:start + frame] = proc.step(padded[start:start + frame])
        finally:
            proc.close()
        return out[:n]

    return run


def _rnnoise_frames() -> FrameProcessor:
    from pyrnnoise import rnnoise as rn  # raises OSError if the shared library is missing

    lib, frame = rn.lib, int(rn.FRAME_SIZE)
    as_float = ctypes.POINTER(ctypes.c_float)
    state = lib.rnnoise_create(None)
    x, y = np.zeros(frame, np.float32), np.zeros(frame, np.float32)  # preallocated, as a live host would
    px, py = x.ctypes.data_as(as_float), y.ctypes.data_as(as_float)

    def step(block: np.ndarray) -> np.ndarray:
        np.multiply(block, 32768.0, out=x)  # RNNoise takes float samples in int16 scale
        lib.rnnoise_process_frame(state, py, px)
        return y / 32768.0

    return FrameProcessor(frame, SAMPLERATE, step, lambda: lib.rnnoise_destroy(state))


def _rnnoise_factory() -> RawFn:
    _rnnoise_frames().close()  # fail at load, not mid-run, if the library is broken
    return _framed(_rnnoise_frames)


def _resampled_16k(run16: RawFn) -> RawFn:
    """Wrap a 16 kHz system: soxr 48 -> 16 kHz, run, 16 -> 48 kHz (offline, zero-delay), same length."""
    import soxr

    def run(noisy: np.ndarray) -> np.ndarray:
        x16 = soxr.resample(np.asarray(noisy, np.float32), SAMPLERATE, 16000).astype(np.float32)
        y = soxr.resample(run16(x16), 16000, SAMPLERATE).astype(np.float32)
        out = np.zeros(noisy.shape[0], np.float32)
        out[:min(len(y), len(out))] = y[:len(out)]
        return out

    return run


WEBRTC_NOISE_SUPPRESSION = 4  # kVeryHigh, the strongest
WEBRTC_AUTO_GAIN = 0  # off


def _webrtc_frames() -> FrameProcessor:
    from webrtc_noise_gain import AudioProcessor

    frame = 160  # 10 ms at 16 kHz, the only rate the wrapper accepts
    processor = AudioProcessor(WEBRTC_AUTO_GAIN, WEBRTC_NOISE_SUPPRESSION)

    def step(block: np.ndarray) -> np.ndarray:
        pcm = np.clip(np.round(block * 32768.0), -32768, 32767).astype(np.int16)
        return np.frombuffer(processor.Process10ms(pcm.tobytes()).audio, np.int16).astype(np.float32) / 32768.0

    return FrameProcessor(frame, 16000, step)


def _webrtc_factory() -> RawFn:
    _webrtc_frames()
    return _resampled_16k(_framed(_webrtc_frames))


def _noisereduce_factory() -> RawFn:
    import noisereduce as nr

    def run(noisy: np.ndarray) -> np.ndarray:
        return np.asarray(nr.reduce_noise(y=noisy, sr=SAMPLERATE, stationary=False), np.float32)

    return run


DTLN_BLOCK, DTLN_SHIFT = 512, 128  # fixed by the model (16 kHz)


def _dtln_sessions():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one stream, as live; and a light neighbour on a shared machine
    options.inter_op_num_threads = 1
    sessions = [onnxruntime.InferenceSession(str(DTLN_DIR / f"model_{i}.onnx"), options,
                                             providers=["CPUExecutionProvider"]) for i in (1, 2)]
    names = [[inp.name for inp in s.get_inputs()] for s in sessions]  # by position: [data, states]
    shapes = [[[d if isinstance(d, int) else 1 for d in inp.shape] for inp in s.get_inputs()] for s in sessions]
    return sessions, names, shapes


def _dtln_factory() -> RawFn:
    loaded = _dtln_sessions()  # the ONNX sessions load once; each opened stream gets fresh state
    return _resampled_16k(_framed(lambda: _dtln_frames(loaded)))


def _dtln_frames(loaded=None) -> FrameProcessor:
    # The host loop of upstream real_time_processing_onnx.py, one 128-sample shift per step.
    sessions, names, shapes = loaded or _dtln_sessions()
    inputs = [{name: np.zeros(shape, np.float32) for name, shape in zip(nm, sh)} for nm, sh in zip(names, shapes)]
    in_buffer = np.zeros(DTLN_BLOCK, np.float32)
    out_buffer = np.zeros(DTLN_BLOCK, np.float32)
    (data1, state1), (data2, state2) = names

    def step(block: np.ndarray) -> np.ndarray:
        in_buffer[:-DTLN_SHIFT] = in_buffer[DTLN_SHIFT:]
        in_buffer[-DTLN_SHIFT:] = block
        spectrum = np.fft.rfft(in_buffer)
        magnitude = np.abs(spectrum)
        phase = np.angle(spectrum)
        inputs[0][data1] = magnitude.reshape(1, 1, -1).astype(np.float32)
        mask, inputs[0][state1] = sessions[0].run(None, inputs[0])
        frame = np.fft.irfft(magnitude * mask.reshape(-1) * np.exp(1j * phase))
        inputs[1][data2] = frame.reshape(1, 1, -1).astype(np.float32)
        out_block, inputs[1][state2] = sessions[1].run(None, inputs[1])
        out_buffer[:-DTLN_SHIFT] = out_buffer[DTLN_SHIFT:]
        out_buffer[-DTLN_SHIFT:] = 0.0
        out_buffer[:] += out_block.reshape(-1)
        return out_buffer[:DTLN_SHIFT].copy()

    return FrameProcessor(DTLN_SHIFT, 16000, step)


COMPETITORS: dict[str, Competitor] = {c.name: c for c in (
    Competitor("rnnoise", "RNNoise (xiph), 48 kHz, 10 ms frames", ("pyrnnoise",), _rnnoise_factory,
               install="pip install pyrnnoise", settings={"frame": 480, "samplerate": 48000},
               frames=_rnnoise_frames, declared=(48000, 960, 480), latency_note="20 ms window, 10 ms hop"),
    Competitor("webrtc", "WebRTC noise suppression (kVeryHigh, AGC off), 16 kHz", ("webrtc_noise_gain",), _webrtc_factory,
               install="pip install webrtc-noise-gain",
               settings={"noise_suppression": WEBRTC_NOISE_SUPPRESSION, "auto_gain": WEBRTC_AUTO_GAIN,
                         "high_pass_filter": True, "samplerate": 16000},
               frames=_webrtc_frames, declared=(16000, 256, 160),
               latency_note="10 ms frames, 256-point FFT (6 ms overlap)"),
    Competitor("noisereduce", "noisereduce spectral gating (non-stationary, offline)", ("noisereduce",),
               _noisereduce_factory, install="pip install noisereduce", settings={"stationary": False},
               latency_note="offline: needs the whole signal (non-causal)"),
    Competitor("dtln", "DTLN (ONNX, 2 x 128 LSTM stages), 16 kHz", ("onnxruntime",), _dtln_factory,
               files=(DTLN_DIR / "model_1.onnx", DTLN_DIR / "model_2.onnx"),
               install="pip install onnxruntime; the DTLN ONNX files in ../shared/anchors/dtln/ (or $RTMUSIC_DTLN_DIR)",
               settings={"block": DTLN_BLOCK, "shift": DTLN_SHIFT, "samplerate": 16000},
               frames=_dtln_frames, declared=(16000, DTLN_BLOCK, DTLN_SHIFT), latency_note="32 ms window, 8 ms hop"),
)}


# ---- availability, delay, loading --------------------------------------------------------------------
def missing(competitor: Competitor) -> str | None:
    """Why ``competitor`` cannot run here (missing modules or files), or None if it can."""
    absent = [m for m in competitor.modules if importlib.util.find_spec(m) is None]
    files = [str(f) for f in competitor.files if not Path(f).is_file()]
    if not absent and not files:
        return None
    parts = ([f"module{'s' if len(absent) > 1 else ''} {', '.join(absent)} not installed"] if absent else []) + \
            ([f"file{'s' if len(files) > 1 else ''} {', '.join(files)} not found"] if files else [])
    hint = f" ({competitor.install})" if competitor.install else ""
    return f"{competitor.name}: {'; '.join(parts)}{hint}"


def delay_probe(seconds: float = 3.0, samplerate: int = SAMPLERATE, seed: int = 7) -> np.ndarray:
    """A speech-like test signal [T]: gliding harmonics (f0 110-220 Hz) in 4 Hz syllables, plus noise bursts.

    Deterministic and data-free, so the delay of every competitor is measured the same way everywhere.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * samplerate)) / samplerate
    f0 = 165.0 + 55.0 * np.sin(2 * np.pi * 0.7 * t) * np.cos(2 * np.pi * 0.23 * t)
    phase = 2 * np.pi * np.cumsum(f0) / samplerate
    voiced = sum(np.sin(k * phase) / k * np.exp(-((k * f0 - 700.0) / 1500.0) ** 2) for k in range(1, 40))
    syllables = np.clip(np.sin(2 * np.pi * 4.0 * t), 0.0, None) ** 0.5
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 4.0 * t + 2.6) > 0.9)
    x = voiced * syllables + 0.3 * bursts
    return (0.1 * x / np.abs(x).max()).astype(np.float32)


def measure_delay(raw: RawFn, probe: np.ndarray | None = None, max_delay: int = MAX_DELAY) -> tuple[int, float]:
    """(delay in samples, peak height) of ``raw``'s output behind its input, by GCC-PHAT.

    The cross-spectrum of output and input is whitened (phase transform) before the inverse FFT, so the
    system's own colouring (high-pass, band-limiting, gating) cannot pull the peak off the true delay the way
    plain cross-correlation of a harmonic signal does. Lags -max_delay..max_delay are searched on ``probe``
    (default :func:`delay_probe`); the peak height (0..1) says how clear the answer is.
    """
    x = delay_probe() if probe is None else np.asarray(probe, np.float32)
    padded = np.concatenate([x, np.zeros(max_delay, np.float32)])
    y = np.asarray(raw(padded), np.float64)
    size = 1 << int(np.ceil(np.log2(2 * len(padded))))
    cross = np.fft.rfft(y, size) * np.conj(np.fft.rfft(padded.astype(np.float64), size))
    magnitude = np.abs(cross)
    corr = np.fft.irfft(cross / (magnitude + 1e-12 * magnitude.max() + 1e-30), size)
    lags = np.concatenate([np.arange(0, max_delay + 1), np.arange(-max_delay, 0)])
    values = np.concatenate([corr[:max_delay + 1], corr[-max_delay:]])
    best = int(np.argmax(values))
    return int(lags[best]), float(values[best])


def load(competitor: Competitor | str) -> Denoiser:
    """Load a competitor and measure its delay; raises CompetitorUnavailable if it cannot run here."""
    if isinstance(competitor, str):
        if competitor not in COMPETITORS:
            raise CompetitorUnavailable(f"{competitor}: no such competitor; known: {', '.join(COMPETITORS)}")
        competitor = COMPETITORS[competitor]
    reason = missing(competitor)
    if reason is not None:
        raise CompetitorUnavailable(reason)
    try:
        raw = competitor.factory()
    except (ImportError, OSError) as exc:  # a package present but broken (e.g. its shared library)
        raise CompetitorUnavailable(f"{competitor.name}: cannot load ({type(exc).__name__}: {exc})") from exc
    delay, peak = measure_delay(raw)
    return Denoiser(competitor.name, raw, max(delay, 0), peak, competitor)


@functools.cache
def _loaded(name: str) -> Denoiser:
    return load(name)


def rnnoise(noisy_48k: np.ndarray) -> np.ndarray:
    """RNNoise, delay-compensated: noisy [T] float32 at 48 kHz -> out [T]."""
    return _loaded("rnnoise")(noisy_48k)


def webrtc(noisy_48k: np.ndarray) -> np.ndarray:
    """WebRTC NS (kVeryHigh, AGC off, via 16 kHz), delay-compensated: [T] -> [T]."""
    return _loaded("webrtc")(noisy_48k)


def noisereduce(noisy_48k: np.ndarray) -> np.ndarray:
    """noisereduce (stationary=False, defaults otherwise): [T] -> [T]."""
    return _loaded("noisereduce")(noisy_48k)


def dtln(noisy_48k: np.ndarray) -> np.ndarray:
    """DTLN ONNX (via 16 kHz), delay-compensated: [T] -> [T]."""
    return _loaded("dtln")(noisy_48k)
