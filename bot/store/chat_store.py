"""ChatStore: the one object callers hold, composed of the store's parts, and how it is opened."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiosqlite

from bot.store.chat_migration import ChatMigrationStore
from bot.store.chats import ChatSettingsStore
from bot.store.connection import configure, create_private_file
from bot.store.conversations import ConversationStore
from bot.store.inbox import InboxStore
from bot.store.migrations import DEFAULT_MIGRATIONS_DIR, load_migrations, migrate
from bot.store.usage import UsageStore
from bot.types import Clock


class ChatStore(ChatSettingsStore, ConversationStore, InboxStore, UsageStore, ChatMigrationStore):
    """History, per-chat settings and usage of the bot, in one SQLite file."""

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
        await asyncio.to_thread(create_private_file, path)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await configure(db, path)
            await migrate(db, migrations)
        except BaseException:
            await db.close()
            raise
        return cls(db, clock)
