"""The outbox: every call that sends or changes a message goes through here.

Owns waiting: each chat's spacing (`pacing.ChatPacer`), the bot-wide window with priorities
(urgent first and final texts before intermediate edits), and recovery from the transient
Telegram failures — `RetryAfter` holds only the chat it concerns, timeouts and network errors
are retried with backoff. It does not know what a reply is; `delivery.py` decides what to send.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import IntEnum
from typing import TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.pacing import ChatPacer, SlidingWindow, interval_for

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]

# Prune idle chat pacers past this many, so thousands of one-off chats don't accumulate.
_MAX_IDLE_PACERS = 5_000


class Priority(IntEnum):
    """Lower goes first when the bot-wide window is full."""

    URGENT = 0  # a reply's first visible text, its final text, answers to commands
    EDIT = 1  # intermediate edits of a streaming reply; these coalesce while they wait
    BACKGROUND = 2  # chat actions ("typing…")


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's retry_after, in seconds, whichever type PTB hands us."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PriorityGate:
    """Admits calls through a sliding window, most urgent first, FIFO within a priority."""

    def __init__(self, window: SlidingWindow, clock: Clock = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None

    async def acquire(self, priority: Priority) -> None:
        """Wait until one more call may go out, then count it."""
        if not self._waiters and self._window.delay(self._clock()) == 0:
            self._window.record(self._clock())
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._seq), future))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="outbox-gate")
        await future

    def hold(self, seconds: float) -> None:
        """Stop every call for `seconds`."""
        self._window.hold(self._clock(), seconds)

    async def _dispatch(self) -> None:
        while self._waiters:
            wait = self._window.delay(self._clock())
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            _, _, future = heapq.heappop(self._waiters)
            if future.done():  # its caller was cancelled while waiting
                continue
            self._window.record(self._clock())
            future.set_result(None)


class Outbox:
    """Paces and retries Telegram calls per chat and bot-wide."""

    def __init__(
        self,
        *,
        global_rate: float = 30.0,
        private_interval: float = 1.0,
        group_interval: float = 3.0,
        retries: int = 3,
        retry_backoff: float = 0.5,
        clock: Clock = time.monotonic,
    ) -> None:
        self._gate = PriorityGate(SlidingWindow(max(1, int(global_rate))), clock)
        self._private_interval = private_interval
        self._group_interval = group_interval
        self._retries = retries
        self._retry_backoff = retry_backoff
        self._clock = clock
        self._pacers: dict[int, ChatPacer] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def pacer(self, chat_id: int) -> ChatPacer:
        """The spacing state shared by every message to `chat_id`."""
        pacer = self._pacers.get(chat_id)
        if pacer is None:
            if len(self._pacers) > _MAX_IDLE_PACERS:
                self._prune()
            interval = interval_for(
                chat_id, private=self._private_interval, group=self._group_interval
            )
            pacer = self._pacers[chat_id] = ChatPacer(interval)
        return pacer

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until the chat's next call may go (0 when it may go now)."""
        return self.pacer(chat_id).delay(self._clock())

    async def call(
        self,
        chat_id: int,
        make: Callable[[], Awaitable[T]],
        *,
        priority: Priority = Priority.URGENT,
        paced: bool = True,
        retry_flood: bool = True,
    ) -> T:
        """Run one Telegram call for `chat_id` when pacing allows, retrying transient failures.

        `paced=False` skips the chat spacing (chat actions don't count against it) but not the
        bot-wide window. With `retry_flood=False` a RetryAfter is re-raised after holding the
        chat, so a caller with newer content can send that instead of the stale call.
        """
        attempt = 0
        while True:
            await self._turn(chat_id, priority, paced)
            try:
                return await make()
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                self.pacer(chat_id).hold(self._clock(), seconds)
                log.warning("Telegram flood limit in chat %s: holding %.1f s", chat_id, seconds)
                if not retry_flood:
                    raise
            except BadRequest:
                raise
            except (TimedOut, NetworkError) as exc:
                attempt += 1
                if attempt > self._retries:
                    raise
                delay = self._retry_backoff * 2 ** (attempt - 1)
                log.warning("Telegram call failed (%s); retry %d in %.1f s", exc, attempt, delay)
                await asyncio.sleep(delay)

    async def _turn(self, chat_id: int, priority: Priority, paced: bool) -> None:
        if not paced:
            await self._gate.acquire(priority)
            return
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            pacer = self.pacer(chat_id)
            while True:  # a RetryAfter can push the chat's turn back while we sleep
                wait = pacer.delay(self._clock())
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            await self._gate.acquire(priority)
            pacer.record(self._clock())

    def _prune(self) -> None:
        now = self._clock()
        for chat_id in [c for c, p in self._pacers.items() if p.delay(now) == 0]:
            lock = self._locks.get(chat_id)
            if lock is None or not lock.locked():
                del self._pacers[chat_id]
                self._locks.pop(chat_id, None)
