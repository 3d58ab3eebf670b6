"""What the bot's database holds, read straight from the file the way an operator would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support import query


@dataclass(frozen=True, slots=True)
class Stored:
    """One row of `messages`, as much of it as the fault tests check."""

    role: str
    content: str
    status: str
    telegram_message_id: int | None = None


async def stored_messages(path: Path, chat_id: int) -> list[Stored]:
    """Every message stored for `chat_id`, oldest first."""
    rows = await query(
        path,
        "SELECT role, content, status, telegram_message_id FROM messages"
        " WHERE chat_id = ? ORDER BY id",
        (chat_id,),
    )
    return [Stored(*row) for row in rows]


async def waiting_in_inbox(path: Path) -> list[tuple[int, int, str]]:
    """(chat id, Telegram message id, kind) of every message the inbox keeps, oldest first."""
    rows = await query(
        path, "SELECT chat_id, telegram_message_id, kind FROM inbox ORDER BY received_at, rowid"
    )
    return [(int(chat), int(message), str(kind)) for chat, message, kind in rows]


async def integrity_check(path: Path) -> list[str]:
    """SQLite's verdict on the file: `["ok"]` when sound."""
    return [row[0] for row in await query(path, "PRAGMA integrity_check")]


async def stored_eventually(
    path: Path,
    chat_id: int,
    count: int,
    within: float = 20.0,
) -> list[Stored]:
    """The messages of `chat_id` once there are at least `count` (for replies that end unseen)."""
    return await _stored_once(
        path, chat_id, lambda n: n >= count, f"at least {count} messages", within
    )


async def stored_down_to(
    path: Path,
    chat_id: int,
    count: int,
    within: float = 20.0,
) -> list[Stored]:
    """The messages of `chat_id` once there are at most `count` (history being deleted)."""
    return await _stored_once(path, chat_id, lambda n: n <= count, f"at most {count}", within)


async def _stored_once(
    path: Path, chat_id: int, enough: Callable[[int], bool], wanted: str, within: float
) -> list[Stored]:
    """The messages of `chat_id` once their number is `enough`, polled until `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        rows = await stored_messages(path, chat_id)
        if enough(len(rows)):
            return rows
        if loop.time() > deadline:
            raise AssertionError(f"{len(rows)} messages stored, not {wanted}: {rows}")
        await asyncio.sleep(0.1)
