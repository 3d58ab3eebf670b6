"""ChatStore: the bot's memory in SQLite — chats and their settings, conversations, messages, usage.

Owns every SQL statement of the project and the migrations runner; the schema itself lives only in
`migrations/NNNN_name.sql`. It knows nothing of Telegram or of the upstream API: callers hand in
plain ids and text. Nothing here takes the bot token, and no table has a place for it.

One aiosqlite connection (one worker thread) serves the whole bot. An asyncio.Lock is held for
each whole operation, so the statements of one coroutine's transaction never interleave with
another's on that shared connection; writes that span several statements run inside
BEGIN IMMEDIATE ... COMMIT. Times are unix seconds (REAL, UTC) everywhere.

The database file is created with mode 0600 (its -wal and -shm files inherit that mode from
SQLite), and its folder, when this creates it, 0700. An existing file or folder keeps its mode:
the operator may have chosen it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiosqlite

Role = Literal["user", "assistant"]
ReplyStatus = Literal["complete", "interrupted", "stopped"]
Clock = Callable[[], float]

# The repository's migrations/ folder; the bot runs from a checkout (or a copy of one in Docker).
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

BUSY_TIMEOUT_MS = 5_000
# Rows fetched per page while filling the history window: most windows fit in one page.
_HISTORY_PAGE = 64
# Above every rowid SQLite hands out, so the first page starts at the newest message.
_AFTER_NEWEST = 2**63 - 1

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Statements that would end or nest the transaction the runner wraps around each file.
_TRANSACTION_KEYWORDS = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK"})


@dataclass(frozen=True, slots=True)
class ChatKey:
    """One conversation place: a chat, or one forum topic of it (thread_id 0 = no topic)."""

    chat_id: int
    thread_id: int = 0


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """A chat's own choices; None means "use the bot's default"."""

    model: str | None = None
    voice: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    system_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One stored message of the context window, as the upstream will see it."""

    role: Role
    content: str
    sender_name: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """A user message in the inbox: received from Telegram, its turn not yet started."""

    key: ChatKey
    content: str
    telegram_message_id: int
    user_id: int | None = None
    sender_name: str | None = None


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Messages a user sent, and the tokens spent answering them."""

    messages: int
    prompt_tokens: int
    completion_tokens: int
    # Replies whose tokens were estimated from characters because the upstream sent no usage.
    estimated_replies: int = 0

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class StorePragmas:
    """The connection settings in force, as SQLite reports them (for `check` and tests)."""

    journal_mode: str
    foreign_keys: bool
    synchronous: int
    busy_timeout_ms: int


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file, read and split into statements."""

    number: int
    path: Path
    statements: tuple[str, ...]


class StoreError(Exception):
    """The database cannot be used as this code expects."""


class MigrationError(StoreError):
    """The migrations folder is malformed or a migration failed (and was rolled back)."""


_SETTING_NAMES = tuple(field.name for field in dataclasses.fields(ChatSettings))
_FLOAT_SETTINGS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})

_INSERT_CHAT = """
    INSERT INTO chats (chat_id, thread_id, created_at, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
_SELECT_SETTINGS = """
    SELECT model, voice, temperature, top_p, presence_penalty, frequency_penalty, system_prompt
    FROM chats WHERE chat_id = ? AND thread_id = ?
"""
_UPDATE_SETTINGS = """
    UPDATE chats
    SET model = ?, voice = ?, temperature = ?, top_p = ?, presence_penalty = ?,
        frequency_penalty = ?, system_prompt = ?, updated_at = ?
    WHERE chat_id = ? AND thread_id = ?
"""
_SELECT_CURRENT_CONVERSATION = """
    SELECT current_conversation_id FROM chats WHERE chat_id = ? AND thread_id = ?
"""
_INSERT_CONVERSATION = """
    INSERT INTO conversations (chat_id, thread_id, started_at) VALUES (?, ?, ?)
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
"""
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
_INSERT_ASSISTANT_MESSAGE = """
    INSERT INTO messages (conversation_id, chat_id, thread_id, role, content, user_id, model,
                          status, prompt_tokens, completion_tokens, usage_estimated, created_at)
    VALUES (?, ?, ?, 'assistant', ?, ?, ?, ?, ?, ?, ?, ?)
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
_USAGE = """
    SELECT COALESCE(SUM(role = 'user'), 0), COALESCE(SUM(prompt_tokens), 0),
           COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(usage_estimated), 0)
    FROM messages
    WHERE user_id = ? AND created_at >= ?
"""
# {order} is one of _TOP_USERS_ORDER's values, never user input.
_TOP_USERS = """
    SELECT user_id, SUM(role = 'user') AS sent, COALESCE(SUM(prompt_tokens), 0) AS prompt,
           COALESCE(SUM(completion_tokens), 0) AS completion, SUM(usage_estimated)
    FROM messages INDEXED BY messages_period
    WHERE created_at >= ? AND user_id IS NOT NULL
    GROUP BY user_id
    ORDER BY {order}, user_id
    LIMIT ?
"""
_TOP_USERS_ORDER = {
    "messages": "sent DESC, prompt + completion DESC",
    "tokens": "prompt + completion DESC, sent DESC",
}


class ChatStore:
    """History, per-chat settings and usage of the bot, in one SQLite file."""

    def __init__(self, db: aiosqlite.Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        migrations_dir: Path | None = None,
        clock: Clock = time.time,
    ) -> ChatStore:
        """Open the database (creating it and its folder if needed) and migrate it to the latest."""
        path = Path(path)
        migrations = await asyncio.to_thread(
            load_migrations, migrations_dir or DEFAULT_MIGRATIONS_DIR
        )
        await asyncio.to_thread(_create_private_file, path)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await _configure(db, path)
            await _migrate(db, migrations)
        except BaseException:
            await db.close()
            raise
        return cls(db, clock)

    async def close(self) -> None:
        """Close the connection; the store cannot be used afterwards. Closing twice is harmless."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                # Recommended before closing a long-lived connection: refreshes planner statistics.
                await self._db.execute("PRAGMA optimize")
            await self._db.close()

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self._lock:
            return await _user_version(self._db)

    async def pragmas(self) -> StorePragmas:
        """The connection settings SQLite reports as in force."""
        async with self._lock:
            journal_mode = await _pragma(self._db, "journal_mode")
            foreign_keys = await _pragma(self._db, "foreign_keys")
            synchronous = await _pragma(self._db, "synchronous")
            busy_timeout = await _pragma(self._db, "busy_timeout")
        return StorePragmas(
            str(journal_mode), bool(foreign_keys), int(synchronous), int(busy_timeout)
        )

    async def integrity_ok(self) -> bool:
        """Whether SQLite finds the file sound and no row breaks a foreign key."""
        async with self._lock:
            integrity = await self._db.execute_fetchall("PRAGMA integrity_check")
            broken_keys = await self._db.execute_fetchall("PRAGMA foreign_key_check")
        return [tuple(row) for row in integrity] == [("ok",)] and not list(broken_keys)

    async def settings(self, key: ChatKey) -> ChatSettings:
        """The chat's settings; all defaults for a chat never seen (no row is created)."""
        async with self._lock:
            row = await _fetchone(self._db, _SELECT_SETTINGS, (key.chat_id, key.thread_id))
        return ChatSettings() if row is None else ChatSettings(*row)

    async def update_settings(self, key: ChatKey, **changes: object) -> ChatSettings:
        """Change some settings (None resets one to the default) and return them all."""
        checked: dict[str, Any] = {
            name: _checked_setting(name, value) for name, value in changes.items()
        }
        async with self._transaction() as now:
            await self._ensure_chat(key, now)
            row = await _fetchone(self._db, _SELECT_SETTINGS, (key.chat_id, key.thread_id))
            assert row is not None  # _ensure_chat just made sure of it
            updated = dataclasses.replace(ChatSettings(*row), **checked)
            values = [getattr(updated, name) for name in _SETTING_NAMES]
            await self._db.execute(_UPDATE_SETTINGS, (*values, now, key.chat_id, key.thread_id))
        return updated

    async def start_conversation(self, key: ChatKey) -> int:
        """Make a fresh, empty conversation current (/new); earlier ones stay stored."""
        async with self._transaction() as now:
            await self._ensure_chat(key, now)
            return await self._new_conversation(key, now)

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
                await self._db.execute(
                    _DELETE_INBOX, (key.chat_id, key.thread_id, telegram_message_id)
                )
            conversation_id = await self._current_conversation(key, now)
            async with self._db.execute(
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
            ) as cursor:
                return cursor.lastrowid if cursor.rowcount == 1 else None

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
    ) -> int:
        """Store the model's reply in the current conversation and return its row id.

        `user_id` is the user who asked, so the reply's tokens count towards their usage;
        `usage_estimated` says the tokens were estimated, not reported by the upstream.
        """
        async with self._transaction() as now:
            conversation_id = await self._current_conversation(key, now)
            async with self._db.execute(
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
                    now,
                ),
            ) as cursor:
                row_id = cursor.lastrowid
        assert row_id is not None  # a plain INSERT always yields a rowid
        return row_id

    async def recent_turns(self, key: ChatKey, *, char_budget: int) -> list[Turn]:
        """The newest whole turns of the current conversation that fit `char_budget`, oldest first.

        The newest turn is always included, even when it alone is over the budget: cutting or
        refusing is the caller's decision. Only as many rows as needed are read, newest first.
        """
        newest_first: list[Turn] = []
        used = 0
        async with self._lock:
            row = await _fetchone(
                self._db, _SELECT_CURRENT_CONVERSATION, (key.chat_id, key.thread_id)
            )
            conversation_id = None if row is None else row[0]
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
                    newest_first.append(Turn(_role(role), content, sender_name))
                    used += len(content)
                if len(page) < _HISTORY_PAGE:
                    break
                before = page[-1][0]
        return newest_first[::-1]

    async def has_message(self, key: ChatKey, telegram_message_id: int) -> bool:
        """Whether this chat already stores the user message with this Telegram id."""
        async with self._lock:
            row = await _fetchone(
                self._db, _HAS_MESSAGE, (key.chat_id, key.thread_id, telegram_message_id)
            )
        return row is not None and bool(row[0])

    async def has_reply_to(self, key: ChatKey, telegram_message_id: int) -> bool:
        """Whether the stored user message with this Telegram id has an assistant reply after it."""
        async with self._lock:
            row = await _fetchone(
                self._db, _HAS_REPLY_TO, (key.chat_id, key.thread_id, telegram_message_id)
            )
        return row is not None and bool(row[0])

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
            threads = await self._db.execute_fetchall(_SELECT_CHAT_THREADS, (old_chat_id,))
            for (thread_id,) in list(threads):
                old, new = ChatKey(old_chat_id, thread_id), ChatKey(new_chat_id, thread_id)
                existing = await _fetchone(self._db, _SELECT_SETTINGS, (new.chat_id, new.thread_id))
                if existing is not None:
                    await self._merge_chat(old, new, now)
                else:
                    await self._db.execute(_MOVE_CHAT, (new_chat_id, now, old_chat_id, thread_id))

    async def usage(self, user_id: int, *, since: float | None = None) -> UsageTotals:
        """A user's messages and the tokens of the replies to them, since a unix time."""
        async with self._lock:
            row = await _fetchone(self._db, _USAGE, (user_id, _since(since)))
        assert row is not None  # an aggregate always yields one row
        return UsageTotals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    async def top_users(
        self,
        *,
        since: float | None,
        limit: int = 10,
        by: Literal["messages", "tokens"] = "messages",
    ) -> list[tuple[int, UsageTotals]]:
        """The users who sent the most messages (`by="tokens"`: spent the most tokens) since a
        unix time; ties go to the other measure, then to the lower id."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        sql = _TOP_USERS.format(order=_TOP_USERS_ORDER[by])
        async with self._lock:
            rows = await self._db.execute_fetchall(sql, (_since(since), limit))
        return [
            (int(user_id), UsageTotals(int(sent), int(prompt), int(completion), int(estimated)))
            for user_id, sent, prompt, completion, estimated in rows
        ]

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[float]:
        """Hold the connection for one write transaction; yields the time to stamp rows with."""
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._clock()
                await self._db.execute("COMMIT")
            except BaseException:
                await _rollback(self._db)
                raise

    async def _ensure_chat(self, key: ChatKey, now: float) -> None:
        await self._db.execute(_INSERT_CHAT, (key.chat_id, key.thread_id, now, now))

    async def _new_conversation(self, key: ChatKey, now: float) -> int:
        async with self._db.execute(
            _INSERT_CONVERSATION, (key.chat_id, key.thread_id, now)
        ) as cursor:
            conversation_id = cursor.lastrowid
        assert conversation_id is not None  # a plain INSERT always yields a rowid
        await self._db.execute(
            _SET_CURRENT_CONVERSATION, (conversation_id, now, key.chat_id, key.thread_id)
        )
        return conversation_id

    async def _current_conversation(self, key: ChatKey, now: float) -> int:
        """The current conversation's id, creating the chat row and a conversation if missing."""
        await self._ensure_chat(key, now)
        current = await self._current_conversation_id(key)
        return current if current is not None else await self._new_conversation(key, now)

    async def _current_conversation_id(self, key: ChatKey) -> int | None:
        row = await _fetchone(self._db, _SELECT_CURRENT_CONVERSATION, (key.chat_id, key.thread_id))
        return None if row is None or row[0] is None else int(row[0])

    async def _merge_chat(self, old: ChatKey, new: ChatKey, now: float) -> None:
        old_row = await _fetchone(self._db, _SELECT_SETTINGS, (old.chat_id, old.thread_id))
        new_row = await _fetchone(self._db, _SELECT_SETTINGS, (new.chat_id, new.thread_id))
        if old_row is None or new_row is None:
            raise StoreError(f"cannot merge {old} into {new}: a chat row is missing")
        merged = [o if o is not None else n for o, n in zip(old_row, new_row, strict=True)]
        await self._db.execute(_UPDATE_SETTINGS, (*merged, now, new.chat_id, new.thread_id))

        kept = await self._current_conversation_id(old)
        absorbed = await self._current_conversation_id(new)
        await self._db.execute(_MOVE_CONVERSATIONS, (new.chat_id, old.chat_id, old.thread_id))
        if kept is not None:
            await self._db.execute(
                _SET_CURRENT_CONVERSATION, (kept, now, new.chat_id, new.thread_id)
            )
            if absorbed is not None:
                await self._db.execute(_MOVE_MESSAGES_TO_CONVERSATION, (kept, absorbed))
                await self._db.execute(_DELETE_CONVERSATION, (absorbed,))
        await self._db.execute(_DELETE_CHAT, (old.chat_id, old.thread_id))


def load_migrations(migrations_dir: Path) -> list[Migration]:
    """Read `NNNN_name.sql` files, refusing gaps, duplicates, odd names and transaction control.

    Blocking (reads files): call it in a thread from async code.
    """
    if not migrations_dir.is_dir():
        raise MigrationError(f"migrations folder {migrations_dir} does not exist")
    by_number: dict[int, Path] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration {path.name}: name must look like 0001_initial.sql")
        number = int(match.group(1))
        if number in by_number:
            raise MigrationError(
                f"migrations {by_number[number].name} and {path.name} share number {number:04d}"
            )
        by_number[number] = path
    if not by_number:
        raise MigrationError(f"no migrations (NNNN_name.sql) in {migrations_dir}")
    migrations = []
    for expected, number in enumerate(sorted(by_number), start=1):
        path = by_number[number]
        if number != expected:
            raise MigrationError(
                f"migration {path.name}: numbers must run from 0001 without gaps,"
                f" expected {expected:04d}"
            )
        statements = split_statements(path.read_text(encoding="utf-8"))
        for statement in statements:
            if _first_keyword(statement) in _TRANSACTION_KEYWORDS:
                raise MigrationError(
                    f"migration {path.name}: must not control transactions"
                    f" ({_first_keyword(statement)}); the runner wraps each file in one"
                )
        migrations.append(Migration(number, path, tuple(statements)))
    return migrations


def split_statements(script: str) -> list[str]:
    """Split an SQL script into single statements, honouring strings, comments and triggers."""
    statements = []
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            statements.append(script[start : index + 1])
            start = index + 1
    statements.append(script[start:])  # a last statement may omit its semicolon
    return [s.strip() for s in statements if _first_keyword(s)]


def _first_keyword(statement: str) -> str:
    """The statement's first word, upper-cased, past any comments; "" for comments only."""
    text = statement
    while True:
        text = text.lstrip()
        if text.startswith("--"):
            newline = text.find("\n")
            text = "" if newline < 0 else text[newline + 1 :]
        elif text.startswith("/*"):
            end = text.find("*/")
            text = "" if end < 0 else text[end + 2 :]
        else:
            break
    match = re.match(r"[A-Za-z]+", text)
    return match.group(0).upper() if match else ""


def _create_private_file(path: Path) -> None:
    """Create the folder (mode 0700) and an empty database file (0600) readable only by us,
    before SQLite opens it; an existing folder keeps its mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


async def _configure(db: aiosqlite.Connection, path: Path) -> None:
    # busy_timeout first, so that switching to WAL waits for another process instead of failing.
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    journal_mode = await _pragma(db, "journal_mode = WAL")
    if str(journal_mode).lower() != "wal":
        raise StoreError(f"{path}: SQLite refused WAL journal mode (got {journal_mode!r})")
    await db.execute("PRAGMA foreign_keys = ON")
    if await _pragma(db, "foreign_keys") != 1:
        raise StoreError("this SQLite build does not enforce foreign keys")
    await db.execute("PRAGMA synchronous = NORMAL")


async def _migrate(db: aiosqlite.Connection, migrations: Sequence[Migration]) -> None:
    """Apply, each in its own transaction with its version stamp, the migrations not yet applied."""
    latest = migrations[-1]
    current = await _user_version(db)
    if current > latest.number:
        raise MigrationError(
            f"database schema version {current} is newer than the newest migration here"
            f" ({latest.path.name}); refusing to run older code on it"
        )
    for migration in migrations[current:]:
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            if await _user_version(db) >= migration.number:
                await db.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                await db.execute(statement)
            # The number comes from a file name matched by \d{4}; PRAGMA takes no parameters.
            await db.execute(f"PRAGMA user_version = {migration.number:d}")
            await db.execute("COMMIT")
        except sqlite3.Error as exc:
            await _rollback(db)
            raise MigrationError(
                f"migration {migration.path.name} failed and was rolled back: {exc}"
            ) from exc
        except BaseException:
            await _rollback(db)
            raise


async def _rollback(db: aiosqlite.Connection) -> None:
    # Some errors (disk full, I/O) end the transaction themselves; then there is nothing to undo.
    with contextlib.suppress(sqlite3.OperationalError):
        await db.execute("ROLLBACK")


async def _fetchone(
    db: aiosqlite.Connection, sql: str, parameters: Iterable[object]
) -> sqlite3.Row | None:
    async with db.execute(sql, parameters) as cursor:
        return await cursor.fetchone()


async def _pragma(db: aiosqlite.Connection, pragma: str) -> Any:
    row = await _fetchone(db, f"PRAGMA {pragma}", ())
    return None if row is None else row[0]


async def _user_version(db: aiosqlite.Connection) -> int:
    return int(await _pragma(db, "user_version"))


def _checked_setting(name: str, value: object) -> object:
    """The value to store for a setting, or ValueError/TypeError naming what is wrong."""
    if name not in _SETTING_NAMES:
        raise ValueError(f"unknown chat setting {name!r}; known: {', '.join(_SETTING_NAMES)}")
    if value is None:
        return None
    if name in _FLOAT_SETTINGS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"chat setting {name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"chat setting {name} must be finite, got {value}")
        return float(value)
    if not isinstance(value, str):
        raise TypeError(f"chat setting {name} must be a string, got {type(value).__name__}")
    return value


def _role(value: str) -> Role:
    if value == "user":
        return "user"
    if value == "assistant":
        return "assistant"
    raise StoreError(f"unexpected message role {value!r}")  # the schema's CHECK forbids it


def _since(since: float | None) -> float:
    return -math.inf if since is None else since
