"""Commands and non-text input in a private chat, through the real Application."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings
from bot.handlers.commands import COMMANDS
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream

READS = "text messages, photos, PDF, Word and text files, voice notes and audio files"


async def test_the_command_menu_is_published_at_startup(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await telegram.wait_until(lambda: bool(telegram.calls_to("setMyCommands")))
    published = telegram.commands_for()
    assert [(c["command"], c["description"]) for c in published] == list(COMMANDS)


async def test_start_and_help_explain_the_commands(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "/start", first_name="Ada")
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 1)
        telegram.user_sends(10, "/help")
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 2)
    start, help_ = telegram.texts(10)
    assert start is not None
    assert help_ is not None
    assert start.startswith("Hi Ada!")
    for command in ("/new", "/ask", "/stop", "/about", "/help"):
        assert command in help_
    assert upstream.chat_requests() == []


async def test_about_shows_the_version_and_the_upstream_about(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "/about")
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 1)
    [about] = telegram.texts(10)
    assert about is not None
    assert about.startswith("gpt-telegram-bot 0.1.0")
    assert any(r.path == "/about" for r in upstream.requests)
    assert upstream.about is not None
    assert str(next(iter(upstream.about.values()))) in about


async def test_ask_in_a_private_chat_is_answered_like_plain_text(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "/ask what is 2+2?")
        await telegram.wait_until(lambda: telegram.texts(10) == ["You said: what is 2+2?"])
        telegram.user_sends(10, "/ask")
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 2)
    assert telegram.texts(10)[1] == "Usage: /ask <question>"


async def test_unknown_commands_and_stickers_get_a_short_answer_and_no_upstream_call(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "/frobnicate")
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 1)
        telegram.user_sends_sticker(10)
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 2)
    assert telegram.texts(10) == [
        "I don't know that command. /help lists what I can do.",
        f"I can't read stickers. I understand {READS}.",
    ]
    assert upstream.chat_requests() == []


async def test_stop_with_nothing_running_says_so(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "/stop")
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 1)
    assert telegram.texts(10) == ["Nothing to stop: no reply is being written."]


async def test_a_command_menu_telegram_refuses_is_a_warning_and_the_bot_starts_anyway(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram.fail_next("setMyCommands", error_code=400, description="Bad Request: oops", times=3)
    with caplog.at_level(logging.WARNING, logger="bot.handlers.commands"):
        async with running_bot(settings):
            telegram.user_sends(10, "hello")
            await telegram.wait_until(lambda: telegram.texts(10) == ["You said: hello"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert all(w.startswith("setMyCommands failed for the menu of ") for w in warnings)
    assert warnings[0] == (
        "setMyCommands failed for the menu of every chat, language default (BadRequest: Oops); "
        "the bot runs without it"
    )
