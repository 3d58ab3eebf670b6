"""Telegram's HTTP on a thread of its own, so the bot-wide window runs on time on a busy loop.

Owns `TelegramIO`, the PTB request object of the bot: every Bot API request runs on one
dedicated thread with its own event loop, and `Slot`, the moment an outbox call may reach
Telegram and the moment its answer arrived. A call's place in the bot-wide window (pacing.py)
frees a second after its answer; on the bot's event loop, busy with a thousand streaming
replies, noticing the answer, waking the scheduler and then the call's task each cost a turn of
the loop (up to hundreds of milliseconds), so every place stood empty that long per call and the
bot sent far fewer than 30 calls a second. Here the answer's arrival is noted on this thread,
and the scheduler may let a call go ahead of its moment: this thread holds the request back
until then. Which call goes, and when, stays the scheduler's; what a request carries, PTB's.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram.request import BaseRequest, RequestData

T = TypeVar("T")

HOLD_SLACK = 0.001  # seconds


@dataclass(slots=True)
class Slot:
    """An outbox call's moment: its requests must not reach Telegram before `not_before`;
    `answered_at` is when the last one's answer arrived (time.monotonic(), set on the thread)."""

    not_before: float
    answered_at: float | None = None


# Set by the outbox around a call; the requests made within it (same task) carry it here.
CURRENT_SLOT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar(
    "telegram_slot", default=None
)


class TelegramIO(BaseRequest):
    """A PTB request object that runs `inner` on its own thread, holding back each request of
    an outbox call until the call's moment and noting when its answer arrived."""

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            started = threading.Event()
            thread = threading.Thread(
                target=_serve, args=(loop, started), name="telegram-io", daemon=True
            )
            thread.start()
            await asyncio.to_thread(started.wait)
            self._loop, self._thread = loop, thread
        await self._on_thread(self._inner.initialize())

    async def shutdown(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            await self._on_thread(self._inner.shutdown())
        finally:
            self._loop = self._thread = None
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join)
            loop.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._loop is None:
            raise RuntimeError("TelegramIO is not initialized")
        request = self._inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        return await self._on_thread(_in_slot(CURRENT_SLOT.get(), request))

    async def _on_thread(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the thread's loop; cancelling the caller cancels it there."""
        loop = self._loop
        if loop is None:
            work.close()
            raise RuntimeError("TelegramIO is not initialized")
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, loop)
        return await asyncio.wrap_future(future)


async def _in_slot(slot: Slot | None, request: Coroutine[Any, Any, T]) -> T:
    """On the thread: wait for the slot's moment, send, note when the answer came."""
    if slot is None:
        return await request
    try:
        if (wait := slot.not_before - time.monotonic()) > 0:
            # A millisecond past it: asyncio may run a timer a hair early, and the window's
            # guarantee needs "not before".
            await asyncio.sleep(wait + HOLD_SLACK)
        return await request
    finally:
        request.close()  # a no-op once awaited; frees it if cancelled while waiting
        slot.answered_at = time.monotonic()


def _serve(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    loop.run_forever()
