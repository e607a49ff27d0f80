"""Live at device rates other than the model's: the streaming resampler and the RateBridge around a Processor.

The live JACK run at 44.1 kHz is in tests/test_live_rates.py; here the same code runs without a device.
"""

from __future__ import annotations

import numpy as np
import pytest

from rtmusic.engine import state as S
from rtmusic.engine.emulate import emulate_stream
from rtmusic.engine.rate_bridge import RateBridge, device_hop
from rtmusic.errors import ParameterError
from rtmusic.offline import process_array
from rtmusic.processor import Processor, load_model
from rtmusic.resample import StreamResampler


def tones(rate: int, seconds: float, freqs=(440.0, 3000.7, 9000.3), start: float = 0.0) -> np.ndarray:
    t = start + np.arange(round(rate * seconds)) / rate
    return sum(0.2 * np.sin(2 * np.pi * f * t + i) for i, f in enumerate(freqs)).astype(np.float32)


def snr_db(ref: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(ref.astype(np.float64) ** 2) / np.mean((x - ref).astype(np.float64) ** 2)))


@pytest.mark.parametrize("in_rate, out_rate, chunk, count", [(44100, 48000, 441, 480), (48000, 44100, 480, 441),
                                                             (32000, 48000, 160, 240), (96000, 48000, 480, 240)])
def test_every_chunk_gives_the_same_count_and_the_tones_arrive_at_the_declared_delay(in_rate, out_rate, chunk, count):
    r = StreamResampler(in_rate, out_rate)
    x = tones(in_rate, 1.0)
    outs = [r.process(x[i:i + chunk]).copy() for i in range(0, x.size - chunk + 1, chunk)]
    assert {o.size for o in outs} == {count}
    y = np.concatenate(outs)
    # output j is the input read at time j * in/out - delay_in input samples
    expected = tones(out_rate, y.size / out_rate, start=-r.delay_in / in_rate)
    skip = out_rate // 20
    assert snr_db(expected[skip:], y[skip:]) > 75.0


def test_output_does_not_depend_on_how_the_input_is_chunked():
    x = tones(44100, 0.5)
    whole = StreamResampler(44100, 48000, max_chunk=x.size).process(x).copy()
    r, parts, i = StreamResampler(44100, 48000), [], 0
    for size in np.random.default_rng(1).integers(1, 700, 200):
        parts.append(r.process(x[i:i + size]).copy())
        i += size
        if i >= x.size:
            break
    chunked = np.concatenate(parts)
    assert np.array_equal(chunked, whole[:chunked.size])


def test_what_the_lower_rate_cannot_hold_is_removed_not_folded_back():
    r = StreamResampler(48000, 44100)
    y = r.process(tones(48000, 0.15, freqs=(23000.0,))).copy()  # above 22.05 kHz: would alias to 21.1 kHz
    assert 10 * np.log10(np.mean(y[200:] ** 2) / 0.02) < -60.0


@pytest.mark.parametrize("rate, hop", [(44100, 441), (32000, 160), (96000, 480), (88200, 441), (22050, 441),
                                       (16000, 80), (48000, 240)])
def test_device_hop_is_the_shortest_whole_number_of_model_hops(rate, hop):
    assert device_hop(rate, 48000, 240) == hop


@pytest.mark.parametrize("rate, needle", [(11025, "hops of 40 ms"), (4000, "too low")])
def test_rates_needing_long_hops_are_refused_with_what_to_do(rate, needle):
    with pytest.raises(ParameterError, match=needle):
        RateBridge(Processor(load_model("bypass")), rate)


@pytest.mark.parametrize("rate", [44100, 96000])
def test_bypass_through_the_bridge_is_the_input_at_the_declared_delay(rate):
    bridge = RateBridge(Processor(load_model("bypass")), rate).prepare()
    x = tones(rate, 1.0)
    y = np.concatenate([bridge.process_hop(x[i:i + bridge.hop]).out for i in range(0, x.size - bridge.hop + 1,
                                                                                   bridge.hop)])
    expected = tones(rate, y.size / rate, start=-bridge.delay_samples / rate)
    assert snr_db(expected[rate // 10:], y[rate // 10:]) > 70.0
    assert bridge.latency_samples == bridge.delay_samples + bridge.hop
    assert bridge.delay_samples == round(bridge.delay_samples)  # whole: the dry path lines up exactly
    assert bridge.model.hop == bridge.hop and bridge.model.samplerate == rate


def test_the_default_denoiser_live_at_44k1_matches_the_file_path_at_the_declared_delay():
    """Live (bridge: streaming resampler, 10 ms hops) and `rtmusic process` (soxr on the whole file) differ
    only in their resampling filters; aligned by the declared delay the two outputs agree."""
    rate = 44100
    rng = np.random.default_rng(0)
    x = tones(rate, 2.0) + 0.05 * rng.standard_normal(2 * rate).astype(np.float32)
    bridge = RateBridge(Processor(load_model("default")), rate).prepare()
    live = np.concatenate([bridge.process_hop(x[i:i + bridge.hop]).out for i in range(0, x.size - bridge.hop + 1,
                                                                                      bridge.hop)])
    offline, _, _ = process_array(Processor(load_model("default")).prepare(), x[:, None], rate)
    d, skip = bridge.delay_samples, rate // 2
    n = live.size - d - 3
    reference = offline[skip:n, 0]
    agreement = {s: snr_db(reference, live[d + s + skip:d + s + n]) for s in (-3, -1, 0, 1, 3)}
    assert agreement[0] > 25.0, agreement
    assert agreement[0] == max(agreement.values()), agreement  # the declared lag is the one that fits best


def test_the_engine_at_44k1_keeps_the_declared_lag_for_any_block_size():
    rate = 44100
    bridge = RateBridge(Processor(load_model("bypass")), rate).prepare()
    x = tones(rate, 1.0)
    out, state = emulate_stream(bridge, x, (128, 333, 64), prefill=bridge.hop + 512)
    lag = bridge.hop + 512 + bridge.delay_samples  # pre-fill + the bridged step's lag
    assert int(state.ctl[S.TOTAL_DELAY]) == lag
    expected = tones(rate, (out.size - lag) / rate)
    assert snr_db(expected[rate // 10:x.size - 1000], out[lag:][rate // 10:x.size - 1000]) > 70.0
    assert state.counters()["deadline_misses"] == 0
