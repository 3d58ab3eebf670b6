"""The `inbox` table: user messages received but whose turn has not started yet.

A message waits here so that a crash before its turn cannot lose it; it leaves in the same
transaction that stores it as a message (`remove_from_inbox`, called by the conversations part),
or through `discard` when its turn will never be answered (refused once built, or the bot is
stopping). Texts wait as their text; photos, files and audio as what their handler needs to
fetch and build them again (`Received.attachment`, opaque here), an album's later photos in rows
joined to its first.
"""

from __future__ import annotations

from typing import cast, get_args

import aiosqlite

from bot.store.connection import StoreBase, fetchone
from bot.store.records import ChatKey, InboxKind, Received, StoreError

# Not when the message is already stored: a redelivered update must not come back as new. A row
# joined to another only while that one still waits: joined to a turn that has started (or was
# discarded) it would come back alone after a restart.
_INSERT_INBOX = """
    INSERT INTO inbox (chat_id, thread_id, telegram_message_id, content, user_id, sender_name,
                       kind, attachment, joined_to, received_at)
    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
    WHERE NOT EXISTS (
        SELECT 1 FROM messages
        WHERE chat_id = ? AND thread_id = ? AND telegram_message_id = ?
    ) AND (
        ? IS NULL OR EXISTS (
            SELECT 1 FROM inbox
            WHERE chat_id = ? AND thread_id = ? AND telegram_message_id = ?
        )
    )
    ON CONFLICT DO NOTHING
    RETURNING 1
"""
# A message and every row joined to it (an album's later photos) leave together.
_DELETE_INBOX = """
    DELETE FROM inbox
    WHERE chat_id = ? AND thread_id = ? AND (telegram_message_id = ? OR joined_to = ?)
"""
_SELECT_INBOX = """
    SELECT chat_id, thread_id, telegram_message_id, content, user_id, sender_name, kind,
           attachment, joined_to
    FROM inbox
    ORDER BY received_at, rowid
"""


class InboxStore(StoreBase):
    """Keeping received messages until their turn, and listing those left after a restart."""

    async def receive(
        self,
        key: ChatKey,
        content: str,
        *,
        telegram_message_id: int,
        user_id: int | None,
        sender_name: str | None = None,
        kind: InboxKind = "text",
        attachment: str | None = None,
        joined_to: int | None = None,
    ) -> bool:
        """Keep a user message that must wait for its turn, so a crash cannot lose it.

        False, keeping nothing, when it is already in the inbox or already stored, or when the
        message it is `joined_to` no longer waits.
        """
        ids = (key.chat_id, key.thread_id, telegram_message_id)
        row = (*ids, content, user_id, sender_name, kind, attachment, joined_to)
        joined = (joined_to, key.chat_id, key.thread_id, joined_to)
        async with self._transaction() as now:
            kept = await fetchone(self._db, _INSERT_INBOX, (*row, now, *ids, *joined))
        return kept is not None

    async def discard(self, key: ChatKey, telegram_message_id: int) -> None:
        """Take a message (and the rows joined to it) out of the inbox without storing it: its
        turn will never be answered. Nothing if it is not there."""
        async with self._transaction():
            await remove_from_inbox(self._db, key, telegram_message_id)

    async def inbox(self) -> list[Received]:
        """Messages received whose turn never started (the process died first), oldest first."""
        async with self._lock:
            rows = await self._db.execute_fetchall(_SELECT_INBOX)
        return [
            Received(
                ChatKey(chat_id, thread_id),
                content,
                message_id,
                user_id,
                sender_name,
                _kind(kind),
                attachment,
                joined_to,
            )
            for (
                chat_id,
                thread_id,
                message_id,
                content,
                user_id,
                sender_name,
                kind,
                attachment,
                joined_to,
            ) in rows
        ]


def _kind(value: str) -> InboxKind:
    for kind in get_args(InboxKind):
        if value == kind:
            return cast(InboxKind, kind)
    raise StoreError(f"unexpected inbox kind {value!r}")  # the schema's CHECK forbids it


async def remove_from_inbox(
    db: aiosqlite.Connection, key: ChatKey, telegram_message_id: int
) -> None:
    """Take a message, and the rows joined to it, out of the inbox (its turn has started);
    nothing if it is not there."""
    await db.execute(
        _DELETE_INBOX, (key.chat_id, key.thread_id, telegram_message_id, telegram_message_id)
    )
