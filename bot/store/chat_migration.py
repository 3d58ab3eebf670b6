"""Telegram's group-to-supergroup migration: moving a chat's rows, in every table, to its new id.

Not to be confused with the schema migrations (`bot/store/migrations.py`).
"""

from __future__ import annotations

import aiosqlite

from bot.store.chats import preferences_row, write_preferences
from bot.store.connection import StoreBase
from bot.store.conversations import current_conversation_id, set_current_conversation
from bot.store.records import ChatKey, StoreError

_SELECT_CHAT_THREADS = "SELECT thread_id FROM chats WHERE chat_id = ? ORDER BY thread_id"
_FORGET_TELEGRAM_IDS = "UPDATE messages SET telegram_message_id = NULL WHERE chat_id = ?"
_MOVE_CHAT = """
    UPDATE chats SET chat_id = ?, updated_at = ? WHERE chat_id = ? AND thread_id = ?
"""
_MOVE_CONVERSATIONS = """
    UPDATE conversations SET chat_id = ? WHERE chat_id = ? AND thread_id = ?
"""
_MOVE_MESSAGES_TO_CONVERSATION = "UPDATE messages SET conversation_id = ? WHERE conversation_id = ?"
_DELETE_CONVERSATION = "DELETE FROM conversations WHERE id = ?"
_DELETE_CHAT = "DELETE FROM chats WHERE chat_id = ? AND thread_id = ?"
# The group's own choice wins over one the supergroup already had, like its other settings.
_MOVE_LANGUAGE = "UPDATE OR REPLACE chat_languages SET chat_id = ? WHERE chat_id = ?"


class ChatMigrationStore(StoreBase):
    """Following a group to the supergroup it became."""

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Move every topic of a group to the id of the supergroup it became.

        If the new id already has a row for a topic (a message there was handled before the
        migration notice), the old settings win where set, the old current conversation stays
        current and takes in the messages of the new one, so the context carries on.
        """
        if old_chat_id == new_chat_id:
            return
        async with self._transaction() as now:
            # Message ids are numbered per chat: the old group's would collide with the
            # supergroup's and make new messages look like duplicates.
            await self._db.execute(_FORGET_TELEGRAM_IDS, (old_chat_id,))
            await self._db.execute(_MOVE_LANGUAGE, (new_chat_id, old_chat_id))
            threads = await self._db.execute_fetchall(_SELECT_CHAT_THREADS, (old_chat_id,))
            for (thread_id,) in list(threads):
                old, new = ChatKey(old_chat_id, thread_id), ChatKey(new_chat_id, thread_id)
                if await preferences_row(self._db, new) is not None:
                    await _merge_chat(self._db, old, new, now)
                else:
                    await self._db.execute(_MOVE_CHAT, (new_chat_id, now, old_chat_id, thread_id))


async def _merge_chat(db: aiosqlite.Connection, old: ChatKey, new: ChatKey, now: float) -> None:
    old_row = await preferences_row(db, old)
    new_row = await preferences_row(db, new)
    if old_row is None or new_row is None:
        raise StoreError(f"cannot merge {old} into {new}: a chat row is missing")
    merged = [o if o is not None else n for o, n in zip(old_row, new_row, strict=True)]
    await write_preferences(db, new, merged, now)

    kept = await current_conversation_id(db, old)
    absorbed = await current_conversation_id(db, new)
    await db.execute(_MOVE_CONVERSATIONS, (new.chat_id, old.chat_id, old.thread_id))
    if kept is not None:
        await set_current_conversation(db, new, kept, now)
        if absorbed is not None:
            await db.execute(_MOVE_MESSAGES_TO_CONVERSATION, (kept, absorbed))
            await db.execute(_DELETE_CONVERSATION, (absorbed,))
    await db.execute(_DELETE_CHAT, (old.chat_id, old.thread_id))
