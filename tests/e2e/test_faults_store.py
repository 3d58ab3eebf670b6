"""The database failing under a turn (disk full, database locked), through the real bot: the user
reads a notice, the reply ends cleanly (no Stop button, no "typing…" or "recording…" left
running), and the next message is answered as usual."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.handlers.context import BotApplication
from bot.store import ChatStore
from tests.e2e.harness import make_settings, running_bot
from tests.e2e.stored import stored_messages
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript

LONG = " ".join(f"word{i}" for i in range(40))  # about 2 s at 8 characters every 0.1 s
SLOW = ReplyScript(LONG, chunk_size=8, chunk_delay=0.1)
NOT_REMEMBERED = (
    "⚠️ The bot's database failed, so this reply won't be remembered in the conversation."
)
CHAT = 10


def fail_once(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """Make the store's `method` fail the first time, as a full disk does; the calls it got."""
    real: Callable[..., Any] = getattr(ChatStore, method)
    calls: list[str] = []

    async def failing(self: ChatStore, *args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database or disk is full")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(ChatStore, method, failing)
    return calls


async def loops_left(telegram: FakeTelegram, app: BotApplication) -> list[str]:
    """The reply loops still alive ("typing…", "recording voice…", live message deliveries)
    once the bot has no turn running or waiting."""
    services = app.bot_data["services"]
    await telegram.wait_until(lambda: not services.conversation.busy_any())
    names = (task.get_name() for task in asyncio.all_tasks())
    return sorted(name for name in names if name in ("typing", "record-voice") or "live-" in name)


async def test_a_reply_that_cannot_be_stored_ends_with_a_notice_and_no_stop_button(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, "add_assistant_message")
    upstream.script(SLOW)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)) as app:
        telegram.user_sends(CHAT, "question")
        await telegram.wait_until(lambda: NOT_REMEMBERED in (telegram.texts(CHAT) or [""])[0])
        assert await loops_left(telegram, app) == []
        telegram.user_sends(CHAT, "and now?")
        await telegram.wait_until(lambda: telegram.texts(CHAT)[1:] == ["You said: and now?"])

    first = telegram.bot_messages(CHAT)[0]
    assert first.text == f"{LONG}\n\n{NOT_REMEMBERED}"
    assert any(state.startswith("word0") for state in first.history[:-1])  # it did stream
    assert first.reply_markup is None
    assert telegram.calls_to("editMessageText")[0].params.get("reply_markup")  # Stop was shown
    assert [(s.role, s.content) for s in await stored_messages(database, CHAT)] == [
        ("user", "question"),
        ("user", "and now?"),
        ("assistant", "You said: and now?"),
    ]


async def test_a_spoken_reply_that_cannot_be_stored_stops_recording_and_comes_as_text(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, "add_assistant_message")
    upstream.script(ReplyScript("Spoken words.", first_token_delay=0.5))
    settings = make_settings(
        telegram, upstream, tmp_path / "bot.sqlite3", default_model="gpt-4o-audio-preview"
    )
    async with running_bot(settings) as app:
        telegram.user_sends(CHAT, "say something")
        await telegram.wait_until(lambda: bool(telegram.calls_to("sendChatAction")))
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 1)
        assert await loops_left(telegram, app) == []

    assert telegram.texts(CHAT) == [f"Spoken words.\n\n{NOT_REMEMBERED}"]
    assert telegram.calls_to("sendChatAction")[0].params["action"] == "record_voice"
    assert telegram.calls_to("sendVoice") == []


async def test_a_question_that_cannot_be_stored_is_explained_and_not_sent_upstream(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, "add_user_message")
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(CHAT, "lost to a full disk")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 1)
        telegram.user_sends(CHAT, "and now?")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 2)

    assert telegram.texts(CHAT) == [
        "⚠️ The bot's database failed, so this message wasn't answered. Please try again later.",
        "You said: and now?",
    ]
    assert [r.body["messages"][-1]["content"] for r in upstream.chat_requests()] == ["and now?"]
