"""`python -m bench --scenario one --quick`: the load benchmark runs end to end.

Only what the run must always produce is asserted (every figure, zero 429s, correct replies);
latencies and durations depend on the machine and are the benchmark's business, not a test's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ONE_CHAT_FIGURES = {
    "first_sign_p50_ms",
    "first_sign_p95_ms",
    "drafts_per_reply",
    "calls_per_reply",
    "first_text_latency_p50_ms",
    "first_text_latency_p95_ms",
    "first_text_latency_p99_ms",
    "update_gap_longest_s",
    "text_age_p50_s",
    "text_age_p95_s",
    "final_delay_p50_s",
    "final_delay_p99_s",
    "updates_per_second_per_chat",
    "edits_per_reply",
    "flood_429s",
    "other_rejections",
    "replies_correct",
    "time_all_complete_s",
    "least_time_s",
    "calls_made",
    "calls_per_second",
    "calls_slowest_second",
    "idle_rss_mb",
    "peak_rss_mb",
    "cpu_s_per_1k_tokens",
    "loop_lag_p99_ms",
    "loop_lag_max_ms",
    "bot_cpu_percent",
    "driver_cpu_percent",
    "driver_loop_lag_p99_ms",
    "driver_loop_lag_max_ms",
}


@pytest.mark.parametrize("mode", ["edit", "draft"])
async def test_the_quick_one_chat_scenario_reports_every_figure_without_a_429(
    tmp_path: Path, mode: str
) -> None:
    output = tmp_path / "latest.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench",
        "--scenario",
        "one",
        "--quick",
        "--stream-mode",
        mode,
        "--output",
        str(output),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, printed.decode()
    one = json.loads(output.read_text())["scenarios"]["one"]
    figures = one["figures"]
    assert set(figures) == ONE_CHAT_FIGURES
    assert [name for name, figure in figures.items() if figure["value"] is None] == []
    assert figures["flood_429s"]["value"] == 0
    assert figures["other_rejections"]["value"] == 0
    assert figures["replies_correct"]["verdict"] == "ok"
    assert one["problems"] == []
    assert "first text added latency p50" in printed.decode()
    assert f"STREAM_MODE={mode}" in printed.decode()
    # Draft mode shows the text in drafts, edit mode in edits (Telegram's answers are
    # what the figures count, so a draft mode that silently fell back would show here).
    drafting = figures["drafts_per_reply"]["value"] > 0
    assert drafting == (mode == "draft")
