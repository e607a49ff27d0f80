"""Writes what the callback played (and optionally what it heard) to audio files, off the audio thread."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from rtmusic.engine import state as S
from rtmusic.engine.ring import ring_read
from rtmusic.errors import AudioFileError


def open_sound_file(path: str | Path, samplerate: int):
    """A float WAV/FLAC/OGG... writer chosen by extension, with a clear error if that is impossible."""
    import soundfile as sf

    path = Path(path)
    fmt = sf.available_formats()
    ext = path.suffix.lstrip(".").upper() or "WAV"
    if ext not in fmt:
        raise AudioFileError(f"cannot record to {path}: unknown audio format .{ext.lower()}; use .wav or .flac")
    subtype = "FLOAT" if ext == "WAV" else None
    try:
        return sf.SoundFile(path, "w", samplerate=samplerate, channels=1, subtype=subtype)
    except (sf.LibsndfileError, OSError) as exc:
        raise AudioFileError(f"cannot write {path}: {exc}; check the folder exists and is writable") from exc


class Recorder(threading.Thread):
    """Drains the recording rings into files every ~50 ms; `finish()` drains the rest and closes them."""

    def __init__(self, state: S.EngineState, samplerate: int, output_path=None, input_path=None):
        super().__init__(name="rtmusic-recorder", daemon=True)
        self.state = state
        self._chunk = np.zeros(state.rec_buf.shape[0], np.float32)
        self._files = []
        if output_path:
            self._files.append((open_sound_file(output_path, samplerate), state.rec_buf, S.REC_W, S.REC_R))
        if input_path:
            self._files.append((open_sound_file(input_path, samplerate), state.recin_buf, S.RECIN_W, S.RECIN_R))
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    def _drain(self) -> None:
        for file, buf, w_index, r_index in self._files:
            n = ring_read(buf, self.state.ctl, w_index, r_index, self._chunk)
            if n:
                file.write(self._chunk[:n])

    def run(self) -> None:
        try:
            while not self._stop_event.wait(0.05):
                self._drain()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc

    def finish(self) -> None:
        """Stop the thread, write what is left and close the files (valid headers)."""
        self._stop_event.set()
        if self.is_alive():
            self.join(2.0)
        self._drain()
        for file, *_ in self._files:
            file.close()
        self._files = []
