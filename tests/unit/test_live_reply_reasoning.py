"""The live reply of a reasoning model, through a real `telegram.Bot` and the fake Telegram: the
thinking line and its seconds (on a clock moved by hand), then the reasoning shown collapsed,
hidden or in full above the answer, and the answer taken back when it was thought after all."""

from __future__ import annotations

import pytest
import telegram

from bot.delivery.destination import Destination
from bot.delivery.live_reply import LiveReply
from bot.delivery.outbox import Outbox
from bot.render.reasoning import COLLAPSED_LIMIT
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock

CHAT = 42
THOUGHT = "The user asks for **two** numbers. Pick 4 and 2."
ANSWER = "Here: 4 and 2."


@pytest.fixture(autouse=True)
def chat(fake: FakeTelegram) -> None:
    """The chat exists once its user has written."""
    fake.user_sends(CHAT, "hello")


def live(bot: telegram.Bot, clock: FakeClock, *, stop: bool = True) -> LiveReply:
    return LiveReply(
        bot,
        Outbox(private_interval=0.05),
        Destination(CHAT),
        stop_data="stop" if stop else None,
        clock=clock,
        thinking_tick=0.01,
    )


def entity_types(fake: FakeTelegram) -> list[list[str]]:
    return [[e["type"] for e in m.entities] for m in fake.bot_messages(CHAT)]


async def test_the_thinking_line_counts_up_then_becomes_the_answer_under_collapsed_reasoning(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = live(bot, clock)
    await reply.think("The user", show="collapsed")
    await fake.wait_until(lambda: fake.texts(CHAT) == ["💭 Thinking…"])
    clock.now += 12.4  # no news from the model: the seconds move on by themselves
    await fake.wait_until(lambda: fake.texts(CHAT) == ["💭 Thinking… 12 s"])
    await fake.wait_until(lambda: fake.bot_messages(CHAT)[0].reply_markup is not None)
    await reply.think(THOUGHT, show="collapsed")
    clock.now += 2
    await reply.update(ANSWER)
    await reply.finish(ANSWER)
    [message] = fake.bot_messages(CHAT)
    assert message.text == (
        "💭 Thought for 14 s\nThe user asks for two numbers. Pick 4 and 2.\n\nHere: 4 and 2."
    )
    quote = message.entities[0]
    assert (quote["type"], quote["offset"]) == ("expandable_blockquote", 0)
    assert quote["length"] == len("💭 Thought for 14 s\n" + THOUGHT) - 4 + 1  # 💭 is 2 units
    assert [e["type"] for e in message.entities[1:]] == ["bold"]
    assert message.reply_markup is None
    assert fake.rejections == []


async def test_hidden_reasoning_leaves_only_the_answer_where_the_thinking_line_was(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = live(bot, clock)
    await reply.think(THOUGHT, show="hidden")
    await fake.wait_until(lambda: fake.texts(CHAT) == ["💭 Thinking…"])
    await reply.update(ANSWER)
    await reply.finish(ANSWER)
    [message] = fake.bot_messages(CHAT)
    assert message.text == ANSWER
    assert message.history[0] == "💭 Thinking…"


async def test_long_full_reasoning_fills_messages_of_its_own_then_the_answer_follows(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    thought = " ".join(f"step{i:05d}" for i in range(1300))  # three messages and a bit
    reply = live(bot, clock)
    await reply.think(thought, show="full")
    await fake.wait_until(lambda: fake.texts(CHAT) == ["💭 Thinking…"])
    clock.now += 30
    await reply.finish(ANSWER)
    texts = fake.texts(CHAT)
    assert texts[0].startswith("💭 Thought for 30 s\nstep00000 ")
    assert texts[-1].endswith("\n\nHere: 4 and 2.")
    shown = " ".join(texts).replace("💭 Thought for 30 s\n", "").removesuffix("\n\nHere: 4 and 2.")
    assert shown.split() == thought.split()
    assert all(types[0] == "blockquote" for types in entity_types(fake))
    assert fake.bot_messages(CHAT)[0].history[0] == "💭 Thinking…"  # the line became the first
    assert fake.rejections == []


async def test_collapsed_reasoning_shares_the_first_message_with_a_long_answer(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = live(bot, clock, stop=False)
    await reply.think("word " * 2000, show="collapsed")
    answer = "answer " * 1500  # past one message
    await reply.finish(answer)
    first, *rest = fake.bot_messages(CHAT)
    assert first.text is not None
    assert first.entities[0]["type"] == "expandable_blockquote"
    assert first.entities[0]["length"] <= COLLAPSED_LIMIT + 40
    assert rest
    shown = first.text.split("\n\n", 1)[1] + " " + " ".join(m.text or "" for m in rest)
    assert shown.split() == answer.split()
    assert fake.rejections == []


async def test_stopped_while_thinking_shows_what_was_thought_and_the_notice(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = live(bot, clock)
    await reply.think(THOUGHT, show="collapsed")
    await fake.wait_until(lambda: fake.texts(CHAT) == ["💭 Thinking…"])
    clock.now += 3
    await reply.finish("", notice="Stopped.")
    [message] = fake.bot_messages(CHAT)
    assert message.text == (
        "💭 Thought for 3 s\nThe user asks for two numbers. Pick 4 and 2.\n\n⚠️ Stopped."
    )
    assert [e["type"] for e in message.entities] == ["expandable_blockquote", "bold", "italic"]


async def test_stopped_while_thinking_with_reasoning_hidden_leaves_only_the_notice(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = live(bot, clock)
    await reply.think(THOUGHT, show="hidden")
    await fake.wait_until(lambda: fake.texts(CHAT) == ["💭 Thinking…"])
    await reply.finish("", notice="Stopped.")
    assert fake.texts(CHAT) == ["⚠️ Stopped."]


async def test_words_shown_as_answer_that_were_thought_are_taken_back(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = live(bot, clock, stop=False)
    await reply.update("Okay, the user")
    await fake.wait_until(lambda: fake.texts(CHAT) == ["Okay, the user"])
    clock.now += 5
    # The closing tag came: those words were reasoning, and the answer has not begun.
    await reply.think("Okay, the user said hi.", show="collapsed")
    await reply.update("")
    await fake.wait_until(lambda: fake.texts(CHAT) == ["💭 Thinking… 5 s"])
    await reply.finish("Hello!")
    assert fake.texts(CHAT) == ["💭 Thought for 5 s\nOkay, the user said hi.\n\nHello!"]


async def test_a_taken_back_answer_longer_than_a_message_leaves_its_full_messages(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    thought = "thinking " * 600  # 5,400 characters shown as answer first
    reply = live(bot, clock, stop=False)
    await reply.update(thought)
    await fake.wait_until(lambda: len(fake.bot_messages(CHAT)) == 2)
    await reply.think(thought, show="hidden")
    await reply.finish("Hello!")
    texts = fake.texts(CHAT)
    assert len(texts) == 2
    assert texts[0].split() == ["thinking"] * len(texts[0].split())
    assert texts[1] == "Hello!"
    assert fake.rejections == []
