"""Training configurations: `default` trains the shipped denoiser, `tiny` is the CI smoke run."""

from train.configs.denoise import TrainConfig, get_config  # noqa: F401
