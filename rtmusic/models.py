"""Flax modules: the learned cores of rtmusic's streaming models.

Each core is a recurrent cell, ``cell(carry, features) -> (carry, outputs)`` with ``initialize_carry``,
so the same module serves one hop live and a scanned sequence in training. The DSP around the cores
(windows, STFT, overlap-add, feature normalisation) lives in ``rtmusic.step``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from rtmusic.dsp import mel_band_matrix
from rtmusic.errors import ParameterError

LstmState = tuple[tuple[jax.Array, jax.Array], ...]  # per layer (c [hidden], h [hidden])


def _config_from_dict(cls, data: dict[str, Any], what: str):
    """A config dataclass from a checkpoint header; unknown keys mean a newer rtmusic wrote it."""
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ParameterError(f"unknown {what} config keys {sorted(unknown)}; is the checkpoint newer than rtmusic?")
    return cls(**data)


@dataclass(frozen=True)
class DenoiserConfig:
    """Everything that fixes a denoiser's shapes and streaming behaviour (stored in checkpoints)."""

    samplerate: int = 48000
    hop: int = 240  # 5 ms: one LSTM step per hop
    window: int = 480  # 10 ms sqrt-Hann analysis/synthesis window -> 10 ms algorithmic latency
    hidden: int = 128
    layers: int = 2
    level_tau_s: float = 1.0  # time constant of the running per-bin level used to normalise features
    gain_bias_init: float = 3.0  # sigmoid(3) = 0.95: an untrained net starts close to pass-through
    # Noise-floor feature (0 = off, the step-2500 model): per bin, a level that follows every drop at once
    # and rises at most this many dB per second, so it sits under music and speech but on steady noise.
    # The running *mean* level alone makes a sustained note look exactly like stationary noise.
    floor_rise_db_per_s: float = 0.0
    # Fine-resolution features (0 = off, the step-11500 model): the lowest `fine_bins` bins of a spectrum of
    # the last `feature_window` input samples (causal history: no added latency). At 1920 samples the bins
    # are 25 Hz apart, so the harmonics of a note or a voice stand apart from the noise between them, which
    # the 100 Hz bins of the 10 ms frame cannot show. The gains still shape the 10 ms frame.
    feature_window: int = 0  # 0: the window itself (no longer history)
    fine_bins: int = 0
    # Deep filter (0 = off): in the lowest `df_bins` bins the output is the gain times this frame's bin plus a
    # learned complex filter over this and the `df_order - 1` previous frames' values of that bin (as in
    # DeepFilterNet). A filter across frames can notch a steady tone inside a 100 Hz bin (hum, whine, a fan's
    # blade tone) and keep the harmonic beside it, which a real gain per bin cannot. Its head starts at zero,
    # so a net warm-started from one without it computes exactly the same until trained.
    df_bins: int = 0
    df_order: int = 3
    # Residual LSTM layers on top of the `layers` stack (0 = none, every model before session 10): each adds
    # x + W * LSTM(x) with W starting at zero, so a net warm-started from one without them computes exactly the
    # same until trained, and gains depth at a third of the cost of widening every layer.
    residual_layers: int = 0
    # Local gain refinement (0 = off, every model before session 12): each bin's gain logit is corrected by a
    # small net shared across frequency that sees, for the `local_kernel` bins around it, their normalised and
    # absolute levels and the LSTM's logits. The LSTM state is one 192-value summary of the whole spectrum;
    # a harmonic that stands a few dB over the noise in its own bin needs a per-bin path to keep its gain.
    # Its output layer starts at zero, so a warm-started net computes exactly the old one until trained.
    local_kernel: int = 0
    local_channels: int = 8
    # Look-ahead (0 = none, every model before session 16): the gains shape the frame `lookahead_hops` hops
    # before the newest, and the net sees that frame's features followed by those of the newer frames. A knock,
    # a click or a note's attack is then judged by what follows it, at `lookahead_hops * hop` samples more
    # latency. The newer frames' features are appended after the shaped frame's, so a net warm-started from one
    # without look-ahead starts out computing exactly what it did, delayed by the look-ahead.
    lookahead_hops: int = 0
    # Low-delay analysis (0 = off, every model before session 21): the gains shape the spectrum of the last
    # `analysis_window` samples (e.g. 1920: 40 ms, bins 25 Hz apart) under an asymmetric window whose synthesis
    # part is only the last `window` samples, so the latency stays window + look-ahead (Mauler & Martin 2007);
    # with look-ahead it is the analysis ending with the shaped frame.
    # A 10 ms frame cannot keep a bass note or a voice's fundamental and drop the rumble 30 Hz beside it; these
    # bins can. The net's per-bin gain logits are interpolated onto the finer bins, and with `fine_bins`
    # (their features come from the same history) a small net shared across frequency corrects each of the
    # lowest fine bins' logits from its own and its neighbours' levels; it starts at zero, so a net
    # warm-started from one without it starts out computing nearly what it did.
    analysis_window: int = 0
    fine_gain_kernel: int = 5
    # The per-fine-bin correction's width (8: every model before session 23) and whether it also sees a
    # projection of the LSTM's output (False: it saw only its bins' levels and logits, so the same levels got the
    # same correction under a voice, a bass line or a fan). The projection starts at zero and new channels start
    # with zero output weights, so a net warm-started from a narrower one computes exactly what it did.
    fine_gain_channels: int = 8
    fine_gain_context: bool = False
    # Fine-bin noise floor (0 = off, every model before session 24): per fine bin, a level that follows every
    # drop at once and rises at most this many dB per second, fed to the net and to the per-fine-bin correction
    # as the level above it. Session 24 found most of the default's remaining error on music in the noise-led
    # 25 Hz bins below 500 Hz, where hum, fans and traffic hold steady tones for seconds: the running mean level
    # makes a held note and a steady hum look alike, the floor does not. Appended after every other feature,
    # with zero weights into the net, so a causal net warm-started from one without it computes what it did.
    fine_floor_rise_db_per_s: float = 0.0
    # Fine gain head (0 = off, every model before session 24): the LSTM's output sets the logits of the lowest
    # this many fine bins directly, one weight row per bin, added to the interpolated logits before the
    # correction. The correction is one small net shared across frequency, and the gain head's 100 Hz bins give
    # 0-500 Hz five values: session 24 found half the remaining error there, in bins the noise leads. Starts at
    # zero, so a net warm-started from one without it computes exactly what it did.
    fine_head_bins: int = 0
    # Level warm-up (False: every model before session 45): the running levels start as the mean of the frames
    # heard so far and become the `level_tau_s` running mean once a time constant has passed. Started from a
    # fixed -30 dB instead, the normalised features are off for the first seconds of every stream or file.
    # Session 45: the default's music SI-SDRi is +3.3 dB in a clip's first second against +5.6 after two, but a
    # cycle with the warm-up left the first second where it was (the net lacks evidence there, not levels).
    level_warmup: bool = False
    # Feature band (0 = every bin, every model before session 49): the per-bin level features of bins above this
    # frequency are held at zero, so the net cannot read the top band; its gains there still follow what it hears
    # below. Session 49: with the val noise alone losing its 22-24 kHz band (bench.quality --noise-via-rate 44100),
    # the default falls from +5.65 / +7.35 to +4.00 / +5.36 dB: it learned noise from a band where the synthesised
    # noise is and real noise (microphones' anti-alias filters, 44.1 kHz sources, noise libraries) is not.
    feature_top_hz: float = 0.0

    def __post_init__(self):
        if self.feature_top_hz and not 0 < self.feature_top_hz < self.samplerate / 2:
            raise ParameterError(f"feature_top_hz must be 0 (every bin) or between 0 and {self.samplerate / 2:g} Hz, "
                                 f"got {self.feature_top_hz}; e.g. feature_top_hz=20000")
        if self.analysis_window:
            if (self.analysis_window <= self.window or self.analysis_window % self.window
                    or (self.fine_bins and self.feature_window != self.analysis_window)):
                raise ParameterError(
                    f"analysis_window ({self.analysis_window}) must be 0 (the window) or a multiple of the window "
                    f"({self.window}) longer than it, and equal to feature_window when there are fine_bins; e.g. "
                    "analysis_window=1920 with feature_window=1920 for hop 240"
                )
            if self.fine_gain_kernel < 1 or self.fine_gain_kernel % 2 == 0:
                raise ParameterError(f"fine_gain_kernel must be an odd number of bins, got {self.fine_gain_kernel}")
            if self.fine_gain_channels < 1:
                raise ParameterError(f"fine_gain_channels must be >= 1, got {self.fine_gain_channels}")
        if self.fine_head_bins and not (self.analysis_window and 0 < self.fine_head_bins <= self.shaped_bins):
            raise ParameterError(f"fine_head_bins must be 0 (off) or between 1 and the shaped bins ({self.shaped_bins}) "
                                 f"of a low-delay analysis; got {self.fine_head_bins} with analysis_window "
                                 f"{self.analysis_window}; e.g. fine_head_bins=40 (0-1 kHz) with analysis_window=1920")
        if self.lookahead_hops < 0:
            raise ParameterError(f"lookahead_hops must be >= 0 (0 = none), got {self.lookahead_hops}")
        if self.local_kernel < 0 or (self.local_kernel and self.local_kernel % 2 == 0) or self.local_channels < 1:
            raise ParameterError(f"local_kernel must be 0 (off) or an odd number of bins, and local_channels >= 1; "
                                 f"got local_kernel {self.local_kernel}, local_channels {self.local_channels}")
        if self.residual_layers < 0:
            raise ParameterError(f"residual_layers must be >= 0 (0 = none), got {self.residual_layers}")
        if self.floor_rise_db_per_s < 0:
            raise ParameterError(f"floor_rise_db_per_s must be >= 0 (0 = no floor feature), got {self.floor_rise_db_per_s}")
        if self.fine_floor_rise_db_per_s < 0 or (self.fine_floor_rise_db_per_s and not self.fine_bins):
            raise ParameterError(f"fine_floor_rise_db_per_s must be >= 0 (0 = off) and needs fine_bins; got "
                                 f"{self.fine_floor_rise_db_per_s} with fine_bins {self.fine_bins}; e.g. 3.0 with "
                                 "fine_bins=160")
        if self.feature_window and (self.feature_window < self.window or self.feature_window % self.hop):
            raise ParameterError(
                f"feature_window ({self.feature_window}) must be 0 (the window) or at least window ({self.window}) "
                f"and a multiple of hop ({self.hop}); e.g. 1920 (40 ms, 25 Hz bins at 48 kHz) for hop 240"
            )
        if not 0 <= self.df_bins <= self.bins or self.df_order < 1:
            raise ParameterError(f"df_bins must be in [0, {self.bins}] and df_order at least 1; got df_bins "
                                 f"{self.df_bins}, df_order {self.df_order}")
        if not 0 <= self.fine_bins <= self.history // 2 + 1 or (self.fine_bins and self.history == self.window):
            raise ParameterError(
                f"fine_bins must be 0 (off) or between 1 and {self.history // 2 + 1} with a feature_window "
                f"longer than the window ({self.window}); got fine_bins {self.fine_bins}, feature_window "
                f"{self.feature_window}"
            )
        if self.window % self.hop or self.window < self.hop:
            raise ParameterError(
                f"window ({self.window}) must be a multiple of hop ({self.hop}); pick e.g. hop=240, window=480"
            )
        if self.window // self.hop != 2:
            raise ParameterError("only 50 % overlap (window = 2 * hop) is supported by the sqrt-Hann OLA")

    @property
    def bins(self) -> int:
        return self.window // 2 + 1

    @property
    def df_outputs(self) -> int:
        """Deep-filter coefficients per hop: real and imaginary part per bin and frame."""
        return 2 * self.df_order * self.df_bins if self.df_bins else 0

    @property
    def bin_ratio(self) -> int:
        """Bins of the shaped spectrum per bin of the 10 ms frame: 1, or 4 with a 40 ms low-delay analysis."""
        return self.analysis_window // self.window if self.analysis_window else 1

    @property
    def shaped_bins(self) -> int:
        """Bins of the spectrum the gains shape (the 10 ms frame's, or the low-delay analysis')."""
        return (self.analysis_window or self.window) // 2 + 1

    @property
    def shaped_df_bins(self) -> int:
        """Bins of the shaped spectrum the deep filter covers (the same frequencies as `df_bins`)."""
        return self.df_bins * self.bin_ratio

    @property
    def history(self) -> int:
        """Samples of input the features see: the window, or the longer `feature_window`."""
        return self.feature_window or self.window

    @property
    def memory(self) -> int:
        """Samples of input a step holds: the feature history, or the shaped frame (or its low-delay analysis) and
        the look-ahead after it."""
        return max(self.history, (self.analysis_window or self.window) + self.lookahead_hops * self.hop)

    @property
    def delay(self) -> int:
        """Step-level lag of the output: the overlap-add's window - hop plus the look-ahead."""
        return self.window - self.hop + self.lookahead_hops * self.hop

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DenoiserConfig":
        return _config_from_dict(cls, data, "denoiser")


class MaskNet(nn.Module):
    """Per-bin gain estimator: features of one frame -> gains in (0, 1) for each STFT bin.

    Dense embedding -> stacked LSTM cells -> dense gain head (with a skip from the embedding). With
    `df_outputs` the output also carries that many deep-filter coefficients in (-1, 1) after the gains, from a
    head that starts at zero.
    """

    bins: int
    hidden: int = 128
    layers: int = 2
    gain_bias_init: float = 3.0
    df_outputs: int = 0
    residual_layers: int = 0
    local_kernel: int = 0
    local_channels: int = 8
    # Low-delay analysis (DenoiserConfig.analysis_window): logits onto `bin_ratio` times finer bins, the lowest
    # `fine_gain_bins` corrected from the fine features starting at `fine_offset`, the deep filter's
    # coefficients onto the finer bins too
    df_order: int = 3
    bin_ratio: int = 1
    fine_gain_bins: int = 0
    fine_offset: int = 0
    fine_gain_kernel: int = 5
    fine_gain_channels: int = 8
    fine_gain_context: bool = False
    fine_floor: bool = False  # the fine bins' level above their noise floor follows their other features
    fine_head_bins: int = 0  # the lowest fine bins whose logits the LSTM's output also sets directly

    @nn.compact
    def __call__(self, carry: LstmState, features: jax.Array) -> tuple[LstmState, jax.Array]:
        embed = nn.relu(nn.Dense(self.hidden, name="embed")(features))
        x = embed
        new_carry = []
        for i in range(self.layers):
            layer_carry, x = nn.OptimizedLSTMCell(self.hidden, name=f"lstm{i}")(carry[i], x)
            new_carry.append(layer_carry)
        for i in range(self.layers, self.layers + self.residual_layers):
            layer_carry, y = nn.OptimizedLSTMCell(self.hidden, name=f"lstm{i}")(carry[i], x)
            x = x + nn.Dense(self.hidden, name=f"residual{i}", kernel_init=nn.initializers.zeros)(y)
            new_carry.append(layer_carry)
        head_in = jnp.concatenate([x, embed], axis=-1)
        logits = nn.Dense(self.bins, name="gain", bias_init=nn.initializers.constant(self.gain_bias_init))(head_in)
        if self.local_kernel:
            logits = logits + self._local_correction(features, logits)
        if self.bin_ratio > 1:
            logits = _onto_finer_bins(logits, self.bin_ratio, (self.bins - 1) * self.bin_ratio + 1)
            if self.fine_head_bins:
                logits = logits.at[..., :self.fine_head_bins].add(nn.Dense(
                    self.fine_head_bins, name="fine_head", kernel_init=nn.initializers.zeros)(head_in))
            if self.fine_gain_bins:
                logits = logits.at[..., :self.fine_gain_bins].add(self._fine_correction(features, logits, x))
        if not self.df_outputs:
            return tuple(new_carry), nn.sigmoid(logits)
        df = jnp.tanh(nn.Dense(self.df_outputs, name="df", kernel_init=nn.initializers.zeros,
                               bias_init=nn.initializers.zeros)(head_in))
        if self.bin_ratio > 1:  # [..., (frame, re/im, bin)] -> the same on the finer bins
            rows = 2 * self.df_order
            per_bin = df.reshape(df.shape[:-1] + (rows, self.df_outputs // rows))
            finer = _onto_finer_bins(per_bin, self.bin_ratio, per_bin.shape[-1] * self.bin_ratio)
            df = finer.reshape(df.shape[:-1] + (-1,))
        return tuple(new_carry), jnp.concatenate([nn.sigmoid(logits), df], axis=-1)

    def _fine_correction(self, features: jax.Array, logits: jax.Array, lstm_out: jax.Array) -> jax.Array:
        """Logit corrections of the lowest `fine_gain_bins` fine bins from each one's neighbourhood of fine
        levels (normalised and absolute) and interpolated logits, and with `fine_gain_context` the LSTM's
        output projected onto the hidden channels (the same for every bin): [..., fine_gain_bins] (zero until
        trained). With `fine_floor` each bin's level above its noise floor joins in, after the rest, so a
        correction warm-started without it keeps its weights."""
        n, pad = self.fine_gain_bins, self.fine_gain_kernel // 2
        fine = features[..., self.fine_offset:self.fine_offset + 3 * n]
        channels = [[fine[..., :n], fine[..., n:2 * n], logits[..., :n]]]
        if self.fine_floor:
            channels.append([fine[..., 2 * n:]])
        around = []
        for group in channels:
            per_bin = jnp.stack(group, axis=-1)  # [..., n, channels]
            widths = [(0, 0)] * (per_bin.ndim - 2) + [(pad, pad), (0, 0)]
            padded = jnp.pad(per_bin, widths, mode="edge")
            around += [padded[..., k:k + n, :] for k in range(self.fine_gain_kernel)]
        around = jnp.concatenate(around, axis=-1)
        pre = nn.Dense(self.fine_gain_channels, name="fine_in")(around)
        if self.fine_gain_context:
            context = nn.Dense(self.fine_gain_channels, name="fine_ctx", use_bias=False,
                               kernel_init=nn.initializers.zeros)(lstm_out)
            pre = pre + context[..., None, :]
        return nn.Dense(1, name="fine_out", kernel_init=nn.initializers.zeros)(nn.relu(pre))[..., 0]

    def _local_correction(self, features: jax.Array, logits: jax.Array) -> jax.Array:
        """Per-bin logit corrections from each bin's neighbourhood: [..., bins] (zero until trained)."""
        bins, pad = self.bins, self.local_kernel // 2
        per_bin = jnp.stack([features[..., :bins], features[..., bins:2 * bins], logits], axis=-1)  # [..., bins, 3]
        widths = [(0, 0)] * (per_bin.ndim - 2) + [(pad, pad), (0, 0)]
        padded = jnp.pad(per_bin, widths, mode="edge")
        around = jnp.concatenate([padded[..., k:k + bins, :] for k in range(self.local_kernel)], axis=-1)
        hidden = nn.relu(nn.Dense(self.local_channels, name="local_in")(around))
        return nn.Dense(1, name="local_out", kernel_init=nn.initializers.zeros)(hidden)[..., 0]

    def initialize_carry(self, batch_shape: tuple[int, ...] = ()) -> LstmState:
        zeros = jnp.zeros(batch_shape + (self.hidden,), jnp.float32)
        return tuple((zeros, zeros) for _ in range(self.layers + self.residual_layers))


def _onto_finer_bins(x: jax.Array, ratio: int, n_out: int) -> jax.Array:
    """x [..., bins] at bins 0, 1, ... -> [..., n_out] linearly interpolated at 0, 1/ratio, 2/ratio, ...
    (held flat past the last bin). Broadcasts rather than gathers: on the audio path, once per hop."""
    step = jnp.asarray(np.arange(ratio, dtype=np.float32) / ratio)
    between = x[..., :-1, None] * (1.0 - step) + x[..., 1:, None] * step  # [..., bins - 1, ratio]
    body = between.reshape(x.shape[:-1] + (-1,))
    tail = jnp.broadcast_to(x[..., -1:], x.shape[:-1] + (max(n_out - body.shape[-1], 0),))
    return jnp.concatenate([body, tail], axis=-1)[..., :n_out]


def mask_net(config: DenoiserConfig) -> MaskNet:
    fine_gains = config.fine_bins if config.analysis_window else 0
    return MaskNet(
        bins=config.bins, hidden=config.hidden, layers=config.layers, gain_bias_init=config.gain_bias_init,
        df_outputs=config.df_outputs, residual_layers=config.residual_layers, local_kernel=config.local_kernel,
        local_channels=config.local_channels, df_order=config.df_order, bin_ratio=config.bin_ratio,
        fine_gain_bins=fine_gains, fine_offset=frame_feature_size(config) - _fine_feature_count(config),
        fine_gain_kernel=config.fine_gain_kernel, fine_gain_channels=config.fine_gain_channels,
        fine_gain_context=config.fine_gain_context, fine_floor=config.fine_floor_rise_db_per_s > 0,
        fine_head_bins=config.fine_head_bins,
    )


def _fine_feature_count(config: DenoiserConfig) -> int:
    """Features per frame from the fine bins: normalised and absolute level, and the level above the floor."""
    return (3 if config.fine_floor_rise_db_per_s > 0 else 2) * config.fine_bins


def frame_feature_size(config: DenoiserConfig) -> int:
    """Features of one frame: normalised level and absolute level per bin, the level above the noise floor
    when enabled, and the normalised and absolute level of each fine-resolution bin when enabled, then its level
    above its floor (appended last, so a net warm-started from one without them starts by ignoring them)."""
    return (3 if config.floor_rise_db_per_s > 0 else 2) * config.bins + _fine_feature_count(config)


def feature_size(config: DenoiserConfig) -> int:
    """The net's input: the shaped frame's features, then those of each look-ahead frame."""
    return frame_feature_size(config) * (1 + config.lookahead_hops)


def init_mask_net(config: DenoiserConfig, seed: int = 0):
    """Random weights of the shipped size (used until trained weights exist, and to start training)."""
    net = mask_net(config)
    carry = net.initialize_carry()
    features = jnp.zeros((feature_size(config),), jnp.float32)
    return net.init(jax.random.PRNGKey(seed), carry, features)["params"]


# ---- classifier ---------------------------------------------------------------------------------------
CLASSIFIER_LABELS = (
    "piano", "mallets", "organ", "guitar", "bass", "strings", "voice", "brass", "reed", "pipe", "synth",
    "drums", "speech", "noise", "silence",
)
"""The classifier's fixed multi-label outputs, in order. The first 12 are the music families of the
training labels (GM programs 1-8 piano, 9-16 mallets, 17-24 organ, 25-32 guitar, 33-40 bass, 41-52 strings,
53-55 voice, 57-64 brass, 65-72 reed, 73-80 pipe, 81-104 synth; drums = MIDI channel 10)."""


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that fixes a classifier's shapes and streaming behaviour (stored in checkpoints).

    The audio path is the denoiser's (`window`/`hop`, delay window - hop), so a combined model adds no
    latency. The features may look further back than that frame: `feature_window` samples of causal history
    (ending with the current hop), because 10 ms bins 100 Hz apart cannot resolve the harmonics that tell
    instrument families apart. At feature_window == window the features are those of the denoiser's
    sqrt-Hann frame (the v1 classifier, the default, so old checkpoints load unchanged); a longer history
    is Hann-windowed (lower side lobes), scaled to the same noise level.
    """

    samplerate: int = 48000
    hop: int = 240
    window: int = 480
    bands: int = 64  # mel-spaced triangular bands, each at least one feature-STFT bin wide
    hidden: int = 96
    layers: int = 2
    level_tau_s: float = 3.0  # running per-band level that normalises the features
    level_warmup: bool = False  # the running levels start as the mean of the frames so far (DenoiserConfig's)
    logit_bias_init: float = -2.0  # sigmoid(-2) = 0.12: an untrained net says "probably not"
    labels: tuple[str, ...] = CLASSIFIER_LABELS
    feature_window: int = 480  # samples of history the features see (>= window, a multiple of hop)
    band_low_hz: float = 0.0  # lowest band edge (below it: rumble and DC, no instrument information)
    # Convolutions along the mel axis before the embedding (empty = none, the v1 net). On a log-frequency axis
    # a note's harmonic pattern moves as a whole when the pitch moves, so filters shared across bands learn an
    # instrument's timbre once for every pitch instead of once per band. Each layer: `conv_kernel` bands wide,
    # ReLU, then max-pooling of band pairs (so `bands` must divide by 2 ** len(conv_channels)).
    conv_channels: tuple[int, ...] = ()
    conv_kernel: int = 5
    # Fine-resolution bins beside the bands (0 = none): the lowest `fine_bins` bins of the spectrum of a longer
    # causal history, `fine_window` samples (e.g. 160 bins of 1920: 0-4 kHz, 25 Hz apart, where the harmonics of
    # notes stand apart), as normalised and absolute level each, fed to the embedding after the convolutions.
    # Appended last, so a net warm-started from one without them starts by ignoring them (train.warmstart).
    fine_window: int = 0
    fine_bins: int = 0
    # Spectro-temporal front end (empty = none, every classifier before session 26): convolutions over frequency
    # and time on the fine bins' levels, each layer `tf_kernel` bins wide and three taps deep in time (this hop,
    # `tf_dilations[i]` hops back and twice that), ReLU, then max-pooling of bin pairs. What tells instrument
    # families apart in an ensemble is how each note starts, moves and decays (session 25: a probe on a whole
    # second's pooled spectrum does worse than the LSTM); one 10 ms frame at a time, the LSTM must build that
    # itself. The layers' past inputs live in the carry, so the step stays causal and streams; their output
    # joins the embedding's inputs last, so a net warm-started from one without them computes what it did.
    tf_channels: tuple[int, ...] = ()
    tf_dilations: tuple[int, ...] = ()
    tf_kernel: int = 5

    def __post_init__(self):
        DenoiserConfig(samplerate=self.samplerate, hop=self.hop, window=self.window)  # same STFT rules
        no_fine = self.fine_bins == 0 and self.fine_window == 0
        fine_fits = (0 < self.fine_bins <= self.fine_window // 2 + 1 and self.fine_window > self.window
                     and self.fine_window % self.hop == 0)
        if not (no_fine or fine_fits):
            raise ParameterError(
                f"fine_window ({self.fine_window}) must be longer than window ({self.window}) and a multiple of hop "
                f"({self.hop}), with fine_bins ({self.fine_bins}) between 1 and fine_window // 2 + 1; or both 0 (no "
                "fine bins); e.g. fine_window=1920, fine_bins=160"
            )
        if self.feature_window < self.window or self.feature_window % self.hop:
            raise ParameterError(
                f"feature_window ({self.feature_window}) must be at least window ({self.window}) and a multiple "
                f"of hop ({self.hop}); e.g. 1920 (40 ms, 25 Hz bins at 48 kHz) for hop 240"
            )
        nyquist = self.samplerate / 2
        if not 0.0 <= self.band_low_hz < nyquist / 2:
            raise ParameterError(f"band_low_hz must be in [0, {nyquist / 2:g}) Hz, got {self.band_low_hz}")
        usable = min(self.feature_bins, int((nyquist - self.band_low_hz) / (self.samplerate / self.feature_window)) - 1)
        fits = 8 <= self.bands <= usable
        if fits:
            try:
                mel_band_matrix(self.feature_window, self.samplerate, self.bands, self.band_low_hz)
            except ValueError:
                fits = False
        if not fits:
            raise ParameterError(
                f"bands must be between 8 and about {usable} (one STFT bin each above {self.band_low_hz:g} Hz "
                f"at feature_window {self.feature_window}), got {self.bands}; use fewer bands or a longer "
                "feature_window"
            )
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        pooled = 2 ** len(self.conv_channels)
        if any(c < 1 for c in self.conv_channels) or self.conv_kernel < 1 or self.bands % pooled:
            raise ParameterError(
                f"conv_channels must be positive and bands ({self.bands}) a multiple of 2 ** len(conv_channels) "
                f"({pooled}), conv_kernel at least 1; got conv_channels {list(self.conv_channels)}, conv_kernel "
                f"{self.conv_kernel}; e.g. bands=128, conv_channels=(16, 32)"
            )

        object.__setattr__(self, "tf_channels", tuple(int(c) for c in self.tf_channels))
        object.__setattr__(self, "tf_dilations", tuple(int(d) for d in self.tf_dilations))
        layers = len(self.tf_channels)
        if self.tf_channels and (
                len(self.tf_dilations) != layers or any(c < 1 for c in self.tf_channels)
                or any(d < 1 for d in self.tf_dilations) or self.tf_kernel < 1 or not self.fine_bins
                or self.fine_bins % 2 ** layers):
            raise ParameterError(
                f"tf_channels and tf_dilations need one positive entry per layer, tf_kernel >= 1, and fine_bins a "
                f"multiple of 2 ** layers; got tf_channels {list(self.tf_channels)}, tf_dilations "
                f"{list(self.tf_dilations)}, tf_kernel {self.tf_kernel}, fine_bins {self.fine_bins}; e.g. "
                "tf_channels=(16, 16, 32), tf_dilations=(1, 4, 16) with fine_bins=160"
            )

    @property
    def tf_features(self) -> int:
        """Outputs of the spectro-temporal front end (0 without it)."""
        if not self.tf_channels:
            return 0
        return self.fine_bins // 2 ** len(self.tf_channels) * self.tf_channels[-1]

    @property
    def bins(self) -> int:
        return self.window // 2 + 1

    @property
    def feature_bins(self) -> int:
        """Bins of the spectrum the band features are computed from."""
        return self.feature_window // 2 + 1

    @property
    def history(self) -> int:
        """Samples of input the features see: the band frame's or the fine bins' history, the longer."""
        return max(self.feature_window, self.fine_window)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["conv_channels"] = list(self.conv_channels)
        data["tf_channels"], data["tf_dilations"] = list(self.tf_channels), list(self.tf_dilations)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClassifierConfig":
        return _config_from_dict(cls, data, "classifier")


class BandConv(nn.Module):
    """A 'same'-padded 1-D convolution along the bands of x [bands, channels], as one matrix product.

    Written as gathered neighbourhoods times a [kernel * channels, features] matrix rather than nn.Conv:
    the same result, but XLA on CPU runs the matrix product several times faster inside the training scan.
    """

    features: int
    kernel: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        bands, channels = x.shape
        weight = self.param("kernel", nn.initializers.lecun_normal(), (self.kernel * channels, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        left = (self.kernel - 1) // 2
        padded = jnp.pad(x, ((left, self.kernel - 1 - left), (0, 0)))
        patches = jnp.concatenate([padded[j:j + bands] for j in range(self.kernel)], axis=1)  # [bands, k * ch]
        return patches @ weight + bias


class SpectroTemporal(nn.Module):
    """The classifier's spectro-temporal front end (`ClassifierConfig.tf_channels`), one hop at a time.

    (past, fine [2 * bins]: normalised levels, then absolute) -> (features, new past). Layer i convolves its
    input along frequency (`kernel` bins) over three taps in time: this hop, `dilations[i]` hops back and twice
    that; ReLU, then max-pooling of bin pairs. `past[i]` holds layer i's last 2 * dilations[i] inputs, oldest first.
    """

    channels: tuple[int, ...]
    dilations: tuple[int, ...]
    kernel: int = 5

    @nn.compact
    def __call__(self, past: tuple, fine: jax.Array) -> tuple[jax.Array, tuple]:
        x = fine.reshape(2, -1).T  # [bins, 2]
        new_past = []
        for i, (channels, d) in enumerate(zip(self.channels, self.dilations)):
            frames = jnp.concatenate([past[i], x[None]], axis=0)  # [2 d + 1, bins, ch]: oldest first
            new_past.append(frames[1:])
            taps = jnp.concatenate([frames[-1], frames[-1 - d], frames[0]], axis=1)  # [bins, 3 ch]
            x = nn.relu(BandConv(channels, self.kernel, name=f"layer{i}")(taps))
            x = jnp.max(x.reshape(x.shape[0] // 2, 2, channels), axis=1)
        return x.reshape(-1), tuple(new_past)


def spectro_temporal_past(bins: int, channels: tuple[int, ...], dilations: tuple[int, ...],
                          batch_shape: tuple[int, ...] = ()) -> tuple:
    """SpectroTemporal's first past: zeros, so the front end hears silence before the first hop."""
    past, inputs = [], 2
    for out_channels, d in zip(channels, dilations):
        past.append(jnp.zeros(batch_shape + (2 * d, bins, inputs), jnp.float32))
        bins, inputs = bins // 2, out_channels
    return tuple(past)


class LabelNet(nn.Module):
    """Multi-label tagger: features of one frame -> one logit per label.

    [convolutions along the bands ->] dense embedding -> stacked LSTM cells -> dense head (sigmoid outside,
    so training can use logits). With `conv_channels` the features are read as [bands, 3] (normalised level,
    absolute level, change: `classifier_feature_size`'s order) and each layer convolves along the bands.
    """

    n_labels: int
    hidden: int = 96
    layers: int = 2
    logit_bias_init: float = -2.0
    conv_channels: tuple[int, ...] = ()
    conv_kernel: int = 5
    fine_features: int = 0  # the last this many features (fine bins) bypass the convolutions
    tf_channels: tuple[int, ...] = ()  # the spectro-temporal front end on the fine bins (ClassifierConfig)
    tf_dilations: tuple[int, ...] = ()
    tf_kernel: int = 5

    @nn.compact
    def __call__(self, carry, features: jax.Array) -> tuple[Any, jax.Array]:
        """carry: the LSTM state, or (LSTM state, the front end's past inputs) with `tf_channels`."""
        lstm_carry, tf_past = carry if self.tf_channels else (carry, ())
        if self.tf_channels:
            tf_out, new_past = SpectroTemporal(self.tf_channels, self.tf_dilations, self.tf_kernel, name="tf")(
                tf_past, features[features.shape[0] - self.fine_features:])
        if self.conv_channels:
            n_band = features.shape[0] - self.fine_features
            x = features[:n_band].reshape(3, -1).T  # [bands, 3]
            for i, channels in enumerate(self.conv_channels):
                x = nn.relu(BandConv(channels, self.conv_kernel, name=f"conv{i}")(x))
                x = jnp.max(x.reshape(x.shape[0] // 2, 2, channels), axis=1)  # pool band pairs
            features = jnp.concatenate([x.reshape(-1), features[n_band:]])
        if self.tf_channels:
            features = jnp.concatenate([features, tf_out])
        embed = nn.relu(nn.Dense(self.hidden, name="embed")(features))
        x = embed
        new_carry = []
        for i in range(self.layers):
            layer_carry, x = nn.OptimizedLSTMCell(self.hidden, name=f"lstm{i}")(lstm_carry[i], x)
            new_carry.append(layer_carry)
        logits = nn.Dense(self.n_labels, name="head", bias_init=nn.initializers.constant(self.logit_bias_init))(x)
        return ((tuple(new_carry), new_past) if self.tf_channels else tuple(new_carry)), logits

    def initialize_carry(self, batch_shape: tuple[int, ...] = ()):
        zeros = jnp.zeros(batch_shape + (self.hidden,), jnp.float32)
        lstm = tuple((zeros, zeros) for _ in range(self.layers))
        if not self.tf_channels:
            return lstm
        return lstm, spectro_temporal_past(self.fine_features // 2, self.tf_channels, self.tf_dilations, batch_shape)


def label_net(config: ClassifierConfig) -> LabelNet:
    return LabelNet(n_labels=config.n_labels, hidden=config.hidden, layers=config.layers,
                    logit_bias_init=config.logit_bias_init, conv_channels=config.conv_channels,
                    conv_kernel=config.conv_kernel, fine_features=2 * config.fine_bins,
                    tf_channels=config.tf_channels, tf_dilations=config.tf_dilations, tf_kernel=config.tf_kernel)


def classifier_feature_size(config: ClassifierConfig) -> int:
    """Normalised level, absolute level and change since the previous frame, per band; then normalised and
    absolute level per fine bin."""
    return 3 * config.bands + 2 * config.fine_bins


def init_label_net(config: ClassifierConfig, seed: int = 0):
    """Random weights (the `classifier-random` model, and the start of training)."""
    net = label_net(config)
    features = jnp.zeros((classifier_feature_size(config),), jnp.float32)
    return net.init(jax.random.PRNGKey(seed), net.initialize_carry(), features)["params"]
