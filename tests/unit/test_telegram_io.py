"""TelegramIO: Bot API requests on their own thread, each outbox call's held until its moment.

A stand-in request object replaces HTTP (the e2e tests run the real one against the fake
Telegram). The only clock here is time.monotonic(), the one TelegramIO holds requests by; the
assertions compare moments ("not before"), never how long anything took.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.delivery.telegram_io import CURRENT_SLOT, Slot, TelegramIO


class StandIn(BaseRequest):
    """Answers every request at once (or as told), noting when and on which thread."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, float, str]] = []  # (url, when, thread name)
        self.fail: Exception | None = None
        self.hang = False
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self.initialized = self.shut_down = False

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        self.initialized = True

    async def shutdown(self) -> None:
        self.shut_down = True

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.sent.append((url, time.monotonic(), threading.current_thread().name))
        self.started.set()
        if self.fail is not None:
            raise self.fail
        if self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return 200, b'{"ok": true, "result": true}'


@pytest.fixture
async def io() -> Any:
    inner = StandIn()
    request = TelegramIO(inner)
    await request.initialize()
    yield request, inner
    await request.shutdown()


async def test_requests_run_on_the_telegram_thread(io: tuple[TelegramIO, StandIn]) -> None:
    request, inner = io
    assert inner.initialized
    assert await request.do_request("getMe", "POST") == (200, b'{"ok": true, "result": true}')
    assert [thread for _, _, thread in inner.sent] == ["telegram-io"]


async def test_a_call_let_go_ahead_of_its_moment_reaches_telegram_no_sooner(
    io: tuple[TelegramIO, StandIn],
) -> None:
    request, inner = io
    slot = Slot(not_before=time.monotonic() + 0.2)
    token = CURRENT_SLOT.set(slot)
    try:
        await request.do_request("sendMessage", "POST")
    finally:
        CURRENT_SLOT.reset(token)
    [(_, sent_at, _)] = inner.sent
    assert sent_at >= slot.not_before
    assert slot.answered_at is not None
    assert slot.answered_at >= sent_at


async def test_requests_outside_an_outbox_call_go_at_once_and_note_nothing(
    io: tuple[TelegramIO, StandIn],
) -> None:
    request, inner = io
    slot = Slot(not_before=time.monotonic() + 60)  # another task's call, waiting for its moment
    waiting = asyncio.create_task(_in(slot, request.do_request("sendMessage", "POST")))
    await request.do_request("answerCallbackQuery", "POST")  # no slot in this task
    assert [url for url, _, _ in inner.sent] == ["answerCallbackQuery"]
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_failures_reach_the_caller_as_they_are_and_the_answer_time_is_noted(
    io: tuple[TelegramIO, StandIn],
) -> None:
    request, inner = io
    inner.fail = TimedOut()
    slot = Slot(not_before=0.0)
    with pytest.raises(TimedOut):
        await _in(slot, request.do_request("sendMessage", "POST"))
    assert slot.answered_at is not None  # a failed call counts until a second after it failed


async def test_cancelling_the_caller_cancels_the_request_on_the_thread(
    io: tuple[TelegramIO, StandIn],
) -> None:
    request, inner = io
    inner.hang = True
    call = asyncio.create_task(request.do_request("sendMessage", "POST"))
    assert await asyncio.to_thread(inner.started.wait, 5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await asyncio.to_thread(inner.cancelled.wait, 5)


async def test_shutdown_stops_the_thread_and_later_requests_are_refused() -> None:
    inner = StandIn()
    request = TelegramIO(inner)
    await request.initialize()
    [thread] = [t for t in threading.enumerate() if t.name == "telegram-io"]
    await request.shutdown()
    assert inner.shut_down
    assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("getMe", "POST")


async def _in(slot: Slot, work: Any) -> Any:
    """Await `work` as an outbox call with `slot` does (the slot set in this task)."""
    token = CURRENT_SLOT.set(slot)
    try:
        return await work
    finally:
        CURRENT_SLOT.reset(token)
