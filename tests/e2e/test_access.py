"""Allowlists are enforced on every kind of update, before any upstream call."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream

ALLOWED, STRANGER, ADMIN = 1, 2, 9


def texts(telegram: FakeTelegram, chat_id: int) -> list[str | None]:
    return [m.text for m in telegram.bot_messages(chat_id)]


async def test_a_stranger_is_told_once_with_their_id_and_nothing_reaches_the_upstream(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram, upstream, tmp_path / "db.sqlite3", allowed_user_ids=frozenset({ALLOWED})
    )
    async with running_bot(settings):
        telegram.user_sends(STRANGER, "hello", user_id=STRANGER)
        await telegram.wait_until(lambda: len(texts(telegram, STRANGER)) == 1)
        telegram.user_sends(STRANGER, "/new", user_id=STRANGER)
        telegram.user_sends(STRANGER, "hello again", user_id=STRANGER)
        telegram.user_sends(ALLOWED, "I may", user_id=ALLOWED)
        await telegram.wait_until(lambda: texts(telegram, ALLOWED) == ["You said: I may"])
        await telegram.wait_until(lambda: telegram.updates_confirmed >= 4)
    [refusal] = texts(telegram, STRANGER)
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
    [refusal] = texts(telegram, -600)
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
        await telegram.wait_until(lambda: texts(telegram, ADMIN) == ["You said: admin here"])
    assert len(upstream.chat_requests()) == 1
