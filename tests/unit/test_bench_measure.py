"""The benchmark's arithmetic: percentiles, reply timelines, figures (the hostile scenario's
comparison too), and /proc parsing."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from bench.hostile import comparison
from bench.measure import (
    MIB,
    Figure,
    RunRecord,
    Target,
    TurnTrace,
    calls_per_second,
    cpu_ticks,
    figures,
    longest_gap,
    percentile,
    read_cpu_seconds,
    read_peak_rss,
    read_rss,
    slowest_second,
    status_bytes,
)
from bench.scenarios import SCENARIOS

STATUS = """Name:\tpython
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  312000 kB
VmHWM:\t   71234 kB
VmRSS:\t   60812 kB
Threads:\t3
"""


def trace(
    *,
    chat_id: int = 7,
    first_content_at: float | None = 10.0,
    last_content_at: float | None = 12.0,
    visible: tuple[float, ...] = (10.004, 11.1, 12.2, 13.3),
    shown: tuple[int, ...] = (5, 60, 105, 160),
    correct: bool = True,
) -> TurnTrace:
    return TurnTrace(
        chat_id=chat_id,
        turn=0,
        first_content_at=first_content_at,
        last_content_at=last_content_at,
        tokens=32,
        visible=visible,
        shown=shown,
        edits=len(visible) - 1,
        correct=correct,
    )


def run_of(*traces: TurnTrace) -> RunRecord:
    return RunRecord(
        traces=traces,
        start=9.0,
        end=14.0,
        flood_429s=0,
        other_rejections=0,
        calls_made=8,
        idle_rss=60 * MIB,
        peak_rss=90 * MIB,
        bot_cpu=0.5,
        driver_cpu=0.25,
        bot_lags=(0.001, 0.002, 0.060),
        driver_lags=(0.001,),
        chunk_size=5,
        chunk_interval=0.05,
        global_rate=30.0,
    )


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([3.5], 99) == 3.5


def test_percentile_interpolates_between_the_closest_ranks() -> None:
    assert [percentile([4.0, 1.0, 3.0, 2.0], q) for q in (0, 50, 100)] == [1.0, 2.5, 4.0]


def test_percentile_99_of_a_hundred_and_one_values_is_the_99th() -> None:
    assert percentile([float(v) for v in range(101)], 99) == pytest.approx(99.0)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_status_bytes_reads_a_kb_line_as_bytes() -> None:
    assert (status_bytes(STATUS, "VmRSS"), status_bytes(STATUS, "VmHWM")) == (
        60812 * 1024,
        71234 * 1024,
    )


def test_status_bytes_of_a_missing_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="VmSwap"):
        status_bytes(STATUS, "VmSwap")


def test_cpu_ticks_add_utime_and_stime_even_when_the_name_holds_spaces_and_parentheses() -> None:
    stat = "4242 (bot (worker) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 137 29 0 0 20 0 3 0"
    assert cpu_ticks(stat) == 137 + 29


def test_this_process_can_be_read_from_proc() -> None:
    pid = os.getpid()
    assert read_rss(pid) > 0
    assert read_peak_rss(pid) >= read_rss(pid)
    assert read_cpu_seconds(pid) > 0


def test_longest_gap_is_the_widest_space_between_moments() -> None:
    assert longest_gap([3.0, 1.0, 1.5, 4.0]) == 1.5
    assert longest_gap([2.0]) == 0.0


def test_answer_latency_runs_from_the_question_to_the_first_visible_text() -> None:
    assert replace(trace(), asked_at=9.5).answer_latency == pytest.approx(0.504)
    assert trace().answer_latency is None  # a scenario that did not note when it asked


def test_added_latency_runs_from_the_first_content_to_the_first_visible_text() -> None:
    assert trace().added_latency == pytest.approx(0.004)


def test_the_wait_for_the_first_text_counts_as_a_gap_between_updates() -> None:
    late_start = trace(visible=(11.5, 12.0, 13.0))
    assert late_start.longest_gap == pytest.approx(1.5)


def test_a_reply_that_never_completed_has_no_completion_time_or_final_delay() -> None:
    broken = trace(correct=False)
    assert (broken.complete_at, broken.final_delay) == (None, None)


def test_final_delay_runs_from_the_last_token_to_the_final_text() -> None:
    assert trace().final_delay == pytest.approx(1.3)


def test_text_age_is_how_long_ago_the_newest_words_on_screen_were_sent() -> None:
    # 60 characters on screen: chunk 11 (0-based), sent at 10.0 + 11 * 0.05 = 10.55.
    ages = trace().text_ages(chunk_size=5, chunk_interval=0.05)
    assert ages == pytest.approx([0.004, 11.1 - 10.55, 12.2 - 11.0, 13.3 - 11.55])


def test_text_ages_are_skipped_when_texts_and_updates_do_not_pair_up() -> None:
    assert trace(shown=(5, 60)).text_ages(chunk_size=5, chunk_interval=0.05) == []


def test_a_target_is_met_at_its_limit_and_missed_beyond_it() -> None:
    at_most = Target("<=", 5)
    assert (at_most.met(5), at_most.met(5.01), Target("==", 0).met(1)) == (True, False, False)


def test_a_figure_with_a_target_but_no_value_is_missed() -> None:
    assert Figure("x", "x", None, "ms", Target("<=", 5)).verdict == "MISSED"
    assert Figure("x", "x", None, "ms").verdict == ""


def test_figures_carry_their_targets_and_verdicts_by_name() -> None:
    targets = {"peak_rss_mb": Target("<=", 150), "loop_lag_p99_ms": Target("<=", 50)}
    by_name = {f.name: f for f in figures(run_of(trace()), targets)}
    assert (by_name["peak_rss_mb"].value, by_name["peak_rss_mb"].verdict) == (90, "ok")
    assert by_name["loop_lag_p99_ms"].verdict == "MISSED"  # one 60 ms stall among three samples
    assert by_name["edits_per_reply"].value == 3
    assert by_name["time_all_complete_s"].value == pytest.approx(13.3 - 9.0)
    assert by_name["cpu_s_per_1k_tokens"].value == pytest.approx(1000 * 0.5 / 32)


def test_group_gaps_are_a_figure_only_when_there_are_groups() -> None:
    private_only = {f.name for f in figures(run_of(trace()), {})}
    mixed = {f.name for f in figures(run_of(trace(), trace(chat_id=-7)), {})}
    assert mixed - private_only == {"group_update_gap_longest_s"}


def test_the_time_until_every_reply_is_complete_is_missing_while_one_is_not() -> None:
    by_name = {f.name: f for f in figures(run_of(trace(), trace(correct=False)), {})}
    assert (by_name["time_all_complete_s"].value, by_name["replies_correct"].value) == (None, 1)


def test_calls_per_second_run_from_the_first_call_to_the_last() -> None:
    assert calls_per_second([10.0, 10.5, 11.0]) == pytest.approx(2.0)
    assert calls_per_second([10.0]) is None


def test_the_slowest_second_shows_a_hole_in_the_sending() -> None:
    times = [10.0, 10.2, 10.4, 11.9, 12.1, 12.5, 13.5]  # seconds from 10.0: 3, 1, 2, (cut)
    assert slowest_second(times) == 1
    assert slowest_second([10.0, 10.5]) is None  # not a whole second


def test_the_call_rate_figures_come_from_the_fakes_call_times() -> None:
    run = replace(run_of(trace()), call_times=(9.0, 9.5, 10.0, 10.5, 11.0))
    by_name = {f.name: f for f in figures(run, {})}
    assert by_name["calls_per_second"].value == pytest.approx(2.0)
    assert by_name["calls_slowest_second"].value == 2


def test_the_hostile_comparison_puts_each_figure_alone_beside_hostile_with_the_targets() -> None:
    alone = replace(
        run_of(replace(trace(), asked_at=9.4)),
        help_latencies=(0.004, 0.006),
        peak_rss=70 * MIB,
    )
    attacked = replace(
        run_of(replace(trace(visible=(10.3, 11.1, 12.2, 13.3)), asked_at=9.4)),
        help_latencies=(0.02, 1.2),
        peak_rss=300 * MIB,
    )
    scenario = replace(SCENARIOS["hostile"], chats=1, turns=1)
    shown = {f.name: f for f in comparison(scenario, alone, attacked)}
    assert shown["help_max_ms_alone"].value == pytest.approx(6)
    assert shown["help_max_ms_hostile"].value == pytest.approx(1200)
    assert shown["help_max_ms_hostile"].verdict == "MISSED"
    added = shown["question_to_first_text_p99_added_ms"]
    assert added.value == pytest.approx(296)
    assert added.verdict == "MISSED"
    assert shown["first_text_latency_p99_ms_hostile"].verdict == "MISSED"  # 300 ms > 250
    assert (shown["peak_rss_added_mb"].value, shown["peak_rss_added_mb"].verdict) == (230, "MISSED")
    assert shown["replies_correct_hostile"].verdict == "ok"
    assert shown["loop_lag_p99_ms_alone"].verdict == ""  # targets hold with the strangers
    assert shown["loop_lag_p99_ms_hostile"].verdict == "MISSED"  # 59 ms of (1, 2, 60) ms
