"""The writer's lock: when many wait for the connection, the oldest work goes first.

One connection serves every turn's reads and writes, one operation at a time (connection.py).
A plain FIFO lock serves waiters in the order they asked: when a thousand new chats write at
once, each turn's few operations queue behind one operation of every other turn, so all of them
inch forward together and the first reply can start only once nearly all of them have been
admitted (2.4 s for 1,000 chats in the benchmark's burst, while Telegram's window stood idle).
This lock gives the connection to the waiter whose work began first — the update it answers
arrived earliest — so the first turns go through at once and their replies stream while later
ones are still being admitted; among equals, the one that asked first.

Work says when it began with `work_began` (the handlers do, for each update; a chat's queued turn
runs in its update's context, so it carries the same moment). Work that said nothing counts as
beginning when it asks for the lock. Nothing waits forever: only work that began earlier can go
ahead of a waiter, and each piece of work needs the connection a bounded number of times.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import time
from collections.abc import Callable
from types import TracebackType

_began: contextvars.ContextVar[float | None] = contextvars.ContextVar("work_began", default=None)


def work_began(at: float | None = None) -> None:
    """The work done from here on in this context began at `at` (time.monotonic; now if None)."""
    _began.set(time.monotonic() if at is None else at)


def when_work_began() -> float | None:
    """When the work of this context began, if it said (`work_began`)."""
    return _began.get()


class OldestFirstLock:
    """An asyncio lock handed, when several wait, to the one whose work began first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held = False
        self._seq = itertools.count()
        # (when its work began, order of asking, its future): the future is set when it holds.
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []

    def locked(self) -> bool:
        return self._held

    async def acquire(self) -> None:
        if not self._held:
            self._held = True
            return
        began = when_work_began()
        rank = self._clock() if began is None else began
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (rank, next(self._seq), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed the lock just as it was cancelled: pass it on
            raise  # (a cancelled future's entry is skipped when the lock is handed on)

    def release(self) -> None:
        """Hand the lock to the waiter whose work began first, or free it if none waits."""
        if not self._held:
            raise RuntimeError("release of an unlocked OldestFirstLock")
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # still held: it is that waiter's now
                return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
