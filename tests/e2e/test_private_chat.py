"""A private chat end to end: the real Application, the fake Telegram, the fake upstream."""

from __future__ import annotations

import itertools
from pathlib import Path

from bot.config import Settings
from bot.delivery.pacing import SAFETY_MARGIN
from tests.e2e.chat import ask, last_text
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

INDIA = (
    "India is the seventh-largest country by area.\n"
    "It is home to more than a billion people.\n"
    "Its capital is New Delhi.\n"
    "The Himalayas lie along its northern border."
)


async def test_a_streamed_reply_grows_in_paced_edits_and_ends_whole(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript(INDIA, chunk_size=6, chunk_delay=0.12))
    async with running_bot(settings):
        telegram.user_sends(10, "Write 10 lines on India")
        await telegram.wait_until(lambda: last_text(telegram, 10) == INDIA, timeout=20)
    [reply] = telegram.bot_messages(10)
    assert reply.history[-1] == INDIA
    assert len(reply.history) >= 3
    assert all(INDIA.startswith(state) for state in reply.history)
    actions = telegram.calls_to("sendChatAction")
    assert actions[0].params["action"] == "typing"
    assert actions[0].at <= telegram.calls_to("sendMessage")[0].at
    changes = [c.at for c in telegram.calls if c.method in ("sendMessage", "editMessageText")]
    gaps = [b - a for a, b in itertools.pairwise(changes)]
    assert min(gaps) >= settings.private_edit_interval + SAFETY_MARGIN - 0.01
    assert telegram.rejections == []


async def test_replies_are_sent_with_entities_and_never_parse_mode(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("Use **bold** and `code` here."))
    async with running_bot(settings):
        telegram.user_sends(10, "format please")
        await telegram.wait_until(lambda: last_text(telegram, 10) == "Use bold and code here.")
    [reply] = telegram.bot_messages(10)
    assert [(e["type"], e["offset"], e["length"]) for e in reply.entities] == [
        ("bold", 4, 4),
        ("code", 13, 4),
    ]
    assert all("parse_mode" not in c.params for c in telegram.calls)


async def test_the_second_message_is_answered_with_the_first_exchange_in_mind(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "Write 10 lines on India")
        await telegram.wait_until(
            lambda: last_text(telegram, 10) == "You said: Write 10 lines on India"
        )
        telegram.user_sends(10, "now shorter")
        await telegram.wait_until(lambda: last_text(telegram, 10) == "You said: now shorter")
    assert upstream.chat_requests()[-1].body["messages"] == [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "Write 10 lines on India"},
        {"role": "assistant", "content": "You said: Write 10 lines on India"},
        {"role": "user", "content": "now shorter"},
    ]


async def test_max_reply_tokens_goes_upstream_as_max_tokens_only_when_set(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    unlimited = make_settings(telegram, upstream, database)
    async with running_bot(unlimited):
        await ask(telegram, upstream, 10, "tell me everything")
    async with running_bot(make_settings(telegram, upstream, database, max_reply_tokens=256)):
        await ask(telegram, upstream, 10, "briefly, then")
    bodies = [request.body for request in upstream.chat_requests()]
    assert ["max_tokens" in body for body in bodies] == [False, True]
    assert bodies[1]["max_tokens"] == 256


async def test_history_survives_a_restart_of_the_bot(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "my name is Ada")
        await telegram.wait_until(lambda: last_text(telegram, 10) == "You said: my name is Ada")
    async with running_bot(settings):
        telegram.user_sends(10, "what is my name?")
        await telegram.wait_until(lambda: last_text(telegram, 10) == "You said: what is my name?")
    assert upstream.chat_requests()[-1].body["messages"][1:] == [
        {"role": "user", "content": "my name is Ada"},
        {"role": "assistant", "content": "You said: my name is Ada"},
        {"role": "user", "content": "what is my name?"},
    ]
    assert len(upstream.chat_requests()) == 2


async def test_new_starts_a_fresh_context(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(10, "remember 7")
        await telegram.wait_until(lambda: last_text(telegram, 10) == "You said: remember 7")
        telegram.user_sends(10, "/new")
        await telegram.wait_until(lambda: "new conversation" in last_text(telegram, 10))
        telegram.user_sends(10, "which number?")
        await telegram.wait_until(lambda: last_text(telegram, 10) == "You said: which number?")
    assert upstream.chat_requests()[-1].body["messages"] == [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "which number?"},
    ]


async def test_two_chats_stream_at_the_same_time(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(
        ReplyScript("a" * 120, chunk_size=4, chunk_delay=0.05),
        ReplyScript("b" * 120, chunk_size=4, chunk_delay=0.05),
    )
    async with running_bot(settings):
        telegram.user_sends(10, "first")
        telegram.user_sends(20, "second")
        await telegram.wait_until(
            lambda: (
                last_text(telegram, 10) in ("a" * 120, "b" * 120)
                and last_text(telegram, 20) in ("a" * 120, "b" * 120)
            )
        )
    first_shown = {
        m.chat_id: m.sent_at for m in telegram.bot_messages(10) + telegram.bot_messages(20)
    }
    last_edit = {
        m.chat_id: max([m.sent_at, *m.edit_times])
        for m in telegram.bot_messages(10) + telegram.bot_messages(20)
    }
    # Each chat's reply was on screen before the other's was finished: they ran side by side.
    assert first_shown[10] < last_edit[20]
    assert first_shown[20] < last_edit[10]


async def test_upstream_down_is_explained_and_the_next_message_works(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("", fault=Fault.HTTP_500))
    async with running_bot(settings):
        telegram.user_sends(10, "hello")
        await telegram.wait_until(lambda: last_text(telegram, 10) != "")
        assert last_text(telegram, 10) == (
            "⚠️ The AI service had an internal error (500). Please try again."
        )
        telegram.user_sends(10, "hello again")
        await telegram.wait_until(lambda: last_text(telegram, 10) == "You said: hello again")


async def test_a_stream_cut_midway_keeps_the_text_marked_as_interrupted(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(
        ReplyScript("The answer is forty-two.", fault=Fault.CUT_MID_STREAM, after_chunks=3)
    )
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: "⚠️" in last_text(telegram, 10))
    [reply] = telegram.bot_messages(10)
    assert reply.text == (
        "The answer i\n\n⚠️ The AI service sent a reply the bot could not read (stream cut)."
    )
    assert reply.entities[-1]["type"] == "italic"


async def test_upstream_unreachable_is_explained(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "db.sqlite3")
    settings = settings.model_copy(update={"gpt_api_base_url": "http://127.0.0.1:9"})
    async with running_bot(settings):
        telegram.user_sends(10, "hello")
        await telegram.wait_until(lambda: last_text(telegram, 10) != "")
    assert last_text(telegram, 10) == (
        "⚠️ The AI service can't be reached right now. Please try again in a minute."
    )
