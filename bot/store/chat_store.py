"""ChatStore: the one object callers hold, composed of the store's parts, and how it is opened."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path

import aiosqlite

from bot.store.chat_migration import ChatMigrationStore
from bot.store.chats import ChatSettingsStore
from bot.store.connection import (
    Checkpointer,
    configure,
    configure_reader,
    convert_to_incremental_vacuum,
    create_private_file,
    incremental_vacuum,
)
from bot.store.conversations import ConversationStore
from bot.store.forget import ForgetStore
from bot.store.history import HistoryStore
from bot.store.inbox import InboxStore
from bot.store.languages import ChatLanguageStore
from bot.store.migrations import DEFAULT_MIGRATIONS_DIR, load_migrations, migrate
from bot.store.retention import RetentionStore
from bot.store.usage import UsageStore
from bot.types import Clock

log = logging.getLogger(__name__)


class ChatStore(
    ChatSettingsStore,
    ChatLanguageStore,
    ConversationStore,
    InboxStore,
    UsageStore,
    ChatMigrationStore,
    HistoryStore,
    ForgetStore,
    RetentionStore,
):
    """History, per-chat settings and usage of the bot, in one SQLite file."""

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        migrations_dir: Path | None = None,
        clock: Clock = time.time,
        reclaim_space: bool = False,
    ) -> ChatStore:
        """Open the database (creating it and its folder if needed) and migrate it to the latest.

        With `reclaim_space` (history retention is on), a database made before new ones got
        incremental auto-vacuum is converted once, so deleted history shrinks the file.
        """
        path = Path(path)
        migrations = await asyncio.to_thread(
            load_migrations, migrations_dir or DEFAULT_MIGRATIONS_DIR
        )
        await asyncio.to_thread(create_private_file, path)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await configure(db, path)
            await migrate(db, migrations)
            if reclaim_space and not await incremental_vacuum(db):
                await _convert(db, path)
        except BaseException:
            await db.close()
            raise
        others: list[aiosqlite.Connection] = []
        try:
            for _ in range(2):  # the reader and the checkpointer's connection
                others.append(await aiosqlite.connect(path, isolation_level=None))
                await configure_reader(others[-1])
        except BaseException:
            for connection in (*others, db):
                await connection.close()
            raise
        reader, checkpoints = others
        return cls(db, clock, reader, Checkpointer(checkpoints))


async def _convert(db: aiosqlite.Connection, path: Path) -> None:
    """Give an older database incremental auto-vacuum; on failure (a full disk) go on without."""
    log.info("%s: rewriting the database once so deleted history frees disk space", path.name)
    started = time.monotonic()
    try:
        await convert_to_incremental_vacuum(db)
    except sqlite3.OperationalError as exc:
        # Without it the space of deleted history is still reused by new messages.
        log.warning("%s: could not rewrite the database (%s); freed space is reused", path, exc)
        return
    log.info("%s: rewritten in %.1f s", path.name, time.monotonic() - started)
