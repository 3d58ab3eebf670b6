"""One sender can't hold up the others: messages wait in their chat's queue, not in the bot's
update slots; one chat's and one user's backlog are capped; answers to input the bot can't use
are throttled per chat. Each test keeps a reply stalled (the upstream stops mid-stream) so the
messages behind it wait for as long as the test needs, then stops it with /stop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import app
from bot.handlers.bad_input import BAD_INPUT_ANSWERS
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

FLOODER, OTHER = 11, 12
GROUP = -900
STALLS = ReplyScript("Thinking about it", chunk_size=8, fault=Fault.STALL_MID_STREAM)
READS = "text messages, photos, PDF, Word and text files, voice notes and audio files"


def asked(upstream: FakeUpstream) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in upstream.chat_requests()]


async def test_a_flood_waiting_in_one_chat_does_not_hold_up_another_users_help(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two update slots: before, each waiting message held one until its turn, so two waiting
    # messages left nothing for anyone else until the stalled reply ended.
    monkeypatch.setattr(app, "CONCURRENT_UPDATES", 2)
    upstream.script(STALLS)
    settings = make_settings(telegram, upstream, tmp_path / "db.sqlite3", upstream_idle_timeout=30)
    flood = [f"flood {n}" for n in range(6)]
    async with running_bot(settings):
        telegram.user_sends(FLOODER, "first")
        await telegram.wait_until(lambda: len(telegram.bot_messages(FLOODER)) == 1)
        for text in flood:
            telegram.user_sends(FLOODER, text)
        telegram.user_sends(OTHER, "/help")
        await telegram.wait_until(lambda: len(telegram.texts(OTHER)) == 1)
        # Answered while the whole flood still waits behind the stalled reply.
        assert asked(upstream) == ["first"]
        assert len(telegram.bot_messages(FLOODER)) == 1
        telegram.user_sends(FLOODER, "/stop")
        await telegram.wait_until(lambda: len(telegram.texts(FLOODER)) == 1 + len(flood))

    assert (telegram.texts(OTHER)[0] or "").startswith("Write me anything")
    assert asked(upstream) == ["first", *flood]  # in the order they were sent
    assert telegram.texts(FLOODER)[1:] == [f"You said: {text}" for text in flood]


async def test_past_max_queued_per_user_the_sender_is_told_once_and_nothing_more_is_queued(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(STALLS)
    database = tmp_path / "db.sqlite3"
    settings = make_settings(
        telegram, upstream, database, upstream_idle_timeout=30, max_queued_per_user=3
    )
    async with running_bot(settings):
        telegram.user_sends(FLOODER, "first")
        await telegram.wait_until(lambda: len(telegram.bot_messages(FLOODER)) == 1)
        for n in range(1, 7):
            telegram.user_sends(FLOODER, f"q{n}")
        await telegram.wait_until(lambda: len(telegram.bot_messages(FLOODER)) == 2)
        telegram.user_sends(OTHER, "not mine to wait for")  # another user: their own count
        await telegram.wait_until(lambda: len(telegram.texts(OTHER)) == 1)
        telegram.user_sends(FLOODER, "/stop")
        await telegram.wait_until(lambda: len(telegram.texts(FLOODER)) == 5)

    assert telegram.texts(FLOODER)[1:] == [
        "⚠️ You have 3 messages waiting for my answer. I'm not taking new ones until I've "
        "answered those; please send this again then.",
        "You said: q1",
        "You said: q2",
        "You said: q3",
    ]
    assert asked(upstream) == ["first", "not mine to wait for", "q1", "q2", "q3"]


async def test_past_max_queued_per_chat_a_group_takes_no_more_from_anyone(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(STALLS)
    settings = make_settings(
        telegram,
        upstream,
        tmp_path / "db.sqlite3",
        upstream_idle_timeout=30,
        group_edit_interval=0.5,
        max_queued_per_chat=2,
    )
    async with running_bot(settings):
        telegram.user_sends(GROUP, "/ask first", chat_type="group", user_id=1)
        await telegram.wait_until(lambda: len(telegram.bot_messages(GROUP)) == 1)
        telegram.user_sends(GROUP, "/ask from two", user_id=2)
        telegram.user_sends(GROUP, "/ask from three", user_id=3)
        telegram.user_sends(GROUP, "/ask from four", user_id=4)
        telegram.user_sends(GROUP, "/ask four again", user_id=4)
        await telegram.wait_until(lambda: len(telegram.bot_messages(GROUP)) == 2)
        telegram.user_sends(GROUP, "/stop", user_id=1)
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 4)

    assert telegram.texts(GROUP)[1:] == [
        "⚠️ 2 messages in this chat are waiting for my answer. I'm not taking new ones until "
        "I've answered those; please send this again then.",
        "You said: from two",
        "You said: from three",
    ]
    assert asked(upstream) == ["first", "from two", "from three"]


async def test_answers_to_stickers_and_unknown_commands_are_throttled_per_chat(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running_bot(make_settings(telegram, upstream, tmp_path / "db.sqlite3")):
        for _ in range(5):
            telegram.user_sends_sticker(FLOODER)
        telegram.user_sends(FLOODER, "/frobnicate")
        telegram.user_sends_document(FLOODER, b"\xd0\xcf", "letter.doc", "application/msword")
        telegram.user_sends_sticker(OTHER)
        await telegram.wait_until(lambda: len(telegram.texts(OTHER)) == 1)
    # Every update above is handled by now: the block ends once the bot has stopped.

    assert len(telegram.texts(FLOODER)) == BAD_INPUT_ANSWERS == 3
    assert set(telegram.texts(FLOODER)) == {f"I can't read stickers. I understand {READS}."}
    assert telegram.texts(OTHER) == [f"I can't read stickers. I understand {READS}."]
    assert upstream.chat_requests() == []
