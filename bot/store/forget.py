"""Forgetting a chat (/forget): every message, conversation, setting and waiting message of one
chat or forum topic deleted, so that nothing of its text remains in the database file. The
chat's /language choice is the whole chat's: it goes with thread 0 (the chat itself, or a
forum's General topic), not with another topic.

Usage outlives the text, as with history retention: before a message is deleted, what it counts
towards — its user's messages and tokens — is added to that user's `usage_archive` row for its
UTC day (usage.py), so the quotas and /stats are unchanged. Those rows hold a user id, a day and
counts: no chat, no text.

Messages go a batch at a time (DELETE_BATCH per transaction) so that other chats' turns go in
between; the conversations, the chat's row and its waiting messages (the inbox) go in a last
transaction. The conversation service runs this in the chat's queue, so no turn of the chat runs
meanwhile; messages queued behind it (sent after /forget was confirmed) are named in
`keep_waiting` and stay in the inbox, to be answered.

Deleted text must not stay in the file: the writer runs with `PRAGMA secure_delete`
(connection.py), so SQLite overwrites deleted rows, and pages left empty, with zeros. Copies of
the pages as they were before stay in the write-ahead log until it is recycled, so the log is
copied into the file and truncated to nothing afterwards; pages left free are given back to the
file system (incremental auto-vacuum, as retention does).
"""

from __future__ import annotations

import logging

from bot.store.connection import fetchone
from bot.store.records import ChatForgotten, ChatKey
from bot.store.retention import DELETE_BATCH, RetentionStore
from bot.store.usage import ARCHIVE_BY_DAY

log = logging.getLogger(__name__)

# The chat's messages, at most `?` of them (the chat id, thread id, then the limit).
_BATCH = """
    SELECT m.id FROM conversations AS c INDEXED BY conversations_chat
    JOIN messages AS m INDEXED BY messages_context ON m.conversation_id = c.id
    WHERE c.chat_id = ? AND c.thread_id = ?
    LIMIT ?
"""
_ARCHIVE_BATCH = ARCHIVE_BY_DAY.format(selection=f"WHERE id IN ({_BATCH})")
_DELETE_BATCH = f"DELETE FROM messages WHERE id IN ({_BATCH})"
_DELETE_CONVERSATIONS = "DELETE FROM conversations WHERE chat_id = ? AND thread_id = ?"
_HAS_SETTINGS = """
    SELECT COALESCE(model, voice, temperature, top_p, presence_penalty, frequency_penalty,
                    system_prompt) IS NOT NULL
    FROM chats WHERE chat_id = ? AND thread_id = ?
"""
_DELETE_CHAT = "DELETE FROM chats WHERE chat_id = ? AND thread_id = ?"
# The chat's /language choice (languages.py) is the whole chat's: it goes with the chat itself
# (thread 0), not with one of a forum's other topics.
_DELETE_LANGUAGE = "DELETE FROM chat_languages WHERE chat_id = ?"
_WAITING = """
    SELECT telegram_message_id, joined_to FROM inbox WHERE chat_id = ? AND thread_id = ?
"""
_DELETE_WAITING = """
    DELETE FROM inbox WHERE chat_id = ? AND thread_id = ? AND telegram_message_id = ?
"""


class ForgetStore(RetentionStore):
    """Deleting everything stored of one chat."""

    async def forget_chat(
        self, key: ChatKey, *, keep_waiting: frozenset[int] = frozenset()
    ) -> ChatForgotten:
        """Delete the chat's messages, conversations, settings and waiting messages (but those
        in `keep_waiting`, by Telegram id, and the rows joined to them), archiving their usage;
        then make sure the deleted text is gone from the file. What was deleted."""
        ids = (key.chat_id, key.thread_id)
        messages = 0
        while True:
            async with self._transaction():
                await self._db.execute(_ARCHIVE_BATCH, (*ids, DELETE_BATCH))
                async with self._db.execute(_DELETE_BATCH, (*ids, DELETE_BATCH)) as cursor:
                    deleted = cursor.rowcount
            messages += deleted
            if deleted < DELETE_BATCH:
                break
        async with self._transaction():
            # Whatever a batch could not have seen (nothing, while the chat's queue holds).
            await self._db.execute(_ARCHIVE_BATCH, (*ids, -1))
            async with self._db.execute(_DELETE_BATCH, (*ids, -1)) as cursor:
                messages += cursor.rowcount
            async with self._db.execute(_DELETE_CONVERSATIONS, ids) as cursor:
                conversations = cursor.rowcount
            settings = await fetchone(self._db, _HAS_SETTINGS, ids)
            await self._db.execute(_DELETE_CHAT, ids)
            language = 0
            if key.thread_id == 0:
                async with self._db.execute(_DELETE_LANGUAGE, (key.chat_id,)) as cursor:
                    language = cursor.rowcount
            waiting = 0
            for message_id, joined_to in await self._db.execute_fetchall(_WAITING, ids):
                if message_id in keep_waiting or joined_to in keep_waiting:
                    continue
                await self._db.execute(_DELETE_WAITING, (*ids, message_id))
                waiting += joined_to is None
        await self._give_back_space()
        await self._empty_the_log()
        had_settings = bool(settings and settings[0]) or language > 0
        return ChatForgotten(conversations, messages, had_settings, waiting)

    async def _empty_the_log(self) -> None:
        """Copy the write-ahead log into the file and truncate it, so the copies it holds of
        pages as they were before the deletion are gone. Nothing reads on the reader meanwhile
        (`_background`), so only a turn's write can be in the way: SQLite waits for it."""
        async with self._background:
            if not await self._checkpointer.truncate():
                log.warning("the database log could not be emptied now; SQLite reuses it later")
