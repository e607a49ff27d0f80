"""The synthesised instruments of the classifier's training music (train.synth_voices, --split train-synth)."""

from __future__ import annotations

import numpy as np
import pytest

from train import synth_voices
from train.datapaths import SAMPLE_RATE
from train.render_music import Track

PROGRAM_OF = {"piano": 0, "mallets": 12, "organ": 16, "guitar": 25, "bass": 33, "strings": 48, "voice": 52,
              "brass": 56, "reed": 65, "pipe": 73, "synth": 81}


def _phrase(pitch_shift: int = 0) -> np.ndarray:
    """Four notes, 0.2-1.4 s, then silence to 3 s: start_s, end_s, pitch, velocity."""
    return np.array([[0.2, 0.5, 60, 100], [0.5, 0.8, 64, 80], [0.8, 1.1, 67, 90], [1.1, 1.4, 72, 110]],
                    float) + [0, 0, pitch_shift, 0]


def _rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20)


def test_oscillator_bank_matches_the_sum_of_sines_it_replaces():
    rng = np.random.default_rng(0)
    t = np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE
    params = dict(synth_voices._base(vib_cents=40.0, vib_rate=6.0, glide_cents=-50.0))
    phi = synth_voices._phase(params, t, 220.0, 5.0, rng)
    ratios, phases = np.array([1.0, 2.0, 3.01, 7.5]), rng.uniform(0, 6.28, 4)
    control_t = t[::synth_voices.CONTROL]
    gains_ctl = np.stack([np.exp(-control_t * (k + 1)) for k in range(4)])
    gains = np.concatenate([gains_ctl, gains_ctl[:, -1:]], axis=1)
    out = np.zeros(len(t))
    synth_voices._oscillator_bank(phi, ratios, phases, gains, synth_voices.CONTROL, out)
    exact_gain = np.stack([np.interp(np.arange(len(t)), np.arange(len(control_t)) * synth_voices.CONTROL, g)
                           for g in gains_ctl])
    exact = (exact_gain * np.sin(ratios[:, None] * phi[None, :] + phases[:, None])).sum(axis=0)
    error_db = _rms_db(out - exact) - _rms_db(exact)
    assert error_db < -40  # the per-block rotation follows vibrato and glide to within 1 %


@pytest.mark.parametrize("family", sorted(PROGRAM_OF))
def test_every_family_sounds_only_while_its_notes_do(family):
    n = 3 * SAMPLE_RATE
    for seed in range(3):  # several instruments of the family
        track = Track(channel=0, program=PROGRAM_OF[family], notes=_phrase(-24 if family == "bass" else 0))
        audio = synth_voices.render_track(np.random.default_rng(seed), track, n)
        assert audio.shape == (n,) and audio.dtype == np.float32 and np.isfinite(audio).all()
        playing = audio[int(0.2 * SAMPLE_RATE): int(1.4 * SAMPLE_RATE)]
        assert _rms_db(audio[: int(0.19 * SAMPLE_RATE)]) < -100  # silent before the first onset
        assert _rms_db(playing) > -30
        # the labels end 100 ms after the last note-off: by 500 ms after it the sound has died 30 dB (rooms aside)
        assert _rms_db(audio[int(1.9 * SAMPLE_RATE):]) < _rms_db(playing) - 30


def test_the_same_seed_plays_the_same_instrument_and_another_seed_another():
    track = Track(channel=0, program=PROGRAM_OF["organ"], notes=_phrase())
    a = synth_voices.render_track(np.random.default_rng(5), track, SAMPLE_RATE * 2)
    b = synth_voices.render_track(np.random.default_rng(5), track, SAMPLE_RATE * 2)
    c = synth_voices.render_track(np.random.default_rng(6), track, SAMPLE_RATE * 2)
    assert np.array_equal(a, b) and not np.allclose(a, c, atol=1e-3)


def test_a_note_sounds_at_its_pitch():
    """A flute-like pipe note of A4: its spectrum peaks at 440 Hz."""
    params = synth_voices.draw_instrument(np.random.default_rng(1), PROGRAM_OF["pipe"])
    note = synth_voices.render_note(np.random.default_rng(1), params, 69, 100, 1.0)
    spectrum = np.abs(np.fft.rfft(note[: SAMPLE_RATE] * np.hanning(SAMPLE_RATE)))
    assert abs(np.argmax(spectrum) - 440) <= 12  # 1 Hz bins, vibrato up to 25 cents
    with pytest.raises(ValueError, match="no synthesised family"):
        synth_voices.draw_instrument(np.random.default_rng(0), 110)  # bagpipe: unlabeled


def test_synthesised_split_plays_the_featured_family_from_scratch_and_keeps_the_rest():
    """`render_families.render_synthesised`: the featured part is synthesised, a part left to FluidR3 is the
    soundfont's rendering, note for note; the labels are the arrangement's either way."""
    from train import render_families, render_music
    from train.render_unseen import render_with

    guitar = Track(channel=0, program=PROGRAM_OF["guitar"], notes=_phrase())
    piano = Track(channel=1, program=PROGRAM_OF["piano"], notes=_phrase(-12))
    settings = dict(gain=0.4, reverb_room=0.3, reverb_level=0.5, chorus_level=0.0)
    n = 2 * SAMPLE_RATE
    mixed, instruments = render_families.render_synthesised(3, [guitar, piano], settings, n,
                                                            render_music.SOUNDFONT, "guitar", other_p=0.0)
    assert [(i["channel"], i["family"]) for i in instruments] == [(0, "guitar")]
    fluid_piano = render_with([piano], settings, n, render_music.SOUNDFONT)
    fluid_both = render_with([guitar, piano], settings, n, render_music.SOUNDFONT)
    synthesised_guitar = mixed - fluid_piano
    assert _rms_db(synthesised_guitar) > _rms_db(fluid_piano) - 12  # the featured part is heard
    residual = synthesised_guitar - (fluid_both - fluid_piano)
    assert _rms_db(residual) > _rms_db(synthesised_guitar) - 3  # and it is not FluidR3's guitar
    everything, instruments = render_families.render_synthesised(3, [guitar, piano], settings, n,
                                                                 render_music.SOUNDFONT, "guitar", other_p=1.0)
    assert sorted(i["family"] for i in instruments) == ["guitar", "piano"]
    assert np.isfinite(everything).all() and _rms_db(everything) > -40
    assert render_families.output_splits("train-synth") == [("train_families_synth", "fluidr3")]
