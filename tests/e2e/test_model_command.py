"""/model through the real Application, the fake Telegram and upstream: the keyboard of the
upstream's chat models, a model chosen by button or by id, and buttons that are stale or forged.

Pacing is shortened and Telegram's flood limits relaxed here: these tests are about what is
chosen and sent upstream, not about timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.e2e.chat import (
    answer_to,
    ask,
    button_data,
    callback_answers,
    edits_of,
    forge_press,
    press,
)
from tests.e2e.harness import fast_settings, running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.upstream import DEFAULT_MODELS, FakeUpstream

pytestmark = pytest.mark.relaxed

CHAT = 10
MARKS = ("✅", "🔊")
CHAT_MODELS = sorted(m for m in DEFAULT_MODELS if "embedding" not in m)


def unmarked(label: str) -> str:
    for mark in MARKS:
        label = label.replace(mark, "")
    return label.strip()


def model_buttons(message: SentMessage) -> dict[str, str]:
    return {unmarked(k): v for k, v in button_data(message).items() if v.startswith("m:s:")}


async def test_the_model_keyboard_lists_exactly_the_upstreams_chat_models(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model")
        message = telegram.bot_messages(CHAT)[0]
        opened_at = message.text or ""
        current_page = model_buttons(message)
        current_labels = list(button_data(message))
        await press(telegram, CHAT, message, button_data(message)["◀ Back"])
        await telegram.wait_until(lambda: "Page 1 of 2" in (message.text or ""))
        first_page = model_buttons(message)
        first_labels = list(button_data(message))
    assert sorted([*first_page, *current_page]) == CHAT_MODELS
    assert len(first_page) == 10
    assert opened_at == (
        "Model for this chat: gpt-4o-mini\n"
        "🔊 = also understands and speaks voice notes.\n"
        "Page 2 of 2"
    )
    assert current_labels == ["✅ gpt-4o-mini", "gpt-4o-mini-2024-07-18", "◀ Back"]
    assert "🔊 gpt-4o-audio-preview" in first_labels
    assert first_labels[-1] == "More ▶"
    assert all(len(data.encode()) <= 64 for data in {**first_page, **current_page}.values())
    assert telegram.unanswered_callbacks == []
    assert telegram.rejections == []


async def test_a_model_button_switches_the_model_and_the_next_request_uses_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model")
        keyboard = telegram.bot_messages(CHAT)[0]
        await press(telegram, CHAT, keyboard, "m:p:0")
        await telegram.wait_until(lambda: "m:s:gpt-4" in button_data(keyboard).values())
        await press(telegram, CHAT, keyboard, "m:s:gpt-4")
        await telegram.wait_until(lambda: "✅ gpt-4" in button_data(keyboard))
        body = await ask(telegram, upstream, CHAT, "hello")
    assert (keyboard.text or "").startswith("Model for this chat: gpt-4\n")
    assert callback_answers(telegram) == [None, "Model: gpt-4"]
    assert body["model"] == "gpt-4"
    assert telegram.unanswered_callbacks == []


async def test_pressing_the_current_model_again_is_answered_quietly(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model")
        keyboard = telegram.bot_messages(CHAT)[0]
        await press(telegram, CHAT, keyboard, "m:s:gpt-4o-mini")
        await press(telegram, CHAT, keyboard, "m:s:gpt-4o-mini")
        await telegram.wait_until(lambda: len(edits_of(telegram, keyboard)) == 2)
    assert callback_answers(telegram) == ["Model: gpt-4o-mini", "Model: gpt-4o-mini"]
    assert [c.error for c in telegram.rejections] == [
        "Bad Request: message is not modified: specified new message content and reply markup"
        " are exactly the same as a current content and reply markup of the message"
    ] * 2
    assert len(telegram.bot_messages(CHAT)) == 1
    assert telegram.unanswered_callbacks == []


async def test_model_with_an_id_switches_directly_and_the_choice_survives_a_restart(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        answer = await answer_to(telegram, CHAT, "/model gpt-4o-audio-preview")
    async with running_bot(settings):
        body = await ask(telegram, upstream, CHAT, "still you?")
    assert answer == (
        "Model for this chat: gpt-4o-audio-preview. It understands and speaks voice notes."
    )
    assert body["model"] == "gpt-4o-audio-preview"


async def test_an_unknown_model_id_gets_close_matches_and_changes_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        unknown = await answer_to(telegram, CHAT, "/model gpt-5")
        embedding = await answer_to(telegram, CHAT, "/model text-embedding-3-small")
        body = await ask(telegram, upstream, CHAT, "which model?")
    assert unknown == (
        "There is no chat model “gpt-5”. Did you mean: gpt-4, gpt-4o?"
        " /model lists them all. Nothing changed."
    )
    assert embedding.startswith("There is no chat model “text-embedding-3-small”.")
    assert body["model"] == "gpt-4o-mini"


async def test_model_default_returns_to_the_configured_model(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model gpt-4")
        answer = await answer_to(telegram, CHAT, "/model default")
        body = await ask(telegram, upstream, CHAT, "back?")
    assert answer == "This chat uses the default model again: gpt-4o-mini."
    assert body["model"] == "gpt-4o-mini"


async def test_when_the_upstream_cannot_list_models_the_default_model_still_answers(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with (
        FakeUpstream(models_path="/nowhere") as upstream,
        running_bot(fast_settings(telegram, upstream, tmp_path)),
    ):
        keyboard_answer = await answer_to(telegram, CHAT, "/model")
        direct_answer = await answer_to(telegram, CHAT, "/model gpt-4")
        body = await ask(telegram, upstream, CHAT, "are you there?")
    failed = (
        "The AI service isn't listing its models right now, so I can't show or check them."
        " This chat keeps using gpt-4o-mini."
    )
    assert [keyboard_answer, direct_answer] == [failed, failed]
    assert body["model"] == "gpt-4o-mini"


async def test_a_model_id_too_long_for_button_data_is_chosen_by_its_digest(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    long_id = "organisation-with-a-long-name/" + "model-" * 8 + "instruct"
    async with (
        FakeUpstream(models=("gpt-4o-mini", long_id)) as upstream,
        running_bot(fast_settings(telegram, upstream, tmp_path)),
    ):
        await answer_to(telegram, CHAT, "/model")
        keyboard = telegram.bot_messages(CHAT)[0]
        data = button_data(keyboard)[long_id]
        await press(telegram, CHAT, keyboard, data)
        await telegram.wait_until(lambda: f"✅ {long_id}" in button_data(keyboard))
        body = await ask(telegram, upstream, CHAT, "long?")
    assert data.startswith("m:h:")
    assert len(data.encode()) <= 64 < len(f"m:s:{long_id}".encode())
    assert body["model"] == long_id


async def test_an_old_keyboard_whose_model_and_page_are_gone_is_answered_as_stale(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model")
        keyboard = telegram.bot_messages(CHAT)[0]
        await press(telegram, CHAT, keyboard, "m:p:0")
        await telegram.wait_until(lambda: "m:p:1" in button_data(keyboard).values())
    upstream.models = ("gpt-4o-mini", "gpt-4o")
    async with running_bot(settings):
        await press(telegram, CHAT, keyboard, "m:s:gpt-4")
        await press(telegram, CHAT, keyboard, "m:p:1")
        body = await ask(telegram, upstream, CHAT, "which?")
    stale = "This button is out of date. Send /model for the current list."
    assert callback_answers(telegram) == [None, stale, stale]
    assert body["model"] == "gpt-4o-mini"
    assert len(edits_of(telegram, keyboard)) == 1


async def test_forged_button_data_is_answered_with_a_notice_and_changes_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    unknown = "This button doesn't work any more."
    stale = "This button is out of date. Send /model for the current list."
    invalid = "This button is not valid any more. Send /settings again."
    forged = {
        "garbage": unknown,
        "x:s:gpt-4": unknown,
        "m:s:no-such-model": stale,
        "m:s:text-embedding-3-small": stale,
        "m:h:0123456789abcdef": stale,
        "m:p:99": stale,
        "m:p:-1": stale,
        "m:q:gpt-4": stale,
        "s:s:colour:blue": invalid,
        "s:o:model": invalid,
        "s:s:temperature": invalid,
        "s:s:temperature:9": "temperature must be a number from 0 to 2 (or “default”); “9” is not.",
        "s:s:voice:robot": (
            "voice must be one of alloy, echo, fable, onyx, nova, shimmer (or “default”);"
            " “robot” is not."
        ),
    }
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model")
        keyboard = telegram.bot_messages(CHAT)[0]
        for data in forged:
            forge_press(telegram, CHAT, keyboard.message_id, data)
        await telegram.wait_until(
            lambda: len(telegram.calls_to("answerCallbackQuery")) == len(forged)
        )
        body = await ask(telegram, upstream, CHAT, "unchanged?")
    # Presses are handled concurrently, so their answers may come in any order.
    assert sorted(map(str, callback_answers(telegram))) == sorted(forged.values())
    assert edits_of(telegram, keyboard) == []
    assert body["model"] == "gpt-4o-mini"
    assert "temperature" not in body
    assert "audio" not in body
    assert telegram.unanswered_callbacks == []
