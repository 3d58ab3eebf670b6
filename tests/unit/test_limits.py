"""Per-user limits and quotas on an injected clock, over a real store; the words users read;
UTC periods; token estimates; the usage queries behind /stats and their indexes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.conversation.limits import (
    LimitReached,
    Quotas,
    Reservation,
    Throttle,
    UsageLimits,
    day_start,
    estimated_usage,
    limit_reached_text,
    month_start,
    next_day_start,
    too_long_text,
    when,
)
from bot.store import _TOP_USERS, _TOP_USERS_ORDER, ChatKey, ChatStore, UsageTotals
from bot.upstream.types import Usage
from tests.support import EVENING, FakeClock, query

ALICE, BOB, CAROL, ADMIN = 101, 202, 303, 909
CHAT = ChatKey(-500)
# EVENING (the clock's start) is 2 h 20 min before midnight.
MIDNIGHT = datetime(2026, 3, 15, tzinfo=UTC).timestamp()


def limits(store: ChatStore, clock: FakeClock, **quotas: int) -> UsageLimits:
    return UsageLimits(store, Quotas(**quotas), exempt=frozenset({ADMIN}), clock=clock)


async def asks(store: ChatStore, user_id: int, *, tokens: tuple[int, int] = (0, 0)) -> None:
    """`user_id` sends a message and gets a reply that cost `tokens` (prompt, completion)."""
    await store.add_user_message(CHAT, "q", telegram_message_id=None, user_id=user_id)
    await store.add_assistant_message(
        CHAT,
        "a",
        model="gpt-test",
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        user_id=user_id,
    )


# Admitting and refusing


def refused(admitted: Reservation | LimitReached) -> LimitReached | None:
    """The refusal, or None when the turn was admitted (and holds a reservation)."""
    return admitted if isinstance(admitted, LimitReached) else None


async def test_with_every_limit_off_every_turn_is_admitted(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock)
    for _ in range(100):
        await asks(store, ALICE, tokens=(1000, 1000))

    assert [refused(await service.reserve(ALICE)) for _ in range(50)] == [None] * 50


async def test_the_turn_past_the_rate_limit_is_refused_until_the_oldest_leaves_the_minute(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, per_minute=2)
    first = clock.now
    assert refused(await service.reserve(ALICE)) is None
    clock.now += 20
    assert refused(await service.reserve(ALICE)) is None
    clock.now += 26

    assert await service.reserve(ALICE) == LimitReached("rate", 2, first + 60)
    clock.now = first + 60
    assert refused(await service.reserve(ALICE)) is None
    assert refused(await service.reserve(BOB)) is None  # every user has their own minute


async def test_refused_turns_do_not_use_up_the_rate(store: ChatStore, clock: FakeClock) -> None:
    service = limits(store, clock, per_minute=1)
    await service.reserve(ALICE)
    for _ in range(5):
        clock.now += 10
        assert refused(await service.reserve(ALICE)) is not None
    clock.now += 10  # 60 s after the one admitted turn

    assert refused(await service.reserve(ALICE)) is None


async def test_a_released_reservation_gives_its_place_in_the_minute_back(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, per_minute=1)
    held = await service.reserve(ALICE)
    assert isinstance(held, Reservation)
    assert refused(await service.reserve(ALICE)) is not None
    service.release(held)  # its turn never ran

    assert refused(await service.reserve(ALICE)) is None


async def test_turns_waiting_to_be_stored_count_against_the_daily_message_quota(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, daily_messages=2)
    first, second = await service.reserve(ALICE), await service.reserve(ALICE)
    assert isinstance(first, Reservation)
    assert isinstance(second, Reservation)

    assert await service.reserve(ALICE) == LimitReached("messages", 2, MIDNIGHT)
    await asks(store, ALICE)
    service.settle(first)  # stored: the database counts it now, and only the database
    assert refused(await service.reserve(ALICE)) is not None
    service.release(second)  # never ran: its message is free again
    assert refused(await service.reserve(ALICE)) is None


async def test_settling_or_releasing_twice_gives_back_nothing_more(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, daily_messages=2)
    held, kept = await service.reserve(ALICE), await service.reserve(ALICE)
    assert isinstance(held, Reservation)
    assert isinstance(kept, Reservation)
    service.release(held)
    service.release(held)
    service.settle(held)

    assert refused(await service.reserve(ALICE)) is None  # one free: `kept` still holds one
    assert refused(await service.reserve(ALICE)) is not None


async def test_a_turn_held_across_a_restart_counts_without_being_checked(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, daily_messages=1)
    await asks(store, ALICE)
    service.hold(ALICE)  # admitted by the earlier run, still in the inbox

    assert await service.reserve(ALICE) == LimitReached("messages", 1, MIDNIGHT)


async def test_the_daily_message_quota_counts_stored_messages_until_utc_midnight(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, daily_messages=2)
    clock.now = MIDNIGHT - 86_400 - 1  # yesterday's messages don't count
    await asks(store, ALICE)
    clock.now = EVENING
    await asks(store, ALICE)
    admitted = await service.reserve(ALICE)
    assert isinstance(admitted, Reservation)
    await asks(store, ALICE)
    service.settle(admitted)

    assert await service.reserve(ALICE) == LimitReached("messages", 2, MIDNIGHT)
    clock.now = MIDNIGHT
    assert refused(await service.reserve(ALICE)) is None


async def test_the_daily_token_quota_counts_prompt_and_completion_tokens(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, daily_tokens=1000)
    await asks(store, ALICE, tokens=(600, 399))
    assert refused(await service.reserve(ALICE)) is None
    await asks(store, ALICE, tokens=(1, 0))

    assert await service.reserve(ALICE) == LimitReached("tokens", 1000, MIDNIGHT)
    assert refused(await service.reserve(BOB)) is None


async def test_a_turn_admitted_under_the_token_quota_is_refused_when_replies_used_it_up(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, daily_tokens=1000)
    waiting = await service.reserve(ALICE)
    assert isinstance(waiting, Reservation)
    assert await service.recheck(waiting) is None
    await asks(store, ALICE, tokens=(600, 400))  # the reply it waited behind

    assert await service.recheck(waiting) == LimitReached("tokens", 1000, MIDNIGHT)


async def test_admins_and_turns_without_a_user_are_never_limited(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, per_minute=1, daily_messages=1, daily_tokens=1)
    for _ in range(3):
        await asks(store, ADMIN, tokens=(50, 50))

    assert [refused(await service.reserve(ADMIN)) for _ in range(3)] == [None, None, None]
    assert [refused(await service.reserve(None)) for _ in range(3)] == [None, None, None]


async def test_a_limited_user_is_told_at_most_once_a_minute(
    store: ChatStore, clock: FakeClock
) -> None:
    service = limits(store, clock, daily_messages=1)
    await asks(store, ALICE)
    told = []
    for _ in range(4):
        refusal = refused(await service.reserve(ALICE))
        assert refusal is not None
        told.append(refusal.tell)
        clock.now += 30

    assert told == [True, False, True, False]


# What the user reads


def test_a_rate_refusal_says_when_to_continue_in_seconds_and_in_utc() -> None:
    refusal = LimitReached("rate", 5, EVENING + 14)

    assert limit_reached_text(refusal, EVENING + 0.3) == (
        "You've sent 5 messages within a minute, the most I answer. "
        "You can continue in 14 s (at 21:40:14 UTC)."
    )


def test_a_daily_refusal_says_tomorrow_at_midnight_utc_and_how_long_that_is() -> None:
    assert limit_reached_text(LimitReached("messages", 50, MIDNIGHT), EVENING) == (
        "You've used today's quota of 50 messages. "
        "You can continue tomorrow at 00:00 UTC (in 2 h 20 min)."
    )
    assert limit_reached_text(LimitReached("tokens", 20_000, MIDNIGHT), MIDNIGHT - 90) == (
        "You've used today's quota of 20,000 tokens. "
        "You can continue tomorrow at 00:00 UTC (in 1 min 30 s)."
    )


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "in 0 s (at 21:40:00 UTC)"),
        (59.2, "in 1 min (at 21:41:00 UTC)"),
        (60, "in 1 min (at 21:41:00 UTC)"),
        (3599, "in 59 min 59 s (at 22:39:59 UTC)"),
        (3600 + 61, "in 1 h 2 min (at 22:41:01 UTC)"),
        (7200, "in 2 h (at 23:40:00 UTC)"),
        (8400, "tomorrow at 00:00 UTC (in 2 h 20 min)"),
    ],
)
def test_when_reads_a_wait_as_a_person_would(seconds: float, expected: str) -> None:
    assert when(EVENING + seconds, EVENING) == expected


def test_too_long_text_gives_the_length_and_the_limit() -> None:
    assert too_long_text(12_345, 8_000) == (
        "Your message is too long: 12,345 characters (with any message it replies to), "
        "and I take at most 8,000. Please shorten it or send it in parts."
    )


# Periods, estimates, throttling


def test_days_and_months_begin_at_utc_midnight() -> None:
    assert day_start(EVENING) == datetime(2026, 3, 14, tzinfo=UTC).timestamp()
    assert next_day_start(EVENING) == MIDNIGHT
    assert next_day_start(MIDNIGHT) == MIDNIGHT + 86_400
    assert month_start(EVENING) == datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    new_year = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    assert next_day_start(new_year) == datetime(2027, 1, 1, tzinfo=UTC).timestamp()


def test_estimated_usage_counts_four_characters_to_a_token_and_text_parts_only() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "12345678"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "abcd"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + "A" * 999}},
            ],
        },
    ]

    assert estimated_usage(messages, "hello") == Usage(3, 2, 5)


def test_a_throttle_says_yes_once_per_interval_per_key() -> None:
    clock = FakeClock(0.0)
    throttle = Throttle(60.0, clock)
    answers = [throttle.ready(1), throttle.ready(1), throttle.ready(2)]
    clock.now = 60.0

    assert [*answers, throttle.ready(1)] == [True, False, True, True]


def test_a_throttle_with_a_burst_says_yes_that_often_within_any_interval() -> None:
    clock = FakeClock(0.0)
    throttle = Throttle(60.0, clock, burst=3)
    answers = []
    for at in (0.0, 10.0, 20.0, 30.0, 59.0, 60.0, 60.0):
        clock.now = at
        answers.append(throttle.ready("chat"))

    # At 60 s the first yes has left the minute: room for one more, not two.
    assert answers == [True, True, True, False, False, True, False]


# The usage queries behind /stats


async def test_usage_counts_replies_whose_tokens_were_estimated(
    store: ChatStore, clock: FakeClock
) -> None:
    await asks(store, ALICE, tokens=(10, 5))
    await store.add_assistant_message(
        CHAT,
        "guessed",
        model="gpt-test",
        prompt_tokens=3,
        completion_tokens=2,
        user_id=ALICE,
        usage_estimated=True,
    )

    assert await store.usage(ALICE) == UsageTotals(1, 13, 7, estimated_replies=1)
    assert (await store.usage(ALICE)).tokens == 20


async def test_top_users_by_tokens_rank_the_biggest_spenders_first(
    store: ChatStore, clock: FakeClock
) -> None:
    await asks(store, ALICE, tokens=(10, 10))
    await asks(store, ALICE, tokens=(10, 10))
    await asks(store, BOB, tokens=(100, 1))
    await asks(store, CAROL, tokens=(0, 1))
    clock.now += 100
    await asks(store, CAROL, tokens=(5, 0))

    assert await store.top_users(since=None, by="tokens", limit=2) == [
        (BOB, UsageTotals(1, 100, 1)),
        (ALICE, UsageTotals(2, 20, 20)),
    ]
    assert await store.top_users(since=clock.now, by="tokens") == [(CAROL, UsageTotals(1, 5, 0))]


@pytest.mark.parametrize("order", sorted(_TOP_USERS_ORDER))
async def test_the_top_users_query_reads_only_its_covering_index(
    store: ChatStore, database: Path, order: str
) -> None:
    await asks(store, ALICE, tokens=(1, 1))
    sql = _TOP_USERS.format(order=_TOP_USERS_ORDER[order])

    plan = [row[3] for row in await query(database, f"EXPLAIN QUERY PLAN {sql}", (0.0, 0.0, 10))]

    assert "SEARCH messages USING COVERING INDEX messages_period (created_at>?)" in plan
    assert "SEARCH usage_archive USING INDEX usage_archive_month (month>?)" in plan
