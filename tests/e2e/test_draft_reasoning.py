"""A reasoning model's reply in STREAM_MODE=draft: the thinking line in the draft (its seconds
moving on), then the reasoning shown as the chat chooses — collapsed above the answer, hidden, in
full — in the drafts and the final messages exactly as a live reply shows them; drafts refused
while the model thinks hand the thought over to edits.

Flood limits are relaxed and edits paced every 20 ms: these tests are about what is sent.
The thinking line's seconds, moved on by hand, are test_draft_reply_reasoning.py's.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Settings
from tests.e2e.harness import running_bot
from tests.e2e.test_drafts import SEALED, after_last_message, calls_in
from tests.e2e.test_reasoning import (
    ANSWER,
    CHAT,
    SHOWN_ANSWER,
    SHOWN_THOUGHT,
    answered,
    quotes,
    thinking,
)
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript

# The model may think for seconds here (a refused draft waits for the thinking line's next second).
DRAFTS = {"stream_mode": "draft", "draft_stop_after": 0, "upstream_idle_timeout": 10.0}
pytestmark = pytest.mark.relaxed(**DRAFTS)

THINKING = "💭 Thinking…"


def thinking_drafts(telegram: FakeTelegram) -> list[str]:
    """The thinking lines the chat's draft showed, in order."""
    return [d.text for d in telegram.drafts_in(CHAT) if d.text.startswith(THINKING)]


async def ask_and_let_it_think(
    telegram: FakeTelegram, upstream: FakeUpstream, script: ReplyScript, text: str = "Capital?"
) -> None:
    """Ask, and wait until the draft shows the thinking line."""
    upstream.script(script)
    telegram.user_sends(CHAT, text)
    await telegram.wait_until(lambda: bool(thinking_drafts(telegram)))


async def test_the_draft_shows_thinking_then_the_answer_under_a_collapsed_quote(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking()
    async with running_bot(settings) as app:
        await ask_and_let_it_think(telegram, upstream, script)
        assert telegram.bot_messages(CHAT) == []  # only the draft says it thinks
        gate.set()
        await answered(telegram, app)
    drafts = telegram.drafts_in(CHAT)
    assert drafts[0].text == ""  # "Thinking…" of Telegram's own, the moment the question left
    assert all(d.entities[0]["type"] == "italic" for d in drafts if d.text.startswith(THINKING))
    [reply] = telegram.bot_messages(CHAT)
    assert reply.history == [reply.text]  # sent once, as it is: no edits in draft mode
    assert reply.text is not None
    assert reply.text.endswith(f"\n\n{SHOWN_ANSWER}")
    [(kind, quoted)] = quotes(reply)
    assert kind == "expandable_blockquote"
    assert quoted.startswith("💭 Thought")
    assert quoted.endswith(f"\n{SHOWN_THOUGHT}")
    # The thinking line became ⏳ before the message; no draft call came after it.
    assert drafts[-1].text == SEALED
    assert after_last_message(telegram, CHAT) == []
    assert telegram.calls_to("editMessageText") == []
    assert telegram.rejections == []


@pytest.mark.relaxed(**DRAFTS, show_reasoning="hidden")
async def test_hidden_reasoning_leaves_only_the_answer_after_the_thinking_draft(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking()
    async with running_bot(settings) as app:
        await ask_and_let_it_think(telegram, upstream, script)
        gate.set()
        await answered(telegram, app)
    [reply] = telegram.bot_messages(CHAT)
    assert (reply.text, reply.entities) == (
        SHOWN_ANSWER,
        [{"type": "bold", "offset": 25, "length": 5}],
    )
    assert not any("Paris; say so" in d.text for d in telegram.drafts_in(CHAT))
    assert telegram.calls_to("editMessageText") == []


@pytest.mark.relaxed(**DRAFTS, show_reasoning="full")
async def test_full_reasoning_is_persisted_message_by_message_before_the_answer(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    thought = "\n\n".join(f"Step {i}: weigh option {i} against the rest." for i in range(400))
    gate = asyncio.Event()
    script = ReplyScript(
        ANSWER, reasoning=thought, reasoning_chunk_size=500, thinking_until=gate, chunk_size=50
    )
    async with running_bot(settings) as app:
        await ask_and_let_it_think(telegram, upstream, script, "Think hard.")
        gate.set()
        await answered(telegram, app)
    messages = telegram.bot_messages(CHAT)
    assert len(messages) >= 4
    assert all(quotes(m)[0][0] == "blockquote" for m in messages)
    assert all(m.history == [m.text] for m in messages)
    assert messages[-1].text is not None
    assert messages[-1].text.endswith(f"\n\n{SHOWN_ANSWER}")
    steps = [
        line for m in messages for line in quotes(m)[0][1].splitlines() if line.startswith("Step ")
    ]
    assert steps == [f"Step {i}: weigh option {i} against the rest." for i in range(400)]
    # Each message was sent behind a ⏳ in the draft: never a thinking line under a message.
    methods = [c.method for c in calls_in(telegram, CHAT) if c.method != "sendChatAction"]
    sent = [i for i, method in enumerate(methods) if method == "sendMessage"]
    assert all(methods[i - 1] in ("sendMessageDraft", "sendMessage") for i in sent)
    assert methods[sent[0] - 1] == "sendMessageDraft"
    assert telegram.drafts_in(CHAT)[-1].text == SEALED


async def test_stopped_while_thinking_keeps_the_thought_above_the_notice(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking()
    async with running_bot(settings) as app:
        await ask_and_let_it_think(telegram, upstream, script)
        telegram.user_sends(CHAT, "/stop")
        await answered(telegram, app)
        gate.set()
    [reply] = telegram.bot_messages(CHAT)
    assert reply.text is not None
    assert reply.text.endswith("\n\n⚠️ Stopped.")
    [(kind, quoted)] = quotes(reply)
    assert kind == "expandable_blockquote"
    assert quoted.startswith("💭 Thought")
    assert SHOWN_THOUGHT.startswith(quoted.split("\n", 1)[1].removesuffix(" …"))


async def test_drafts_refused_mid_thought_go_on_with_edits_keeping_the_thought(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking()
    async with running_bot(settings) as app:
        await ask_and_let_it_think(telegram, upstream, script)
        telegram.fail_next(
            "sendMessageDraft", error_code=400, description="Bad Request: TEXTDRAFT_PEER_INVALID"
        )
        # The next look at the thinking line is refused: a live message takes it over.
        await telegram.wait_until(lambda: len(telegram.bot_messages(CHAT)) == 1, timeout=10)
        [live] = telegram.bot_messages(CHAT)
        await telegram.wait_until(lambda: len(live.history) >= 2)  # its seconds go on
        gate.set()
        await answered(telegram, app)
    [reply] = telegram.bot_messages(CHAT)
    assert reply.history[0].startswith(THINKING)
    assert all(text.startswith(THINKING) for text in reply.history[:2])
    assert reply.text is not None
    assert reply.text.endswith(f"\n\n{SHOWN_ANSWER}")
    [(kind, quoted)] = quotes(reply)
    assert kind == "expandable_blockquote"
    assert quoted.endswith(f"\n{SHOWN_THOUGHT}")
    assert [c.error for c in telegram.calls_to("sendMessageDraft") if c.error] == [
        "Bad Request: TEXTDRAFT_PEER_INVALID"
    ]
