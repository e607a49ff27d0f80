"""The buried-parts diagnostic's scoring: levels per window, gated labels, AP with and without the gate."""

import numpy as np

from bench import buried_parts


def test_window_levels_are_per_second_power_in_db():
    rate = 100
    loud = np.ones(250, np.float32)  # 0 dB for 2.5 s
    quiet = np.concatenate([np.full(100, 0.1, np.float32), np.zeros(150, np.float32)])  # -20 dB, then silent
    levels = buried_parts.window_levels_db({0: loud, 2: quiet}, 3, 3, rate)
    assert np.allclose(levels[:, 0], 0.0, atol=1e-6)
    assert np.isclose(levels[0, 2], -20.0, atol=1e-4) and levels[1, 2] < -150.0
    assert (levels[:, 1] == -200.0).all()  # no part of that label


def test_a_gate_drops_only_parts_buried_under_the_loudest():
    targets = np.array([[1, 1, 0], [1, 1, 1]], np.float32)
    levels = np.array([[0.0, -25.0, -200.0], [-5.0, -12.0, 0.0]])
    assert np.array_equal(buried_parts.gated_targets(targets, levels, None), targets)
    assert np.array_equal(buried_parts.gated_targets(targets, levels, 20.0), [[1, 0, 0], [1, 1, 1]])
    assert np.array_equal(buried_parts.gated_targets(targets, levels, 10.0), [[1, 0, 0], [1, 0, 1]])


def test_score_rewards_a_model_that_hears_only_audible_parts():
    # label b plays in the first three windows but is buried in the third; the model follows what is audible
    targets = np.array([[1, 1], [1, 1], [1, 1], [0, 0]], np.float32)
    levels = np.array([[0, -3], [0, -6], [0, -40], [-200, -200]], np.float64)
    probs = np.array([[0.9, 0.8], [0.8, 0.7], [0.7, 0.1], [0.1, 0.3]], np.float32)
    report = buried_parts.score([(probs, targets, levels)], ("a", "b"), 2)
    assert report["notes"]["per_label"]["b"] < 1.0 and report["within 20 dB"]["per_label"]["b"] == 1.0
    assert report["within 20 dB"]["positives"] == 5 and report["notes"]["positives"] == 6
    assert report["within 20 dB"]["map"] > report["notes"]["map"]
    assert "| notes |" in buried_parts.markdown({"model": "m", "clips_per_family": 1, "results": {"f": report}})
