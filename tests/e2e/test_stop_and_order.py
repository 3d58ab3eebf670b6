"""Stopping a reply (/stop and the Stop button) and a chat's messages answered in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.handlers.stop import FOREIGN
from tests.e2e.chat import callback_answers, has_stop_button
from tests.e2e.harness import make_settings, running_bot
from tests.e2e.stored import Stored, stored_messages
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript

LONG = " ".join(f"word{i}" for i in range(60))  # about 3 s at 8 characters every 0.05 s
SLOW = ReplyScript(LONG, chunk_size=8, chunk_delay=0.05)
STOP_KEYBOARD = {"inline_keyboard": [[{"text": "⏹ Stop", "callback_data": "stop:1"}]]}


async def test_the_live_reply_carries_a_stop_button_from_its_first_edit_until_it_ends(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    async with running_bot(make_settings(telegram, upstream, tmp_path / "bot.sqlite3")):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG], timeout=20)
    first_send, first_edit = (
        telegram.calls_to("sendMessage")[0],
        telegram.calls_to("editMessageText")[0],
    )
    assert "reply_markup" not in first_send.params  # a reply done at once never shows it
    assert first_edit.params["reply_markup"] == STOP_KEYBOARD
    [reply] = telegram.bot_messages(10)
    assert reply.reply_markup is None


async def test_the_stop_button_stops_the_generation_keeps_the_text_and_stores_it(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: has_stop_button(telegram, 10))
        [live] = telegram.bot_messages(10)
        telegram.press_button(10, live.message_id, "stop:1")
        await telegram.wait_until(lambda: "⚠️ Stopped." in telegram.texts(10)[0])
        await upstream.wait_until(lambda: upstream.disconnects == 1)  # the request was closed
    [shown] = telegram.texts(10)
    kept = shown.removesuffix("\n\n⚠️ Stopped.")
    assert LONG.startswith(kept)
    assert kept != LONG
    assert telegram.bot_messages(10)[0].reply_markup is None
    assert callback_answers(telegram) == ["Stopping…"]
    assert await stored_messages(database, 10) == [
        Stored("user", "question", "complete", 1),
        Stored("assistant", kept, "stopped"),
    ]


async def test_stop_pressed_by_someone_else_in_a_group_is_refused_and_the_asker_may(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    database = tmp_path / "bot.sqlite3"
    settings = make_settings(telegram, upstream, database, group_edit_interval=0.5)
    async with running_bot(settings):
        asked = telegram.user_sends(-5, "/ask question", chat_type="group", user_id=1001)
        await telegram.wait_until(lambda: has_stop_button(telegram, -5))
        [live] = telegram.bot_messages(-5)
        data = f"stop:{asked['message_id']}"
        telegram.press_button(-5, live.message_id, data, user_id=2002)
        await telegram.wait_until(lambda: len(callback_answers(telegram)) == 1)
        telegram.press_button(-5, live.message_id, data, user_id=1001)
        await telegram.wait_until(lambda: "⚠️ Stopped." in telegram.texts(-5)[0])
    assert callback_answers(telegram) == [
        "Only the person who asked, or an admin, can stop this reply.",
        "Stopping…",
    ]
    assert [s.status for s in await stored_messages(database, -5)] == ["complete", "stopped"]


async def test_the_stop_command_stops_the_reply_in_progress(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1)
        telegram.user_sends(10, "/stop")
        await telegram.wait_until(lambda: "⚠️ Stopped." in telegram.texts(10)[0])
    assert len(telegram.texts(10)) == 1  # /stop itself gets no extra message
    assert [s.status for s in await stored_messages(database, 10)] == ["complete", "stopped"]


async def test_the_stop_command_in_a_group_stops_only_the_askers_or_an_admins_reply(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW, SLOW)
    database = tmp_path / "bot.sqlite3"
    settings = make_settings(telegram, upstream, database, group_edit_interval=0.5)
    asker, member, admin = 1001, 2002, 3003
    in_group: dict[str, Any] = {"chat_type": "group"}
    async with running_bot(settings):
        telegram.user_sends(-5, "/ask first", user_id=asker, **in_group)
        telegram.set_chat_admins(-5, [admin])
        await telegram.wait_until(lambda: has_stop_button(telegram, -5))
        telegram.user_sends(-5, "/stop", user_id=member, **in_group)
        await telegram.wait_until(lambda: FOREIGN in telegram.texts(-5))
        assert "Stopped." not in telegram.texts(-5)[0]  # the reply goes on
        telegram.user_sends(-5, "/stop", user_id=asker, **in_group)
        await telegram.wait_until(lambda: telegram.texts(-5)[0].endswith("⚠️ Stopped."))
        telegram.user_sends(-5, "/ask second", user_id=asker, **in_group)
        await telegram.wait_until(lambda: has_stop_button(telegram, -5))
        telegram.user_sends(-5, "/stop", user_id=admin, **in_group)
        await telegram.wait_until(lambda: telegram.texts(-5)[-1].endswith("⚠️ Stopped."))
    assert [t for t in telegram.texts(-5) if not t.endswith("⚠️ Stopped.")] == [FOREIGN]
    assert [s.status for s in await stored_messages(database, -5)] == [
        "complete",
        "stopped",
        "complete",
        "stopped",
    ]


async def test_a_second_message_during_a_reply_is_answered_after_it_in_order(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW, ReplyScript("Second answer."))
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "first")
        await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1)
        telegram.user_sends(10, "second")
        await telegram.wait_until(
            lambda: telegram.texts(10) == [LONG, "Second answer."], timeout=20
        )
    first, second = telegram.bot_messages(10)
    assert second.sent_at >= max(first.edit_times)  # never interleaved
    assert [(s.role, s.content) for s in await stored_messages(database, 10)] == [
        ("user", "first"),
        ("assistant", LONG),
        ("user", "second"),
        ("assistant", "Second answer."),
    ]
    assert upstream.chat_requests()[1].body["messages"][1:] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": LONG},
        {"role": "user", "content": "second"},
    ]
