"""The live reply's calls as the fake Telegram sees them, through a real `telegram.Bot`.

Pacing is shortened (0.3 s per private chat) so a reply's calls can be told apart; what is
asserted is which texts reached the chat and in what order, never how long anything took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import telegram

from bot.delivery.destination import Destination
from bot.delivery.live_reply import LiveReply
from bot.delivery.outbox import Outbox
from tests.fakes.telegram import FakeTelegram

pytestmark = pytest.mark.flood_limits()  # Telegram's own limits

CHAT = 42


@pytest.fixture(autouse=True)
def chat(fake: FakeTelegram) -> None:
    """The chat exists once its user has written."""
    fake.user_sends(CHAT, "hello")


def live(bot: telegram.Bot, outbox: Outbox, *, typing_interval: float = 4.0) -> LiveReply:
    return LiveReply(bot, outbox, Destination(CHAT), typing_interval=typing_interval)


async def until(condition: Callable[[], bool], fake: FakeTelegram) -> None:
    await fake.wait_until(condition, timeout=10)


async def test_an_edit_waiting_for_the_chat_shows_the_newest_text_and_skips_states_between(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    reply = live(bot, Outbox(private_interval=0.3))
    await reply.update("One")
    await until(lambda: bool(fake.bot_messages(CHAT)), fake)
    for text in ("One two", "One two three", "One two three four"):
        await reply.update(text)  # all while the chat's next edit waits for its interval
        await asyncio.sleep(0.02)
    await until(lambda: fake.bot_messages(CHAT)[0].text == "One two three four", fake)
    await reply.finish("One two three four five.")
    [message] = fake.bot_messages(CHAT)
    assert message.history == ["One", "One two three four", "One two three four five."]


async def test_the_final_text_is_delivered_even_after_telegram_refuses_it_once(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    reply = live(bot, Outbox(private_interval=0.05))
    await reply.update("Partial")
    await until(lambda: bool(fake.bot_messages(CHAT)), fake)
    fake.fail_next(
        "editMessageText", error_code=429, description="Too Many Requests", retry_after=1
    )
    await reply.finish("Partial, then whole.")
    [message] = fake.bot_messages(CHAT)
    assert message.history == ["Partial", "Partial, then whole."]
    assert [c.error_code for c in fake.rejections] == [429]


async def test_typing_is_shown_until_the_first_text_and_never_after_it(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    reply = live(bot, Outbox(private_interval=0.05), typing_interval=0.05)
    await reply.start()
    await until(lambda: len(fake.calls_to("sendChatAction")) >= 2, fake)
    await reply.update("First words")
    await until(lambda: bool(fake.bot_messages(CHAT)), fake)
    await asyncio.sleep(0.2)  # four typing intervals
    await reply.finish("First words and the rest.")
    first_text = fake.calls_to("sendMessage")[0].at
    assert all(c.at < first_text for c in fake.calls_to("sendChatAction"))


async def test_a_final_text_without_room_for_its_notice_gets_the_notice_in_a_message_of_its_own(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    reply = live(bot, Outbox(private_interval=0.05))
    text = "x" * 4090
    await reply.finish(text, notice="The answer was cut short.")
    assert fake.texts(CHAT) == [text, "⚠️ The answer was cut short."]


async def test_an_empty_reply_says_so(fake: FakeTelegram, bot: telegram.Bot) -> None:
    reply = live(bot, Outbox(private_interval=0.05))
    await reply.finish("")
    assert fake.texts(CHAT) == ["⚠️ (empty reply)"]


async def test_a_queued_edit_made_needless_by_the_final_text_is_not_sent(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    reply = LiveReply(bot, Outbox(private_interval=0.3), Destination(CHAT), stop_data="stop")
    await reply.update("The whole answer.")
    await until(lambda: bool(fake.bot_messages(CHAT)), fake)
    # An edit adding the Stop button now waits for the chat's interval; the final text, the
    # same words without the button, leaves it nothing to do.
    await reply.finish("The whole answer.")
    [message] = fake.bot_messages(CHAT)
    assert message.history == ["The whole answer."]
    assert not fake.calls_to("editMessageReplyMarkup")
    assert not fake.calls_to("editMessageText")
