"""Albums: photos sent together (one media group) reach the bot as separate updates.

Owns gathering them into one: the first item of an album to arrive opens it and its handler
waits until no further item has come for `quiet` seconds (or the album is full); later items only
join. An item arriving after its album closed opens a new one. Items are opaque here: nothing of
Telegram, the store or the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

# Telegram puts at most ten items in a media group: the tenth needs no waiting after it.
ALBUM_LIMIT = 10


class Album(Generic[T]):
    """The items of one media group seen so far."""

    def __init__(self, quiet: float) -> None:
        self._quiet = quiet
        self._items: list[T] = []
        self._arrived = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def add(self, item: T) -> None:
        self._items.append(item)
        self._arrived.set()

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
    """Open albums by key (a chat and its media group id)."""

    def __init__(self, quiet: float) -> None:
        self._quiet = quiet
        self._open: dict[Hashable, Album[T]] = {}

    def join(self, key: Hashable, item: T) -> Album[T] | None:
        """Add `item` to its album; the album when `item` opened it (its caller collects it),
        None when another caller is collecting it already."""
        album = self._open.get(key)
        if album is not None and not album.closed:
            album.add(item)
            return None
        album = self._open[key] = Album(self._quiet)
        album.add(item)
        return album

    async def collect(self, key: Hashable, album: Album[T]) -> list[T]:
        """Wait for the album opened with `join` to complete, and forget it."""
        try:
            return await album.complete()
        finally:
            if self._open.get(key) is album:
                del self._open[key]
