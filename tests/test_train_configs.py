"""Every named training config builds, and an unknown name lists the ones that exist."""

from __future__ import annotations

import re

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


def test_the_second_cycle_and_wide_denoiser_configs_differ_from_fine_df_only_where_named():
    base, second, wide = (denoise.get_config(n) for n in ("fine-df", "fine-df-2", "fine-df-wide"))
    assert second.model == base.model and second.learning_rate < base.learning_rate
    assert wide.model.hidden == 192 and wide.model.df_bins == base.model.df_bins
    assert wide.learning_rate == second.learning_rate


def test_the_conv_classifier_config_is_v1_with_band_convolutions():
    v1, conv = classify.get_config("v1"), classify.get_config("v1-conv")
    assert conv.model.conv_channels == (8, 16)
    assert conv.model.bands == v1.model.bands and conv.model.hidden == v1.model.hidden
    assert conv.extra_music_splits == () and conv.val_music_split is None and conv.music_augment == "none"
