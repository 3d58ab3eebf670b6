"""The `inbox` table: user messages received but whose turn has not started yet.

A message waits here so that a crash before its turn cannot lose it; it leaves in the same
transaction that stores it as a message (`remove_from_inbox`, called by the conversations part).
"""

from __future__ import annotations

import aiosqlite

from bot.store.connection import StoreBase
from bot.store.records import ChatKey, Received

# Not when the message is already stored: a redelivered update must not come back as new.
_INSERT_INBOX = """
    INSERT INTO inbox (chat_id, thread_id, telegram_message_id, content, user_id, sender_name,
                       received_at)
    SELECT ?, ?, ?, ?, ?, ?, ?
    WHERE NOT EXISTS (
        SELECT 1 FROM messages
        WHERE chat_id = ? AND thread_id = ? AND telegram_message_id = ?
    )
    ON CONFLICT DO NOTHING
"""
_DELETE_INBOX = """
    DELETE FROM inbox WHERE chat_id = ? AND thread_id = ? AND telegram_message_id = ?
"""
_SELECT_INBOX = """
    SELECT chat_id, thread_id, telegram_message_id, content, user_id, sender_name FROM inbox
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
    ) -> bool:
        """Keep a user message that must wait for its turn, so a crash cannot lose it.

        False, keeping nothing, when it is already in the inbox or already stored.
        """
        ids = (key.chat_id, key.thread_id, telegram_message_id)
        async with (
            self._transaction() as now,
            self._db.execute(
                _INSERT_INBOX, (*ids, content, user_id, sender_name, now, *ids)
            ) as cursor,
        ):
            return cursor.rowcount == 1

    async def inbox(self) -> list[Received]:
        """Messages received whose turn never started (the process died first), oldest first."""
        async with self._lock:
            rows = await self._db.execute_fetchall(_SELECT_INBOX)
        return [
            Received(ChatKey(chat_id, thread_id), content, message_id, user_id, sender_name)
            for chat_id, thread_id, message_id, content, user_id, sender_name in rows
        ]


async def remove_from_inbox(
    db: aiosqlite.Connection, key: ChatKey, telegram_message_id: int
) -> None:
    """Take a message out of the inbox (its turn has started); nothing if it is not there."""
    await db.execute(_DELETE_INBOX, (key.chat_id, key.thread_id, telegram_message_id))
