"""Allowlists are enforced on every kind of update, before any upstream call."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from bot.handlers.access_policy import AccessPolicy, not_allowed_text
from bot.handlers.context import BotApplication, Services
from tests.e2e.chat import button_data, press
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream
from tests.support import FakeClock, query

ALLOWED, STRANGER, ADMIN = 1, 2, 9
OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


async def test_a_stranger_is_told_once_with_their_id_and_nothing_reaches_the_upstream(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram, upstream, tmp_path / "db.sqlite3", allowed_user_ids=frozenset({ALLOWED})
    )
    async with running_bot(settings):
        telegram.user_sends(STRANGER, "hello", user_id=STRANGER)
        await telegram.wait_until(lambda: len(telegram.texts(STRANGER)) == 1)
        telegram.user_sends(STRANGER, "/new", user_id=STRANGER)
        telegram.user_sends(STRANGER, "hello again", user_id=STRANGER)
        telegram.user_sends(ALLOWED, "I may", user_id=ALLOWED)
        await telegram.wait_until(lambda: telegram.texts(ALLOWED) == ["You said: I may"])
        await telegram.wait_until(lambda: telegram.updates_confirmed >= 4)
    [refusal] = telegram.texts(STRANGER)
    assert refusal is not None
    assert "not allowed" in refusal
    assert str(STRANGER) in refusal
    assert [r.body["messages"][-1]["content"] for r in upstream.chat_requests()] == ["I may"]


async def test_a_strangers_button_press_is_answered_and_changes_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram, upstream, tmp_path / "db.sqlite3", allowed_chat_ids=frozenset({-500})
    )
    async with running_bot(settings):
        telegram.user_sends(-500, "/model", user_id=ALLOWED, chat_type="group")
        await telegram.wait_until(lambda: bool(telegram.bot_messages(-500)))
        keyboard = telegram.bot_messages(-500)[0]
        assert keyboard.reply_markup is not None
        first = keyboard.reply_markup["inline_keyboard"][0][0]["callback_data"]
        telegram.user_sends(-600, "/model", user_id=STRANGER, chat_type="group")
        await telegram.wait_until(lambda: bool(telegram.bot_messages(-600)))
        telegram.press_button(-500, keyboard.message_id, first, user_id=STRANGER)
        await telegram.wait_until(lambda: len(telegram.calls_to("answerCallbackQuery")) == 1)
    [answered] = telegram.calls_to("answerCallbackQuery")
    assert "not allowed" not in str(answered.params.get("text", ""))  # member of allowed group
    assert telegram.unanswered_callbacks == []
    [refusal] = telegram.texts(-600)
    assert refusal is not None
    assert "not allowed" in refusal


async def test_an_admin_passes_every_allowlist(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram,
        upstream,
        tmp_path / "db.sqlite3",
        allowed_user_ids=frozenset({ALLOWED}),
        admin_user_ids=frozenset({ADMIN}),
    )
    async with running_bot(settings):
        telegram.user_sends(ADMIN, "admin here", user_id=ADMIN)
        await telegram.wait_until(lambda: telegram.texts(ADMIN) == ["You said: admin here"])
    assert len(upstream.chat_requests()) == 1


def gate_with_clock(application: BotApplication, clock: FakeClock, **lists: frozenset[int]) -> None:
    """Swap the running bot's access policy for one with these lists on a hand-moved clock."""
    services: Services = application.bot_data["services"]
    policy = AccessPolicy(
        allowed_users=lists.get("users", frozenset()),
        allowed_chats=lists.get("chats", frozenset()),
        admins=lists.get("admins", frozenset()),
        clock=clock,
    )
    application.bot_data["services"] = dataclasses.replace(services, access=policy)


async def test_every_kind_of_message_from_a_stranger_is_refused_with_their_id(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram, upstream, tmp_path / "db.sqlite3", allowed_user_ids=frozenset({ALLOWED})
    )
    kinds: dict[int, Callable[[int], object]] = {
        21: lambda chat: telegram.user_sends(chat, "hello"),
        22: lambda chat: telegram.user_sends(chat, "/settings"),
        23: lambda chat: telegram.user_sends(chat, "/ask what?"),
        24: lambda chat: telegram.user_sends_voice(chat, OGG, duration=2),
        25: lambda chat: telegram.user_sends_photo(chat, JPEG, 640, 480, caption="what is it?"),
        26: lambda chat: telegram.user_sends_document(
            chat, b"%PDF-1.4", "a.pdf", "application/pdf"
        ),
        27: lambda chat: telegram.user_sends_sticker(chat),
    }
    async with running_bot(settings):
        for chat_id, send in kinds.items():
            send(chat_id)
        await telegram.wait_until(lambda: all(telegram.texts(chat) for chat in kinds))
        await telegram.wait_until(lambda: telegram.updates_confirmed >= len(kinds))

    for stranger in kinds:
        assert telegram.texts(stranger) == [not_allowed_text(stranger)]
    assert upstream.chat_requests() == []
    assert telegram.calls_to("getFile") == []  # nothing of a stranger's media is even fetched


async def test_an_edit_from_a_user_no_longer_allowed_is_refused_and_told_once_a_minute(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    clock = FakeClock(0.0)
    async with running_bot(make_settings(telegram, upstream, tmp_path / "db.sqlite3")) as app:
        sent = telegram.user_sends(STRANGER, "hello")  # still open
        await telegram.wait_until(lambda: telegram.texts(STRANGER) == ["You said: hello"])
        gate_with_clock(app, clock, users=frozenset({ALLOWED}))
        telegram.user_edits(STRANGER, sent["message_id"], "hello?")
        await telegram.wait_until(lambda: len(telegram.texts(STRANGER)) == 2)
        telegram.user_sends_voice(STRANGER, OGG, duration=1)
        telegram.user_edits(STRANGER, sent["message_id"], "hello!!")
        telegram.user_sends(STRANGER, "/help")
        await telegram.wait_until(lambda: telegram.updates_confirmed >= 5)
        telegram.user_sends(ALLOWED, "/help")  # handled after the three above, in practice
        await telegram.wait_until(lambda: bool(telegram.texts(ALLOWED)))

    assert telegram.texts(STRANGER) == ["You said: hello", not_allowed_text(STRANGER)]
    assert [r.body["messages"][-1]["content"] for r in upstream.chat_requests()] == ["hello"]


async def test_a_strangers_button_press_gets_the_refusal_as_an_alert(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    clock = FakeClock(0.0)
    async with running_bot(make_settings(telegram, upstream, tmp_path / "db.sqlite3")) as app:
        telegram.user_sends(STRANGER, "/model")  # still open: the keyboard arrives
        await telegram.wait_until(lambda: bool(telegram.bot_messages(STRANGER)))
        keyboard = telegram.bot_messages(STRANGER)[0]
        assert keyboard.reply_markup is not None
        button = keyboard.reply_markup["inline_keyboard"][0][0]["callback_data"]
        gate_with_clock(app, clock, users=frozenset({ALLOWED}))
        telegram.press_button(STRANGER, keyboard.message_id, button)
        telegram.press_button(STRANGER, keyboard.message_id, button)
        await telegram.wait_until(lambda: len(telegram.calls_to("answerCallbackQuery")) == 2)

    alert, quiet = (call.params for call in telegram.calls_to("answerCallbackQuery"))
    assert (alert.get("text"), alert.get("show_alert")) == (not_allowed_text(STRANGER), True)
    assert "text" not in quiet  # the second press within a minute only stops the spinner
    assert telegram.unanswered_callbacks == []
    assert len(telegram.bot_messages(STRANGER)) == 1  # the model was not changed


async def test_in_a_group_a_stranger_is_refused_only_when_addressing_the_bot(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    # Every reading is a minute after the one before: each refusal may be told.
    clock = FakeClock(0.0, tick=61.0)
    chatter: list[Callable[[], object]] = [
        lambda: telegram.user_sends(-900, "among ourselves", user_id=STRANGER, chat_type="group"),
        lambda: telegram.user_sends_sticker(-900, user_id=STRANGER),
        lambda: telegram.user_sends(-900, "/ask@someone_else_bot hi", user_id=STRANGER),
    ]
    async with running_bot(make_settings(telegram, upstream, tmp_path / "db.sqlite3")) as app:
        gate_with_clock(app, clock, users=frozenset({ALLOWED}))
        for send in chatter:
            send()
        telegram.user_sends(-900, f"@{app.bot.username} hi", user_id=STRANGER)
        # Answers in one group leave in order: this one comes after any refusal above.
        telegram.user_sends(-900, "/help", user_id=ALLOWED)
        await telegram.wait_until(lambda: len(telegram.texts(-900)) >= 2)

    refusal, help_text = telegram.texts(-900)
    assert refusal == not_allowed_text(STRANGER)
    assert (help_text or "").startswith("In a group I answer only messages addressed to me")
    assert upstream.chat_requests() == []


async def test_a_refused_press_changes_nothing_even_when_answering_it_fails(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    # The stranger administers the group, so only the allowlist stands between their press and
    # the group's temperature; Telegram refuses to answer their presses (too old).
    database = tmp_path / "db.sqlite3"
    settings = make_settings(telegram, upstream, database, allowed_user_ids=frozenset({ALLOWED}))
    group = -700
    async with running_bot(settings):
        telegram.user_sends(group, "/settings temperature", user_id=ALLOWED, chat_type="group")
        await telegram.wait_until(lambda: bool(telegram.bot_messages(group)))
        telegram.set_chat_admins(group, [STRANGER])
        [keyboard] = telegram.bot_messages(group)
        data = next(d for d in button_data(keyboard).values() if d.startswith("s:s:temperature"))
        telegram.fail_next(
            "answerCallbackQuery",
            error_code=400,
            description="Bad Request: query is too old and response timeout expired",
            times=2,
        )
        for _ in range(2):  # told with an alert, then only the spinner stopped: both fail
            await press(telegram, group, keyboard, data, user_id=STRANGER)
    # Leaving the block waited for every update the bot had fetched to be handled.
    temperature = await query(database, "SELECT temperature FROM chats WHERE chat_id = ?", (group,))
    assert temperature in ([], [(None,)])  # never set
    assert [c.error_code for c in telegram.calls_to("answerCallbackQuery")] == [400, 400]
    assert telegram.calls_to("editMessageText") == []  # the keyboard was not touched
