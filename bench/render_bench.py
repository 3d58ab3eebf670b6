"""Micro-benchmark of bot.render.convert: time to render and split a 4 KB and a 40 KB reply.

Run as `python -m bench.render_bench [--runs N]`. The replies are cut from the test corpus of
model answers (code blocks, tables, nested lists, math, links, quotes, right-to-left text and
emoji), joined and repeated to size.
Prints one row per size: median and p95 over N runs, the number of messages, and the target.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bot.render.convert import split_markdown, utf16_len

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "unit" / "corpus"
SIZES = (4 * 1024, 40 * 1024)
TARGET_MS_PER_4KB = 5.0


def reply_of(size: int) -> str:
    """A reply of about `size` characters, cut at a line end so its markdown stays whole."""
    answers = "\n\n".join(path.read_text() for path in sorted(CORPUS.glob("*.md")))
    text = answers
    while len(text) < size:
        text += "\n\n" + answers
    return text[: text.rfind("\n", 0, size)]


def measure(reply: str, runs: int) -> tuple[list[float], int]:
    """Milliseconds per render+split, over `runs` runs, and how many messages it made."""
    timings: list[float] = []
    pieces = 0
    for _ in range(runs):
        started = time.perf_counter()
        pieces = len(split_markdown(reply))
        timings.append((time.perf_counter() - started) * 1000)
    return timings, pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per size (default 50)")
    runs = parser.parse_args().runs
    print(f"render + split, {runs} runs each, target < {TARGET_MS_PER_4KB:.0f} ms per 4 KB")
    print(f"{'input':>8}  {'UTF-16':>7}  {'median ms':>9}  {'p95 ms':>7}  {'messages':>8}  target")
    for size in SIZES:
        reply = reply_of(size)
        measure(reply, 3)  # warm-up: imports, regex compilation
        timings, pieces = measure(reply, runs)
        median = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1] if runs > 1 else timings[0]
        target = TARGET_MS_PER_4KB * size / 4096
        verdict = "ok" if median < target else "SLOW"
        print(
            f"{size // 1024:>6} KB  {utf16_len(reply):>7}  {median:>9.2f}  {p95:>7.2f}"
            f"  {pieces:>8}  < {target:.0f} ms {verdict}"
        )


if __name__ == "__main__":
    main()
