"""A top band for espeak-ng speech: its renders stop near 10 kHz, real voices do not.

espeak-ng synthesises at 22.05 kHz, so the training speech has next to nothing above 10 kHz, while a real voice's
sibilants and breath reach 16 kHz and beyond: alsa-utils' voice samples hold -25 to -45 dB of their power above
11 kHz, 5-14 dB under their 8-11 kHz band. A denoiser trained on the renders learns that anything up there is noise
and strips it: on those samples under the val noises the default gains 0.57 dB less than on the same voices
low-passed at 11 kHz (`python -m bench.real_audio`; 1.6 dB in `bench/results/session48/probe/real_voice.py`).

`extend_top_band` gives a render the band it lacks: noise shaped like a voice's high band, following the envelope
of the render's own 6-9 kHz band, so fricatives get a sibilant tail and vowels a faint breath above them. The
result is speech (the target keeps it), so the net learns that energy up there can be voice.
"""
from __future__ import annotations

import numpy as np
import scipy.signal

from train.datapaths import SAMPLE_RATE

REFERENCE_BAND_HZ = (6000.0, 9000.0)  # where espeak-ng's fricatives are strong and its resampling has not cut yet
TOP_BAND_START_HZ = 9500.0  # fills the render's roll-off as well as the empty band above it
TOP_BAND_END_HZ = (12000.0, 19000.0)  # the top band rolls off from a random corner in this range
LEVEL_BELOW_REFERENCE_DB = (3.0, 15.0)  # the top band's power under the reference band's, drawn uniformly
ENVELOPE_HZ = 80.0  # the envelope follows syllables and fricatives, not single periods


def _sos_band(low: float, high: float, order: int = 4) -> np.ndarray:
    return scipy.signal.butter(order, (low, high), btype="bandpass", fs=SAMPLE_RATE, output="sos")


def band_envelope(x: np.ndarray, band_hz: tuple[float, float] = REFERENCE_BAND_HZ) -> np.ndarray:
    """The RMS envelope [T] of `x`'s energy in `band_hz`, smoothed at ENVELOPE_HZ."""
    band = scipy.signal.sosfiltfilt(_sos_band(*band_hz), x.astype(np.float64))
    smooth = scipy.signal.butter(2, ENVELOPE_HZ, fs=SAMPLE_RATE, output="sos")
    return np.sqrt(np.maximum(scipy.signal.sosfiltfilt(smooth, band * band), 0.0))


def extend_top_band(x: np.ndarray, rng: np.random.Generator, level_db: float | None = None,
                    end_hz: float | None = None) -> np.ndarray:
    """`x` [T] (48 kHz speech) with a top band added: band-passed noise from TOP_BAND_START_HZ to `end_hz`,
    modulated by the envelope of `x`'s REFERENCE_BAND_HZ and `level_db` under that band's power (both drawn from
    their ranges when None). A signal with no energy in the reference band comes back unchanged."""
    x = np.asarray(x, np.float32)
    if level_db is None:
        level_db = float(rng.uniform(*LEVEL_BELOW_REFERENCE_DB))
    if end_hz is None:
        end_hz = float(np.exp(rng.uniform(*np.log(TOP_BAND_END_HZ))))
    envelope = band_envelope(x)
    reference_power = float(np.mean(envelope ** 2))
    if reference_power <= 1e-12:
        return x
    noise = rng.standard_normal(len(x))
    top = scipy.signal.sosfilt(_sos_band(TOP_BAND_START_HZ, min(end_hz, 0.95 * SAMPLE_RATE / 2)), noise)
    top *= envelope
    top_power = float(np.mean(top ** 2))
    if top_power <= 1e-20:
        return x
    top *= np.sqrt(reference_power * 10 ** (-level_db / 10) / top_power)
    return (x + top).astype(np.float32)
