"""Content the bot can't read and edited messages get a short answer; none reaches the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.handlers.bad_input import EDIT_NOTICE
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.events import OTHER_KINDS
from tests.fakes.upstream import FakeUpstream

GROUP = -800

READS = "text messages, photos, PDF, Word and text files, voice notes and audio files"


def group_settings(telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path) -> Settings:
    """Settings with a short pause between a group's messages (a few messages per test)."""
    return make_settings(telegram, upstream, tmp_path / "db.sqlite3", group_edit_interval=0.5)


async def test_each_unsupported_kind_is_named_and_what_is_supported_is_said(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    names = {
        "venue": "venues",
        "contact": "contacts",
        "poll": "polls",
        "dice": "dice",
        "video": "videos",
        "video_note": "video messages",
        "animation": "GIFs",
        "game": "games",
    }
    assert set(names) == set(OTHER_KINDS)
    async with running_bot(settings):
        for chat_id, kind in enumerate(OTHER_KINDS, start=1):
            telegram.user_sends_other(chat_id, kind)
        telegram.user_sends_sticker(20)
        telegram.user_sends_location(21)
        await telegram.wait_until(
            lambda: all(telegram.texts(c) for c in (*range(1, len(OTHER_KINDS) + 1), 20, 21))
        )

    answers = {kind: telegram.texts(c) for c, kind in enumerate(OTHER_KINDS, start=1)}
    assert answers == {
        kind: [f"I can't read {name}. I understand {READS}."] for kind, name in names.items()
    }
    assert telegram.texts(20) == [f"I can't read stickers. I understand {READS}."]
    assert telegram.texts(21) == [f"I can't read locations. I understand {READS}."]
    assert upstream.chat_requests() == []


async def test_in_a_group_unsupported_content_is_answered_only_when_it_replies_to_the_bot(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running_bot(group_settings(telegram, upstream, tmp_path)):
        telegram.user_sends(GROUP, "/help", chat_type="group")
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 1)
        help_message = telegram.bot_messages(GROUP)[0].message_id
        telegram.user_sends_other(GROUP, "dice")
        telegram.user_sends_other(GROUP, "poll", reply_to_message_id=help_message)
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 2)
        telegram.user_sends(GROUP, "/about")  # handled after the dice, so the dice was ignored
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 3)

    assert telegram.texts(GROUP)[1] == f"I can't read polls. I understand {READS}."
    assert upstream.chat_requests() == []


async def test_an_edited_message_is_not_answered_again_and_the_user_is_told_once(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        sent = telegram.user_sends(5, "what is 2+2?")
        await telegram.wait_until(lambda: telegram.texts(5) == ["You said: what is 2+2?"])
        telegram.user_edits(5, sent["message_id"], "what is 3+3?")
        await telegram.wait_until(lambda: len(telegram.texts(5)) == 2)
        telegram.user_edits(5, sent["message_id"], "what is 4+4?")
        command = telegram.user_sends(5, "/about")
        await telegram.wait_until(lambda: len(telegram.texts(5)) == 3)
        telegram.user_edits(5, command["message_id"], "/new")
        telegram.user_sends(5, "/help")
        await telegram.wait_until(lambda: len(telegram.texts(5)) == 4)

    shown = telegram.texts(5)
    assert shown[:2] == ["You said: what is 2+2?", EDIT_NOTICE]
    assert (shown[2] or "").startswith("gpt-telegram-bot")
    assert (shown[3] or "").startswith("Write me anything")
    assert [r.body["messages"][-1]["content"] for r in upstream.chat_requests()] == ["what is 2+2?"]


async def test_an_edit_in_a_group_that_does_not_address_the_bot_is_ignored(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running_bot(group_settings(telegram, upstream, tmp_path)):
        chatter = telegram.user_sends(GROUP, "lunch?", chat_type="group")
        telegram.user_edits(GROUP, chatter["message_id"], "lunch at one?")
        asking = telegram.user_sends(GROUP, "/ask hi")
        await telegram.wait_until(lambda: telegram.texts(GROUP) == ["You said: hi"])
        telegram.user_edits(GROUP, asking["message_id"], "/ask hello")
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 2)

    assert telegram.texts(GROUP) == ["You said: hi", EDIT_NOTICE]
    assert len(upstream.chat_requests()) == 1


@pytest.mark.parametrize("command", ["/frobnicate", "/frobnicate@someone_else_bot"])
async def test_an_unknown_command_in_a_private_chat_is_answered(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, command: str
) -> None:
    async with running_bot(settings):
        telegram.user_sends(7, command)
        await telegram.wait_until(lambda: len(telegram.texts(7)) == 1)

    assert telegram.texts(7) == ["I don't know that command. /help lists what I can do."]
    assert upstream.chat_requests() == []
