"""`bench.voice_bench` runs end to end on a small load; its figures are not asserted."""

from __future__ import annotations

from bench.voice_bench import figures, run


async def test_the_voice_benchmark_measures_every_figure_it_reports() -> None:
    result = await run(replies=2, seconds=1.0, runs=1)
    reported = figures(result, replies=2, seconds=1.0)
    assert [figure.name for figure in reported] == [
        "convert_one_median_s",
        "convert_one_worst_s",
        "convert_together_s",
        "loop_lag_p99_ms",
        "loop_lag_max_ms",
    ]
    assert all(figure.value is not None and figure.value >= 0 for figure in reported)
    assert result.samples > 0
    assert str(reported[3].target) == "<= 50"
