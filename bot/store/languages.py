"""The `chat_languages` table: the language a chat chose for the bot's own words (/language).

Owns one value per chat id; which languages exist is bot/i18n.py's business, not checked here.
"""

from __future__ import annotations

from bot.store.connection import StoreBase, fetchone

_SELECT = "SELECT language FROM chat_languages WHERE chat_id = ?"
_UPSERT = """
    INSERT INTO chat_languages (chat_id, language, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language,
        updated_at = excluded.updated_at
"""
_DELETE = "DELETE FROM chat_languages WHERE chat_id = ?"


class ChatLanguageStore(StoreBase):
    """Reading and changing a chat's language."""

    async def chat_language(self, chat_id: int) -> str | None:
        """The language the chat chose, or None: each user's own."""
        async with self._lock:
            row = await fetchone(self._db, _SELECT, (chat_id,))
        return None if row is None else str(row[0])

    async def set_chat_language(self, chat_id: int, language: str | None) -> None:
        """Choose the chat's language; None: back to each user's own."""
        async with self._transaction() as now:
            if language is None:
                await self._db.execute(_DELETE, (chat_id,))
            else:
                await self._db.execute(_UPSERT, (chat_id, language, now))
