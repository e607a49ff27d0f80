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
DTLN_DIR = Path(os.environ.get("RTMUSIC_DTLN_DIR", Path(__file__).resolve().parents[2] / "shared" / "anchors" / "dtln"))

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


# ---- the four systems (raw functions) ----------------------------------------------------------------
def _rnnoise_factory() -> RawFn:
    from pyrnnoise import rnnoise as rn  # raises OSError if the shared library is missing

    lib, frame = rn.lib, int(rn.FRAME_SIZE)
    as_float = ctypes.POINTER(ctypes.c_float)

    def run(noisy: np.ndarray) -> np.ndarray:
        n = noisy.shape[0]
        blocks = -(-n // frame)
        x = np.zeros(blocks * frame, np.float32)
        x[:n] = noisy * 32768.0  # RNNoise takes float samples in int16 scale
        y = np.empty_like(x)
        state = lib.rnnoise_create(None)
        try:
            for b in range(blocks):
                xi, yi = x[b * frame:(b + 1) * frame], y[b * frame:(b + 1) * frame]
                lib.rnnoise_process_frame(state, yi.ctypes.data_as(as_float), xi.ctypes.data_as(as_float))
        finally:
            lib.rnnoise_destroy(state)
        return y[:n] / 32768.0

    return run


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


def _webrtc_factory() -> RawFn:
    from webrtc_noise_gain import AudioProcessor

    frame = 160  # 10 ms at 16 kHz, the only rate the wrapper accepts

    def run16(x16: np.ndarray) -> np.ndarray:
        n = x16.shape[0]
        blocks = -(-n // frame)
        pcm = np.zeros(blocks * frame, np.int16)
        pcm[:n] = np.clip(np.round(x16 * 32768.0), -32768, 32767).astype(np.int16)
        processor = AudioProcessor(WEBRTC_AUTO_GAIN, WEBRTC_NOISE_SUPPRESSION)
        out = np.empty(blocks * frame, np.int16)
        for b in range(blocks):
            result = processor.Process10ms(pcm[b * frame:(b + 1) * frame].tobytes())
            out[b * frame:(b + 1) * frame] = np.frombuffer(result.audio, np.int16)
        return out[:n].astype(np.float32) / 32768.0

    return _resampled_16k(run16)


def _noisereduce_factory() -> RawFn:
    import noisereduce as nr

    def run(noisy: np.ndarray) -> np.ndarray:
        return np.asarray(nr.reduce_noise(y=noisy, sr=SAMPLERATE, stationary=False), np.float32)

    return run


DTLN_BLOCK, DTLN_SHIFT = 512, 128  # fixed by the model (16 kHz)


def _dtln_factory() -> RawFn:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one stream, as live; and a light neighbour on a shared machine
    options.inter_op_num_threads = 1
    sessions = [onnxruntime.InferenceSession(str(DTLN_DIR / f"model_{i}.onnx"), options,
                                             providers=["CPUExecutionProvider"]) for i in (1, 2)]
    names = [[inp.name for inp in s.get_inputs()] for s in sessions]  # by position: [data, states]
    shapes = [[[d if isinstance(d, int) else 1 for d in inp.shape] for inp in s.get_inputs()] for s in sessions]

    def run16(x16: np.ndarray) -> np.ndarray:
        # The host loop of upstream real_time_processing_onnx.py, state zeroed per call.
        n = x16.shape[0]
        blocks = -(-n // DTLN_SHIFT)
        audio = np.zeros(blocks * DTLN_SHIFT, np.float32)
        audio[:n] = x16
        out = np.zeros(blocks * DTLN_SHIFT, np.float32)
        inputs = [{name: np.zeros(shape, np.float32) for name, shape in zip(nm, sh)} for nm, sh in zip(names, shapes)]
        in_buffer = np.zeros(DTLN_BLOCK, np.float32)
        out_buffer = np.zeros(DTLN_BLOCK, np.float32)
        (data1, state1), (data2, state2) = names
        for idx in range(blocks):
            in_buffer[:-DTLN_SHIFT] = in_buffer[DTLN_SHIFT:]
            in_buffer[-DTLN_SHIFT:] = audio[idx * DTLN_SHIFT:(idx + 1) * DTLN_SHIFT]
            spectrum = np.fft.rfft(in_buffer)
            magnitude = np.abs(spectrum)
            phase = np.angle(spectrum)
            inputs[0][data1] = magnitude.reshape(1, 1, -1).astype(np.float32)
            mask, inputs[0][state1] = sessions[0].run(None, inputs[0])
            block = np.fft.irfft(magnitude * mask.reshape(-1) * np.exp(1j * phase))
            inputs[1][data2] = block.reshape(1, 1, -1).astype(np.float32)
            out_block, inputs[1][state2] = sessions[1].run(None, inputs[1])
            out_buffer[:-DTLN_SHIFT] = out_buffer[DTLN_SHIFT:]
            out_buffer[-DTLN_SHIFT:] = 0.0
            out_buffer += out_block.reshape(-1)
            out[idx * DTLN_SHIFT:(idx + 1) * DTLN_SHIFT] = out_buffer[:DTLN_SHIFT]
        return out[:n]

    return _resampled_16k(run16)


COMPETITORS: dict[str, Competitor] = {c.name: c for c in (
    Competitor("rnnoise", "RNNoise (xiph), 48 kHz, 10 ms frames", ("pyrnnoise",), _rnnoise_factory,
               install="pip install pyrnnoise", settings={"frame": 480, "samplerate": 48000}),
    Competitor("webrtc", "WebRTC noise suppression (kVeryHigh, AGC off), 16 kHz", ("webrtc_noise_gain",), _webrtc_factory,
               install="pip install webrtc-noise-gain",
               settings={"noise_suppression": WEBRTC_NOISE_SUPPRESSION, "auto_gain": WEBRTC_AUTO_GAIN,
                         "high_pass_filter": True, "samplerate": 16000}),
    Competitor("noisereduce", "noisereduce spectral gating (non-stationary, offline)", ("noisereduce",),
               _noisereduce_factory, install="pip install noisereduce", settings={"stationary": False}),
    Competitor("dtln", "DTLN (ONNX, 2 x 128 LSTM stages), 16 kHz", ("onnxruntime",), _dtln_factory,
               files=(DTLN_DIR / "model_1.onnx", DTLN_DIR / "model_2.onnx"),
               install="pip install onnxruntime; the DTLN ONNX files in ../shared/anchors/dtln/ (or $RTMUSIC_DTLN_DIR)",
               settings={"block": DTLN_BLOCK, "shift": DTLN_SHIFT, "samplerate": 16000}),
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
