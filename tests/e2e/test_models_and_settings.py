"""/model, /settings and /system through the real Application, the fake Telegram and upstream.

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
    ask_in_group,
    button_data,
    callback_answers,
    edits_of,
    forge_press,
    joined,
    press,
)
from tests.e2e.harness import fast_settings, running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.upstream import DEFAULT_MODELS, FakeUpstream

pytestmark = pytest.mark.relaxed

CHAT = 10
GROUP = -100200300
ADMIN = 2001
MEMBER = 1001
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


async def test_a_button_press_switches_the_model_and_the_next_request_uses_it_and_the_settings(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model")
        keyboard = telegram.bot_messages(CHAT)[0]
        await press(telegram, CHAT, keyboard, "m:p:0")
        await telegram.wait_until(lambda: "m:s:gpt-4" in button_data(keyboard).values())
        await press(telegram, CHAT, keyboard, "m:s:gpt-4")
        await telegram.wait_until(lambda: "✅ gpt-4" in button_data(keyboard))
        await answer_to(telegram, CHAT, "/settings")
        panel = telegram.bot_messages(CHAT)[1]
        await press(telegram, CHAT, panel, button_data(panel)["temperature"])
        await telegram.wait_until(lambda: "s:s:temperature:0.7" in button_data(panel).values())
        await press(telegram, CHAT, panel, "s:s:temperature:0.7")
        await telegram.wait_until(lambda: "• temperature: 0.7" in (panel.text or ""))
        body = await ask(telegram, upstream, CHAT, "hello")
    assert (keyboard.text or "").startswith("Model for this chat: gpt-4\n")
    assert callback_answers(telegram) == [
        None,
        "Model: gpt-4",
        None,
        "temperature set to 0.7.",
    ]
    assert body["model"] == "gpt-4"
    assert body["temperature"] == 0.7
    assert "top_p" not in body
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


async def test_settings_are_shown_and_changed_by_typing_with_ranges_enforced(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        shown = await answer_to(telegram, CHAT, "/settings")
        too_hot = await answer_to(telegram, CHAT, "/settings temperature 3")
        changed = [
            await answer_to(telegram, CHAT, "/settings temperature 0,4"),
            await answer_to(telegram, CHAT, "/settings top_p 0.9"),
            await answer_to(telegram, CHAT, "/settings presence_penalty -1"),
            await answer_to(telegram, CHAT, "/settings frequency_penalty 0.5"),
            await answer_to(telegram, CHAT, "/settings top_p default"),
            await answer_to(telegram, CHAT, "/system Answer like a pirate.\nBe brief."),
        ]
        body = await ask(telegram, upstream, CHAT, "ahoy")
        prompt = await answer_to(telegram, CHAT, "/system")
        reset = await answer_to(telegram, CHAT, "/system reset")
        after_reset = await ask(telegram, upstream, CHAT, "and now?")
    assert shown.splitlines()[:9] == [
        "Settings for this chat",
        "• model: gpt-4o-mini (default) — change with /model",
        "• temperature: default (the AI service decides)",
        "• top_p: default (the AI service decides)",
        "• presence_penalty: default (the AI service decides)",
        "• frequency_penalty: default (the AI service decides)",
        "• voice: default",
        "• system prompt: You are a test. (default)",
        "",
    ]
    assert too_hot == "temperature must be a number from 0 to 2 (or “default”); “3” is not."
    assert changed == [
        "temperature set to 0.4.",
        "top_p set to 0.9.",
        "presence_penalty set to -1.",
        "frequency_penalty set to 0.5.",
        "Back to the default top_p.",
        "System prompt set. It applies from the next message.",
    ]
    assert body["messages"][0] == {
        "role": "system",
        "content": "Answer like a pirate.\nBe brief.",
    }
    assert {k: body.get(k) for k in ("temperature", "top_p", "presence_penalty")} == {
        "temperature": 0.4,
        "top_p": None,
        "presence_penalty": -1.0,
    }
    assert body["frequency_penalty"] == 0.5
    assert prompt == (
        "This chat uses this system prompt:\n\nAnswer like a pirate.\nBe brief.\n\n"
        "/system <prompt> changes it; /system reset restores the default."
    )
    assert reset == "Back to the default system prompt."
    assert after_reset["messages"][0] == {"role": "system", "content": "You are a test."}


async def test_a_system_prompt_over_the_limit_is_refused(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        answer = await answer_to(telegram, CHAT, "/system " + "a" * 4001)
    assert answer == "The system prompt can be at most 4000 characters; this one has 4001."


async def test_the_voice_buttons_set_a_voice_and_default_resets_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/settings voice")
        panel = telegram.bot_messages(CHAT)[0]
        labels = list(button_data(panel))
        await press(telegram, CHAT, panel, "s:s:voice:nova")
        await telegram.wait_until(lambda: "• voice: nova" in (panel.text or ""))
        await press(telegram, CHAT, panel, "s:o:voice")
        await telegram.wait_until(lambda: "✅ nova" in button_data(panel))
        await press(telegram, CHAT, panel, "s:s:voice:default")
        await telegram.wait_until(lambda: "• voice: default" in (panel.text or ""))
    assert labels == ["alloy", "echo", "fable", "onyx", "nova", "shimmer", "✅ Default", "« Back"]
    assert callback_answers(telegram) == ["voice set to nova.", None, "Back to the default voice."]
    assert telegram.unanswered_callbacks == []


async def test_in_a_group_only_admins_may_change_the_model_and_settings(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    group = {"chat_type": "supergroup"}
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [ADMIN])
    async with running_bot(settings):
        await joined(telegram, GROUP)
        refusals = [
            await answer_to(telegram, GROUP, "/model gpt-4", user_id=MEMBER, **group),
            await answer_to(telegram, GROUP, "/settings temperature 1", user_id=MEMBER, **group),
            await answer_to(telegram, GROUP, "/system Be rude.", user_id=MEMBER, **group),
        ]
        await answer_to(telegram, GROUP, "/model", user_id=MEMBER, **group)
        keyboard = telegram.bot_messages(GROUP)[-1]
        await press(telegram, GROUP, keyboard, "m:s:gpt-4o-mini-2024-07-18", user_id=MEMBER)
        admin_answer = await answer_to(telegram, GROUP, "/model gpt-4o", user_id=ADMIN, **group)
        admin_settings = await answer_to(
            telegram, GROUP, "/settings temperature 1", user_id=ADMIN, **group
        )
        await ask_in_group(telegram, GROUP, "hi", user_id=MEMBER)
    assert refusals == [
        "Sorry, only this group's admins can change the model.",
        "Sorry, only this group's admins can change the settings.",
        "Sorry, only this group's admins can change the settings.",
    ]
    assert callback_answers(telegram) == ["Sorry, only this group's admins can change the model."]
    assert edits_of(telegram, keyboard) == []
    assert (keyboard.text or "").startswith("Model for this chat: gpt-4o-mini")
    assert admin_answer == "Model for this chat: gpt-4o."
    assert admin_settings == "temperature set to 1."
    body = upstream.chat_requests()[-1].body
    assert (body["model"], body["temperature"]) == ("gpt-4o", 1.0)
    assert len(telegram.calls_to("getChatAdministrators")) == 1
    assert telegram.unanswered_callbacks == []


async def test_bot_admins_may_change_settings_in_any_group(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = fast_settings(telegram, upstream, tmp_path).model_copy(
        update={"admin_user_ids": frozenset({MEMBER})}
    )
    async with running_bot(settings):
        answer = await answer_to(
            telegram, GROUP, "/model gpt-4", user_id=MEMBER, chat_type="supergroup"
        )
    assert answer == "Model for this chat: gpt-4."
    assert telegram.calls_to("getChatAdministrators") == []


async def test_each_forum_topic_keeps_its_own_model(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup", is_forum=True)
    telegram.set_chat_admins(GROUP, [ADMIN])
    admin = {"chat_type": "supergroup", "user_id": ADMIN}
    async with running_bot(settings):
        await joined(telegram, GROUP)
        typed = await answer_to(telegram, GROUP, "/model gpt-4", message_thread_id=500, **admin)
        await answer_to(telegram, GROUP, "/model", message_thread_id=700, **admin)
        keyboard = telegram.bot_messages(GROUP)[-1]
        await press(telegram, GROUP, keyboard, "m:s:gpt-4o-mini-2024-07-18", user_id=ADMIN)
        await ask_in_group(telegram, GROUP, "in five", user_id=ADMIN, message_thread_id=500)
        await ask_in_group(telegram, GROUP, "in seven", user_id=ADMIN, message_thread_id=700)
        await ask_in_group(telegram, GROUP, "in general", user_id=ADMIN)
    assert typed == "Model for this chat: gpt-4."
    assert keyboard.message_thread_id == 700
    assert [r.body["model"] for r in upstream.chat_requests()] == [
        "gpt-4",
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-mini",
    ]
    assert telegram.unanswered_callbacks == []


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
