"""How much media work the bot takes on at once, every chat together.

Owns `ConversionLimit` (at most N conversions or document reads running; the rest wait, first
come, first served, holding nothing) and `AudioBudget` (at most N bytes of converted audio held
from its conversion until its turn ends). Pure asyncio: knows nothing of ffmpeg, Telegram, the
upstream or the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable


class ConversionLimit:
    """At most `limit` conversions at once; the others wait, first come, first served.

    Waiting costs nothing but the waiting coroutine: no thread, no process, no buffer (a caller
    that downloads inside its slot holds no file while it waits either).
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a conversion limit must allow at least one conversion")
        self.limit = limit
        self.running = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(limit)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for the block, waiting for one first if all are taken."""
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()


class AudioBudget:
    """At most `limit` bytes of converted audio held at once, from its conversion until its turn
    ends (waiting for the upstream, inside the request, while the reply is shown).

    `hold(size)` waits until the size fits, first come, first served (a later small one does not
    overtake an earlier large one), and returns the function that gives the room back; a size
    over the whole budget waits until nothing else is held. Waiting holds nothing.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("an audio budget must allow at least one byte")
        self.limit = limit
        self.held = 0
        self._queue: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def hold(self, size: int) -> Callable[[], None]:
        """Wait until `size` bytes fit, take them, and return what gives them back (once)."""
        size = max(0, min(size, self.limit))
        entry = (size, asyncio.get_running_loop().create_future())
        self._queue.append(entry)
        self._grant()
        try:
            await entry[1]
        except BaseException:
            if entry[1].done() and not entry[1].cancelled():
                self._give_back(size)  # granted, but its caller was cancelled meanwhile
            else:
                self._queue.remove(entry)
                self._grant()  # it may have held up the ones behind it
            raise
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._give_back(size)

        return release

    def _give_back(self, size: int) -> None:
        self.held -= size
        self._grant()

    def _grant(self) -> None:
        while self._queue and self.held + self._queue[0][0] <= self.limit:
            size, granted = self._queue.popleft()
            self.held += size
            granted.set_result(None)
