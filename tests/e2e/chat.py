"""A user's side of a chat with the running bot, for the end-to-end tests: what they send and
press, and what they read back. The fake upstream answers "You said: <text>" unless scripted.

What Telegram itself records (messages, calls, texts) is asked of the fake (`tests/fakes/telegram`);
these helpers add the bot's conventions: captions on voice replies, keyboards, the Stop button.
"""

from __future__ import annotations

import itertools
from typing import Any

from bot.handlers.context import BotApplication
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.upstream import FakeUpstream

_forged_ids = itertools.count(1)


def shown(message: SentMessage) -> str:
    """What a message shows: its text, or its caption (voice replies carry the transcript)."""
    return message.text or message.caption or ""


def last_text(telegram: FakeTelegram, chat_id: int) -> str:
    """What the bot's latest message in the chat shows; "" before it has sent any."""
    messages = telegram.bot_messages(chat_id)
    return shown(messages[-1]) if messages else ""


async def answer_to(telegram: FakeTelegram, chat_id: int, text: str, **kwargs: Any) -> str:
    """Send `text` (a command, usually) and return what the bot's next message shows."""
    before = len(telegram.bot_messages(chat_id))
    telegram.user_sends(chat_id, text, **kwargs)
    await telegram.wait_until(lambda: len(telegram.bot_messages(chat_id)) > before)
    return last_text(telegram, chat_id)


async def ask(telegram: FakeTelegram, upstream: FakeUpstream, chat_id: int, text: str) -> Any:
    """Send a message, wait for the echoed reply, and return the body of the one request it
    caused."""
    before = len(upstream.chat_requests())
    telegram.user_sends(chat_id, text)
    await telegram.wait_until(lambda: last_text(telegram, chat_id) == f"You said: {text}")
    assert len(upstream.chat_requests()) == before + 1
    return upstream.chat_requests()[-1].body


async def ask_in_group(telegram: FakeTelegram, group: int, question: str, **kwargs: Any) -> None:
    """Ask with /ask in a supergroup and wait for the echoed reply."""
    telegram.user_sends(group, f"/ask {question}", chat_type="supergroup", **kwargs)
    await telegram.wait_until(lambda: last_text(telegram, group) == f"You said: {question}")


async def joined(telegram: FakeTelegram, group: int) -> None:
    """Wait for the usage note the bot posts when it is added to the group."""
    await telegram.wait_until(lambda: len(telegram.bot_messages(group)) == 1)


def button_data(message: SentMessage) -> dict[str, str]:
    """Label -> callback data of every button under a message."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


def has_stop_button(telegram: FakeTelegram, chat_id: int) -> bool:
    """Whether the bot's latest message in the chat has a keyboard (a reply in progress)."""
    messages = telegram.bot_messages(chat_id)
    return bool(messages) and messages[-1].reply_markup is not None


async def press(
    telegram: FakeTelegram, chat_id: int, message: SentMessage, data: str, **kwargs: Any
) -> None:
    """Press a button and wait until the bot has answered the press."""
    answered = len(telegram.calls_to("answerCallbackQuery"))
    telegram.press_button(chat_id, message.message_id, data, **kwargs)
    await telegram.wait_until(lambda: len(telegram.calls_to("answerCallbackQuery")) > answered)


def forge_press(telegram: FakeTelegram, chat_id: int, message_id: int, data: str) -> None:
    """A button press with data the message's keyboard never had (a modified client)."""
    query_id = f"forged{next(_forged_ids)}"
    telegram.callback_queries[query_id] = False
    telegram.enqueue_update(
        {
            "callback_query": {
                "id": query_id,
                "from": {"id": chat_id, "is_bot": False, "first_name": "Mallory"},
                "message": telegram.messages[(chat_id, message_id)],
                "chat_instance": "1",
                "data": data,
            }
        }
    )


def callback_answers(telegram: FakeTelegram) -> list[str | None]:
    """The text the bot answered each button press with (None: only the spinner stopped)."""
    return [call.params.get("text") for call in telegram.calls_to("answerCallbackQuery")]


def edits_of(telegram: FakeTelegram, message: SentMessage) -> list[str | None]:
    """Texts the bot asked to put into `message` (accepted or not)."""
    return [
        call.params.get("text")
        for call in telegram.calls_to("editMessageText")
        if (call.params["chat_id"], call.params["message_id"])
        == (message.chat_id, message.message_id)
    ]


async def settled(telegram: FakeTelegram, application: BotApplication) -> None:
    """Wait until the bot has finished every queued turn. The fake shows a message the moment
    it handles the send, a little before the bot has its answer (its Telegram calls run on a
    thread of their own); a test that replies to that message at once would race the bot."""
    services = application.bot_data["services"]
    await telegram.wait_until(lambda: not services.conversation.busy_any())


def document_text(telegram: FakeTelegram, chat_id: int) -> str:
    """The text of the one document the bot sent to the chat."""
    [sent] = [m for m in telegram.bot_messages(chat_id) if m.kind == "document"]
    assert sent.media is not None
    return sent.media.decode()


async def exported(telegram: FakeTelegram, chat_id: int, command: str, **kwargs: Any) -> str:
    """Send an /export command and read the document the bot sends back."""
    telegram.user_sends(chat_id, command, **kwargs)
    await telegram.wait_until(
        lambda: any(m.kind == "document" for m in telegram.bot_messages(chat_id))
    )
    return document_text(telegram, chat_id)
