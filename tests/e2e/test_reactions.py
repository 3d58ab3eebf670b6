"""STATUS_REACTIONS=true: the bot's reaction on the message it answers — 👀 queued behind another
turn, ✍ while the answer is written, removed once it is complete, 😢 when it failed — and the
reactions given up first when the bot's budget is tight (the final state still arrives).

Flood limits are relaxed and edits paced every 20 ms; the bot-wide rate is high enough that one
streaming chat leaves calls to spare, except where a test sets it low.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.e2e.harness import fast_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

pytestmark = pytest.mark.relaxed(status_reactions=True, global_rate_limit=1000)

LONG = " ".join(f"word{i}" for i in range(60))
SLOW = ReplyScript(LONG, chunk_size=8, chunk_delay=0.05)  # about 2.6 s
EYES, WRITING, CRYING = ["👀"], ["✍"], ["😢"]


async def test_a_queued_message_shows_eyes_then_writing_then_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(SLOW, SLOW)
    async with running_bot(settings):
        first = telegram.user_sends(10, "first")["message_id"]
        await telegram.wait_until(lambda: telegram.reactions_on(10, first) == [WRITING])
        second = telegram.user_sends(10, "second")["message_id"]
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG, LONG], timeout=20)
        await telegram.wait_until(lambda: telegram.reactions_on(10, second)[-1:] == [[]])
    assert telegram.reactions_on(10, first) == [WRITING, []]
    assert telegram.reactions_on(10, second) == [EYES, WRITING, []]
    assert telegram.reactions[(10, first)] == []


async def test_a_failed_answer_leaves_a_crying_face(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript(LONG, fault=Fault.HTTP_500))
    async with running_bot(settings):
        asked = telegram.user_sends(10, "question")["message_id"]
        await telegram.wait_until(lambda: telegram.reactions_on(10, asked)[-1:] == [CRYING])
    assert telegram.reactions_on(10, asked) in ([CRYING], [WRITING, CRYING])
    assert "⚠️" in telegram.texts(10)[0]


async def test_reactions_are_off_by_default(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running_bot(fast_settings(telegram, upstream, tmp_path)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == ["You said: question"])
    assert telegram.calls_to("setMessageReaction") == []


async def test_a_tight_budget_drops_the_writing_state_but_delivers_the_final_one(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    chats = range(10, 16)
    upstream.script(*[SLOW for _ in chats])
    # Six chats streaming at once against a budget of three calls a second: nothing to spare.
    settings = fast_settings(
        telegram, upstream, tmp_path, status_reactions=True, global_rate_limit=3
    )
    async with running_bot(settings):
        asked = {chat: telegram.user_sends(chat, "question")["message_id"] for chat in chats}

        def done() -> bool:  # every answer complete, and no ✍ left showing
            return all(
                telegram.texts(chat) == [LONG] and not telegram.reactions.get((chat, message))
                for chat, message in asked.items()
            )

        await telegram.wait_until(done, timeout=60)
    logs = [telegram.reactions_on(chat, asked[chat]) for chat in chats]
    assert all(log in ([], [WRITING, []]) for log in logs)  # never left showing ✍
    assert sum(log == [] for log in logs) >= 1  # some ✍ was given up: no room for it
