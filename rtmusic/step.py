"""The one model path: ``step(params, carry, hop) -> (carry, (out, aux))``.

Training differentiates ``scan_hops`` (a ``jax.lax.scan`` of the step), offline file processing runs the
same scan, and the live worker calls the jitted step once per hop. The carry holds *all* streaming memory
(analysis tail, overlap-add tail, feature normaliser, LSTM state), so a step is a pure function.

``params`` is ``{"net": <weights>, "knobs": Knobs}``: immutable weights plus runtime knobs (dry mix,
attenuation limit) passed as arrays, so changing a knob never recompiles. Classifier training may add
``"feature_mask"`` (one factor per feature, see `train.feature_dropout`); nothing else passes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from rtmusic import dsp
from rtmusic.errors import ParameterError
from rtmusic.registry import validate_knobs
from rtmusic.models import (
    ClassifierConfig,
    DenoiserConfig,
    LstmState,
    classifier_feature_size,
    frame_feature_size,
    label_net,
    mask_net,
)

LEVEL_INIT_DB = -30.0  # starting point of the running per-bin level (about -40 dBFS white noise)
FLOOR_INIT_DB = 100.0  # the noise floor starts above any level and drops to the first levels it hears


class Knobs(NamedTuple):
    """Runtime controls, traced as arrays so they can change without recompiling."""

    min_gain: jax.Array  # [] gain floor in (0, 1]: 10 ** (-atten_lim_db / 20); 0 = unlimited
    dry_mix: jax.Array  # [] 0 = fully processed, 1 = delay-aligned dry input


def make_knobs(atten_lim_db: float | None = None, mix: float = 0.0) -> Knobs:
    """Knobs from user units. `atten_lim_db`: at most this much attenuation (None = no limit)."""
    validate_knobs(atten_lim_db, mix)
    min_gain = 0.0 if atten_lim_db is None else 10.0 ** (-atten_lim_db / 20.0)
    return Knobs(jnp.float32(min_gain), jnp.float32(mix))


class StepAux(NamedTuple):
    """What a step reports besides audio."""

    values: jax.Array  # [n_aux] model outputs (gain in dB for the denoiser, label probabilities, ...)
    nonfinite_reset: jax.Array  # [] bool: the state went non-finite and was reset this hop


class DelayCarry(NamedTuple):
    line: jax.Array  # [delay] input samples not yet emitted


class MaskCarry(NamedTuple):
    frame_tail: jax.Array  # [window - hop] latest input before this hop (analysis memory)
    ola_tail: jax.Array  # [window - hop] overlap-add memory not yet emitted
    level_db: jax.Array  # [bins] running per-bin level, normalises features
    lstm: LstmState  # per layer (c [hidden], h [hidden])
    floor_db: jax.Array  # [bins] per-bin noise-floor estimate (unused when the config has no floor feature)
    fine_level_db: jax.Array  # [fine_bins] running level of the fine-resolution bins ([0] when they are off)
    df_history: jax.Array  # [df_order - 1, 2, df_bins] real and imaginary part of the previous frames' low bins
    lookahead_features: jax.Array  # [lookahead_hops, frame features] the last frames' features, oldest first
    lookahead_seen: jax.Array  # [] hops of input so far, counted up to lookahead_hops (the LSTM waits till then)
    fine_floor_db: jax.Array  # [fine_bins] the fine bins' noise floors ([0] without the fine floor feature)
    fine_floor_hops: jax.Array  # [] hops heard, counted up to the fine history's length (the floor waits till then)
    level_hops: jax.Array  # [] hops heard, counted up to the level's time constant (with `level_warmup`)


StepFn = Callable[[Any, Any, jax.Array], tuple[Any, tuple[jax.Array, StepAux]]]


@dataclass(frozen=True)
class StreamModel:
    """A streaming model: immutable weights and config plus its pure step and initial carry.

    `delay` is the step-level lag: out[t] corresponds to input[t - delay]. The block-I/O algorithmic
    latency (window + look-ahead) is `delay + hop` since a hop must be collected before it is processed.
    """

    name: str
    kind: str  # "bypass" | "denoiser" | "classifier" | "combined"
    samplerate: int
    hop: int
    window: int
    delay: int
    aux_names: tuple[str, ...]
    init_carry: Callable[[], Any]
    step: StepFn
    weights: Any = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def lookahead(self) -> int:
        return self.delay + self.hop - self.window

    @property
    def algorithmic_latency(self) -> int:
        """Samples, block-I/O convention: window + look-ahead."""
        return self.window + self.lookahead

    def params(self, knobs: Knobs | None = None) -> dict[str, Any]:
        return {"net": self.weights, "knobs": knobs if knobs is not None else make_knobs()}


def _tree_all_finite(tree) -> jax.Array:
    """One check over every value of `tree`: the leaves are joined and reduced once, not one reduction per
    leaf (each its own XLA op per hop; see `_select_carry`)."""
    leaves = [jnp.ravel(leaf).astype(jnp.float32) for leaf in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.isfinite(jnp.concatenate(leaves))) if leaves else jnp.bool_(True)


def _select_carry(ok: jax.Array, new_carry, fresh_carry):
    """`new_carry` where `ok`, else `fresh_carry`: one select over the flattened carry, not one per leaf.

    With per-leaf checks and selects the compiled denoiser step had 107 instructions; flattened, 48. On
    session 8's 2 GHz EPYC VM the per-hop time did not measurably change (its matrix products, streaming
    3.8 MB of weights a hop, dominate), but every op the live call skips is dispatch it does not pay.
    """
    flat_new, unravel = ravel_pytree(new_carry)
    flat_fresh, _ = ravel_pytree(fresh_carry)
    return unravel(jnp.where(ok, flat_new, flat_fresh))


def _guard(init_carry: Callable[[], Any], new_carry, out, fallback_out):
    """Reset a non-finite carry to its initial value and emit the (finite) fallback hop instead."""
    ok = _tree_all_finite((new_carry, out))
    carry = _select_carry(ok, new_carry, init_carry())
    fallback_out = jnp.where(jnp.isfinite(fallback_out), fallback_out, 0.0)  # a forced non-finite tail
    return carry, jnp.where(ok, out, fallback_out), ~ok


def bypass_model(samplerate: int = 48000, hop: int = 240, window: int = 480) -> StreamModel:
    """A pure delay of window - hop samples: the same latency as the denoiser, bit-exact output.

    Like every model (and the live callback) it maps NaN/Inf to 0 and clips at +-8, so finite input in
    that range passes bit-exactly and nothing non-finite ever reaches a speaker or a file.
    """
    delay = window - hop

    def init_carry() -> DelayCarry:
        return DelayCarry(jnp.zeros((delay,), jnp.float32))

    def step(params, carry: DelayCarry, hop_samples):
        del params
        buffer = jnp.concatenate([carry.line, dsp.sanitize(hop_samples.astype(jnp.float32))])
        out = buffer[:hop]
        return DelayCarry(buffer[hop:]), (out, StepAux(jnp.zeros((0,), jnp.float32), jnp.bool_(False)))

    return StreamModel(
        name="bypass", kind="bypass", samplerate=samplerate, hop=hop, window=window, delay=delay,
        aux_names=(), init_carry=init_carry, step=step, weights={}, config={"samplerate": samplerate, "hop": hop, "window": window},
    )


def denoiser_model(config: DenoiserConfig, weights, name: str = "denoiser") -> StreamModel:
    """STFT mask denoiser: sqrt-Hann analysis -> per-bin gains from the LSTM -> overlap-add.

    With `config.fine_bins` the features also see a longer causal history (`feature_window` samples, Hann,
    finer bins); the analysis memory then holds that history and the 10 ms frame is its newest part. With
    `config.lookahead_hops` the shaped frame is that many hops older than the newest, and the net sees the
    features of every frame from it to the newest.
    """
    net = mask_net(config)
    hop, window, history, memory = config.hop, config.window, config.history, config.memory
    lookahead = config.lookahead_hops * hop
    win = jnp.asarray(dsp.sqrt_hann(window))
    fine_taper = jnp.asarray(dsp.feature_taper(window, history))
    fine_bins = config.fine_bins
    df_order = config.df_order
    df_bins = config.shaped_df_bins  # the deep filter's bins in the shaped spectrum
    shaped_bins, analysis_window = config.shaped_bins, config.analysis_window
    if analysis_window:
        analysis_taper, synthesis_tail = (jnp.asarray(w) for w in dsp.low_delay_windows(analysis_window, window))
    decay = math.exp(-hop / (config.samplerate * config.level_tau_s))
    use_floor = config.floor_rise_db_per_s > 0
    seen_bins = (jnp.asarray(np.arange(config.bins) * config.samplerate / window <= config.feature_top_hz, jnp.float32)
                 if config.feature_top_hz else None)  # 1 for the bins whose level features the net sees
    floor_rise = config.floor_rise_db_per_s * hop / config.samplerate  # dB per hop
    fine_floor_bins = fine_bins if config.fine_floor_rise_db_per_s > 0 else 0
    fine_floor_rise = config.fine_floor_rise_db_per_s * hop / config.samplerate  # dB per hop

    def init_carry() -> MaskCarry:
        tail = jnp.zeros((window - hop,), jnp.float32)
        level = jnp.full((config.bins,), LEVEL_INIT_DB, jnp.float32)
        return MaskCarry(jnp.zeros((memory - hop,), jnp.float32), tail, level, net.initialize_carry(),
                         jnp.full((config.bins,), FLOOR_INIT_DB, jnp.float32),
                         jnp.full((fine_bins,), LEVEL_INIT_DB, jnp.float32),
                         jnp.zeros((df_order - 1 if df_bins else 0, 2, df_bins), jnp.float32),
                         jnp.zeros((config.lookahead_hops, frame_feature_size(config)), jnp.float32),
                         jnp.float32(0.0), jnp.full((fine_floor_bins,), FLOOR_INIT_DB, jnp.float32), jnp.float32(0.0),
                         jnp.float32(0.0))

    def step(params, carry: MaskCarry, hop_samples):
        knobs: Knobs = params["knobs"]
        x = dsp.sanitize(hop_samples.astype(jnp.float32))
        frame_tail, long_frame = dsp.analysis_frame(carry.frame_tail, x)  # [memory]
        newest = long_frame[memory - window:]  # [window]: the newest 10 ms frame, whose features join the history
        frame = long_frame[memory - window - lookahead:memory - lookahead]  # [window]: the frame the gains shape
        newest_spectrum = dsp.stft_frame(newest, win)
        if analysis_window:  # the gains shape the low-delay analysis ending with that frame, not the 10 ms frame
            spectrum = dsp.stft_frame(long_frame[memory - lookahead - analysis_window:memory - lookahead],
                                      analysis_taper)
        else:
            spectrum = dsp.stft_frame(frame, win) if lookahead else newest_spectrum
        level = dsp.power_db(newest_spectrum)
        level_hops, level_decay, fine_decay = _level_decays(config.level_warmup, carry.level_hops, decay,
                                                            window // hop, history // hop)
        level_db = level_decay * carry.level_db + (1.0 - level_decay) * level
        features = [(level - level_db) / 20.0, (level - LEVEL_INIT_DB) / 30.0]
        floor_db = carry.floor_db  # models without the feature carry it untouched: no work on their audio path
        if use_floor:
            floor_db = jnp.minimum(level, floor_db + floor_rise)
            features.append((level - floor_db) / 20.0)
        if seen_bins is not None:
            features = [f * seen_bins for f in features]
        fine_level_db = carry.fine_level_db
        if fine_bins:
            fine = dsp.power_db(dsp.stft_frame(long_frame[memory - history:], fine_taper)[:fine_bins])
            fine_level_db = fine_decay * carry.fine_level_db + (1.0 - fine_decay) * fine
            features += [(fine - fine_level_db) / 20.0, (fine - LEVEL_INIT_DB) / 30.0]
        fine_floor_db, fine_floor_hops = carry.fine_floor_db, carry.fine_floor_hops
        if fine_floor_bins:  # from the first full history on: the stream's zero past would pin it far down
            full = fine_floor_hops >= history // hop
            fine_floor_db = jnp.where(full, jnp.minimum(fine, fine_floor_db + fine_floor_rise), fine_floor_db)
            fine_floor_hops = jnp.minimum(fine_floor_hops + 1.0, float(history // hop))
            features.append(jnp.where(full, fine - fine_floor_db, 0.0) / 20.0)
        features = jnp.concatenate(features)
        lookahead_features, lookahead_seen = carry.lookahead_features, carry.lookahead_seen
        if lookahead:  # the shaped frame's features first, then the newer frames' up to this one's
            lookahead_features = jnp.concatenate([lookahead_features, features[None]])
            features = jnp.ravel(lookahead_features)
            lookahead_features = lookahead_features[1:]
        lstm, net_out = net.apply({"params": params["net"]}, carry.lstm, features)
        if lookahead:  # the first hops shape frames from before the stream: the LSTM starts with its first frame
            lstm = jax.tree_util.tree_map(lambda new, old: jnp.where(lookahead_seen >= config.lookahead_hops, new, old),
                                          lstm, carry.lstm)
            lookahead_seen = jnp.minimum(lookahead_seen + 1.0, float(config.lookahead_hops))
        gains = net_out[:shaped_bins]
        df_history = carry.df_history
        if df_bins:
            # Y = g X_t + sum_i c_i X_{t-i} in the low bins; the attenuation limit mixes in the input at its level
            coefs = net_out[shaped_bins:].reshape(df_order, 2, df_bins)
            low = spectrum[:df_bins]
            frames = jnp.concatenate([jnp.stack([jnp.real(low), jnp.imag(low)])[None], df_history])  # X_t, X_t-1..
            filtered = jnp.sum((coefs[:, 0] + 1j * coefs[:, 1]) * (frames[:, 0] + 1j * frames[:, 1]), axis=0)
            shaped = (spectrum * gains).at[:df_bins].add(filtered)
            shaped = shaped + knobs.min_gain * (spectrum - shaped)
            df_history = frames[:-1]
        else:
            gains = jnp.maximum(gains, knobs.min_gain)
            shaped = spectrum * gains
        if analysis_window:
            ola_tail, wet = dsp.overlap_add_tail(carry.ola_tail, shaped, analysis_window, synthesis_tail)
        else:
            ola_tail, wet = dsp.overlap_add(carry.ola_tail, shaped, win)
        dry = frame[:hop]
        out = wet + knobs.dry_mix * (dry - wet)
        in_power = jnp.sum(jnp.abs(spectrum) ** 2) + 1e-9
        gain_db = 10.0 * jnp.log10((jnp.sum(jnp.abs(shaped) ** 2) + 1e-9) / in_power)
        new_carry = MaskCarry(frame_tail, ola_tail, level_db, lstm, floor_db, fine_level_db, df_history,
                              lookahead_features, lookahead_seen, fine_floor_db, fine_floor_hops, level_hops)
        new_carry, out, reset = _guard(init_carry, new_carry, out, dry)
        return new_carry, (out, StepAux(gain_db[None], reset))

    assert frame_feature_size(config) == (3 if use_floor else 2) * config.bins + 2 * fine_bins + fine_floor_bins
    return StreamModel(
        name=name, kind="denoiser", samplerate=config.samplerate, hop=hop, window=window, delay=config.delay,
        aux_names=("gain_db",), init_carry=init_carry, step=step, weights=weights, config=config.to_dict(),
    )


class ClassifierCarry(NamedTuple):
    frame_tail: jax.Array  # [feature_window - hop] latest input before this hop (feature history, delay line)
    level_db: jax.Array  # [bands] running per-band level, normalises features
    prev_db: jax.Array  # [bands] band levels of the previous frame
    lstm: Any  # the label net's state: per layer (c [hidden], h [hidden]), and with a spectro-temporal front end
    # (ClassifierConfig.tf_channels) its layers' past inputs beside it
    fine_level_db: jax.Array  # [fine_bins] running level of the fine-resolution bins ([0] when they are off)
    level_hops: jax.Array  # [] hops heard, counted up to the level's time constant (with `level_warmup`)


NONFINITE_LOGIT = -20.0  # what a reset hop reports: probability ~2e-9 for every label


def _level_decays(warmup: bool, hops: jax.Array, decay: float, frame_hops: int, fine_hops: int):
    """(hops heard, decay of the running level, decay of the fine bins' running level) for this hop.

    Without `warmup` both decays are `decay`. With it, a level whose frame spans `frame_hops` hops still holds the
    stream's zero past for its first `frame_hops - 1` hops: its decay is 0 until its first full frame (take it as
    it is), then n / (n + 1) (the mean of the n + 1 full frames so far) until that reaches `decay`.
    """
    if not warmup:
        return hops, decay, decay

    def warm(partial_hops: int) -> jax.Array:
        full = jnp.maximum(hops - partial_hops, 0.0)
        return jnp.minimum(decay, full / (full + 1.0))

    cap = round(1.0 / (1.0 - decay)) + max(frame_hops, fine_hops)  # past it both decays stay at `decay`
    return jnp.minimum(hops + 1.0, float(cap)), warm(frame_hops - 1), warm(fine_hops - 1)


def _reset_if_nonfinite(init_carry: Callable[[], Any], new_carry, *outputs):
    """(carry, ok): the initial carry instead of `new_carry` when it or any of `outputs` is non-finite."""
    ok = _tree_all_finite((new_carry, outputs))
    return _select_carry(ok, new_carry, init_carry()), ok


def classifier_model(config: ClassifierConfig, weights, name: str = "classifier", *, logits: bool = False) -> StreamModel:
    """Live multi-label tagger with a delay-aligned pass-through, the denoiser's latency and analysis.

    `out` is the (sanitised) input delayed by ``window - hop`` samples, bit-exactly what `bypass_model`
    emits; `aux.values` [n_labels] are the label probabilities (`logits=True`: the logits instead, for
    training with a numerically stable cross-entropy). Features per hop: log mel-band levels of the last
    `feature_window` input samples (see `ClassifierConfig`), normalised by a running per-band level, the
    absolute level, and the change since the previous hop; with `fine_bins`, the normalised and absolute
    level of the lowest bins of a longer `fine_window` history too. The history is longer than the audio delay
    needs, so the pass-through is read from inside it. Causal: hop t's probabilities depend on input up to
    the end of hop t only.
    """
    net = label_net(config)
    hop, window, history, feature_window = config.hop, config.window, config.history, config.feature_window
    win = jnp.asarray(dsp.feature_taper(window, feature_window))
    fine_bins, fine_window = config.fine_bins, config.fine_window
    fine_taper = jnp.asarray(dsp.feature_taper(window, fine_window)) if fine_bins else None
    bands = jnp.asarray(dsp.mel_band_matrix(feature_window, config.samplerate, config.bands, config.band_low_hz))
    decay = math.exp(-hop / (config.samplerate * config.level_tau_s))
    dry_at = history - window  # long_frame[dry_at:dry_at + hop] is the input of window - hop samples ago

    def init_carry() -> ClassifierCarry:
        level = jnp.full((config.bands,), LEVEL_INIT_DB, jnp.float32)
        return ClassifierCarry(jnp.zeros((history - hop,), jnp.float32), level, level, net.initialize_carry(),
                               jnp.full((fine_bins,), LEVEL_INIT_DB, jnp.float32), jnp.float32(0.0))

    def step(params, carry: ClassifierCarry, hop_samples):
        x = dsp.sanitize(hop_samples.astype(jnp.float32))
        frame_tail, long_frame = dsp.analysis_frame(carry.frame_tail, x)  # long_frame: [history]
        spectrum = dsp.stft_frame(long_frame[history - feature_window:], win)
        power = jnp.real(spectrum) ** 2 + jnp.imag(spectrum) ** 2
        level = 10.0 * jnp.log10(power @ bands + 1e-12)  # [bands] dB, floored at -120
        level_hops, level_decay, fine_decay = _level_decays(config.level_warmup, carry.level_hops, decay,
                                                            feature_window // hop, fine_window // hop)
        level_db = level_decay * carry.level_db + (1.0 - level_decay) * level
        features = [(level - level_db) / 20.0, (level - LEVEL_INIT_DB) / 30.0, (level - carry.prev_db) / 20.0]
        fine_level_db = carry.fine_level_db
        if fine_bins:
            fine = dsp.power_db(dsp.stft_frame(long_frame[history - fine_window:], fine_taper)[:fine_bins])
            fine_level_db = fine_decay * carry.fine_level_db + (1.0 - fine_decay) * fine
            features += [(fine - fine_level_db) / 20.0, (fine - LEVEL_INIT_DB) / 30.0]
        features = jnp.concatenate(features)
        if "feature_mask" in params:  # training only: structured feature dropout (train.feature_dropout)
            features = features * params["feature_mask"]
        lstm, out_logits = net.apply({"params": params["net"]}, carry.lstm, features)
        dry = long_frame[dry_at:dry_at + hop]
        dry = jnp.where(jnp.isfinite(dry), dry, 0.0)  # only a poisoned carry can make it non-finite
        new_carry = ClassifierCarry(frame_tail, level_db, level, lstm, fine_level_db, level_hops)
        new_carry, ok = _reset_if_nonfinite(init_carry, new_carry, out_logits)
        out_logits = jnp.where(ok, out_logits, NONFINITE_LOGIT)
        values = out_logits if logits else jax.nn.sigmoid(out_logits)
        return new_carry, (dry, StepAux(values, ~ok))

    assert classifier_feature_size(config) == 3 * config.bands + 2 * fine_bins
    return StreamModel(
        name=name, kind="classifier", samplerate=config.samplerate, hop=hop, window=window, delay=window - hop,
        aux_names=tuple(config.labels), init_carry=init_carry, step=step, weights=weights, config=config.to_dict(),
    )


class CombinedCarry(NamedTuple):
    denoiser: Any  # the denoiser's carry (MaskCarry)
    classifier: ClassifierCarry


def combined_model(denoiser: StreamModel, classifier: StreamModel) -> StreamModel:
    """Denoise and classify one stream in one step: both see the same hop, the audio is the denoiser's.

    The carry holds both carries; `params["net"]` is ``{"denoiser": ..., "classifier": ...}`` and the knobs
    go to the denoiser. `aux.values` = the denoiser's aux followed by the label probabilities. The audio's
    delay is the denoiser's, so combining adds no latency; a denoiser with look-ahead lags the classifier's
    window by that look-ahead, so each hop's labels describe audio a few ms ahead of the hop it emits.
    """
    if classifier.kind != "classifier":
        raise ParameterError(f"combined_model needs a classifier second, got a {classifier.kind} ({classifier.name!r})")
    if denoiser.kind == "classifier":
        raise ParameterError(f"combined_model needs an audio model first, got the classifier {denoiser.name!r}")
    same = ("samplerate", "hop", "window")
    if any(getattr(denoiser, k) != getattr(classifier, k) for k in same) or classifier.delay > denoiser.delay:
        raise ParameterError(
            "the denoiser and classifier must share rate, hop and window, and the classifier may not lag the "
            "audio; got " + ", ".join(f"{k} {getattr(denoiser, k)}/{getattr(classifier, k)}" for k in same + ("delay",))
        )

    def init_carry() -> CombinedCarry:
        return CombinedCarry(denoiser.init_carry(), classifier.init_carry())

    def step(params, carry: CombinedCarry, hop_samples):
        net, knobs = params["net"], params["knobs"]
        den_carry, (out, den_aux) = denoiser.step({"net": net["denoiser"], "knobs": knobs}, carry.denoiser, hop_samples)
        cls_carry, (_, cls_aux) = classifier.step({"net": net["classifier"], "knobs": knobs}, carry.classifier,
                                                  hop_samples)
        aux = StepAux(jnp.concatenate([den_aux.values, cls_aux.values]), den_aux.nonfinite_reset | cls_aux.nonfinite_reset)
        return CombinedCarry(den_carry, cls_carry), (out, aux)

    return StreamModel(
        name=f"{denoiser.name} + {classifier.name}", kind="combined", samplerate=denoiser.samplerate,
        hop=denoiser.hop, window=denoiser.window, delay=denoiser.delay,
        aux_names=denoiser.aux_names + classifier.aux_names, init_carry=init_carry, step=step,
        weights={"denoiser": denoiser.weights, "classifier": classifier.weights},
        config={"denoiser": denoiser.config, "classifier": classifier.config,
                "kinds": [denoiser.kind, classifier.kind]},
    )


def scan_hops(step: StepFn, params, carry, hops: jax.Array):
    """Run the step over `hops` [n_hops, hop] -> (carry, (out [n_hops, hop], aux stacked per hop))."""
    return jax.lax.scan(lambda c, h: step(params, c, h), carry, hops)


def frames_of(signal: np.ndarray, hop: int, delay: int) -> tuple[np.ndarray, int]:
    """Pad a 1-D signal so that, after the step's `delay`, every input sample has an output: [n_hops, hop]."""
    n = signal.shape[0]
    n_hops = -(-(n + delay) // hop)
    padded = np.zeros(n_hops * hop, np.float32)
    padded[:n] = signal
    return padded.reshape(n_hops, hop), n
