"""`python -m bench.compute`: one row per model and task, named as `rtmusic bench` names them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_rows_per_task_time_the_step_each_task_runs():
    from bench.compute import format_table, measure

    results = measure(("bypass",), hops=30, engine_hops=30, engine_runs=1, tasks=("denoise", "classify"))
    rows = results["models"]
    assert list(rows) == ["bypass", "bypass[classify]"]
    assert [rows[k]["task"] for k in rows] == ["denoise", "classify"]
    assert rows["bypass"]["kind"] == "bypass" and rows["bypass[classify]"]["kind"] == "classifier"
    assert rows["bypass[classify]"]["parameters"] > rows["bypass"]["parameters"] == 0
    for row in rows.values():
        assert row["step"]["hops"] == 30 and row["step"]["p50_us"] > 0 and row["engine"]["hops"] >= 30
    table = format_table(results)
    assert "bypass[classify]" in table and table.count("paced") == 2


def test_an_unknown_task_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "bench.compute", "--tasks", "separate"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown task 'separate'" in result.stderr, result.stderr
