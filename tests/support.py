"""Small test doubles that several test modules share: a clock moved by hand, a reply sink.

Fixtures built on them (`clock`, `store`, `service`, ...) are in `tests/conftest.py`; the fake
Telegram and the fake upstream are in `tests/fakes/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings

# 2026-03-14 21:40:00 UTC: a real wall-clock instant, so UTC days and months mean something,
# 2 h 20 min before midnight, so a test can move on by minutes without reaching the next day.
EVENING = datetime(2026, 3, 14, 21, 40, tzinfo=UTC).timestamp()


@dataclass
class FakeClock:
    """A clock the test moves by hand (`clock.now += 30`), for code that takes a `clock`
    callable (time.time or time.monotonic). With `tick`, each reading first moves it on by
    that many seconds."""

    now: float = EVENING
    tick: float = 0.0

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


class RecordingSink:
    """A reply sink (the protocol `ConversationService` writes into) that remembers what it was
    given: the calls in order, every text shown, the final text and its notice, and whether the
    turn closed it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.started = False
        self.updates: list[str] = []
        self.final: str | None = None
        self.notice: str | None = None
        self.first_update = asyncio.Event()
        self.closed = False  # close() is not among `calls`: every turn ends with it

    async def start(self) -> None:
        self.calls.append("start")
        self.started = True

    async def update(self, text: str) -> None:
        self.calls.append("update")
        self.updates.append(text)
        self.first_update.set()

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        self.calls.append("finish")
        self.final = text
        self.notice = notice

    async def close(self) -> None:
        self.closed = True


def marker_kwargs(request: pytest.FixtureRequest, name: str) -> dict[str, Any] | None:
    """The keyword arguments of the test's closest `name` marker; None when it has none."""
    node: pytest.Item = request.node
    marker = node.get_closest_marker(name)
    return None if marker is None else dict(marker.kwargs)


def settings_from(**values: Any) -> Settings:
    """Settings as the bot loads them at startup (errors as users read them), from `values` and
    the environment but no .env file; a token and a database path unless given."""
    defaults: dict[str, Any] = {"telegram_bot_token": "1:test", "database_path": Path("unused")}
    return load_settings(_env_file=None, **(defaults | values))


def run_sql(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a database file through a second, plain connection, as an
    operator's sqlite3 shell would, and commit it; the rows it gave (`query` runs it off the
    event loop)."""
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        return [tuple(row) for row in connection.execute(sql, parameters)]


async def query(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return await asyncio.to_thread(run_sql, path, sql, parameters)
