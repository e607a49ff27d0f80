"""rtmusic.latency: the report adds up, converts to ms, and refuses a budget naming the part to change."""

from __future__ import annotations

import pytest

from rtmusic.errors import LatencyBudgetError, ParameterError
from rtmusic.latency import LatencyReport, check_budget_value


def _report(**parts) -> LatencyReport:
    base = dict(samplerate=48000, hop=240, algorithmic=480, prefill=128 + 48, device_in=128, device_out=256)
    return LatencyReport(**{**base, **parts})


def test_totals_and_ms():
    r = _report()
    assert r.engine == 480 + 176
    assert r.total == 480 + 176 + 128 + 256 == 1040
    assert r.ms(480) == pytest.approx(10.0) and r.ms(r.total) == pytest.approx(1040 / 48)
    assert sum(r.parts().values()) == r.total
    d = r.as_dict()
    assert d["total_samples"] == 1040 and d["engine_samples"] == 656
    assert d["algorithmic_ms"] == 10.0 and d["total_ms"] == pytest.approx(21.667, abs=1e-3)
    assert _report(samplerate=44100).ms(441) == pytest.approx(10.0)


def test_format_lists_every_part():
    text = _report().format()
    for name in ("algorithmic", "pre-fill", "device input", "device output", "total"):
        assert name in text
    assert "21.67 ms" in text and "1040 samples" in text


def test_within_budget_passes():
    _report().check_budget(21.7)
    _report().check_budget(50.0)


@pytest.mark.parametrize("parts, largest, advice", [
    ({}, "algorithmic", "--model"),
    ({"prefill": 4096}, "pre-fill", "--blocksize"),
    ({"device_in": 2048}, "device input", "--input device"),
    ({"device_out": 9600}, "device output", "--output device"),
])
def test_over_budget_names_the_largest_part(parts, largest, advice):
    r = _report(**parts)
    with pytest.raises(LatencyBudgetError) as info:
        r.check_budget(5.0)
    message = str(info.value)
    assert f"the largest part is {largest} ({r.ms(max(r.parts().values())):.1f} ms)" in message
    assert advice in message and "raise --latency-budget" in message
    assert f"total latency {r.ms(r.total):.1f} ms exceeds the 5 ms budget" in message


@pytest.mark.parametrize("budget", [0.0, -1.0, float("nan")])
def test_budget_must_be_positive(budget):
    with pytest.raises(ParameterError, match="--latency-budget must be a positive number"):
        check_budget_value(budget)
    with pytest.raises(ParameterError):
        _report().check_budget(budget)
