"""The benchmark's arithmetic: percentiles, the figures of a run, and reading /proc.

Owns what a figure is (`Figure`, `Target`), how one reply's timeline (`TurnTrace`) turns into
latencies, update gaps and rates, and parsing `/proc/<pid>/status` (VmRSS, VmHWM) and
`/proc/<pid>/stat` (utime + stime) so no psutil is needed. Pure except for the three `read_*`
helpers, which read procfs (served from kernel memory: they never wait on a disk). It must not
start processes, drive chats or print; `scenarios.py` and `__main__.py` do that.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MIB = 1024 * 1024


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between closest ranks.

    This is numpy's default ("linear") method: with n sorted values, rank q/100 * (n - 1).
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """What a figure must be: at most `limit`, or exactly `limit`."""

    op: Literal["<=", "=="]
    limit: float

    def met(self, value: float) -> bool:
        return value <= self.limit if self.op == "<=" else value == self.limit

    def __str__(self) -> str:
        return f"{self.op} {_number(self.limit)}"


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured quantity; `value` is None when the run produced nothing to measure."""

    name: str  # a stable key, for the JSON
    label: str  # what the table shows
    value: float | None
    unit: str = ""
    target: Target | None = None

    @property
    def verdict(self) -> str:
        """Either "ok" or "MISSED"; empty for a figure that is only reported."""
        if self.target is None:
            return ""
        return "ok" if self.value is not None and self.target.met(self.value) else "MISSED"

    def shown(self) -> str:
        return "n/a" if self.value is None else _number(self.value)


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


# --- one reply's timeline ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnTrace:
    """One question and its reply, as both fakes saw it (times are time.monotonic()).

    `visible` holds the moments the chat's screen changed for this reply: each draft that showed
    its text (draft mode), the sendMessage that created each of its messages and every
    successful edit, in order.
    """

    chat_id: int
    turn: int
    first_content_at: float | None
    last_content_at: float | None
    tokens: int
    visible: tuple[float, ...]
    shown: tuple[int, ...]  # characters on screen after each visible change (same order)
    edits: int
    correct: bool
    asked_at: float | None = None  # when the question was sent
    first_sign_at: float | None = None  # "typing…", "Thinking…" or text: the first thing shown
    drafts: int = 0  # drafts that showed the reply's text (STREAM_MODE=draft)

    @property
    def first_sign(self) -> float | None:
        """Seconds from the user's message to the first thing the chat showed for it."""
        if self.asked_at is None or self.first_sign_at is None:
            return None
        return self.first_sign_at - self.asked_at

    @property
    def group(self) -> bool:
        return self.chat_id < 0

    @property
    def complete_at(self) -> float | None:
        """When the final text became visible, or None if it never did."""
        return self.visible[-1] if self.correct and self.visible else None

    @property
    def added_latency(self) -> float | None:
        """Seconds from the upstream's first content to the first visible text."""
        if self.first_content_at is None or not self.visible:
            return None
        return self.visible[0] - self.first_content_at

    @property
    def answer_latency(self) -> float | None:
        """Seconds from sending the question to its first visible text (the upstream's time to
        the first token included)."""
        if self.asked_at is None or not self.visible:
            return None
        return self.visible[0] - self.asked_at

    @property
    def longest_gap(self) -> float | None:
        """The longest wait for a screen change between the first content and the final text."""
        if self.first_content_at is None or not self.visible:
            return None
        return longest_gap([self.first_content_at, *self.visible])

    @property
    def final_delay(self) -> float | None:
        """Seconds from the upstream's end of stream to the final text on screen."""
        done = self.complete_at
        if done is None or self.last_content_at is None:
            return None
        return done - self.last_content_at

    @property
    def updates_per_second(self) -> float | None:
        """Screen changes per second from the first visible text to the last."""
        if len(self.visible) < 2:
            return None
        span = self.visible[-1] - self.visible[0]
        return (len(self.visible) - 1) / span if span > 0 else None

    def text_ages(self, chunk_size: int, chunk_interval: float) -> list[float]:
        """How old the newest words on screen were at each visible change, in seconds.

        The upstream sends chunk i of `chunk_size` characters at first_content_at + i *
        chunk_interval; a screen showing n characters shows chunk (n - 1) // chunk_size at the
        newest. Rendering may trim a trailing space, so an age can be one interval too high.
        """
        if self.first_content_at is None or len(self.shown) != len(self.visible):
            return []
        start = self.first_content_at
        return [
            at - (start + max(0, chars - 1) // chunk_size * chunk_interval)
            for at, chars in zip(self.visible, self.shown, strict=True)
        ]


def longest_gap(times: Sequence[float]) -> float:
    """The largest difference between consecutive moments (0 for fewer than two)."""
    ordered = sorted(times)
    return max((b - a for a, b in itertools.pairwise(ordered)), default=0.0)


# --- a whole run -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one scenario run observed, as plain data (times in seconds of time.monotonic())."""

    traces: tuple[TurnTrace, ...]
    start: float  # the first question
    end: float  # every reply complete (or the run gave up)
    flood_429s: int
    other_rejections: int  # Telegram errors other than 429
    calls_made: int  # successful sendMessage + editMessageText
    idle_rss: int  # bytes, before the load
    peak_rss: int  # bytes, the kernel's high-water mark after the load
    bot_cpu: float  # CPU seconds the bot used during the load
    driver_cpu: float  # CPU seconds this process (benchmark and both fakes) used
    bot_lags: tuple[float, ...]  # the bot's event-loop lag samples during the load, seconds
    driver_lags: tuple[float, ...]  # the same for this process
    chunk_size: int  # characters per upstream chunk
    chunk_interval: float  # seconds between upstream chunks
    global_rate: float  # the bot's calls per second setting
    # When the fake Telegram handled each successful sendMessage / editMessageText.
    call_times: tuple[float, ...] = ()
    # Successful calls about replies: messages, edits, drafts, "typing…", deletions.
    reply_calls: int = 0
    # Seconds from each /help a chat sent to the bot's answer (scenarios with `help_first`).
    help_latencies: tuple[float, ...] = ()


def figures(run: RunRecord, targets: Mapping[str, Target]) -> list[Figure]:
    """Every figure of `run`, each with its target from `targets` (by name) if it has one."""
    traces = run.traces
    wall = run.end - run.start
    latencies = [1000 * v for v in present(t.added_latency for t in traces)]
    signs = [1000 * v for v in present(t.first_sign for t in traces)]
    ages = [a for t in traces for a in t.text_ages(run.chunk_size, run.chunk_interval)]
    finals = present(t.final_delay for t in traces)
    completions = present(t.complete_at for t in traces)
    tokens = sum(t.tokens for t in traces)
    private_gaps = present(t.longest_gap for t in traces if not t.group)
    group_gaps = present(t.longest_gap for t in traces if t.group)

    def figure(name: str, label: str, value: float | None, unit: str = "") -> Figure:
        return Figure(name, label, value, unit, targets.get(name))

    latency = [
        figure(
            f"first_text_latency_p{q}_ms", f"first text added latency p{q}", _p(latencies, q), "ms"
        )
        for q in (50, 95, 99)
    ]
    gaps = [
        figure(
            "update_gap_longest_s", "longest wait for an update, private", _max(private_gaps), "s"
        )
    ]
    if group_gaps:
        label = "longest wait for an update, groups"
        gaps.append(figure("group_update_gap_longest_s", label, _max(group_gaps), "s"))
    return [
        figure("first_sign_p50_ms", "message to first thing shown p50", _p(signs, 50), "ms"),
        figure("first_sign_p95_ms", "message to first thing shown p95", _p(signs, 95), "ms"),
        *latency,
        *gaps,
        figure("text_age_p50_s", "age of the newest words on screen p50", _p(ages, 50), "s"),
        figure("text_age_p95_s", "age of the newest words on screen p95", _p(ages, 95), "s"),
        figure("final_delay_p50_s", "final text after the last token p50", _p(finals, 50), "s"),
        figure("final_delay_p99_s", "final text after the last token p99", _p(finals, 99), "s"),
        figure(
            "updates_per_second_per_chat",
            "visible updates per second per chat (mean)",
            mean(present(t.updates_per_second for t in traces)),
            "/s",
        ),
        figure("edits_per_reply", "edits per reply (mean)", mean([t.edits for t in traces])),
        figure(
            "drafts_per_reply",
            "drafts with text per reply (mean)",
            mean([t.drafts for t in traces]),
        ),
        figure(
            "calls_per_reply",
            "calls per reply (all kinds, mean)",
            run.reply_calls / len(traces) if traces else None,
        ),
        figure("flood_429s", "429 responses", run.flood_429s),
        figure("other_rejections", "other rejected calls", run.other_rejections),
        figure("replies_correct", "replies complete and correct", sum(t.correct for t in traces)),
        figure(
            "time_all_complete_s",
            "time until every reply is complete",
            max(completions) - run.start if len(completions) == len(traces) else None,
            "s",
        ),
        figure(
            "least_time_s",
            "least time at the global limit (replies / rate)",
            len(traces) / run.global_rate,
            "s",
        ),
        figure("calls_made", "sendMessage + editMessageText calls", run.calls_made),
        figure(
            "calls_per_second",
            "those calls per second, first to last",
            calls_per_second(run.call_times),
            "/s",
        ),
        figure(
            "calls_slowest_second",
            "those calls in the slowest whole second",
            slowest_second(run.call_times),
        ),
        figure("idle_rss_mb", "bot idle RSS", run.idle_rss / MIB, "MB"),
        figure("peak_rss_mb", "bot peak RSS", run.peak_rss / MIB, "MB"),
        figure(
            "cpu_s_per_1k_tokens",
            "bot CPU per 1,000 streamed tokens",
            1000 * run.bot_cpu / tokens if tokens else None,
            "s",
        ),
        figure("loop_lag_p99_ms", "bot event-loop lag p99", _p_ms(run.bot_lags, 99), "ms"),
        figure("loop_lag_max_ms", "bot event-loop lag max", _p_ms(run.bot_lags, 100), "ms"),
        figure("bot_cpu_percent", "bot CPU, % of one core", _share(run.bot_cpu, wall), "%"),
        figure(
            "driver_cpu_percent",
            "benchmark + fakes CPU, % of one core",
            _share(run.driver_cpu, wall),
            "%",
        ),
        figure(
            "driver_loop_lag_p99_ms",
            "benchmark + fakes event-loop lag p99",
            _p_ms(run.driver_lags, 99),
            "ms",
        ),
        figure(
            "driver_loop_lag_max_ms",
            "benchmark + fakes event-loop lag max",
            _p_ms(run.driver_lags, 100),
            "ms",
        ),
    ]


def calls_per_second(times: Sequence[float]) -> float | None:
    """The rate of calls from the first to the last (None for fewer than two)."""
    if len(times) < 2:
        return None
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else None


def slowest_second(times: Sequence[float]) -> int | None:
    """The fewest calls in any whole second counted from the first call, up to the last whole
    second before the last call: a hole in the bot's sending (None for under a second)."""
    if not times:
        return None
    first = min(times)
    seconds = int(max(times) - first)
    if seconds < 1:
        return None
    counts = [0] * seconds
    for at in times:
        second = int(at - first)
        if second < seconds:
            counts[second] += 1
    return min(counts)


def present(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _p(values: Sequence[float], q: float) -> float | None:
    return percentile(values, q) if values else None


def _p_ms(seconds: Sequence[float], q: float) -> float | None:
    return 1000 * percentile(seconds, q) if seconds else None


def _max(values: Sequence[float]) -> float | None:
    return max(values) if values else None


def _share(cpu: float, wall: float) -> float | None:
    return 100 * cpu / wall if wall > 0 else None


# --- /proc -------------------------------------------------------------------------------------


def status_bytes(status_text: str, field: str) -> int:
    """A `kB` line of /proc/<pid>/status (`VmRSS`, `VmHWM`, ...) in bytes."""
    for line in status_text.splitlines():
        name, _, rest = line.partition(":")
        if name == field:
            amount, unit = rest.split()
            if unit != "kB":
                raise ValueError(f"unexpected unit in {line!r}")
            return int(amount) * 1024
    raise ValueError(f"{field} not in /proc status")


def cpu_ticks(stat_text: str) -> int:
    """utime + stime, in clock ticks, from the one line of /proc/<pid>/stat."""
    # The command name (field 2) is in parentheses and may itself hold spaces or ")": the fields
    # after the *last* ")" start with field 3 (state), so utime (14) and stime (15) are 11 and 12.
    fields = stat_text[stat_text.rindex(")") + 1 :].split()
    return int(fields[11]) + int(fields[12])


def read_rss(pid: int) -> int:
    """Resident memory of `pid` now, in bytes."""
    return status_bytes(Path(f"/proc/{pid}/status").read_text(), "VmRSS")


def read_peak_rss(pid: int) -> int:
    """The most resident memory `pid` has had (the kernel's high-water mark), in bytes."""
    return status_bytes(Path(f"/proc/{pid}/status").read_text(), "VmHWM")


def read_cpu_seconds(pid: int) -> float:
    """User + system CPU time `pid` has used so far."""
    ticks = cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
    return ticks / os.sysconf("SC_CLK_TCK")
