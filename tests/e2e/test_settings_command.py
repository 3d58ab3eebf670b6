"""/settings through the real Application, the fake Telegram and upstream: the values shown,
changed by typing (within their ranges) or by the panel's buttons, and sent with the next request.

Pacing is shortened and Telegram's flood limits relaxed here: these tests are about what is
chosen and sent upstream, not about timing.
"""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.e2e.chat import answer_to, ask, button_data, callback_answers, press
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.relaxed

CHAT = 10


async def test_settings_lists_each_value_and_where_it_comes_from(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        shown = await answer_to(telegram, CHAT, "/settings")
    assert shown.splitlines()[:11] == [
        "Settings for this chat",
        "• model: gpt-4o-mini (default) — change with /model",
        "• temperature: default (the AI service decides)",
        "• top_p: default (the AI service decides)",
        "• presence_penalty: default (the AI service decides)",
        "• frequency_penalty: default (the AI service decides)",
        "• voice: default",
        "• system prompt: You are a test. (default)",
        "• reasoning: default (collapsed)",
        "• reasoning_effort: default (the AI service decides)",
        "",
    ]


async def test_typed_settings_are_confirmed_and_the_next_request_uses_them(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        changed = [
            await answer_to(telegram, CHAT, "/settings temperature 0,4"),
            await answer_to(telegram, CHAT, "/settings top_p 0.9"),
            await answer_to(telegram, CHAT, "/settings presence_penalty -1"),
            await answer_to(telegram, CHAT, "/settings frequency_penalty 0.5"),
            await answer_to(telegram, CHAT, "/settings top_p default"),
        ]
        body = await ask(telegram, upstream, CHAT, "ahoy")
    assert changed == [
        "temperature set to 0.4.",
        "top_p set to 0.9.",
        "presence_penalty set to -1.",
        "frequency_penalty set to 0.5.",
        "Back to the default top_p.",
    ]
    assert {k: body.get(k) for k in ("temperature", "top_p", "presence_penalty")} == {
        "temperature": 0.4,
        "top_p": None,
        "presence_penalty": -1.0,
    }
    assert body["frequency_penalty"] == 0.5


async def test_a_typed_setting_out_of_its_range_is_refused_and_changes_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        too_hot = await answer_to(telegram, CHAT, "/settings temperature 3")
        body = await ask(telegram, upstream, CHAT, "still default?")
    assert too_hot == "temperature must be a number from 0 to 2 (or “default”); “3” is not."
    assert "temperature" not in body


async def test_a_settings_button_sets_the_temperature_and_the_next_request_uses_it_and_the_model(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model gpt-4")
        await answer_to(telegram, CHAT, "/settings")
        panel = telegram.bot_messages(CHAT)[1]
        await press(telegram, CHAT, panel, button_data(panel)["temperature"])
        await telegram.wait_until(lambda: "s:s:temperature:0.7" in button_data(panel).values())
        await press(telegram, CHAT, panel, "s:s:temperature:0.7")
        await telegram.wait_until(lambda: "• temperature: 0.7" in (panel.text or ""))
        body = await ask(telegram, upstream, CHAT, "hello")
    assert callback_answers(telegram) == [None, "temperature set to 0.7."]
    assert body["model"] == "gpt-4"
    assert body["temperature"] == 0.7
    assert "top_p" not in body
    assert telegram.unanswered_callbacks == []


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
