"""The training loop end to end on a tiny config and a tiny rendered data set (real FluidSynth/espeak)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rtmusic import checkpoint
from rtmusic.processor import Processor, model_from_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def _train(run_dir: Path, data: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "train.denoise", "--config", "tiny", "--run-dir", str(run_dir), "--data-dir",
         str(data), "--no-progress", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )


def _export(run_dir: Path, data: Path, out: Path) -> Path:
    """`train.export` of a tiny run on 4 short validation clips; returns the shipped file."""
    result = subprocess.run(
        [sys.executable, "-m", "train.export", "--run-dir", str(run_dir), "--data-dir", str(data), "--out", str(out),
         "--val-clips", "4", "--val-seconds", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_tiny_training_checkpoints_evaluates_and_resumes(quick_data, tmp_path):
    run_dir = tmp_path / "run"
    first = _train(run_dir, quick_data)
    assert first.returncode == 0, first.stderr[-2000:]
    for name in ("latest.rtm", "optimizer.rtm", "best.rtm", "metrics.jsonl", "curves.png", "config.json"):
        assert (run_dir / name).is_file(), name
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss"]) for r in rows if "loss" in r)
    assert any("sisdri_music" in r and "sisdri_speech" in r for r in rows)
    assert checkpoint.read_header(run_dir / "latest.rtm")["meta"]["step"] == 4

    # Resume: continues from step 4, does not start over -- also from a checkpoint written before an
    # optional config field existed (its stored config lacks the key; the default fills it in).
    header, weights = checkpoint.load(run_dir / "latest.rtm")
    older_config = {k: v for k, v in header["config"].items() if k != "floor_rise_db_per_s"}
    assert older_config != header["config"]
    checkpoint.save(run_dir / "latest.rtm", weights, kind=header["kind"], config=older_config, meta=header["meta"])
    second = _train(run_dir, quick_data, "--steps", "6")
    assert second.returncode == 0, second.stderr[-2000:]
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert checkpoint.read_header(run_dir / "latest.rtm")["meta"]["step"] == 6

    # The checkpoint is a model rtmusic runs, live and offline alike.
    model = model_from_checkpoint(run_dir / "best.rtm")
    processor = Processor(model).prepare()
    x = np.random.default_rng(0).standard_normal(4800).astype(np.float32) * 0.1
    out = processor.process(x).out
    assert out.shape == x.shape and np.all(np.isfinite(out))


def test_weight_average_is_kept_validated_and_resumed(quick_data, tmp_path):
    run_dir = tmp_path / "run"
    first = _train(run_dir, quick_data, "--ema-decay", "0.5")
    assert first.returncode == 0, first.stderr[-2000:]
    for name in ("ema.rtm", "best_ema.rtm", "best_ema.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "config.json").read_text())["ema_decay"] == 0.5
    evals = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if "score" in line]
    assert evals and all("ema_score" in r and "ema_sisdri_music" in r and "score" in r for r in evals)
    ema_header, ema_weights = checkpoint.load(run_dir / "ema.rtm")
    _, raw_weights = checkpoint.load(run_dir / "latest.rtm")
    assert ema_header["meta"] == {"step": 4, "ema_decay": 0.5}
    import jax

    differs = [not np.array_equal(e, r) for e, r in
               zip(jax.tree_util.tree_leaves(ema_weights), jax.tree_util.tree_leaves(raw_weights))]
    assert len(differs) > 1 and any(differs)  # an average of steps 1-4, not the weights of step 4

    second = _train(run_dir, quick_data, "--ema-decay", "0.5", "--steps", "6")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "starts again" not in second.stderr  # the stored average of step 4 was picked up
    assert checkpoint.read_header(run_dir / "ema.rtm")["meta"]["step"] == 6
    out = Processor(model_from_checkpoint(run_dir / "ema.rtm")).prepare().process(np.zeros(4800, np.float32)).out
    assert np.all(np.isfinite(out))

    result = subprocess.run(
        [sys.executable, "-m", "train.export", "--run-dir", str(run_dir), "--checkpoint", "ema.rtm", "--data-dir",
         str(quick_data), "--out", str(tmp_path / "averaged.rtm"), "--val-clips", "4", "--val-seconds", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert checkpoint.read_header(tmp_path / "averaged.rtm")["meta"]["ema_decay"] == 0.5
    card = (tmp_path / "averaged.md").read_text()
    assert "from step 6, as the moving average of the run's weights (decay 0.5: about the last 2 steps)" in card


def test_weight_average_update_moves_a_fraction_of_the_way():
    import jax.numpy as jnp

    from train import loop

    update = loop.make_ema_update(0.75)
    ema = update({"a": jnp.zeros(3), "b": {"c": jnp.full(2, 4.0)}}, {"a": jnp.ones(3), "b": {"c": jnp.zeros(2)}})
    np.testing.assert_allclose(ema["a"], 0.25)
    np.testing.assert_allclose(ema["b"]["c"], 3.0)
    with pytest.raises(ValueError, match="decay"):
        loop.make_ema_update(1.0)


def test_validation_scores_only_the_samples_a_longer_delay_net_has_filled():
    """A net with 20 ms of latency (2 hops of look-ahead) leaves its aligned estimate's last 720 samples unfilled;
    validation must not score them as silence. A perfect estimate so delayed scores as perfect, not ~30 dB."""
    import jax.numpy as jnp

    from train.denoise import evaluate

    rng = np.random.default_rng(3)
    clean = (0.1 * rng.standard_normal((2, 48000))).astype(np.float32)
    noisy = clean + (0.01 * rng.standard_normal(clean.shape)).astype(np.float32)
    val = {"noisy": noisy, "clean": clean, "snr_db": np.array([20.0, np.inf]), "kind": np.array([0, 0])}
    delay = 720

    def forward(_weights, batch):  # what make_forward returns for a perfect net: aligned, the last `delay` samples 0
        return jnp.concatenate([jnp.asarray(clean[:batch.shape[0], :-delay]), jnp.zeros((batch.shape[0], delay))], 1)

    capped, scored = evaluate(forward, None, val), evaluate(forward, None, val, delay=delay)
    assert capped["clean_sisdr"] < 35.0 < 80.0 < scored["clean_sisdr"]
    assert scored["sisdri_music"] > capped["sisdri_music"] + 40.0


def test_export_ships_float16_weights_with_a_model_card(quick_data, tmp_path):
    run_dir = tmp_path / "run"
    assert _train(run_dir, quick_data).returncode == 0
    out = _export(run_dir, quick_data, tmp_path / "shipped" / "denoiser.rtm")
    header, weights = checkpoint.load(out)
    assert header["kind"] == "denoiser" and {a["dtype"] for a in header["arrays"]} == {"float16"}
    assert "sisdri_music" in header["meta"]["validation"]
    card = out.with_suffix(".md").read_text()
    assert "Validation (held-out set: 4 clips x 0.5 s" in card and "sisdri_music" in card
    # the shipped file runs, live and offline alike
    processor = Processor(model_from_checkpoint(out)).prepare()
    x = np.random.default_rng(1).standard_normal(2400).astype(np.float32) * 0.1
    assert np.all(np.isfinite(processor.process(x).out))


def test_warm_started_run_records_its_origin_and_its_card_sums_the_lineage(quick_data, tmp_path):
    """A chain of runs, each started --init-from the last, ships a card that counts every run's steps and says
    what each one added."""
    first, second, third = tmp_path / "plain", tmp_path / "fine", tmp_path / "fine_df"
    assert _train(first, quick_data).returncode == 0
    for config, run_dir, start in (("tiny-fine", second, first), ("tiny-fine-df", third, second)):
        result = subprocess.run(
            [sys.executable, "-m", "train.denoise", "--config", config, "--run-dir", str(run_dir), "--data-dir",
             str(quick_data), "--no-progress", "--init-from", str(start / "latest.rtm")],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
    origin = json.loads((second / "init_from.json").read_text())
    assert origin["step"] == 4 and Path(origin["run_dir"]) == first.resolve()
    assert checkpoint.read_header(third / "latest.rtm")["config"]["df_bins"] == 8
    out = _export(third, quick_data, tmp_path / "shipped" / "denoiser.rtm")
    card = out.with_suffix(".md").read_text()
    assert "- Steps: 12;" in card
    assert "- Then `fine`: warm-started from step 4 of `plain`, adding fine-resolution features; 4 steps" in card
    assert "- Then `fine_df`: warm-started from step 4 of `fine`, adding the deep filter; 4 steps" in card
    assert "fine-resolution features: the lowest 40 bins" in card and "a deep filter: in the lowest 8 bins" in card


def test_each_warm_started_cycle_draws_new_mixtures_and_a_rerun_draws_the_same(quick_data, tmp_path):
    """Cycles of one lineage share config and seed; the start they warm from must still give them new examples."""
    from train import loop
    from train.mixer import MixtureSampler

    def start(folder: str, name: str, step: int) -> Path:
        (tmp_path / folder).mkdir(parents=True)
        return checkpoint.save(tmp_path / folder / name, {"w": np.zeros(2, np.float32)}, kind="denoiser",
                               config={}, meta={"step": step})

    cycle_a, cycle_b = start("cycle_1", "best.rtm", 1500), start("cycle_2", "best.rtm", 1500)
    moved = start("elsewhere/cycle_1", "best.rtm", 1500)  # the same run in another cache folder
    run = tmp_path / "new_cycle"
    seeds = {name: loop.data_seed(0, run, False, path) for name, path in
             [("a", cycle_a), ("b", cycle_b), ("moved", moved)]}
    assert seeds["a"] != seeds["b"] and seeds["a"] == seeds["moved"] == loop.data_seed(0, run, False, cycle_a)
    assert loop.data_seed(0, run, False) == [0, 0]

    def first_batch(seed) -> np.ndarray:
        sampler = MixtureSampler(quick_data, "train", 0.5, 2, seed=seed)
        try:
            return sampler.next_batch()["noisy"]
        finally:
            sampler.close()

    assert np.array_equal(first_batch(seeds["a"]), first_batch(seeds["moved"]))
    assert not np.array_equal(first_batch(seeds["a"]), first_batch(seeds["b"]))


def test_the_mean_of_two_cycles_ships_with_the_lineage_and_says_it_is_a_mean(quick_data, tmp_path):
    """`train.average` of a cycle and the cycle warm-started from it exports like any checkpoint of the last run."""
    first, second = tmp_path / "cycle_1", tmp_path / "cycle_2"
    assert _train(first, quick_data).returncode == 0
    assert _train(second, quick_data, "--init-from", str(first / "latest.rtm")).returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "train.average", str(first / "latest.rtm"), str(second / "latest.rtm"),
         "--out", str(second / "cycles.rtm"), "--validate", "--data-dir", str(quick_data), "--val-clips", "4",
         "--val-seconds", "0.5"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout[result.stdout.index("{"):])
    assert np.isfinite(figures["score"]) and "sisdri_music" in figures
    shipped = tmp_path / "shipped" / "denoiser.rtm"
    exported = subprocess.run(
        [sys.executable, "-m", "train.export", "--run-dir", str(second), "--checkpoint", "cycles.rtm", "--data-dir",
         str(quick_data), "--out", str(shipped), "--val-clips", "4", "--val-seconds", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert len(checkpoint.read_header(shipped)["meta"]["cycle_average"]) == 2
    card = shipped.with_suffix(".md").read_text()
    assert "- Steps: 8;" in card
    assert "as the mean of the end-of-cycle weights of 2 warm-started cycles: `cycle_1` (step 4), `cycle_2` (step 4)" in card


def test_a_low_delay_run_warm_starts_from_a_frame_run_and_its_card_says_what_it_shapes(quick_data, tmp_path):
    """tiny-asym --init-from a tiny-fine-df run: trains, exports, streams from its file, and the card names the
    low-delay analysis (bench.quality's latency figure stays the frame's: `algorithmic_latency`)."""
    frame, low_delay = tmp_path / "fine_df", tmp_path / "asym"
    for config, run_dir, extra in (("tiny-fine-df", frame, ()), ("tiny-asym", low_delay,
                                                                 ("--init-from", str(frame / "latest.rtm")))):
        result = subprocess.run(
            [sys.executable, "-m", "train.denoise", "--config", config, "--run-dir", str(run_dir), "--data-dir",
             str(quick_data), "--no-progress", *extra], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
    out = _export(low_delay, quick_data, tmp_path / "shipped" / "denoiser.rtm")
    card = out.with_suffix(".md").read_text()
    assert "adding the low-delay analysis (gains on a 20 ms asymmetric window instead of the 10 ms frame" in card
    assert "a low-delay analysis: the gains shape the spectrum of the 20 ms ending with the newest frame (50 Hz bins)" in card
    model = model_from_checkpoint(out)
    assert model.algorithmic_latency == 480 and model.config["analysis_window"] == 960
    x = (0.1 * np.random.default_rng(0).standard_normal(4800)).astype(np.float32)
    assert np.all(np.isfinite(Processor(model).process(x).out))


def test_data_parallel_over_two_host_devices(quick_data, tmp_path):
    result = _train(tmp_path / "run2", quick_data, env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "data-parallel over 2 cpu device(s)" in result.stderr
    assert checkpoint.read_header(tmp_path / "run2" / "latest.rtm")["meta"]["step"] == 4


def test_warm_start_keeps_the_old_function_when_features_are_added():
    """A floor-feature net warm-started from a plain one gives the same gains until it is trained."""
    import jax.numpy as jnp

    from rtmusic.models import DenoiserConfig, init_mask_net, mask_net
    from train.warmstart import warm_start

    plain = DenoiserConfig(hop=64, window=128, hidden=16, layers=1)
    floor = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, floor_rise_db_per_s=5.0)
    old = init_mask_net(plain, seed=1)
    new = warm_start(init_mask_net(floor, seed=2), old)
    features = np.random.default_rng(0).standard_normal(3 * floor.bins).astype(np.float32)
    carry = mask_net(plain).initialize_carry()
    _, gains_old = mask_net(plain).apply({"params": old}, carry, jnp.asarray(features[: 2 * plain.bins]))
    _, gains_new = mask_net(floor).apply({"params": new}, carry, jnp.asarray(features))
    np.testing.assert_allclose(np.asarray(gains_new), np.asarray(gains_old), atol=1e-6)
    narrower = DenoiserConfig(hop=64, window=128, hidden=8, layers=1)
    with pytest.raises(ValueError, match="same architecture or a smaller one"):
        warm_start(init_mask_net(narrower), old)


def test_warm_started_fine_model_streams_exactly_what_the_plain_model_did():
    """Fine-resolution features added at zero weight: the whole step (history, frame, gains, overlap-add) gives
    the plain model's output sample for sample until training gives them weight."""
    import jax
    import jax.numpy as jnp

    from rtmusic.models import DenoiserConfig, init_mask_net
    from rtmusic.step import denoiser_model, scan_hops
    from train.warmstart import warm_start

    plain = DenoiserConfig(hop=64, window=128, hidden=16, layers=1)
    fine = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=512, fine_bins=40)
    fine_df = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=512, fine_bins=40, df_bins=20)
    old = init_mask_net(plain, seed=1)
    new = warm_start(init_mask_net(fine, seed=2), old)
    new_df = warm_start(init_mask_net(fine_df, seed=3), new)  # and then a deep filter, from the fine net
    assert "df" in new_df and not np.any(np.asarray(new_df["df"]["kernel"]))
    hops = jnp.asarray(0.2 * np.random.default_rng(5).standard_normal((30, 64)), jnp.float32)
    outs = []
    for config, weights in ((plain, old), (fine, new), (fine_df, new_df)):
        model = denoiser_model(config, weights)
        _, (out, _) = jax.jit(lambda p, c, x, m=model: scan_hops(m.step, p, c, x))(model.params(), model.init_carry(), hops)
        outs.append(np.asarray(out))
    np.testing.assert_allclose(outs[1], outs[0], atol=1e-6)
    np.testing.assert_allclose(outs[2], outs[0], atol=1e-6)
    with pytest.raises(ValueError, match="lacks"):  # a net can gain a head, never lose one
        warm_start(init_mask_net(fine, seed=2), new_df)


def test_a_wider_net_warm_started_from_a_narrower_one_streams_the_same_and_learns_with_all_units():
    """net2wider with zero fan-out: 2 x 16 units (+ deep filter) -> 2 x 24 units computes the same output; the
    new units get gradient through their zero outgoing weights, so training can use them."""
    import jax
    import jax.numpy as jnp

    from rtmusic.models import DenoiserConfig, init_mask_net
    from train.warmstart import warm_start

    narrow = DenoiserConfig(hop=64, window=128, hidden=16, layers=2, df_bins=10)
    wide = DenoiserConfig(hop=64, window=128, hidden=24, layers=2, df_bins=10, feature_window=256, fine_bins=8)
    rng = np.random.default_rng(9)
    old = _trained_like(narrow, rng)
    new = warm_start(init_mask_net(wide, seed=2), old)
    hops = jnp.asarray(0.2 * rng.standard_normal((40, 64)), jnp.float32)

    def run(config, weights):
        return _denoise_hops(config, weights, hops)

    np.testing.assert_allclose(np.asarray(run(wide, new)), np.asarray(run(narrow, old)), atol=1e-5)
    grads = jax.grad(lambda w: jnp.sum(run(wide, w) ** 2))(jax.tree_util.tree_map(jnp.asarray, new))
    new_units_out = np.asarray(grads["lstm1"]["hi"]["kernel"])[16:, :16]  # from new units into old ones
    assert np.abs(new_units_out).max() > 0


def test_more_deep_filter_taps_and_a_residual_layer_start_out_computing_the_old_net_and_then_learn():
    """A 3-frame deep-filter net grown to 5 frames and a residual third LSTM layer: the same output sample for
    sample (both new parts start at zero weight), and both get gradient, so training can use them."""
    import jax
    import jax.numpy as jnp

    from rtmusic.models import DenoiserConfig, init_mask_net
    from train.warmstart import warm_start

    old_config = DenoiserConfig(hop=64, window=128, hidden=16, layers=2, df_bins=10, df_order=3)
    new_config = DenoiserConfig(hop=64, window=128, hidden=16, layers=2, df_bins=10, df_order=5, residual_layers=1)
    rng = np.random.default_rng(4)
    old = _trained_like(old_config, rng)
    new = warm_start(init_mask_net(new_config, seed=2), old)
    assert set(new) == set(old) | {"lstm2", "residual2"}
    hops = jnp.asarray(0.2 * rng.standard_normal((40, 64)), jnp.float32)

    def run(config, weights):
        return _denoise_hops(config, weights, hops)

    np.testing.assert_allclose(np.asarray(run(new_config, new)), np.asarray(run(old_config, old)), atol=1e-6)
    grads = jax.grad(lambda w: jnp.sum(run(new_config, w) ** 2))(jax.tree_util.tree_map(jnp.asarray, new))
    assert np.abs(np.asarray(grads["residual2"]["kernel"])).max() > 0
    assert np.abs(np.asarray(grads["df"]["kernel"])[:, 3 * 2 * 10:]).max() > 0  # the taps on frames t-3, t-4


def test_the_local_gain_refinement_starts_out_computing_the_old_net_then_learns_and_streams_like_the_scan():
    """The per-bin refinement added to a trained net: the same output sample for sample (its output layer starts
    at zero), its layers get gradient, and once trained it changes the gains of single bins, live as offline."""
    import jax
    import jax.numpy as jnp

    from rtmusic.models import DenoiserConfig, init_mask_net, mask_net
    from rtmusic.step import denoiser_model, make_knobs
    from train.warmstart import warm_start

    old_config = DenoiserConfig(hop=64, window=128, hidden=16, layers=2, df_bins=10)
    new_config = DenoiserConfig(hop=64, window=128, hidden=16, layers=2, df_bins=10, local_kernel=5)
    rng = np.random.default_rng(6)
    old = _trained_like(old_config, rng)
    new = warm_start(init_mask_net(new_config, seed=2), old)
    assert set(new) == set(old) | {"local_in", "local_out"}
    hops = jnp.asarray(0.2 * rng.standard_normal((40, 64)), jnp.float32)
    np.testing.assert_allclose(np.asarray(_denoise_hops(new_config, new, hops)),
                               np.asarray(_denoise_hops(old_config, old, hops)), atol=1e-6)
    grads = jax.grad(lambda w: jnp.sum(_denoise_hops(new_config, w, hops) ** 2))(jax.tree_util.tree_map(jnp.asarray, new))
    assert np.abs(np.asarray(grads["local_out"]["kernel"])).max() > 0

    trained = _trained_like(new_config, rng)  # a trained refinement changes the gains, live as offline
    net, carry = mask_net(new_config), mask_net(new_config).initialize_carry()
    features = jnp.asarray(rng.standard_normal(2 * new_config.bins), jnp.float32)
    _, gains = net.apply({"params": trained}, carry, features)
    zero_local = dict(trained, local_out={"kernel": np.zeros_like(trained["local_out"]["kernel"]),
                                          "bias": np.zeros_like(trained["local_out"]["bias"])})
    _, base = net.apply({"params": zero_local}, carry, features)
    assert np.max(np.abs(np.asarray(gains - base)[: new_config.bins])) > 1e-3
    model = denoiser_model(new_config, trained)
    params = {"net": trained, "knobs": make_knobs()}
    step, live_carry, live = jax.jit(model.step), model.init_carry(), []
    for h in hops:
        live_carry, (out, _) = step(params, live_carry, h)
        live.append(np.asarray(out))
    np.testing.assert_allclose(np.stack(live), np.asarray(_denoise_hops(new_config, trained, hops)), atol=1e-5)
    with pytest.raises(Exception, match="local_kernel must be 0"):
        DenoiserConfig(local_kernel=4)


def test_added_taps_and_layers_are_named_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "aug_3", tmp_path / "deep"
    for run_dir, model in ((parent, {"hidden": 192, "df_bins": 48}),
                           (run, {"hidden": 192, "df_bins": 48, "df_order": 5, "residual_layers": 1})):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": model, "learning_rate": 2e-4, "steps": 1000}))
    line = _warm_start_line(run, parent, {"step": 1000}, 1000)
    assert line == ("Then `deep`: warm-started from step 1000 of `aug_3`, adding deep-filter taps (3 -> 5 frames; the "
                    "new ones start at zero) and 1 residual LSTM layer(s) (starting at zero weight); 1000 steps, new "
                    "warm-up and cosine decay from lr 0.0002 to its step 1000.")


def test_the_local_refinement_and_longer_examples_are_named_in_the_model_card(tmp_path):
    from train.export import _warm_start_line, architecture

    parent, run = tmp_path / "long", tmp_path / "local"
    for run_dir, model in ((parent, {"hidden": 192, "df_bins": 48}), (run, {"hidden": 192, "df_bins": 48, "local_kernel": 5})):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": model, "learning_rate": 1e-4, "steps": 1600}))
    line = _warm_start_line(run, parent, {"step": 1000}, 1600)
    assert "adding the local gain refinement (5 bins wide; its output starts at zero)" in line
    (run / "config.json").write_text(json.dumps({"model": {"hidden": 192}, "segment_seconds": 4.0, "batch_size": 8}))
    (parent / "config.json").write_text(json.dumps({"model": {"hidden": 192}, "segment_seconds": 2.0, "batch_size": 16}))
    assert "adding longer examples (2 s -> 4 s, batch 8)" in _warm_start_line(run, parent, {"step": 1000}, 1600)
    assert "the levels and gains of the 5 bins around it" in architecture({"local_kernel": 5})


def test_the_feature_band_is_named_in_the_model_card(tmp_path):
    from train.export import _warm_start_line, architecture

    parent, run = tmp_path / "topband", tmp_path / "cut"
    for run_dir, model in ((parent, {"hidden": 192}), (run, {"hidden": 192, "feature_top_hz": 20000.0})):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": model, "learning_rate": 1e-4, "steps": 800}))
    assert "adding blindness above 20 kHz" in _warm_start_line(run, parent, {"step": 1500}, 800)
    assert "does not see the bins above 20 kHz" in architecture({"feature_top_hz": 20000.0})


def test_a_widened_run_says_so_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "narrow", tmp_path / "wide"
    for run_dir, hidden in ((parent, 128), (run, 192)):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": {"hidden": hidden, "df_bins": 48},
                                                         "learning_rate": 2e-4, "steps": 7000}))
    line = _warm_start_line(run, parent, {"step": 8000}, 6500)
    assert line == ("Then `wide`: warm-started from step 8000 of `narrow`, adding LSTM units (128 -> 192; the new "
                    "ones start silent); 6500 steps, new warm-up and cosine decay from lr 0.0002 to its step 7000.")


def test_a_run_on_retimbred_music_names_its_augmentation_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "wide", tmp_path / "wide_aug"
    for run_dir, augment in ((parent, None), (run, "denoise")):
        run_dir.mkdir()
        config = {"model": {"hidden": 192, "df_bins": 48}, "learning_rate": 1.5e-4, "steps": 6500}
        if augment:
            config["music_augment"] = augment  # the parent's config.json predates the key
        (run_dir / "config.json").write_text(json.dumps(config))
    line = _warm_start_line(run, parent, {"step": 7000}, 6500)
    assert line.startswith("Then `wide_aug`: warm-started from step 7000 of `wide`, adding re-timbred training "
                           "music (`train.augment` recipe `denoise`: random EQ, moving EQ, resampling, ")
    assert "band limits" in line and line.endswith("cosine decay from lr 0.00015 to its step 6500.")


def test_a_run_with_extra_music_names_it_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "aug", tmp_path / "aug_2"
    for run_dir, extra in ((parent, []), (run, ["train_families"])):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({
            "model": {"hidden": 192}, "music_augment": "denoise", "learning_rate": 1e-4, "steps": 1300,
            "extra_music_splits": extra, "extra_music_share": 0.3 if extra else 0.0}))
    line = _warm_start_line(run, parent, {"step": 1400}, 1300)
    assert line == ("Then `aug_2`: warm-started from step 1400 of `aug`, adding 30% of the music from "
                    "`train_families`; 1300 steps, new warm-up and cosine decay from lr 0.0001 to its step 1300.")


def test_a_run_with_faster_modules_names_their_rate_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "asym", tmp_path / "asym_fine10"
    for run_dir, scales in ((parent, None), (run, [["fine_in", 10.0], ["fine_out", 10.0]])):
        run_dir.mkdir()
        config = {"model": {"hidden": 192}, "learning_rate": 1e-4, "steps": 1500}
        if scales:
            config["lr_scales"] = scales  # as config.json stores the tuple of pairs
        (run_dir / "config.json").write_text(json.dumps(config))
    line = _warm_start_line(run, parent, {"step": 2400}, 1500)
    assert line == ("Then `asym_fine10`: warm-started from step 2400 of `asym`; 1500 steps, new warm-up and cosine "
                    "decay from lr 0.0001 to its step 1500, `fine_in` at 10 times that rate, `fine_out` at 10 times "
                    "that rate.")


def test_a_run_that_widens_the_fine_bin_correction_says_so_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "asym_fine20", tmp_path / "asym_ctx"
    for run_dir, extra in ((parent, {}), (run, {"fine_gain_channels": 32, "fine_gain_context": True})):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({
            "model": {"hidden": 192, "analysis_window": 1920, **extra}, "learning_rate": 1e-4, "steps": 1500}))
    line = _warm_start_line(run, parent, {"step": 1000}, 1500)
    assert line == ("Then `asym_ctx`: warm-started from step 1000 of `asym_fine20`, adding a wider per-fine-bin "
                    "correction (8 -> 32 channels; the new ones start silent) and the LSTM's output as context for the "
                    "per-fine-bin correction (starting at zero); 1500 steps, new warm-up and cosine decay from lr "
                    "0.0001 to its step 1500.")


def test_a_run_that_adds_the_fine_floor_says_so_in_the_model_card_and_its_architecture(tmp_path):
    from rtmusic.models import DenoiserConfig
    from train.export import _warm_start_line, architecture

    parent, run = tmp_path / "asym_ctx_2", tmp_path / "asym_floor"
    for run_dir, extra in ((parent, {}), (run, {"fine_floor_rise_db_per_s": 5.0})):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({
            "model": {"hidden": 192, "analysis_window": 1920, "fine_gain_channels": 32, **extra},
            "learning_rate": 1e-4, "steps": 1500}))
    line = _warm_start_line(run, parent, {"step": 1500}, 1500)
    assert line == ("Then `asym_floor`: warm-started from step 1500 of `asym_ctx_2`, adding the fine bins' noise floor "
                    "as features of the net and of the per-fine-bin correction (their weights start at zero); 1500 "
                    "steps, new warm-up and cosine decay from lr 0.0001 to its step 1500.")
    model = DenoiserConfig(feature_window=1920, fine_bins=160, analysis_window=1920, fine_floor_rise_db_per_s=5.0)
    assert "above its noise floor (a level that follows every drop and rises at most 5 dB/s)" in architecture(
        model.to_dict())


def test_a_run_that_adds_a_fine_gain_head_says_so_in_the_model_card(tmp_path):
    from rtmusic.models import DenoiserConfig
    from train.export import _warm_start_line, architecture

    parent, run = tmp_path / "asym_ctx_2", tmp_path / "asym_head"
    for run_dir, extra in ((parent, {}), (run, {"fine_head_bins": 40})):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({
            "model": {"hidden": 192, "analysis_window": 1920, "fine_gain_channels": 32, **extra},
            "learning_rate": 1e-4, "steps": 1500, "lr_scales": [["fine_head", 10.0]] if extra else []}))
    line = _warm_start_line(run, parent, {"step": 1500}, 1500)
    assert line.startswith("Then `asym_head`: warm-started from step 1500 of `asym_ctx_2`, adding a head setting the "
                           "lowest 40 fine bins' gains from the LSTM's output (starting at zero); 1500 steps")
    assert line.endswith("`fine_head` at 10 times that rate.")
    model = DenoiserConfig(feature_window=1920, fine_bins=160, analysis_window=1920, fine_head_bins=40)
    assert "below 1.0 kHz the LSTM's output also sets each 25 Hz bin's gain directly" in architecture(model.to_dict())


def test_a_look_ahead_net_cannot_gain_per_frame_features_in_a_warm_start(tmp_path):
    """Its input holds several frames' features side by side: appended rows would feed the wrong frame's weights."""
    from dataclasses import replace

    from rtmusic.models import DenoiserConfig, init_mask_net
    from train.configs import TrainConfig
    from train.denoise import initial_weights

    start = DenoiserConfig(hop=64, window=128, hidden=16, layers=1, feature_window=512, fine_bins=40,
                           analysis_window=512, lookahead_hops=1)
    checkpoint.save(tmp_path / "start.rtm", init_mask_net(start, seed=0), kind="denoiser", config=start.to_dict(),
                    meta={"step": 10})
    grown = replace(TrainConfig(), model=replace(start, fine_floor_rise_db_per_s=5.0))
    with pytest.raises(SystemExit, match="look-ahead net"):
        initial_weights(grown, tmp_path / "start.rtm")
    same = replace(TrainConfig(), model=start)
    assert set(initial_weights(same, tmp_path / "start.rtm")) == set(init_mask_net(start, seed=0))


def _trained_like(config, rng):
    """Random weights with every entry non-zero, as a trained net's are (fresh ones have zero heads)."""
    import jax

    from rtmusic.models import init_mask_net
    return jax.tree_util.tree_map(lambda a: np.asarray(a) + 0.1 * rng.standard_normal(np.shape(a)).astype(np.float32),
                                  init_mask_net(config, seed=1))


def _denoise_hops(config, weights, hops):
    """The denoiser's output for `hops` [n, hop], scanned through its step from a fresh carry."""
    from rtmusic.step import denoiser_model, make_knobs, scan_hops
    model = denoiser_model(config, weights)
    _, (out, _) = scan_hops(model.step, {"net": weights, "knobs": make_knobs()}, model.init_carry(), hops)
    return out


def test_look_ahead_warm_started_from_a_causal_net_streams_its_output_one_hop_later_then_learns_to_use_it():
    """Look-ahead added at zero weight: the step shapes the frame one hop back and, until training gives the newer
    frame weight, emits exactly the causal net's output delayed by that hop; the new weights get gradient."""
    import jax
    import jax.numpy as jnp

    from rtmusic.models import DenoiserConfig, feature_size, frame_feature_size, init_mask_net
    from rtmusic.step import denoiser_model, scan_hops
    from train.warmstart import warm_start

    causal = DenoiserConfig(hop=64, window=128, hidden=16, layers=2, feature_window=512, fine_bins=40, df_bins=10)
    ahead = DenoiserConfig(**{**causal.to_dict(), "lookahead_hops": 1})
    assert feature_size(ahead) == 2 * frame_feature_size(causal)
    rng = np.random.default_rng(8)
    old = _trained_like(causal, rng)
    new = warm_start(init_mask_net(ahead, seed=2), old)
    old_model, new_model = denoiser_model(causal, old), denoiser_model(ahead, new)
    assert new_model.delay == old_model.delay + 64 and new_model.algorithmic_latency == 128 + 64
    hops = jnp.asarray(0.2 * rng.standard_normal((40, 64)), jnp.float32)
    outs = {}
    for key, model in (("old", old_model), ("new", new_model)):
        _, (out, aux) = jax.jit(lambda p, c, x, m=model: scan_hops(m.step, p, c, x))(model.params(), model.init_carry(), hops)
        outs[key] = (np.asarray(out), np.asarray(aux.values))
    np.testing.assert_allclose(outs["new"][0][1:], outs["old"][0][:-1], atol=1e-6)  # one hop later, sample for sample
    np.testing.assert_allclose(outs["new"][1][1:], outs["old"][1][:-1], atol=1e-4)  # and its gain report with it
    grads = jax.grad(lambda w: jnp.sum(_denoise_hops(ahead, w, hops) ** 2))(jax.tree_util.tree_map(jnp.asarray, new))
    newer_rows = np.asarray(grads["embed"]["kernel"])[frame_feature_size(causal):]
    assert np.abs(newer_rows).max() > 0  # the newer frame's features reach the loss


def test_look_ahead_is_named_in_the_model_card_and_its_latency_in_the_header(tmp_path):
    from train.export import _warm_start_line, architecture

    parent, run = tmp_path / "long", tmp_path / "lookahead"
    for run_dir, model in ((parent, {"hidden": 192}), (run, {"hidden": 192, "lookahead_hops": 1})):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": model, "learning_rate": 1e-4, "steps": 2400}))
    assert "adding look-ahead (0 -> 1 hops" in _warm_start_line(run, parent, {"step": 2000}, 2400)
    assert "5 ms of look-ahead" in architecture({"lookahead_hops": 1, "hop": 240, "samplerate": 48000})


def test_the_card_heading_names_the_builtin_its_file_ships_as():
    from train.export import card_title

    assert card_title("denoiser.rtm") == "rtmusic default denoiser"
    assert card_title("denoiser-lookahead.rtm") == "rtmusic lookahead denoiser (`--model lookahead`)"
    assert card_title("mine.rtm") == "rtmusic denoiser `mine.rtm`"


def test_a_run_on_the_larger_data_banks_says_so_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "denoise_long", tmp_path / "denoise_bank"
    for run_dir in (parent, run):  # identical configs: only the data differ, which config.json cannot show
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": {"hidden": 192}, "learning_rate": 1e-4, "steps": 2200}))
    line = _warm_start_line(run, parent, {"step": 2000}, 2200)
    assert "adding session 18's larger banks (train noise 200 -> 3000 clips, train speech 290 -> 2000)" in line
    assert "adding" not in _warm_start_line(parent, run, {"step": 2000}, 2200)


def test_a_run_on_the_larger_train_music_says_so_in_the_model_card(tmp_path):
    from train.export import _warm_start_line

    parent, run = tmp_path / "denoise_bank", tmp_path / "denoise_music"
    for run_dir in (parent, run):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": {"hidden": 192}, "learning_rate": 1e-4, "steps": 2200}))
    line = _warm_start_line(run, parent, {"step": 2200}, 2200)
    assert "adding session 19's larger train music (400 -> 1600 clips)" in line


def test_the_card_says_when_a_cycle_started_from_a_weight_average(tmp_path):
    from rtmusic import checkpoint
    from train.export import _warm_start_line
    from train.loop import CYCLE_AVERAGE_KEY

    parent, run = tmp_path / "cycle_avg", tmp_path / "next"
    for run_dir in (parent, run):
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"model": {"hidden": 16}, "learning_rate": 1e-4, "steps": 10}))
    weights = {"w": np.zeros(2, np.float32)}
    members = [{"checkpoint": str(tmp_path / "a" / "best.rtm"), "step": 1500},
               {"checkpoint": str(tmp_path / "b" / "best_ema.rtm"), "step": 1000}]
    checkpoint.save(parent / "best.rtm", weights, kind="denoiser", config={}, meta={"step": 1000, CYCLE_AVERAGE_KEY: members})
    line = _warm_start_line(run, parent, {"step": 1000, "checkpoint": str(parent / "best.rtm")}, 10)
    assert "of `cycle_avg` (the mean of the weights of `a` (step 1500) and `b` (step 1000))" in line
    checkpoint.save(parent / "ema.rtm", weights, kind="denoiser", config={}, meta={"step": 1000, "ema_decay": 0.998})
    line = _warm_start_line(run, parent, {"step": 1000, "checkpoint": str(parent / "ema.rtm")}, 10)
    assert "of `cycle_avg` (its moving average of weights)" in line
    assert "(" not in _warm_start_line(run, parent, {"step": 1000, "checkpoint": str(tmp_path / "gone.rtm")}, 10)
