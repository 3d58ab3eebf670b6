"""Content the bot can't read gets a short answer; none of it reaches the model. (Edited
messages: test_again.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
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


@pytest.mark.parametrize("command", ["/frobnicate", "/frobnicate@someone_else_bot"])
async def test_an_unknown_command_in_a_private_chat_is_answered(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, command: str
) -> None:
    async with running_bot(settings):
        telegram.user_sends(7, command)
        await telegram.wait_until(lambda: len(telegram.texts(7)) == 1)

    assert telegram.texts(7) == ["I don't know that command. /help lists what I can do."]
    assert upstream.chat_requests() == []
