"""Per-chat ordering: one lock per chat, so one turn at a time per chat and chats in parallel.

Owns nothing but the locks; what waits for them (and the inbox that keeps waiting messages) is
the service's business.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bot.store import ChatKey


class ChatLocks:
    """One lock per chat, created on demand and dropped when nobody holds or awaits it.

    asyncio.Lock wakes waiters in FIFO order, so turns of one chat run in arrival order.
    """

    def __init__(self) -> None:
        self._locks: dict[ChatKey, asyncio.Lock] = {}
        self._users: dict[ChatKey, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: ChatKey) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    def busy(self, key: ChatKey) -> bool:
        """Whether a turn of this chat is running or waiting."""
        return key in self._users

    def busy_any(self) -> bool:
        """Whether any chat has a turn running or waiting."""
        return bool(self._users)
