"""The outbox's ordering and recovery, against a virtual clock (no real Telegram)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram.error import BadRequest, RetryAfter, TimedOut

from bot.outbox import Outbox, Priority, PriorityGate, retry_after_seconds
from bot.pacing import SlidingWindow


async def test_urgent_calls_overtake_waiting_edits_when_the_window_is_full() -> None:
    gate = PriorityGate(SlidingWindow(limit=1, window=0.01))
    await gate.acquire(Priority.URGENT)  # fills the window
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await gate.acquire(priority)
        order.append(name)

    tasks = [
        asyncio.create_task(take("edit-1", Priority.EDIT)),
        asyncio.create_task(take("edit-2", Priority.EDIT)),
        asyncio.create_task(take("final", Priority.URGENT)),
    ]
    await asyncio.gather(*tasks)
    assert order == ["final", "edit-1", "edit-2"]


async def test_retry_after_holds_only_that_chat_and_the_call_is_repeated() -> None:
    outbox = Outbox(private_interval=0.001, retry_backoff=0.0)
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RetryAfter(timedelta(seconds=0.05))
        return "sent"

    assert await outbox.call(7, flaky) == "sent"
    assert len(attempts) == 2
    assert outbox.chat_ready_in(8) == 0.0


async def test_retry_after_is_raised_to_callers_that_prefer_newer_content() -> None:
    outbox = Outbox(private_interval=0.001)

    async def flooded() -> None:
        raise RetryAfter(timedelta(seconds=30))

    with pytest.raises(RetryAfter):
        await outbox.call(7, flooded, priority=Priority.EDIT, retry_flood=False)
    assert outbox.chat_ready_in(7) > 29


async def test_timeouts_are_retried_then_given_up() -> None:
    outbox = Outbox(private_interval=0.001, retries=2, retry_backoff=0.0)
    attempts = 0

    async def always_times_out() -> None:
        nonlocal attempts
        attempts += 1
        raise TimedOut()

    with pytest.raises(TimedOut):
        await outbox.call(1, always_times_out)
    assert attempts == 3


async def test_bad_requests_are_not_retried() -> None:
    outbox = Outbox(private_interval=0.001, retry_backoff=0.0)
    attempts = 0

    async def bad() -> None:
        nonlocal attempts
        attempts += 1
        raise BadRequest("Message is not modified")

    with pytest.raises(BadRequest):
        await outbox.call(1, bad)
    assert attempts == 1


def test_retry_after_seconds_reads_ints_and_timedeltas() -> None:
    assert retry_after_seconds(RetryAfter(timedelta(seconds=12))) == 12.0
    assert retry_after_seconds(RetryAfter(3)) == 3.0
