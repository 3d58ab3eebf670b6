"""ConversationService refuses a turn over the limits before storing or sending anything; a real
store, the fake upstream over HTTP and an injected clock; no Telegram."""

from __future__ import annotations

import pytest

from bot.conversation.service import ConversationService
from bot.conversation.turns import Origin, UserTurn
from bot.store import ChatKey, ChatStore
from tests.fakes.upstream import FakeUpstream
from tests.support import FakeClock, RecordingSink

CHAT = ChatKey(42)
USER = 42
DAILY_QUOTA = 1
pytestmark = pytest.mark.quotas(daily_messages=DAILY_QUOTA)


async def test_a_turn_over_the_quota_is_shown_why_and_nothing_is_stored_or_sent(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await service.reply(
        CHAT, UserTurn("first", telegram_message_id=1, user_id=USER), RecordingSink()
    )
    sink = RecordingSink()

    outcome = await service.reply(
        CHAT, UserTurn("second", telegram_message_id=2, user_id=USER), sink
    )

    assert (outcome.refused, outcome.text) == (True, "")
    assert sink.calls == ["finish"]
    assert (sink.notice or "").startswith("You've used today's quota of 1 message.")
    assert len(upstream.chat_requests()) == 1
    assert (await store.usage(USER)).messages == 1
    assert not await store.has_message(CHAT, 2)


async def test_a_pending_turn_of_a_user_over_the_quota_is_refused_before_it_is_built(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await service.reply(
        CHAT, UserTurn("first", telegram_message_id=1, user_id=USER), RecordingSink()
    )
    built: list[int] = []

    async def photo_turn() -> UserTurn:
        built.append(2)  # where the photo would be downloaded
        return UserTurn("[photo 1280x720]", telegram_message_id=2, user_id=USER)

    sink = RecordingSink()
    outcome = await service.reply(CHAT, photo_turn, sink, origin=Origin(USER, 2))

    assert (outcome.refused, built, sink.calls) == (True, [], ["finish"])
    assert (sink.notice or "").startswith("You've used today's quota of 1 message.")
    assert len(upstream.chat_requests()) == 1
    assert not await store.has_message(CHAT, 2)


async def test_a_pending_turn_within_the_limits_is_built_and_answered(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    async def photo_turn() -> UserTurn:
        return UserTurn("[photo 1280x720]", telegram_message_id=1, user_id=USER)

    outcome = await service.reply(CHAT, photo_turn, RecordingSink(), origin=Origin(USER, 1))

    assert (outcome.refused, outcome.status) == (False, "complete")
    assert len(upstream.chat_requests()) == 1


async def test_a_user_told_a_moment_ago_is_refused_in_silence(
    service: ConversationService, clock: FakeClock
) -> None:
    await service.reply(
        CHAT, UserTurn("first", telegram_message_id=1, user_id=USER), RecordingSink()
    )
    told, silent, told_again = RecordingSink(), RecordingSink(), RecordingSink()
    await service.reply(CHAT, UserTurn("second", telegram_message_id=2, user_id=USER), told)
    clock.now += 30
    await service.reply(CHAT, UserTurn("third", telegram_message_id=3, user_id=USER), silent)
    clock.now += 30
    await service.reply(CHAT, UserTurn("fourth", telegram_message_id=4, user_id=USER), told_again)

    assert (told.calls, silent.calls, told_again.calls) == (["finish"], [], ["finish"])


async def test_a_message_redelivered_after_a_restart_is_not_counted_twice(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    await service.reply(
        CHAT, UserTurn("first", telegram_message_id=1, user_id=USER), RecordingSink()
    )
    sink = RecordingSink()

    outcome = await service.reply(
        CHAT, UserTurn("first", telegram_message_id=1, user_id=USER), sink
    )

    assert (outcome.duplicate, outcome.refused, sink.calls) == (True, False, [])
    assert len(upstream.chat_requests()) == 1


async def test_a_turn_refused_once_built_gives_its_place_under_the_quota_back(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    async def huge_file() -> UserTurn:
        return UserTurn("x" * 9_000, telegram_message_id=1, user_id=USER)  # over 8000 chars

    refused = RecordingSink()
    outcome = await service.reply(CHAT, huge_file, refused, origin=Origin(USER, 1))
    answered = await service.reply(
        CHAT, UserTurn("short", telegram_message_id=2, user_id=USER), RecordingSink()
    )

    assert outcome.refused
    assert (refused.notice or "").startswith("Your message is too long: 9,000 characters")
    assert (answered.refused, answered.text) == (False, "You said: short")
    assert len(upstream.chat_requests()) == 1


async def test_a_turn_kept_across_a_restart_counts_against_the_quota_until_answered(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    kept = RecordingSink()
    await service.resume(CHAT, UserTurn("from before", telegram_message_id=1, user_id=USER), kept)
    refused = RecordingSink()
    outcome = await service.reply(
        CHAT, UserTurn("new", telegram_message_id=2, user_id=USER), refused
    )

    assert outcome.refused  # the kept turn already holds today's one message
    assert (refused.notice or "").startswith("You've used today's quota of 1 message.")
    await upstream.wait_until(lambda: len(upstream.chat_requests()) == 1)
