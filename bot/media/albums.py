"""Albums: photos sent together (one media group) reach the bot as separate updates.

Owns gathering them into one: the first item of an album to arrive opens it and its handler
waits until no further item has come for `quiet` seconds (or the album is full); later items only
join. An item arriving after its album closed, or once it holds ALBUM_LIMIT items, opens a new
one. The collector is bounded whatever its callers do: an album is forgotten once collected,
once its opener gives it up (`discard`: a turn refused before it was built), when it has been
open MAX_ALBUM_AGE seconds, or, oldest first, when MAX_OPEN_ALBUMS are open. Forgetting an album
only stops new items joining it; its opener still collects what it holds. Items are opaque here:
nothing of Telegram, the store or the model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

from bot.types import Clock

T = TypeVar("T")

# Telegram puts at most ten items in a media group: the tenth needs no waiting after it.
ALBUM_LIMIT = 10
# Telegram delivers an album's items within a second or two; an album open this long is
# abandoned (or its opener is still waiting for the chat's turn, and has all its items).
MAX_ALBUM_AGE = 60.0
# Albums being gathered at once, across all chats: a flood of them forgets the oldest.
MAX_OPEN_ALBUMS = 1_000


class Album(Generic[T]):
    """The items of one media group seen so far."""

    def __init__(self, quiet: float, opened: float = 0.0) -> None:
        self._quiet = quiet
        self.opened = opened
        self._items: list[T] = []
        self._arrived = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether the album takes no more items (collected, given up, or full)."""
        return self._closed or len(self._items) >= ALBUM_LIMIT

    def add(self, item: T) -> None:
        self._items.append(item)
        self._arrived.set()

    def close(self) -> None:
        self._closed = True

    async def complete(self) -> list[T]:
        """Every item, once `quiet` seconds passed without another (or the album is full)."""
        while len(self._items) < ALBUM_LIMIT:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), self._quiet)
            except TimeoutError:
                break
        self._closed = True
        return list(self._items)


class AlbumCollector(Generic[T]):
    """Open albums by key (a chat and its media group id), oldest first."""

    def __init__(
        self,
        quiet: float,
        *,
        max_age: float = MAX_ALBUM_AGE,
        max_open: int = MAX_OPEN_ALBUMS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._quiet = quiet
        self._max_age = max_age
        self._max_open = max_open
        self._clock = clock
        # Insertion order is opening order: the first entries are the oldest.
        self._open: dict[Hashable, Album[T]] = {}

    def __len__(self) -> int:
        """How many albums are open to new items."""
        return len(self._open)

    def join(self, key: Hashable, item: T) -> Album[T] | None:
        """Add `item` to its album; the album when `item` opened it (its caller collects it, or
        discards it), None when another caller is collecting it already."""
        now = self._clock()
        self._forget_old(now)
        album = self._open.get(key)
        if album is not None and not album.closed:
            album.add(item)
            return None
        self._open.pop(key, None)  # a new album goes to the end, with the newest
        while len(self._open) >= self._max_open:
            del self._open[next(iter(self._open))]
        album = self._open[key] = Album(self._quiet, now)
        album.add(item)
        return album

    async def collect(self, key: Hashable, album: Album[T]) -> list[T]:
        """Wait for the album opened with `join` to complete, and forget it."""
        try:
            return await album.complete()
        finally:
            self.discard(key, album)

    def discard(self, key: Hashable, album: Album[T]) -> None:
        """Forget an album its opener gives up (or has collected); later items open a new one."""
        album.close()
        if self._open.get(key) is album:
            del self._open[key]

    def _forget_old(self, now: float) -> None:
        while self._open:
            key, oldest = next(iter(self._open.items()))
            if now - oldest.opened < self._max_age:
                return
            del self._open[key]
