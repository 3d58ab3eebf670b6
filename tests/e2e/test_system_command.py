"""/system through the real Application, the fake Telegram and upstream: a chat's own system
prompt, shown, sent first with every request, and reset to the configured one.

Pacing is shortened and Telegram's flood limits relaxed here: these tests are about what is
chosen and sent upstream, not about timing.
"""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.e2e.chat import answer_to, ask
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.relaxed

CHAT = 10


async def test_a_system_prompt_is_sent_first_from_the_next_message_and_system_shows_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        confirmed = await answer_to(telegram, CHAT, "/system Answer like a pirate.\nBe brief.")
        body = await ask(telegram, upstream, CHAT, "ahoy")
        prompt = await answer_to(telegram, CHAT, "/system")
    assert confirmed == "System prompt set. It applies from the next message."
    assert body["messages"][0] == {
        "role": "system",
        "content": "Answer like a pirate.\nBe brief.",
    }
    assert prompt == (
        "This chat uses this system prompt:\n\nAnswer like a pirate.\nBe brief.\n\n"
        "/system <prompt> changes it; /system reset restores the default."
    )


async def test_system_reset_brings_back_the_default_prompt(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/system Answer like a pirate.\nBe brief.")
        reset = await answer_to(telegram, CHAT, "/system reset")
        after_reset = await ask(telegram, upstream, CHAT, "and now?")
    assert reset == "Back to the default system prompt."
    assert after_reset["messages"][0] == {"role": "system", "content": "You are a test."}


async def test_a_system_prompt_over_the_limit_is_refused(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        answer = await answer_to(telegram, CHAT, "/system " + "a" * 4001)
    assert answer == "The system prompt can be at most 4000 characters; this one has 4001."
