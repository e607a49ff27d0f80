"""`rtmusic run --task classify` on a real JACK server: audio passes through untouched at the declared lag,
label probabilities stream to --labels-jsonl (one line per 100 ms), the status area shows them.

Drives `rtmusic run` like tests/test_live_jack.py (whose helpers it reuses): a subprocess on the session's
JACK server with a far-end client playing into it and recording what comes back.
"""

from __future__ import annotations

import json

import numpy as np

from rtmusic.models import CLASSIFIER_LABELS
from test_live_jack import (  # noqa: F401  (cli_env and jax_cache are fixtures)
    Cli,
    CycleFarEnd,
    cli_env,
    describe,
    expected_lag,
    first_nonzero,
    jax_cache,
    noise,
    read_stats,
    start_with_far_end,
)


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _check_lines(lines: list[dict], stats: dict) -> None:
    assert lines, "no label lines"
    for line in lines:
        assert set(line) == {"t", "t0", "hops", "wall", "probs"}
        assert list(line["probs"]) == list(CLASSIFIER_LABELS)
        assert all(0.0 <= p <= 1.0 for p in line["probs"].values())
        assert 1 <= line["hops"] <= 20 and abs(line["t"] - line["t0"] - 0.1) < 1e-6
    t = np.array([line["t"] for line in lines])
    assert np.all(np.diff(t) > 0) and np.all(np.abs(np.diff(t) / 0.1 - np.round(np.diff(t) / 0.1)) < 1e-3)
    # every hop the worker ran reached the file, in 100 ms lines
    assert sum(line["hops"] for line in lines) == stats["labels"]["hops"] == stats["details"]["hops"]
    assert stats["labels"]["jsonl_lines"] == len(lines)


def test_classify_passes_audio_through_bit_exact_and_streams_labels(jack_server, cli_env, tmp_path):
    jsonl, stats_path = tmp_path / "labels.jsonl", tmp_path / "stats.json"
    signal = noise(2.5, seed=5)
    with CycleFarEnd() as far_end:
        cli = start_with_far_end(far_end, ["--task", "classify", "--classifier", "classifier-random", "--duration",
                                           "4", "--labels-jsonl", str(jsonl), "--stats-json", str(stats_path)], cli_env)
        try:
            take = far_end.play_cycles(signal)
            assert cli.wait() == 0, cli.stderr
        finally:
            cli.close()
    stats = read_stats(stats_path)
    lag = expected_lag(stats, far_end)
    print(f"classify: lag {first_nonzero(take.recorded)} expected {lag}; {len(_jsonl(jsonl))} label lines; "
          f"counters {stats['counters']}")
    assert first_nonzero(take.recorded) == lag, describe(cli, stats, take)
    assert np.array_equal(take.recorded[lag: lag + signal.size], signal), describe(cli, stats, take)
    lines = _jsonl(jsonl)
    _check_lines(lines, stats)
    assert len(lines) >= 0.8 * stats["duration_s"] / 0.1
    # stderr is not a terminal here: periodic label lines instead of the redrawn bars
    label_lines = [line for line in cli.err_lines if line.startswith("labels: ")]
    assert len(label_lines) >= stats["duration_s"] - 1.5, cli.stderr
    assert "classifier-random" in cli.stderr


def test_denoise_and_classify_run_in_one_stream(jack_server, cli_env, tmp_path):
    jsonl, stats_path = tmp_path / "labels.jsonl", tmp_path / "stats.json"
    cli = Cli(["--task", "denoise,classify", "--model", "lstm-random", "--classifier", "classifier-random",
               "--duration", "2", "--labels-jsonl", str(jsonl), "--stats-json", str(stats_path)], cli_env)
    try:
        assert cli.wait(120.0) == 0, cli.stderr
    finally:
        cli.close()
    stats = read_stats(stats_path)
    assert stats["model"] == "lstm-random + classifier-random"
    _check_lines(_jsonl(jsonl), stats)
    assert any(" NR " in line for line in cli.err_lines), cli.stderr  # the denoiser's status is still there
