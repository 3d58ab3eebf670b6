"""The draft reply of a reasoning model, through a real `telegram.Bot` and the fake Telegram: the
thinking line in the draft and its seconds (on a clock moved by hand), then the same messages a
live reply ends with, for each way of showing reasoning; an answer taken back when it was
thought."""

from __future__ import annotations

import pytest
import telegram

from bot.delivery.destination import Destination
from bot.delivery.draft_reply import DraftReply
from bot.delivery.draft_support import DraftSupport
from bot.delivery.live_reply import LiveReply
from bot.delivery.outbox import Outbox
from bot.types import ShowReasoning
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock

CHAT = 42
EDITED = 43  # a second private chat, answered by a live reply to compare with
THOUGHT = "The user asks for **two** numbers. Pick 4 and 2."
ANSWER = "Here: 4 and 2."


@pytest.fixture(autouse=True)
def chat(fake: FakeTelegram) -> None:
    """The chats exist once their users have written."""
    fake.user_sends(CHAT, "hello")
    fake.user_sends(EDITED, "hello")


def draft(bot: telegram.Bot, clock: FakeClock, outbox: Outbox | None = None) -> DraftReply:
    return DraftReply(
        bot,
        outbox or Outbox(private_interval=0.05),
        Destination(CHAT),
        DraftSupport(),
        draft_id=7,
        clock=clock,
        thinking_tick=0.01,
    )


def drafted(fake: FakeTelegram) -> list[str]:
    return [d.text for d in fake.drafts_in(CHAT)]


def shown(fake: FakeTelegram, chat_id: int) -> list[tuple[str | None, list[dict[str, object]]]]:
    return [(m.text, m.entities) for m in fake.bot_messages(chat_id)]


async def test_the_thinking_line_counts_up_in_the_draft_then_the_answer_under_collapsed_reasoning(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = draft(bot, clock)
    await reply.start()
    await reply.think("The user", show="collapsed")
    await fake.wait_until(lambda: "💭 Thinking…" in drafted(fake))
    clock.now += 12.4  # no news from the model: the seconds move on by themselves
    await fake.wait_until(lambda: drafted(fake)[-1] == "💭 Thinking… 12 s")
    assert fake.bot_messages(CHAT) == []
    await reply.think(THOUGHT, show="collapsed")
    clock.now += 2
    await reply.update(ANSWER)
    await reply.finish(ANSWER)
    await reply.close()
    [message] = fake.bot_messages(CHAT)
    assert message.text == (
        "💭 Thought for 14 s\nThe user asks for two numbers. Pick 4 and 2.\n\nHere: 4 and 2."
    )
    assert [e["type"] for e in message.entities] == ["expandable_blockquote", "bold"]
    assert drafted(fake)[-1] == "⏳"  # the thinking line or the text never outlives the message
    assert fake.rejections == []


@pytest.mark.parametrize("show", ["collapsed", "hidden", "full"])
async def test_the_messages_are_those_a_live_reply_ends_with(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock, show: ShowReasoning
) -> None:
    thought = " ".join(f"**step{i:05d}**" for i in range(700))  # over a message, shown in full
    answer = "answer " * 1300  # over a message too
    outbox = Outbox(private_interval=0.05)
    live = LiveReply(bot, outbox, Destination(EDITED), clock=clock, thinking_tick=0.01)
    drafting = draft(bot, clock, outbox)
    for reply in (live, drafting):
        await reply.start()
        await reply.think(thought[:50], show=show)
    await fake.wait_until(lambda: fake.texts(EDITED) == ["💭 Thinking…"])
    await fake.wait_until(lambda: drafted(fake)[-1:] == ["💭 Thinking…"])
    clock.now += 8
    for reply in (live, drafting):
        await reply.think(thought, show=show)
        await reply.update(answer[:3000])
    for reply in (live, drafting):
        await reply.finish(answer)
        await reply.close()
    assert shown(fake, CHAT) == shown(fake, EDITED)
    assert len(fake.bot_messages(CHAT)) >= (4 if show == "full" else 2)
    assert fake.rejections == []


async def test_words_drafted_as_answer_that_were_thought_are_taken_back(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = draft(bot, clock)
    await reply.start()
    await reply.update("Okay, the user")
    await fake.wait_until(lambda: drafted(fake)[-1:] == ["Okay, the user"])
    clock.now += 5
    # The closing tag came: those words were reasoning, and the answer has not begun.
    await reply.think("Okay, the user said hi.", show="collapsed")
    await reply.update("")
    await fake.wait_until(lambda: drafted(fake)[-1:] == ["💭 Thinking… 5 s"])
    await reply.finish("Hello!")
    await reply.close()
    assert fake.texts(CHAT) == ["💭 Thought for 5 s\nOkay, the user said hi.\n\nHello!"]


async def test_stopped_while_thinking_with_reasoning_hidden_leaves_only_the_notice(
    fake: FakeTelegram, bot: telegram.Bot, clock: FakeClock
) -> None:
    reply = draft(bot, clock)
    await reply.start()
    await reply.think(THOUGHT, show="hidden")
    await fake.wait_until(lambda: drafted(fake)[-1:] == ["💭 Thinking…"])
    await reply.finish("", notice="Stopped.")
    await reply.close()
    assert fake.texts(CHAT) == ["⚠️ Stopped."]
    assert drafted(fake)[-1] == "⏳"
