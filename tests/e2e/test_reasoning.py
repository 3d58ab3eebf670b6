"""Reasoning models end to end — the real Application, the fake Telegram (which checks every
entity), the fake upstream thinking in each shape servers use: the thinking line while it thinks,
then the reasoning collapsed, hidden or in full above the answer; never in the answer, never sent
back upstream, stored apart; /settings reasoning and reasoning_effort per chat.

Pacing is shortened and flood limits relaxed: these tests are about what is shown and sent.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.handlers.context import BotApplication
from tests.e2e.chat import answer_to, ask, button_data, callback_answers, exported, press
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.upstream import FakeUpstream, Fault, ReasoningStyle, ReplyScript
from tests.support import query

pytestmark = pytest.mark.relaxed

CHAT = 21
THOUGHT = "The user wants the **capital** of France. It is Paris; say so in one line."
SHOWN_THOUGHT = "The user wants the capital of France. It is Paris; say so in one line."
ANSWER = "The capital of France is **Paris**."
SHOWN_ANSWER = "The capital of France is Paris."


def thinking(
    style: ReasoningStyle = ReasoningStyle.REASONING_CONTENT, **options: Any
) -> tuple[ReplyScript, asyncio.Event]:
    """A reply that thinks, pausing halfway through its thought until the event is set."""
    gate = asyncio.Event()
    script = ReplyScript(
        ANSWER, reasoning=THOUGHT, reasoning_style=style, thinking_until=gate, **options
    )
    return script, gate


def quotes(message: SentMessage) -> list[tuple[str, str]]:
    """(type, quoted text) of each quote entity of a message."""
    text = (message.text or "").encode("utf-16-le")
    return [
        (e["type"], text[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le"))
        for e in message.entities
        if e["type"] in ("blockquote", "expandable_blockquote")
    ]


async def answered(telegram: FakeTelegram, app: BotApplication) -> None:
    await telegram.wait_until(lambda: not app.bot_data["services"].conversation.busy_any())


async def stored_replies(database: Path, chat_id: int) -> list[tuple[str, str | None, int, int]]:
    rows = await query(
        database,
        "SELECT content, reasoning, completion_tokens, usage_estimated FROM messages"
        " WHERE chat_id = ? AND role = 'assistant' ORDER BY id",
        (chat_id,),
    )
    return [(str(c), r, int(t), int(e)) for c, r, t, e in rows]


async def think_and_answer(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    app: BotApplication,
    script: ReplyScript,
    gate: asyncio.Event,
    text: str,
    *,
    chat_id: int = CHAT,
    shows_thinking: bool = True,
) -> SentMessage:
    """Ask, see the thinking line (or, for a reply not yet known to think first, its first
    words) while the model thinks, let it answer, and return the reply's last message."""
    upstream.script(script)
    before = len(telegram.bot_messages(chat_id))
    telegram.user_sends(chat_id, text)
    await telegram.wait_until(lambda: len(telegram.bot_messages(chat_id)) > before)
    live = telegram.bot_messages(chat_id)[before]
    if shows_thinking:
        await telegram.wait_until(lambda: (live.text or "").startswith("💭 Thinking…"))
    else:
        await telegram.wait_until(lambda: (live.text or "").startswith("The user"))
    gate.set()
    await answered(telegram, app)
    return telegram.bot_messages(chat_id)[-1]


@pytest.mark.parametrize("style", list(ReasoningStyle))
async def test_each_reasoning_shape_shows_thinking_then_the_answer_under_a_collapsed_quote(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, style: ReasoningStyle
) -> None:
    async with running_bot(settings) as app:
        # A reply that only closes its thought shows its first words until the tag comes;
        # the bot then knows the model, and its next reply shows the thinking line at once.
        first_script, first_gate = thinking(style, reasoning_chunk_size=3)
        first = await think_and_answer(
            telegram,
            upstream,
            app,
            first_script,
            first_gate,
            "Capital of France?",
            shows_thinking=style is not ReasoningStyle.CLOSE_TAG_ONLY,
        )
        second_script, second_gate = thinking(style, reasoning_chunk_size=3)
        second = await think_and_answer(
            telegram, upstream, app, second_script, second_gate, "And again?"
        )
    for reply in (first, second):
        assert reply.text is not None
        assert reply.text.endswith(f"\n\n{SHOWN_ANSWER}")
        [(kind, quoted)] = quotes(reply)
        assert kind == "expandable_blockquote"
        assert quoted.startswith("💭 Thought")
        assert quoted.endswith(f"\n{SHOWN_THOUGHT}")
        assert "<think>" not in reply.text
        assert "</think>" not in reply.text
    assert telegram.rejections == []
    # What went back upstream with the second question: the first answer, without its thought.
    second_request = upstream.chat_requests()[1].body
    assert second_request["messages"][-2] == {"role": "assistant", "content": ANSWER}
    assert "Paris; say so" not in json.dumps(second_request)


async def test_the_reasoning_is_stored_apart_from_the_answer_with_the_usage_reported(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking(ReasoningStyle.REASONING)
    async with running_bot(settings) as app:
        await think_and_answer(telegram, upstream, app, script, gate, "Capital of France?")
    completion = math.ceil(len(ANSWER) / 4) + math.ceil(len(THOUGHT) / 4)
    assert await stored_replies(settings.database_path, CHAT) == [(ANSWER, THOUGHT, completion, 0)]


async def test_the_reasoning_estimate_counts_the_thought_when_no_usage_is_reported(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking(ReasoningStyle.THINK_TAGS, usage=False)
    async with running_bot(settings) as app:
        await think_and_answer(telegram, upstream, app, script, gate, "Capital of France?")
    [(content, reasoning, tokens, estimated)] = await stored_replies(settings.database_path, CHAT)
    assert (content, reasoning, estimated) == (ANSWER, THOUGHT, 1)
    assert tokens == math.ceil((len(ANSWER) + len(THOUGHT)) / 4)


async def test_an_export_shows_the_reasoning_folded_above_its_answer(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking()
    async with running_bot(settings) as app:
        await think_and_answer(telegram, upstream, app, script, gate, "Capital of France?")
        document = await exported(telegram, CHAT, "/export")
    folded = f"<details><summary>Reasoning</summary>\n\n{THOUGHT}\n\n</details>\n"
    assert folded in document
    assert document.index(folded) < document.index(ANSWER)
    assert document.count(THOUGHT) == 1


@pytest.mark.relaxed(show_reasoning="hidden")
async def test_show_reasoning_hidden_leaves_the_answer_alone(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    script, gate = thinking()
    async with running_bot(settings) as app:
        reply = await think_and_answer(telegram, upstream, app, script, gate, "Capital?")
    assert reply.text == SHOWN_ANSWER
    assert reply.history[0].startswith("💭 Thinking…")
    assert await stored_replies(settings.database_path, CHAT) == [
        (ANSWER, THOUGHT, math.ceil(len(ANSWER) / 4) + math.ceil(len(THOUGHT) / 4), 0)
    ]


@pytest.mark.relaxed(show_reasoning="full")
async def test_show_reasoning_full_splits_a_long_thought_over_messages_before_the_answer(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    thought = "\n\n".join(f"Step {i}: weigh option {i} against the rest." for i in range(400))
    gate = asyncio.Event()
    script = ReplyScript(
        ANSWER, reasoning=thought, reasoning_chunk_size=500, thinking_until=gate, chunk_size=50
    )
    async with running_bot(settings) as app:
        await think_and_answer(telegram, upstream, app, script, gate, "Think hard.")
    messages = telegram.bot_messages(CHAT)
    assert len(messages) >= 4
    assert all(quotes(m)[0][0] == "blockquote" for m in messages)
    assert messages[-1].text is not None
    assert messages[-1].text.endswith(f"\n\n{SHOWN_ANSWER}")
    shown = "\n".join(quotes(m)[0][1] for m in messages)
    steps = [line for line in shown.splitlines() if line.startswith("Step ")]
    assert steps == [line for line in thought.splitlines() if line]
    assert telegram.rejections == []


async def test_each_chat_chooses_how_it_sees_reasoning_by_typing_or_by_buttons(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    typed, pressed, default = 31, 32, 33
    async with running_bot(settings) as app:
        confirmed = await answer_to(telegram, typed, "/settings reasoning full")
        await answer_to(telegram, pressed, "/settings reasoning")
        panel = telegram.bot_messages(pressed)[0]
        labels = list(button_data(panel))
        await press(telegram, pressed, panel, "s:s:show_reasoning:hidden")
        await telegram.wait_until(lambda: "• reasoning: hidden" in (panel.text or ""))
        replies = {}
        for chat_id in (typed, pressed, default):
            script, gate = thinking()
            replies[chat_id] = await think_and_answer(
                telegram, upstream, app, script, gate, "Capital?", chat_id=chat_id
            )
    assert confirmed == "reasoning set to full."
    assert labels == ["collapsed", "hidden", "full", "✅ Default", "« Back"]
    assert callback_answers(telegram) == ["reasoning set to hidden."]
    assert [kind for kind, _ in quotes(replies[typed])] == ["blockquote"]
    assert replies[pressed].text == SHOWN_ANSWER
    assert [kind for kind, _ in quotes(replies[default])] == ["expandable_blockquote"]


async def test_reasoning_effort_is_sent_only_once_a_chat_sets_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        unset = await ask(telegram, upstream, CHAT, "one")
        confirmed = await answer_to(telegram, CHAT, "/settings reasoning_effort high")
        high = await ask(telegram, upstream, CHAT, "two")
        await answer_to(telegram, CHAT, "/settings reasoning_effort")
        panel = telegram.bot_messages(CHAT)[-1]
        await press(telegram, CHAT, panel, "s:s:reasoning_effort:low")
        await telegram.wait_until(lambda: "• reasoning_effort: low" in (panel.text or ""))
        low = await ask(telegram, upstream, CHAT, "three")
        reset = await answer_to(telegram, CHAT, "/settings effort default")
        back = await ask(telegram, upstream, CHAT, "four")
        refused = await answer_to(telegram, CHAT, "/settings reasoning_effort max")
    assert confirmed == "reasoning_effort set to high."
    assert reset == "Back to the default reasoning_effort."
    assert refused == (
        "reasoning_effort must be one of low, medium, high (or “default”); “max” is not."
    )
    assert [body.get("reasoning_effort") for body in (unset, high, low, back)] == [
        None,
        "high",
        "low",
        None,
    ]
    assert "reasoning_effort" not in unset
    assert "reasoning_effort" not in back


@pytest.mark.parametrize("fault", [Fault.NONE, Fault.NO_AUDIO])
async def test_a_spoken_reply_carries_the_answer_alone_and_stores_the_thought_apart(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, fault: Fault
) -> None:
    # A spoken reply is asked for whole: no thinking line, and no quote above the voice note
    # or above its text when the audio does not come; the thought goes to the store only.
    style = ReasoningStyle.BOTH_FIELDS if fault is Fault.NONE else ReasoningStyle.THINK_TAGS
    upstream.script(ReplyScript(ANSWER, reasoning=THOUGHT, reasoning_style=style, fault=fault))
    async with running_bot(settings) as app:
        await answer_to(telegram, CHAT, "/model gpt-4o-audio-preview")
        telegram.user_sends(CHAT, "Capital of France?")
        await telegram.wait_until(lambda: len(telegram.bot_messages(CHAT)) >= 2)
        await answered(telegram, app)
    [_, reply] = telegram.bot_messages(CHAT)
    if fault is Fault.NONE:
        assert (reply.kind, reply.caption) == ("voice", ANSWER)
    else:
        assert reply.kind == "text"
        assert reply.text is not None
        assert reply.text.startswith(f"{SHOWN_ANSWER}\n\n⚠️")
        assert quotes(reply) == []
    seen = [t for m in telegram.bot_messages(CHAT) for t in (*m.history, m.text, m.caption) if t]
    assert not [t for t in seen if "Paris; say so" in t]
    [(content, reasoning, _, _)] = await stored_replies(settings.database_path, CHAT)
    assert (content, reasoning) == (ANSWER, THOUGHT)
