"""Answering the latest question again, end to end: /retry, and editing that question. The real
Application against the fake Telegram and the fake upstream (which echoes "You said: <text>"
unless scripted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.handlers.again import (
    EDITED_CAPTION,
    EDITED_COMMAND,
    NOT_ASKER,
    NOTHING_TO_RETRY,
    ONLY_LATEST,
    REPLACED,
)
from tests.e2e.chat import answer_to, ask, ask_in_group, last_text
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript
from tests.support import query

pytestmark = pytest.mark.relaxed

ALICE = 10
GROUP = -100200300
ADMIN = 2001
ASKER = 1001
OTHER = 1002
IN_GROUP: dict[str, Any] = {"chat_type": "supergroup"}


def contents(body: Any) -> list[str]:
    """The texts of a request's messages after the system prompt."""
    return [m["content"] for m in body["messages"][1:]]


async def stored(path: Path) -> list[tuple[str, str]]:
    return [(r, c) for r, c in await query(path, "SELECT role, content FROM messages ORDER BY id")]


# /retry


async def test_retry_replaces_the_answer_in_the_history_the_model_sees(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("Herons are birds."), ReplyScript("Herons are wading birds."))
    async with running_bot(settings):
        telegram.user_sends(ALICE, "what is a heron?")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == "Herons are birds.")
        telegram.user_sends(ALICE, "/retry")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == "Herons are wading birds.")
        body = await ask(telegram, upstream, ALICE, "where do they nest?")

    retried = upstream.chat_requests()[1].body
    assert contents(retried) == ["what is a heron?"]
    # The earlier answer stays in the chat; the model sees only the new one.
    assert telegram.texts(ALICE) == [
        "Herons are birds.",
        "Herons are wading birds.",
        "You said: where do they nest?",
    ]
    assert contents(body) == ["what is a heron?", "Herons are wading birds.", "where do they nest?"]
    assert await stored(settings.database_path) == [
        ("user", "what is a heron?"),
        ("assistant", "Herons are wading birds."),
        ("user", "where do they nest?"),
        ("assistant", "You said: where do they nest?"),
    ]


async def test_retry_with_no_question_yet_says_so_and_asks_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        first = await answer_to(telegram, ALICE, "/retry")
        await ask(telegram, upstream, ALICE, "hello")
        await answer_to(telegram, ALICE, "/new")
        second = await answer_to(telegram, ALICE, "/retry")

    assert (first, second) == (NOTHING_TO_RETRY, NOTHING_TO_RETRY)
    assert len(upstream.chat_requests()) == 1


async def test_in_a_group_the_asker_or_an_admin_may_retry_and_no_one_else(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [ADMIN])
    async with running_bot(settings):
        await ask_in_group(telegram, GROUP, "name a river", user_id=ASKER)
        refused = await answer_to(telegram, GROUP, "/retry", user_id=OTHER, **IN_GROUP)
        upstream.script(ReplyScript("The Rhine."), ReplyScript("The Nile."))
        telegram.user_sends(GROUP, "/retry", user_id=ASKER, **IN_GROUP)
        await telegram.wait_until(lambda: last_text(telegram, GROUP) == "The Rhine.")
        retry = telegram.user_sends(GROUP, "/retry", user_id=ADMIN, **IN_GROUP)
        await telegram.wait_until(lambda: last_text(telegram, GROUP) == "The Nile.")

    assert refused == NOT_ASKER
    assert len(upstream.chat_requests()) == 3
    assert [contents(r.body) for r in upstream.chat_requests()[1:]] == [["name a river"]] * 2
    # In a group the new answer replies to the /retry that asked for it.
    assert telegram.bot_messages(GROUP)[-1].reply_to_message_id == retry["message_id"]


async def test_retry_counts_as_a_message_against_the_rate_limit(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "db.sqlite3", rate_limit_per_minute=2)
    async with running_bot(settings):
        await ask(telegram, upstream, ALICE, "one")
        telegram.user_sends(ALICE, "/retry")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)
        telegram.user_sends(ALICE, "/retry")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 3)

    assert telegram.texts(ALICE)[:2] == ["You said: one", "You said: one"]
    assert "2 messages within a minute" in telegram.texts(ALICE)[2]
    assert len(upstream.chat_requests()) == 2


# Editing


async def test_editing_the_latest_question_answers_it_again_and_keeps_only_the_edit(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await ask(telegram, upstream, ALICE, "what is a stork?")
        sent = telegram.user_sends(ALICE, "what is 2+2?")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == "You said: what is 2+2?")
        old_answer = telegram.bot_messages(ALICE)[-1]
        telegram.user_edits(ALICE, sent["message_id"], "what is 3+3?")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == "You said: what is 3+3?")
        await telegram.wait_until(lambda: old_answer.text == REPLACED)
        new_answer = telegram.bot_messages(ALICE)[-1]
        body = await ask(telegram, upstream, ALICE, "thanks")

    assert new_answer.reply_to_message_id == sent["message_id"]
    assert contents(upstream.chat_requests()[2].body) == [
        "what is a stork?",
        "You said: what is a stork?",
        "what is 3+3?",
    ]
    assert contents(body) == [
        "what is a stork?",
        "You said: what is a stork?",
        "what is 3+3?",
        "You said: what is 3+3?",
        "thanks",
    ]
    assert "what is 2+2?" not in str(await stored(settings.database_path))


async def test_editing_an_older_question_changes_nothing_and_is_noted_once(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        older = telegram.user_sends(ALICE, "first question")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == "You said: first question")
        await ask(telegram, upstream, ALICE, "second question")
        telegram.user_edits(ALICE, older["message_id"], "first question, edited")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == ONLY_LATEST)
        telegram.user_edits(ALICE, older["message_id"], "first question, edited twice")
        body = await ask(telegram, upstream, ALICE, "third question")

    assert telegram.texts(ALICE) == [
        "You said: first question",
        "You said: second question",
        ONLY_LATEST,
        "You said: third question",
    ]
    assert len(upstream.chat_requests()) == 3
    assert contents(body)[::2] == ["first question", "second question", "third question"]


async def test_edited_commands_and_captions_are_not_run_again(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        command = telegram.user_sends(ALICE, "/about")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 1)
        telegram.user_edits(ALICE, command["message_id"], "/new")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == EDITED_COMMAND)
        photo = telegram.user_sends_photo(ALICE, b"\xff\xd8 jpeg", 64, 48, caption="a cat?")
        await telegram.wait_until(lambda: len(upstream.chat_requests()) == 1)
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 3)
        telegram.user_edits(ALICE, photo["message_id"], "a dog?")
        telegram.user_sends(ALICE, "/help")
        await telegram.wait_until(lambda: last_text(telegram, ALICE).startswith("Write me"))

    # One note a minute per user: the caption edit right after the command's is not noted.
    assert EDITED_CAPTION not in telegram.texts(ALICE)
    assert telegram.texts(ALICE).count(EDITED_COMMAND) == 1
    assert len(upstream.chat_requests()) == 1


async def test_in_a_group_an_edited_question_to_the_bot_is_answered_again_and_chatter_ignored(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup")
    async with running_bot(settings):
        chatter = telegram.user_sends(GROUP, "lunch?", user_id=OTHER, **IN_GROUP)
        telegram.user_edits(GROUP, chatter["message_id"], "lunch at one?")
        asking = telegram.user_sends(GROUP, "/ask hi", user_id=ASKER, **IN_GROUP)
        await telegram.wait_until(lambda: last_text(telegram, GROUP) == "You said: hi")
        telegram.user_edits(GROUP, asking["message_id"], "/ask hello")
        await telegram.wait_until(lambda: last_text(telegram, GROUP) == "You said: hello")
        await telegram.wait_until(lambda: REPLACED in telegram.texts(GROUP))

    # After the note the bot posts on joining: the first answer, marked, and the new one.
    assert telegram.texts(GROUP)[1:] == [REPLACED, "You said: hello"]
    assert [contents(r.body) for r in upstream.chat_requests()] == [["hi"], ["hello"]]


async def test_an_edit_past_the_length_limit_is_refused_and_the_question_stays(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "db.sqlite3", max_message_chars=20)
    async with running_bot(settings):
        sent = telegram.user_sends(ALICE, "short question")
        await telegram.wait_until(lambda: last_text(telegram, ALICE) == "You said: short question")
        telegram.user_edits(ALICE, sent["message_id"], "a" * 21)
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)
        body = await ask(telegram, upstream, ALICE, "next")

    assert telegram.texts(ALICE)[1].startswith("⚠️ Your message is too long: 21 characters")
    assert contents(body) == ["short question", "You said: short question", "next"]
