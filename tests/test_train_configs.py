"""Every named training config builds, and an unknown name lists the ones that exist."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from train.configs import classify, denoise


@pytest.mark.parametrize("module", [denoise, classify])
def test_every_named_config_builds_and_unknown_names_are_listed(module):
    with pytest.raises(ValueError, match="unknown config 'nosuch'") as error:
        module.get_config("nosuch")
    names = re.findall(r"'([\w-]+)'", str(error.value).split(";", 1)[1])
    assert "default" in names and "tiny" in names
    for name in names:
        config = module.get_config(name)
        assert config.steps > 0 and config.to_dict()["model"] == config.model.to_dict()


@pytest.mark.parametrize("module", [denoise, classify])
def test_the_config_name_list_is_every_name_get_config_knows(module):
    """The list the error message and config lookups read is kept by hand: a config added without it is unfindable."""
    import inspect
    tested = re.findall(r'if name == "([\w-]+)"', inspect.getsource(module.get_config))
    assert tested and list(module.CONFIG_NAMES) == tested


def test_the_second_cycle_and_wide_denoiser_configs_differ_from_fine_df_only_where_named():
    base, second, wide = (denoise.get_config(n) for n in ("fine-df", "fine-df-2", "fine-df-wide"))
    assert second.model == base.model and second.learning_rate < base.learning_rate
    assert wide.model.hidden == 192 and wide.model.df_bins == base.model.df_bins
    assert wide.learning_rate < second.learning_rate  # its 128 trained units are two cycles in
    assert wide.model == second.model.__class__(**{**second.model.__dict__, "hidden": 192})


def test_the_full_recipe_conv_classifier_config_continues_v1_conv_on_the_default_recipe():
    default, conv, full = (classify.get_config(n) for n in ("default", "v1-conv", "v1-conv-full"))
    assert full.model == conv.model and full.learning_rate < conv.learning_rate
    assert (full.extra_music_splits, full.val_music_split, full.music_augment) == (
        default.extra_music_splits, default.val_music_split, default.music_augment)


def test_the_conv_classifier_config_is_v1_with_band_convolutions():
    v1, conv = classify.get_config("v1"), classify.get_config("v1-conv")
    assert conv.model.conv_channels == (8, 16)
    assert conv.model.bands == v1.model.bands and conv.model.hidden == v1.model.hidden
    assert conv.extra_music_splits == () and conv.val_music_split is None and conv.music_augment == "none"


def test_a_runs_stored_config_names_its_recipe():
    stored = json.loads(json.dumps(classify.get_config("v1-conv").to_dict()))
    assert classify.config_name({**stored, "steps": 123}) == "v1-conv"  # --steps does not change the recipe
    assert classify.config_name({**stored, "seed": 48}) == "v1-conv"  # nor does --seed
    old = json.loads(json.dumps(classify.get_config("v1").to_dict()))
    for key in ("music_augment",):  # a run written before the key existed
        del old[key]
    del old["model"]["conv_channels"], old["model"]["conv_kernel"]
    assert classify.config_name(old) == "v1"
    assert classify.config_name({**stored, "batch_size": 7}) is None


def test_the_classifier_card_describes_the_band_convolutions_and_the_recipe():
    from train.export_classifier import model_card

    train_config = json.loads(json.dumps(classify.get_config("v1-conv").to_dict()))
    header = {"config": train_config["model"], "meta": {"step": 5000}}
    figures = {"map": 0.6, "macro_f1": 0.5, "val_bce": 0.1, "ap_piano": 0.4}
    summary = {"steps": 5000, "wall_hours": 1.5, "sessions": 1}
    card = model_card(header, figures, summary, {**train_config, "steps": 9000}, 400_000, 220)
    assert "2 convolutions along the bands (8, 16 channels, 5 bands wide" in card
    assert "python -m train.classify --config v1-conv --steps 9000" in card
    assert "training music as rendered" in card and "| piano | 0.400 |" in card


def test_the_classifier_card_describes_the_fine_bins():
    from train.export_classifier import model_card

    train_config = json.loads(json.dumps(classify.get_config("v1-conv-fine").to_dict()))
    header = {"config": train_config["model"], "meta": {"step": 900}}
    figures = {"map": 0.6, "macro_f1": 0.5, "val_bce": 0.1, "ap_piano": 0.4}
    card = model_card(header, figures, {"steps": 900, "wall_hours": 1.5, "sessions": 1}, train_config, 400_000, 220)
    assert "the lowest 160 bins (up to 4.0 kHz, 25 Hz apart)" in card and "1920 samples (40 ms, Hann)" in card
    assert "python -m train.classify --config v1-conv-fine" in card and "band limit" in card


def test_the_command_line_overrides_steps_and_the_peak_learning_rate_and_refuses_a_bad_one(tmp_path, capsys):
    from train import loop

    config, args = loop.parse_args("python -m train.denoise", "Train.", denoise.get_config, tmp_path,
                                   ["--config", "fine-df-wide-aug-deep", "--steps", "600", "--learning-rate", "1e-4"])
    base = denoise.get_config("fine-df-wide-aug-deep")
    assert (config.steps, config.learning_rate) == (600, 1e-4) and config.model == base.model
    with pytest.raises(SystemExit):
        loop.parse_args("python -m train.denoise", "Train.", denoise.get_config, tmp_path, ["--learning-rate", "0"])
    assert "--learning-rate must be positive" in capsys.readouterr().err


def test_a_seed_on_the_command_line_gives_a_sibling_cycle_other_mixtures_from_the_same_start(tmp_path, capsys):
    from train import loop

    config, _ = loop.parse_args("python -m train.denoise", "Train.", denoise.get_config, tmp_path,
                                ["--config", "fine-df-wide-aug-asym-head-sisdr", "--seed", "1"])
    base = denoise.get_config("fine-df-wide-aug-asym-head-sisdr")
    assert config.seed == 1 != base.seed and replace(config, seed=base.seed) == base
    assert loop.data_seed(config.seed, tmp_path, fresh=False) != loop.data_seed(base.seed, tmp_path, fresh=False)
    with pytest.raises(SystemExit):
        loop.parse_args("python -m train.denoise", "Train.", denoise.get_config, tmp_path, ["--seed", "-1"])
    assert "--seed must be 0 or more" in capsys.readouterr().err


def test_the_long_example_denoiser_config_is_the_second_aug_cycle_on_longer_examples_of_the_same_audio_a_step():
    base, long = denoise.get_config("fine-df-wide-aug-2"), denoise.get_config("fine-df-wide-aug-long")
    assert long.segment_seconds == 2 * base.segment_seconds
    assert long.segment_seconds * long.batch_size == base.segment_seconds * base.batch_size
    assert (long.model, long.learning_rate, long.music_augment, long.extra_music_splits) == (
        base.model, base.learning_rate, base.music_augment, base.extra_music_splits)


def test_the_local_refinement_config_is_the_long_example_cycle_with_a_five_bin_refinement():
    long, local = denoise.get_config("fine-df-wide-aug-long"), denoise.get_config("fine-df-wide-aug-local")
    assert local.model.local_kernel == 5 and long.model.local_kernel == 0
    assert replace(local.model, local_kernel=0) == long.model
    assert replace(local, model=long.model) == long


def test_the_augmented_fine_classifier_config_is_v1_conv_fine_with_the_denoisers_retimbring():
    from train.augment import MUSIC_AUGMENTS

    fine, aug = classify.get_config("v1-conv-fine"), classify.get_config("v1-conv-fine-aug")
    assert aug.music_augment == "denoise" and MUSIC_AUGMENTS["denoise"].max_semitones == 5.0
    assert replace(aug, music_augment=fine.music_augment, steps=fine.steps) == fine


def test_the_eight_second_denoiser_config_is_the_long_cycle_on_longer_examples_at_half_the_rate():
    long, long8 = denoise.get_config("fine-df-wide-aug-long"), denoise.get_config("fine-df-wide-aug-long8")
    assert long8.segment_seconds * long8.batch_size == long.segment_seconds * long.batch_size
    assert long8.segment_seconds == 8.0 and long8.learning_rate == long.learning_rate / 2
    assert replace(long8, segment_seconds=4.0, batch_size=8, learning_rate=long.learning_rate) == long


def test_lr_scales_run_the_named_modules_at_that_multiple_of_the_rate_and_leave_the_rest_and_old_layouts_alone():
    import jax
    import jax.numpy as jnp
    import numpy as np

    from train import loop

    weights = {"fine_out": {"kernel": jnp.ones((4, 1))}, "gain": {"kernel": jnp.ones((4, 3))}}
    grads = jax.tree_util.tree_map(lambda w: 1e-3 * jnp.ones_like(w), weights)  # under the clipping norm
    plain_config = replace(denoise.get_config("fine-df-wide-aug-asym-2"), warmup_steps=1, weight_decay=0.0)
    scaled_config = replace(plain_config, lr_scales=(("fine_out", 10.0),))
    assert denoise.get_config("fine-df-wide-aug-asym-fine10").lr_scales == (("fine_in", 10.0), ("fine_out", 10.0))

    def first_two_updates(config):
        optimizer = loop.make_optimizer(config)
        state = optimizer.init(weights)
        for _ in range(2):  # step 0 of the warm-up has rate 0
            updates, state = optimizer.update(grads, state, weights)
        return updates, state

    plain, plain_state = first_two_updates(plain_config)
    scaled, _ = first_two_updates(scaled_config)
    np.testing.assert_allclose(scaled["gain"]["kernel"], plain["gain"]["kernel"], rtol=1e-6)
    np.testing.assert_allclose(scaled["fine_out"]["kernel"], 10.0 * plain["fine_out"]["kernel"], rtol=1e-5)
    assert float(jnp.abs(plain["gain"]["kernel"]).max()) > 0.0
    with pytest.raises(ValueError, match="lr_scales names fine_inn, which this net does not have"):
        loop.make_optimizer(replace(plain_config, lr_scales=(("fine_inn", 10.0),))).init(weights)
    # without lr_scales the state is the plain clip + AdamW chain every earlier run saved and resumes from
    reference = _plain_adamw_state(plain_config, weights)
    assert jax.tree_util.tree_structure(plain_state) == jax.tree_util.tree_structure(reference)


def _plain_adamw_state(config, weights):
    import optax

    schedule = optax.warmup_cosine_decay_schedule(0.0, config.learning_rate, config.warmup_steps, config.steps,
                                                  0.05 * config.learning_rate)
    chain = optax.chain(optax.clip_by_global_norm(config.grad_clip),
                        optax.adamw(schedule, weight_decay=config.weight_decay))
    return chain.init(weights)


def test_the_sisdr_lead_config_is_the_sisdr_cycle_with_half_the_spectral_weight():
    sisdr, lead = denoise.get_config("fine-df-wide-aug-asym-head-sisdr"), denoise.get_config(
        "fine-df-wide-aug-asym-head-sisdr-lead")
    assert lead.spectral_loss_weight == sisdr.spectral_loss_weight / 2 > 0
    assert replace(lead, spectral_loss_weight=sisdr.spectral_loss_weight) == sisdr
