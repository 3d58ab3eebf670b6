"""The `conversations` and `messages` tables: a chat's current conversation, its messages, and
the history window read back from it.

/new starts a fresh conversation; earlier ones stay stored. A user message carries its Telegram
id, so an update Telegram redelivers after a restart is recognised and stored only once.
"""

from __future__ import annotations

import aiosqlite

from bot.store.chats import ensure_chat
from bot.store.connection import StoreBase, fetchone
from bot.store.inbox import remove_from_inbox
from bot.store.records import ChatKey, ReplyStatus, Role, StoreError, Turn

# Rows fetched per page while filling the history window: most windows fit in one page.
_HISTORY_PAGE = 64
# Above every rowid SQLite hands out, so the first page starts at the newest message.
_AFTER_NEWEST = 2**63 - 1

_SELECT_CURRENT_CONVERSATION = """
    SELECT current_conversation_id FROM chats WHERE chat_id = ? AND thread_id = ?
"""
_INSERT_CONVERSATION = """
    INSERT INTO conversations (chat_id, thread_id, started_at) VALUES (?, ?, ?) RETURNING id
"""
_SET_CURRENT_CONVERSATION = """
    UPDATE chats SET current_conversation_id = ?, updated_at = ?
    WHERE chat_id = ? AND thread_id = ?
"""
_INSERT_USER_MESSAGE = """
    INSERT INTO messages (conversation_id, chat_id, thread_id, role, content, sender_name,
                          user_id, model, telegram_message_id, created_at)
    VALUES (?, ?, ?, 'user', ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
    RETURNING id
"""
_INSERT_ASSISTANT_MESSAGE = """
    INSERT INTO messages (conversation_id, chat_id, thread_id, role, content, user_id, model,
                          status, prompt_tokens, completion_tokens, usage_estimated, reasoning,
                          created_at)
    VALUES (?, ?, ?, 'assistant', ?, ?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING id
"""
# Keyset paging backwards through one conversation. INDEXED BY because the planner otherwise
# likes walking the whole table backwards by rowid, and because a schema change that loses the
# index should fail loudly rather than turn this into a full scan.
_RECENT_TURNS_PAGE = """
    SELECT id, role, content, sender_name FROM messages INDEXED BY messages_context
    WHERE conversation_id = ? AND id < ?
    ORDER BY id DESC
    LIMIT ?
"""
_HAS_REPLY_TO = """
    SELECT EXISTS (
        SELECT 1 FROM messages AS asked
        JOIN messages AS answer INDEXED BY messages_context
          ON answer.conversation_id = asked.conversation_id AND answer.id > asked.id
        WHERE asked.chat_id = ? AND asked.thread_id = ? AND asked.telegram_message_id = ?
          AND asked.role = 'user' AND answer.role = 'assistant'
    )
"""
_HAS_MESSAGE = """
    SELECT EXISTS (
        SELECT 1 FROM messages INDEXED BY messages_telegram_dedup
        WHERE chat_id = ? AND thread_id = ? AND telegram_message_id = ?
    )
"""


class ConversationStore(StoreBase):
    """Storing the turns of a chat's current conversation and reading its history window."""

    async def start_conversation(self, key: ChatKey) -> int:
        """Make a fresh, empty conversation current (/new); earlier ones stay stored."""
        async with self._transaction() as now:
            await ensure_chat(self._db, key, now)
            return await _new_conversation(self._db, key, now)

    async def add_user_message(
        self,
        key: ChatKey,
        content: str,
        *,
        telegram_message_id: int | None,
        user_id: int | None,
        sender_name: str | None = None,
        model: str | None = None,
    ) -> int | None:
        """Store a user's message in the current conversation and return its row id.

        Returns None, storing nothing, when this chat already has a message with this
        telegram_message_id: Telegram redelivers updates that were not confirmed before a restart.
        The message leaves the inbox in the same transaction.
        """
        async with self._transaction() as now:
            if telegram_message_id is not None:
                await remove_from_inbox(self._db, key, telegram_message_id)
            conversation_id = await _current_conversation(self._db, key, now)
            row = await fetchone(
                self._db,
                _INSERT_USER_MESSAGE,
                (
                    conversation_id,
                    key.chat_id,
                    key.thread_id,
                    content,
                    sender_name,
                    user_id,
                    model,
                    telegram_message_id,
                    now,
                ),
            )
        return None if row is None else int(row[0])

    async def add_assistant_message(
        self,
        key: ChatKey,
        content: str,
        *,
        model: str,
        status: ReplyStatus = "complete",
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        user_id: int | None = None,
        usage_estimated: bool = False,
        reasoning: str | None = None,
    ) -> int:
        """Store the model's reply in the current conversation and return its row id.

        `user_id` is the user who asked, so the reply's tokens count towards their usage;
        `usage_estimated` says the tokens were estimated, not reported by the upstream.
        `reasoning` is what the model thought first, kept apart: the history window
        (`recent_turns`) never reads it.
        """
        async with self._transaction() as now:
            conversation_id = await _current_conversation(self._db, key, now)
            row = await fetchone(
                self._db,
                _INSERT_ASSISTANT_MESSAGE,
                (
                    conversation_id,
                    key.chat_id,
                    key.thread_id,
                    content,
                    user_id,
                    model,
                    status,
                    prompt_tokens,
                    completion_tokens,
                    int(usage_estimated),
                    reasoning,
                    now,
                ),
            )
        assert row is not None  # a plain INSERT always yields a rowid
        return int(row[0])

    async def recent_turns(self, key: ChatKey, *, char_budget: int) -> list[Turn]:
        """The newest whole turns of the current conversation that fit `char_budget`, oldest first.

        The newest turn is always included, even when it alone is over the budget: cutting or
        refusing is the caller's decision. Only as many rows as needed are read, newest first.
        """
        newest_first: list[Turn] = []
        used = 0
        async with self._lock:
            conversation_id = await current_conversation_id(self._db, key)
            before = _AFTER_NEWEST
            while conversation_id is not None:
                page = list(
                    await self._db.execute_fetchall(
                        _RECENT_TURNS_PAGE, (conversation_id, before, _HISTORY_PAGE)
                    )
                )
                for _, role, content, sender_name in page:
                    if newest_first and used + len(content) > char_budget:
                        return newest_first[::-1]
                    newest_first.append(Turn(role_of(role), content, sender_name))
                    used += len(content)
                if len(page) < _HISTORY_PAGE:
                    break
                before = page[-1][0]
        return newest_first[::-1]

    async def has_message(self, key: ChatKey, telegram_message_id: int) -> bool:
        """Whether this chat already stores the user message with this Telegram id."""
        async with self._lock:
            row = await fetchone(
                self._db, _HAS_MESSAGE, (key.chat_id, key.thread_id, telegram_message_id)
            )
        return row is not None and bool(row[0])

    async def has_reply_to(self, key: ChatKey, telegram_message_id: int) -> bool:
        """Whether the stored user message with this Telegram id has an assistant reply after it."""
        async with self._lock:
            row = await fetchone(
                self._db, _HAS_REPLY_TO, (key.chat_id, key.thread_id, telegram_message_id)
            )
        return row is not None and bool(row[0])


async def current_conversation_id(db: aiosqlite.Connection, key: ChatKey) -> int | None:
    """The chat's current conversation; None when the chat or its conversation is missing."""
    row = await fetchone(db, _SELECT_CURRENT_CONVERSATION, (key.chat_id, key.thread_id))
    return None if row is None or row[0] is None else int(row[0])


async def set_current_conversation(
    db: aiosqlite.Connection, key: ChatKey, conversation_id: int, now: float
) -> None:
    """Make an existing conversation the chat's current one."""
    await db.execute(_SET_CURRENT_CONVERSATION, (conversation_id, now, key.chat_id, key.thread_id))


async def _new_conversation(db: aiosqlite.Connection, key: ChatKey, now: float) -> int:
    row = await fetchone(db, _INSERT_CONVERSATION, (key.chat_id, key.thread_id, now))
    assert row is not None  # a plain INSERT always yields a rowid
    conversation_id = int(row[0])
    await set_current_conversation(db, key, conversation_id, now)
    return conversation_id


async def _current_conversation(db: aiosqlite.Connection, key: ChatKey, now: float) -> int:
    """The current conversation's id, creating the chat row and a conversation if missing."""
    current = await current_conversation_id(db, key)
    if current is not None:
        return current
    await ensure_chat(db, key, now)
    return await _new_conversation(db, key, now)


def role_of(value: str) -> Role:
    """A stored message's role, typed."""
    if value == "user":
        return "user"
    if value == "assistant":
        return "assistant"
    raise StoreError(f"unexpected message role {value!r}")  # the schema's CHECK forbids it
