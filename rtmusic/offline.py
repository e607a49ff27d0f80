"""File in -> file out through the same step as live, delay-compensated, at any sample rate.

The file is resampled to the model's rate with soxr (zero-delay, linear phase), each channel is scanned
through the step with its own streaming state, and the result is resampled back, so the output has the
input's rate, channel count and length and lines up with it sample for sample.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from rtmusic.errors import AudioFileError
from rtmusic.processor import Processor


@dataclass(frozen=True)
class FileResult:
    seconds: float  # audio duration
    wall_seconds: float  # processing time (resampling included)
    samplerate: int
    channels: int
    nonfinite_resets: int
    aux: list  # per channel: [n_hops, n_aux] model outputs at the model's hop rate

    @property
    def realtime_factor(self) -> float:
        """Processing time / audio time: below 1 is faster than real time."""
        return self.wall_seconds / max(self.seconds, 1e-9)


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """[frames, channels] float32 and the rate; clear errors for missing, unreadable or empty files."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"input file {path} not found; check the path")
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(
            f"cannot read {path}: {exc}; is it an audio file soundfile understands (WAV, FLAC, OGG, MP3, AIFF...)?"
        ) from exc
    if audio.shape[0] == 0:
        raise AudioFileError(f"{path} contains no audio frames")
    return audio, int(rate)


def write_audio(path: str | Path, audio: np.ndarray, rate: int, like: str | Path | None = None) -> None:
    """Write [frames, channels]; keeps the input's subtype when the format allows (else float)."""
    import soundfile as sf

    path = Path(path)
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise AudioFileError(f"cannot write {path}: unknown audio format .{fmt.lower()}; use .wav or .flac")
    subtype = None
    if like is not None:
        try:
            in_subtype = sf.info(str(like)).subtype
            if sf.check_format(fmt, in_subtype):
                subtype = in_subtype
        except (sf.LibsndfileError, RuntimeError):
            pass
    if subtype is None and fmt == "WAV":
        subtype = "FLOAT"
    try:
        sf.write(path, audio, rate, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"cannot write {path}: {exc}; check the folder exists and is writable") from exc


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return audio
    import soxr

    return soxr.resample(audio, from_rate, to_rate, quality="VHQ").astype(np.float32)


def process_array(processor: Processor, audio: np.ndarray, rate: int,
                  progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, int, list]:
    """[frames, channels] at `rate` -> (same shape, non-finite resets, per-channel aux)."""
    at_model_rate = resample(audio, rate, processor.samplerate)
    channels = at_model_rate.shape[1]
    outs, resets, aux = [], 0, []
    for ch in range(channels):
        def channel_progress(done, total, ch=ch):
            if progress is not None:
                progress(ch * total + done, channels * total)

        result = processor.process(at_model_rate[:, ch], progress=channel_progress)
        outs.append(result.out)
        resets += result.nonfinite_resets
        aux.append(result.aux)
    processed = resample(np.stack(outs, axis=1), processor.samplerate, rate)
    n = audio.shape[0]
    if processed.shape[0] < n:  # soxr may round the length down by a sample
        processed = np.pad(processed, ((0, n - processed.shape[0]), (0, 0)))
    return processed[:n], resets, aux


def process_file(processor: Processor, in_path: str | Path, out_path: str | Path | None,
                 progress: Callable[[int, int], None] | None = None) -> FileResult:
    """Process a file; `out_path` None writes no audio (e.g. when only the labels in `aux` are wanted)."""
    audio, rate = read_audio(in_path)
    if not processor.prepared:
        processor.prepare()
    started = time.perf_counter()
    processed, resets, aux = process_array(processor, audio, rate, progress)
    wall = time.perf_counter() - started
    if out_path is not None:
        write_audio(out_path, processed, rate, like=in_path)
    return FileResult(seconds=audio.shape[0] / rate, wall_seconds=wall, samplerate=rate,
                      channels=audio.shape[1], nonfinite_resets=resets, aux=aux)
