"""Store benchmark: other chats' turns while an admin's /stats and a retention pass run (issue 15).

Run as `python -m bench.store_bench [--messages N] [--chats C] [--template PATH]`. It builds a
database of N messages in C private chats (default 1,000,000 in 20,000: fast, with executemany
on a plain sqlite3 connection in a thread, not through the bot; kept at `--template` for the next
run), copies it, opens a `ChatStore` on the copy as the bot does, and measures the store's part
of `--talkers` chats' turns (default 50, each taking a turn about every second):

- before the first text: what a text turn asks of the store before the request goes upstream
  (has_message, add_user_message, preferences, recent_turns — all on the writer connection),
- the reply's write (add_assistant_message),

in three phases: alone (the baseline, `--phase-seconds`), while an admin's /stats (its usage for
three periods and the month's top users, as handlers/stats.py asks) runs back to back for as
long, and while a retention pass deletes the history of the chats idle for `--idle-days` (a
fifth of them, months old) with the admin's /stats every two seconds. Prints each figure with
its target (a phase may add at most 20 ms to the turns' p99) and ok/MISSED; exits 1 when one is
missed. The chats talk for a few seconds before the first phase, unmeasured, so that the
baseline doesn't pay for warming the caches.

The same command runs on code without retention or the read connection (the figures "before",
with a `--template` of its own: that code can't open a newer schema); it then skips the third
phase. Times are wall-clock, on whatever else the machine is doing: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import Figure, Target, percentile
from bot.conversation.limits import day_start, month_start
from bot.store import ChatKey, ChatStore

ADDED_TARGET_MS = 20.0
DAY = 86_400.0
IDLE_SHARE = 5  # one chat in five is idle, its messages 60-90 days old
USER_TEXT = "How do I keep a SQLite database small when old conversations pile up? " * 2
BOT_TEXT = "Delete what you no longer need in small batches and let auto-vacuum give it back. " * 3
ADMIN = 1  # the admin asking /stats is the first user
TURN_SECONDS = 1.0  # each talking chat takes a turn about this often
STATS_PAUSE = 2.0  # seconds between an admin's /stats while a retention pass runs
WARM_UP_SECONDS = 5.0  # the chats talk this long, unmeasured, before the baseline


@dataclass
class Timings:
    """Milliseconds per turn, before the first text and for the reply's write."""

    first_text: list[float] = field(default_factory=list)
    reply_write: list[float] = field(default_factory=list)


@dataclass
class StoreBenchResult:
    baseline: Timings
    stats: Timings  # while an admin's /stats runs back to back
    retention: Timings | None  # while a retention pass runs, /stats still back to back
    stats_ms: list[float] = field(default_factory=list)
    retention_s: float | None = None
    deleted: int | None = None
    pages_freed: int | None = None
    size_before_mb: float = 0.0
    size_after_mb: float = 0.0
    build_s: float | None = None


# --- building the database ------------------------------------------------------------------


def build(path: Path, messages: int, chats: int, now: float) -> None:
    """`messages` messages in `chats` private chats, one conversation each, half questions and
    half answers. Four in five chats talk this month (between its start and `now`); the fifth is
    idle, its messages 60 to 90 days old. Blocking: run it in a thread."""
    per_chat = max(2, messages // chats)
    month = month_start(now)
    rng = random.Random(15)
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO chats (chat_id, thread_id, current_conversation_id, created_at,"
            " updated_at) VALUES (?, 0, ?, ?, ?)",
            ((chat, chat, now, now) for chat in range(1, chats + 1)),
        )
        starts = {chat: _chat_start(chat, month, now, rng) for chat in range(1, chats + 1)}
        db.executemany(
            "INSERT INTO conversations (id, chat_id, thread_id, started_at) VALUES (?, ?, 0, ?)",
            ((chat, chat, starts[chat]) for chat in range(1, chats + 1)),
        )
        db.executemany(
            "INSERT INTO messages (conversation_id, chat_id, thread_id, role, content, user_id,"
            " model, telegram_message_id, prompt_tokens, completion_tokens, created_at)"
            " VALUES (?, ?, 0, ?, ?, ?, 'gpt-4o-mini', ?, ?, ?, ?)",
            _message_rows(chats, per_chat, starts, month, now),
        )
        db.execute("COMMIT")
        db.execute("ANALYZE")


def _chat_start(chat: int, month: float, now: float, rng: random.Random) -> float:
    if chat % IDLE_SHARE == 0:
        return now - rng.uniform(60, 90) * DAY
    return rng.uniform(month, now - 600)


def _message_rows(
    chats: int, per_chat: int, starts: dict[int, float], month: float, now: float
) -> Iterator[tuple[Any, ...]]:
    for chat in range(1, chats + 1):
        start = starts[chat]
        end = start + 7 * DAY if chat % IDLE_SHARE == 0 else now - 60
        step = (end - start) / per_chat
        for number in range(per_chat):
            at = start + number * step
            if number % 2 == 0:
                yield (chat, chat, "user", USER_TEXT, chat, number + 1, None, None, at)
            else:
                yield (chat, chat, "assistant", BOT_TEXT, chat, None, 900, 60, at)


# --- measuring -------------------------------------------------------------------------------


async def talk(store: ChatStore, chat: int, timings: Timings, until: Callable[[], bool]) -> None:
    """One chat's turns, about one a second: pauses stand for the reply being generated and the
    user reading it (random, so the chats don't move in step)."""
    key = ChatKey(chat)
    message_id = 1_000_000
    rng = random.Random(chat)
    await asyncio.sleep(rng.uniform(0, TURN_SECONDS))
    while not until():
        message_id += 1
        started = time.perf_counter()
        await store.has_message(key, message_id)
        await store.add_user_message(key, "and then?", telegram_message_id=message_id, user_id=chat)
        await store.preferences(key)
        await store.recent_turns(key, char_budget=12_000)
        timings.first_text.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(rng.uniform(0, TURN_SECONDS))
        started = time.perf_counter()
        await store.add_assistant_message(
            key, "Then you are done.", model="gpt-4o-mini", prompt_tokens=10, user_id=chat
        )
        timings.reply_write.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(rng.uniform(0, TURN_SECONDS))


async def admin_stats(store: ChatStore, now: float) -> None:
    """What /stats asks of the store for an admin in a private chat."""
    periods = (day_start(now), month_start(now), None)
    if hasattr(store, "usage_report"):
        await store.usage_report(ADMIN, since=periods)
    else:  # code from before the read connection
        for since in periods:
            await store.usage(ADMIN, since=since)
    await store.top_users(since=month_start(now), limit=10, by="tokens")


async def with_turns(
    store: ChatStore, talkers: list[int], work: Awaitable[Any]
) -> tuple[Timings, Any]:
    """The talkers' turns while `work` runs (they start a moment before it), and its result."""
    timings = Timings()
    done = asyncio.Event()
    chats = [asyncio.create_task(talk(store, chat, timings, done.is_set)) for chat in talkers]
    await asyncio.sleep(TURN_SECONDS)  # every chat is taking turns before the work starts
    try:
        result = await work
    finally:
        done.set()
        await asyncio.gather(*chats)
    return timings, result


async def stats_until(
    store: ChatStore, durations: list[float], until: Callable[[], bool], pause: float = 0.0
) -> None:
    """An admin's /stats, again and again (at least once, `pause` seconds apart) until
    `until()`."""
    while True:
        started = time.perf_counter()
        await admin_stats(store, time.time())
        durations.append((time.perf_counter() - started) * 1000)
        if until():
            return
        await asyncio.sleep(pause)


async def measure(path: Path, args: argparse.Namespace, result: StoreBenchResult) -> None:
    """The three phases on the database at `path`, into `result`."""
    talkers = [chat for chat in range(2, args.chats) if chat % IDLE_SHARE][: args.talkers]
    store = await ChatStore.open(path)
    try:
        await admin_stats(store, time.time())  # the page cache warm, as in a running bot
        await with_turns(store, talkers, asyncio.sleep(WARM_UP_SECONDS))
        result.baseline, _ = await with_turns(store, talkers, asyncio.sleep(args.phase_seconds))
        deadline = time.monotonic() + args.phase_seconds
        result.stats, _ = await with_turns(
            store, talkers, stats_until(store, result.stats_ms, lambda: time.monotonic() > deadline)
        )
        if not hasattr(store, "forget_idle_history"):
            return  # code from before retention
        passed = asyncio.Event()

        async def retention_pass() -> Any:
            started = time.perf_counter()
            try:
                forgotten = await store.forget_idle_history(idle_for=args.idle_days * DAY)
            finally:
                passed.set()
            result.retention_s = time.perf_counter() - started
            return forgotten

        async def both() -> Any:
            forgotten, _ = await asyncio.gather(
                retention_pass(),
                stats_until(store, result.stats_ms, passed.is_set, STATS_PAUSE),
            )
            return forgotten

        result.retention, forgotten = await with_turns(store, talkers, both())
        result.deleted, result.pages_freed = forgotten.messages, forgotten.pages
    finally:
        await store.close()


def file_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


async def run(args: argparse.Namespace) -> StoreBenchResult:
    result = StoreBenchResult(Timings(), Timings(), None)
    template = Path(args.template)
    if args.build:
        started = time.perf_counter()
        await (await ChatStore.open(template)).close()  # the schema, as the bot makes it
        await asyncio.to_thread(build, template, args.messages, args.chats, time.time())
        result.build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(dir=template.parent) as folder:
        path = Path(folder) / "bot.sqlite3"
        await asyncio.to_thread(shutil.copyfile, template, path)
        result.size_before_mb = await asyncio.to_thread(file_mb, path)
        await measure(path, args, result)
        result.size_after_mb = await asyncio.to_thread(file_mb, path)
    return result


def figures(result: StoreBenchResult) -> list[Figure]:
    added = Target("<=", ADDED_TARGET_MS)
    base = result.baseline
    rows = [
        Figure("turns_alone", "turns alone", len(base.first_text)),
        Figure("first_text_p50_ms", "  before first text, p50", _p(base.first_text, 50), "ms"),
        Figure("first_text_p99_ms", "  p99", _p(base.first_text, 99), "ms"),
        Figure("reply_write_p99_ms", "  reply write, p99", _p(base.reply_write, 99), "ms"),
    ]
    phases = [("stats", "while /stats runs", result.stats)]
    if result.retention is not None:
        phases.append(("retention", "while retention and /stats run", result.retention))
    for key, label, timings in phases:
        rows += [
            Figure(f"turns_{key}", f"turns {label}", len(timings.first_text)),
            Figure(f"first_text_{key}_p50_ms", "  p50", _p(timings.first_text, 50), "ms"),
            Figure(f"first_text_{key}_p99_ms", "  p99", _p(timings.first_text, 99), "ms"),
            Figure(f"first_text_{key}_max_ms", "  max", max(timings.first_text), "ms"),
            Figure(
                f"first_text_{key}_added_p99_ms",
                "  added p99 (before first text)",
                _p(timings.first_text, 99) - _p(base.first_text, 99),
                "ms",
                added,
            ),
            Figure(
                f"reply_write_{key}_added_p99_ms",
                "  added p99 (reply write)",
                _p(timings.reply_write, 99) - _p(base.reply_write, 99),
                "ms",
                added,
            ),
        ]
    stats = result.stats_ms
    rows += [
        Figure("stats_runs", "admin /stats runs", len(stats)),
        Figure("stats_median_ms", "  median", statistics.median(stats), "ms"),
        Figure("stats_max_ms", "  max", max(stats), "ms"),
    ]
    if result.retention is not None:
        rows += [
            Figure("retention_s", "retention pass", result.retention_s, "s"),
            Figure("retention_deleted", "  messages deleted", result.deleted),
            Figure("retention_pages_freed", "  pages given back", result.pages_freed),
        ]
    rows += [
        Figure("size_before_mb", "database before", result.size_before_mb, "MB"),
        Figure("size_after_mb", "database after", result.size_after_mb, "MB"),
    ]
    if result.build_s is not None:
        rows.append(Figure("build_s", "building the database", result.build_s, "s"))
    return rows


def _p(values: list[float], q: float) -> float:
    return percentile(values, q)


def options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line's options, with the template's place and whether to build it."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument(
        "--talkers", type=int, default=50, help="chats taking a turn about every second"
    )
    parser.add_argument("--idle-days", type=float, default=30.0, help="HISTORY_RETENTION_DAYS")
    parser.add_argument("--phase-seconds", type=float, default=15.0, help="alone, then with /stats")
    parser.add_argument(
        "--template",
        help="where the built database is kept for later runs (default: the temporary folder,"
        " named by its sizes and today's date, since its times are relative to the build)",
    )
    args = parser.parse_args(argv)
    if args.template is None:
        day = time.strftime("%Y%m%d", time.gmtime())
        name = f"gpt-telegram-bot-store-{args.messages}-{args.chats}-{day}.sqlite3"
        args.template = str(Path(tempfile.gettempdir()) / name)
    args.build = not Path(args.template).exists()
    Path(args.template).parent.mkdir(parents=True, exist_ok=True)
    return args


def main() -> int:
    args = options()
    result = asyncio.run(run(args))
    print(
        f"store: {args.messages:,} messages in {args.chats:,} chats, {args.talkers} chats taking"
        f" turns alone, then with an admin's /stats back to back, then with a retention pass and"
        f" /stats every {STATS_PAUSE:g} s"
    )
    print(f"{'figure':<42}  {'value':>8}  {'target':<8}  verdict")
    missed = False
    for figure in figures(result):
        target = str(figure.target) if figure.target else ""
        print(
            f"{figure.label:<42}  {figure.shown():>8} {figure.unit:<2} {target:<8}  "
            f"{figure.verdict}"
        )
        missed = missed or figure.verdict == "MISSED"
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
