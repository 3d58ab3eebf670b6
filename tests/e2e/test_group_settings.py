"""Who may change a group's model and settings (its admins, and the bot's), and forum topics,
which keep a model each: through the real Application, the fake Telegram and upstream.

Pacing is shortened and Telegram's flood limits relaxed here: these tests are about what is
chosen and sent upstream, not about timing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.e2e.chat import answer_to, ask_in_group, callback_answers, edits_of, joined, press
from tests.e2e.harness import fast_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.relaxed

GROUP = -100200300
ADMIN = 2001
MEMBER = 1001
IN_GROUP: dict[str, Any] = {"chat_type": "supergroup"}


async def test_in_a_group_a_member_who_is_no_admin_may_not_change_the_model_or_settings(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [ADMIN])
    async with running_bot(settings):
        await joined(telegram, GROUP)
        refusals = [
            await answer_to(telegram, GROUP, "/model gpt-4", user_id=MEMBER, **IN_GROUP),
            await answer_to(telegram, GROUP, "/settings temperature 1", user_id=MEMBER, **IN_GROUP),
            await answer_to(telegram, GROUP, "/system Be rude.", user_id=MEMBER, **IN_GROUP),
        ]
        await answer_to(telegram, GROUP, "/model", user_id=MEMBER, **IN_GROUP)
        keyboard = telegram.bot_messages(GROUP)[-1]
        await press(telegram, GROUP, keyboard, "m:s:gpt-4o-mini-2024-07-18", user_id=MEMBER)
        await ask_in_group(telegram, GROUP, "hi", user_id=MEMBER)
    assert refusals == [
        "Sorry, only this group's admins can change the model.",
        "Sorry, only this group's admins can change the settings.",
        "Sorry, only this group's admins can change the settings.",
    ]
    assert callback_answers(telegram) == ["Sorry, only this group's admins can change the model."]
    assert edits_of(telegram, keyboard) == []
    assert (keyboard.text or "").startswith("Model for this chat: gpt-4o-mini")
    body = upstream.chat_requests()[-1].body
    assert (body["model"], "temperature" in body) == ("gpt-4o-mini", False)
    assert body["messages"][0] == {"role": "system", "content": "You are a test."}
    assert len(telegram.calls_to("getChatAdministrators")) == 1
    assert telegram.unanswered_callbacks == []


async def test_in_a_group_an_admin_changes_the_model_and_settings_for_everyone(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [ADMIN])
    async with running_bot(settings):
        await joined(telegram, GROUP)
        admin_answer = await answer_to(telegram, GROUP, "/model gpt-4o", user_id=ADMIN, **IN_GROUP)
        admin_settings = await answer_to(
            telegram, GROUP, "/settings temperature 1", user_id=ADMIN, **IN_GROUP
        )
        await ask_in_group(telegram, GROUP, "hi", user_id=MEMBER)
    assert admin_answer == "Model for this chat: gpt-4o."
    assert admin_settings == "temperature set to 1."
    body = upstream.chat_requests()[-1].body
    assert (body["model"], body["temperature"]) == ("gpt-4o", 1.0)
    assert len(telegram.calls_to("getChatAdministrators")) == 1


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
