"""A chat's conversations as a user comes back to them: listing them, making one current again,
answering the latest question again (/retry, its text edited), and reading them for an export.

The listing and the export read on the read connection (a chat may have thousands of
conversations, an export megabytes of text: no turn waits for them). Switching and answering
again write on the writer; the conversation service runs them in the chat's queue, so they keep
their order with the chat's turns.

An answer taken out of the history (answered again) is deleted, its usage added to
`usage_archive` for its UTC day (usage.py), so /stats and the quotas still count what it cost;
answering again counts as one message of whoever asked for it, like a question.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiosqlite

from bot.store.connection import StoreBase, fetchone
from bot.store.conversations import (
    current_conversation_id,
    role_of,
    set_current_conversation,
)
from bot.store.records import (
    ChatKey,
    ConversationPage,
    ConversationSummary,
    Export,
    LatestQuestion,
    NotAgain,
    ReplyStatus,
    StoredConversation,
    StoredMessage,
    StoreError,
)
from bot.store.usage import ARCHIVE_BY_DAY, COUNT_MESSAGE_BY_DAY

# Characters of a conversation's first question read for its title.
FIRST_QUESTION_CHARS = 200
# Messages read per page while exporting.
_EXPORT_PAGE = 256

# The columns of a ConversationSummary (but `current`) for conversation `c`, whose newest
# message id is `newest`.
_SUMMARY = f"""
    c.id,
    COALESCE((
        SELECT substr(content, 1, {FIRST_QUESTION_CHARS}) FROM messages INDEXED BY messages_context
        WHERE conversation_id = c.id AND role = 'user' ORDER BY id LIMIT 1
    ), ''),
    c.started_at,
    COALESCE((SELECT created_at FROM messages WHERE id = newest), c.started_at),
    (
        SELECT COUNT(*) FROM messages INDEXED BY messages_context
        WHERE conversation_id = c.id AND role = 'user'
    )
"""
# A chat's conversations with their newest message id; most recently active first.
_ACTIVE = """
    SELECT c.id AS id, (
        SELECT MAX(id) FROM messages INDEXED BY messages_context WHERE conversation_id = c.id
    ) AS newest
    FROM conversations AS c INDEXED BY conversations_chat
    WHERE c.chat_id = ? AND c.thread_id = ?
"""
# One page of them (the summaries computed for that page only).
_PAGE = f"""
    SELECT {_SUMMARY}
    FROM (
        SELECT id, newest FROM ({_ACTIVE}) WHERE newest IS NOT NULL
        ORDER BY newest DESC LIMIT ? OFFSET ?
    ) AS page
    JOIN conversations AS c ON c.id = page.id
    ORDER BY newest DESC
"""
_COUNT = f"SELECT COUNT(*) FROM ({_ACTIVE}) WHERE newest IS NOT NULL"
# One of them by id (the id twice), if it is this chat's.
_ONE = f"""
    SELECT {_SUMMARY}
    FROM conversations AS c
    JOIN (
        SELECT MAX(id) AS newest FROM messages INDEXED BY messages_context
        WHERE conversation_id = ?
    )
    WHERE c.id = ? AND c.chat_id = ? AND c.thread_id = ?
"""
_CURRENT_HAS_MESSAGES = """
    SELECT EXISTS (
        SELECT 1 FROM chats JOIN messages INDEXED BY messages_context
          ON messages.conversation_id = chats.current_conversation_id
        WHERE chats.chat_id = ? AND chats.thread_id = ?
    )
"""
_DELETE_IF_EMPTY = """
    DELETE FROM conversations AS c
    WHERE c.id = ? AND NOT EXISTS (
        SELECT 1 FROM messages INDEXED BY messages_context WHERE conversation_id = c.id
    )
"""
_LATEST_QUESTION = """
    SELECT id, telegram_message_id, content, user_id FROM messages INDEXED BY messages_context
    WHERE conversation_id = ? AND role = 'user'
    ORDER BY id DESC LIMIT 1
"""
# What follows the latest question: only its answers (there is no later question).
_AFTER = "conversation_id = ? AND id > ?"
_ARCHIVE_AFTER = ARCHIVE_BY_DAY.format(selection=f"INDEXED BY messages_context WHERE {_AFTER}")
_DELETE_AFTER = f"DELETE FROM messages WHERE {_AFTER}"
_SET_CONTENT = "UPDATE messages SET content = ? WHERE id = ?"
# The columns an export reads, as StoredMessage names them (a column added to messages that an
# export should show is one more name here).
_EXPORT_COLUMNS = ("role", "content", "reasoning", "sender_name", "model", "status", "created_at")
_EXPORT_MESSAGES = f"""
    SELECT id, {", ".join(_EXPORT_COLUMNS)}
    FROM messages INDEXED BY messages_context
    WHERE conversation_id = ? AND id > ?
    ORDER BY id
    LIMIT ?
"""


class HistoryStore(StoreBase):
    """Listing, resuming, answering again and exporting a chat's conversations."""

    async def conversation_page(self, key: ChatKey, *, page: int, size: int) -> ConversationPage:
        """Page `page` (from 0) of the chat's conversations that have messages, `size` to a
        page, most recently active first."""
        if page < 0 or size < 1:
            raise ValueError(f"no page {page} of size {size}")
        async with self._background:
            current = await current_conversation_id(self._reader, key)
            rows = await self._reader.execute_fetchall(
                _PAGE, (key.chat_id, key.thread_id, size, page * size)
            )
            total = await fetchone(self._reader, _COUNT, (key.chat_id, key.thread_id))
            has_messages = await fetchone(
                self._reader, _CURRENT_HAS_MESSAGES, (key.chat_id, key.thread_id)
            )
        return ConversationPage(
            tuple(_summary(row, current) for row in rows),
            0 if total is None else int(total[0]),
            has_messages is None or not has_messages[0],
        )

    async def conversation(self, key: ChatKey, conversation_id: int) -> ConversationSummary | None:
        """One conversation of this chat; None when it has none by that id (any more)."""
        async with self._lock:
            return await _one(self._db, key, conversation_id)

    async def resume_conversation(
        self, key: ChatKey, conversation_id: int
    ) -> ConversationSummary | None:
        """Make an earlier conversation of this chat its current one again: the next turn
        continues it. A current conversation left without a message is deleted (it would never
        be listed). None, changing nothing, when the chat has no such conversation."""
        async with self._transaction() as now:
            if await _one(self._db, key, conversation_id) is None:
                return None
            left = await current_conversation_id(self._db, key)
            if left != conversation_id:
                await set_current_conversation(self._db, key, conversation_id, now)
                if left is not None:
                    await self._db.execute(_DELETE_IF_EMPTY, (left,))
            return await _one(self._db, key, conversation_id)

    async def answer_again(
        self,
        key: ChatKey,
        *,
        requested_by: int | None,
        question: int | None = None,
        text: str | None = None,
        asked_by: int | None = None,
    ) -> LatestQuestion | NotAgain:
        """Take the answers to the current conversation's latest question out of the history,
        so the next reply answers it again; with `text`, the question now says that.

        `question`: only if the latest question is the user message with this Telegram id (an
        edit); `asked_by`: only if that user asked it (/retry by someone who is no admin).
        The answers' usage is archived, and the request counts as one message of
        `requested_by`. Otherwise, changing nothing, why not.
        """
        async with self._transaction() as now:
            conversation_id = await current_conversation_id(self._db, key)
            row = None
            if conversation_id is not None:
                row = await fetchone(self._db, _LATEST_QUESTION, (conversation_id,))
            if conversation_id is None or row is None:
                return "no question"
            row_id, telegram_message_id, content, user_id = row
            if question is not None and telegram_message_id != question:
                return "not latest"
            if asked_by is not None and user_id != asked_by:
                return "not asker"
            if text is not None and text != content:
                await self._db.execute(_SET_CONTENT, (text, row_id))
            after = (conversation_id, row_id)
            await self._db.execute(_ARCHIVE_AFTER, after)
            async with self._db.execute(_DELETE_AFTER, after) as cursor:
                replaced = cursor.rowcount
            if requested_by is not None:
                await self._db.execute(COUNT_MESSAGE_BY_DAY, (requested_by, now))
        return LatestQuestion(content if text is None else text, replaced)

    async def export(self, key: ChatKey, *, everything: bool, max_chars: int) -> Export:
        """The chat's current conversation (`everything`: all its conversations, most recently
        active first), each with its messages oldest first, read until their text passes
        `max_chars` characters; nothing more is read after that."""
        conversations: list[StoredConversation] = []
        used = 0
        async with self._background:
            current = await current_conversation_id(self._reader, key)
            if everything:
                rows = await self._reader.execute_fetchall(
                    _PAGE, (key.chat_id, key.thread_id, -1, 0)
                )
                summaries = [_summary(row, current) for row in rows]
            else:
                one = None if current is None else await _one(self._reader, key, current)
                summaries = [] if one is None else [one]
            for summary in summaries:
                messages, used = await _messages(self._reader, summary.id, used, max_chars)
                if messages:
                    conversations.append(StoredConversation(summary, tuple(messages)))
                if used > max_chars:
                    return Export(tuple(conversations), complete=False)
        return Export(tuple(conversations), complete=True)


async def _one(
    db: aiosqlite.Connection, key: ChatKey, conversation_id: int
) -> ConversationSummary | None:
    row = await fetchone(db, _ONE, (conversation_id, conversation_id, key.chat_id, key.thread_id))
    if row is None:
        return None
    current = await current_conversation_id(db, key)
    return _summary(row, current)


def _summary(row: Iterable[Any], current: int | None) -> ConversationSummary:
    conversation_id, first_question, started_at, last_message_at, turns = row
    return ConversationSummary(
        int(conversation_id),
        str(first_question),
        float(started_at),
        float(last_message_at),
        int(turns),
        conversation_id == current,
    )


async def _messages(
    db: aiosqlite.Connection, conversation_id: int, used: int, max_chars: int
) -> tuple[list[StoredMessage], int]:
    """The conversation's messages, oldest first, until the characters `used` so far pass
    `max_chars`; and the characters used then."""
    messages: list[StoredMessage] = []
    after = 0
    while used <= max_chars:
        page = list(
            await db.execute_fetchall(_EXPORT_MESSAGES, (conversation_id, after, _EXPORT_PAGE))
        )
        for row_id, *values in page:
            fields = dict(zip(_EXPORT_COLUMNS, values, strict=True))
            fields["role"], fields["status"] = role_of(fields["role"]), _status(fields["status"])
            message = StoredMessage(**fields)
            messages.append(message)
            used += len(message.content) + len(message.reasoning or "")
            after = row_id
            if used > max_chars:
                break
        if len(page) < _EXPORT_PAGE:
            break
    return messages, used


def _status(value: str) -> ReplyStatus:
    if value == "complete":
        return "complete"
    if value == "interrupted":
        return "interrupted"
    if value == "stopped":
        return "stopped"
    raise StoreError(f"unexpected reply status {value!r}")  # the schema's CHECK forbids it
