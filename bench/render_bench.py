"""Micro-benchmark of bot.render: the cost of rendering replies, ordinary and hostile, and the
event-loop lag while one streams.

Run as `python -m bench.render_bench [--runs N] [--hostile NAME ...]`. Three tables:

- ordinary replies of 4, 32 and 40 KB, cut from the test corpus of model answers (code blocks,
  tables, nested lists, math, links, quotes, right-to-left text and emoji), joined and repeated
  to size: render + split, median and p95 over N runs, and the number of messages;
- hostile replies of 32 KB (tests/unit/render_checks.py's HOSTILE: delimiters never closed,
  backtick runs, deep nesting, padded tables, ...): render + split, median of a few runs, and
  how many more steps 32 KB takes than 16 KB, counted by the interpreter rather than timed
  (`interpreter_steps`: the same on every run; linear work takes about twice as many);
- streaming: each 32 KB reply arriving in 512-character chunks on an event loop, 5 ms apart,
  split at every chunk as the live reply does (from the end of the last finished message,
  finishing every message but the last), with `bench.loop_lag.LoopLagSampler` measuring how
  late a 10 ms sleep wakes meanwhile: the worst and p99 lag (wall time: it includes garbage
  collections and, on a busy machine, other processes), the CPU time of the longest edit, and
  "at once", the time of one edit that gets the whole reply (as after a long flood wait). The
  ordinary reply streams twice: as is, and with the objects alive before it frozen out of the
  collector's reach (`gc.freeze()`), which shows what a full collection adds to one edit.

Prints every figure beside its target; the targets are for the ordinary replies.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.loop_lag import LoopLagSampler
from bench.measure import percentile
from bot.render.convert import Piece, split_markdown, utf16_len
from tests.unit.render_checks import HOSTILE, interpreter_steps

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "unit" / "corpus"
KB = 1024
SIZES = (4 * KB, 32 * KB, 40 * KB)
TARGET_MS_PER_4KB = 5.0
TARGET_MS_32KB = 20.0
LAG_TARGET_MS = 50.0
HOSTILE_SIZE = 32 * KB
STREAM_CHUNK = 512
# Between two edits (the live reply edits about once a second; this is the stress case): long
# enough for the sampler's sleeps to end between them.
EDIT_GAP = 0.005
HOSTILE_RUNS = 3
FROZEN = "ordinary, gc.freeze()"


def reply_of(size: int) -> str:
    """A reply of about `size` characters, cut at a line end so its markdown stays whole."""
    answers = "\n\n".join(path.read_text() for path in sorted(CORPUS.glob("*.md")))
    text = answers
    while len(text) < size:
        text += "\n\n" + answers
    return text[: text.rfind("\n", 0, size)]


def _new_object(text: str) -> str:
    """`text` as a string object of its own: split_markdown answers a repeated split of the
    very same object from memory, and each run here must do the work."""
    return text[:1] + text[1:]


def measure(reply: str, runs: int) -> tuple[list[float], int]:
    """Milliseconds per render+split, over `runs` runs, and how many messages it made."""
    timings: list[float] = []
    pieces = 0
    for _ in range(runs):
        source = _new_object(reply)
        started = time.perf_counter()
        pieces = len(split_markdown(source))
        timings.append((time.perf_counter() - started) * 1000)
    return timings, pieces


class LiveSplit:
    """What the live reply (bot.delivery.live_reply) renders at each edit: the source split
    from the end of the last finished message, every message but the last finished."""

    def __init__(self) -> None:
        self.end = 0
        self.carry = ""

    def edit(self, source: str) -> Piece | None:
        while True:
            pieces = split_markdown(source, start=self.end, carry=self.carry)
            if len(pieces) < 2:
                return pieces[0] if pieces else None
            self.end, self.carry = pieces[0].end, pieces[0].carry


@dataclass(frozen=True, slots=True)
class StreamResult:
    edits: int
    lag_max_ms: float
    lag_p99_ms: float
    longest_edit_ms: float  # CPU time of this thread: what the loop waited for, not the machine
    at_once_ms: float


async def stream(reply: str, chunk: int) -> StreamResult:
    """Lags while `reply` streams in `chunk`-character steps, each split as the live reply does;
    and the time to split it when it all arrives in one edit."""
    sampler = LoopLagSampler()
    sampler.start()
    await asyncio.sleep(0.05)  # the sampler's first samples, before the load
    live = LiveSplit()
    began = time.monotonic()
    ends = [*range(chunk, len(reply), chunk), len(reply)]
    longest = 0.0
    for end in ends:
        cpu = time.thread_time()
        live.edit(reply[:end])
        longest = max(longest, time.thread_time() - cpu)
        await asyncio.sleep(EDIT_GAP)  # the loop's other work (the sampler) runs between edits
    ended = time.monotonic()
    await sampler.stop()
    lags = sampler.lags_between(began, ended) or [0.0]
    at_once = LiveSplit()
    started = time.perf_counter()
    at_once.edit(_new_object(reply))
    at_once_ms = (time.perf_counter() - started) * 1000
    return StreamResult(
        edits=len(ends),
        lag_max_ms=max(lags) * 1000,
        lag_p99_ms=percentile(lags, 99) * 1000,
        longest_edit_ms=longest * 1000,
        at_once_ms=at_once_ms,
    )


def _verdict(value: float, target: float) -> str:
    return f"<= {target:g} ms {'ok' if value <= target else 'SLOW'}"


def ordinary_table(runs: int) -> list[str]:
    lines = [
        f"render + split of an ordinary reply, {runs} runs each",
        f"{'input':>8}  {'UTF-16':>7}  {'median ms':>9}  {'p95 ms':>7}  {'messages':>8}  target",
    ]
    for size in SIZES:
        reply = reply_of(size)
        measure(reply, 3)  # warm-up: imports, regex compilation
        timings, pieces = measure(reply, runs)
        median = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1] if runs > 1 else timings[0]
        target = TARGET_MS_32KB if size == 32 * KB else TARGET_MS_PER_4KB * size / 4096
        lines.append(
            f"{size // KB:>6} KB  {utf16_len(reply):>7}  {median:>9.2f}  {p95:>7.2f}"
            f"  {pieces:>8}  {_verdict(median, target)}"
        )
    return lines


def hostile_table(names: Sequence[str]) -> list[str]:
    lines = [
        f"render + split of a hostile {HOSTILE_SIZE // KB} KB reply: median of {HOSTILE_RUNS}"
        " runs, and the interpreter's steps for it over those for 16 KB (linear: about 2)",
        f"{'input':<28}  {'ms':>8}  {'steps x':>7}  {'messages':>8}",
    ]
    for name in names:
        build = HOSTILE[name]
        measure(build(KB), 1)
        timings, pieces = measure(build(HOSTILE_SIZE), HOSTILE_RUNS)
        half = interpreter_steps(partial(split_markdown, build(HOSTILE_SIZE // 2)))
        full = interpreter_steps(partial(split_markdown, build(HOSTILE_SIZE)))
        lines.append(
            f"{name:<28}  {statistics.median(timings):>8.1f}  {full / half:>7.2f}  {pieces:>8}"
        )
    return lines


def frozen_stream(reply: str, chunk: int) -> StreamResult:
    """`stream` with the objects alive now out of the collector's reach (`gc.freeze()`): what
    the edits cost without a full collection of everything the process holds."""
    gc.collect()
    gc.freeze()
    try:
        return asyncio.run(stream(reply, chunk))
    finally:
        gc.unfreeze()


def stream_table(replies: Sequence[tuple[str, str]]) -> list[str]:
    lines = [
        f"streaming {HOSTILE_SIZE // KB} KB in {STREAM_CHUNK}-character edits, split at each"
        " as the live reply does: event-loop lag, and the whole reply split in one edit",
        f"{'reply':<28}  {'edits':>5}  {'lag max':>7}  {'lag p99':>7}  {'edit CPU':>8}"
        f"  {'at once':>7}  target",
    ]
    for label, reply in replies:
        if label == FROZEN:
            result = frozen_stream(reply, STREAM_CHUNK)
        else:
            result = asyncio.run(stream(reply, STREAM_CHUNK))
        target = _verdict(result.lag_max_ms, LAG_TARGET_MS) if label == "ordinary" else ""
        lines.append(
            f"{label:<28}  {result.edits:>5}  {result.lag_max_ms:>7.1f}  {result.lag_p99_ms:>7.1f}"
            f"  {result.longest_edit_ms:>8.1f}  {result.at_once_ms:>7.1f}  {target}".rstrip()
        )
    return lines


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per ordinary size (default 50)")
    parser.add_argument(
        "--hostile",
        nargs="*",
        choices=sorted(HOSTILE),
        default=sorted(HOSTILE),
        metavar="NAME",
        help="hostile replies to measure (default: all)",
    )
    args = parser.parse_args(argv)
    hostile = [(name, HOSTILE[name](HOSTILE_SIZE)) for name in args.hostile]
    for line in ordinary_table(args.runs):
        out(line)
    out("")
    for line in hostile_table(args.hostile):
        out(line)
    out("")
    ordinary = reply_of(HOSTILE_SIZE)
    for line in stream_table([("ordinary", ordinary), (FROZEN, ordinary), *hostile]):
        out(line)


if __name__ == "__main__":
    main()
