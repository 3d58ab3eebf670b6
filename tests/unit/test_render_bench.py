"""`bench.render_bench` runs end to end on one hostile reply; its figures are not asserted."""

from __future__ import annotations

from bench.render_bench import FROZEN, main


def test_the_render_benchmark_prints_every_table_it_describes() -> None:
    lines: list[str] = []

    main(["--runs", "2", "--hostile", "flags"], out=lines.append)

    tables = "\n".join(lines).split("\n\n")
    assert len(tables) == 3
    ordinary, hostile, streaming = (table.splitlines()[2:] for table in tables)
    assert [row.split()[:2] for row in ordinary] == [["4", "KB"], ["32", "KB"], ["40", "KB"]]
    assert [row.split()[0] for row in hostile] == ["flags"]
    assert [row[:28].strip() for row in streaming] == ["ordinary", FROZEN, "flags"]
