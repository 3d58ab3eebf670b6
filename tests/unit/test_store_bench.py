"""`bench.store_bench` runs end to end on a small database; its figures are not asserted."""

from __future__ import annotations

from pathlib import Path

from bench.store_bench import figures, options, run


async def test_the_store_benchmark_measures_every_phase_and_the_retention_pass(
    tmp_path: Path,
) -> None:
    template = str(tmp_path / "template.sqlite3")
    small = ["--messages", "2000", "--chats", "100", "--talkers", "5", "--phase-seconds", "0.5"]
    args = options([*small, "--template", template])

    result = await run(args)

    reported = {figure.name: figure.value for figure in figures(result)}
    assert reported["retention_deleted"] == 400  # the idle fifth of the chats
    assert all(value is not None for value in reported.values())
    assert all(reported[f"turns_{phase}"] for phase in ("alone", "stats", "retention"))
