"""Reasoning through the upstream client: every shape servers send it in (against the fake
upstream, over HTTP, and as exact wire captures), its usage, `reasoning_effort` in the request,
and the models remembered as beginning their replies mid-thought."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.errors import UpstreamHTTPError
from bot.upstream.client import UpstreamClient
from bot.upstream.types import ChatRequest, Delta, Usage
from tests.fakes.upstream import FakeUpstream, ReasoningStyle, ReplyScript
from tests.unit.upstream_answers import (
    HELLO,
    MakeClient,
    answering,
    collect,
    event_stream,
    sse,
)

THOUGHT = "The user greets me. <b>Greet</b> back, briefly: one line is enough."
ANSWER = "Hello! How can I help?"


def applied(deltas: list[Delta]) -> tuple[str, str]:
    """(reasoning, answer) after every delta, restarts included, as a consumer keeps them."""
    reasoning = text = ""
    for delta in deltas:
        if delta.restart:
            reasoning, text = delta.reasoning, delta.text
        else:
            reasoning, text = reasoning + delta.reasoning, text + delta.text
    return reasoning, text


def thinking(style: ReasoningStyle, **options: Any) -> ReplyScript:
    return ReplyScript(ANSWER, reasoning=THOUGHT, reasoning_style=style, **options)


@pytest.mark.parametrize("style", list(ReasoningStyle))
async def test_every_reasoning_shape_streams_apart_from_the_answer(
    upstream: FakeUpstream, upstream_client: UpstreamClient, style: ReasoningStyle
) -> None:
    # Pieces of three characters: the tags arrive cut in three.
    upstream.script(thinking(style, reasoning_chunk_size=3))
    deltas = await collect(upstream_client)
    reasoning, answer = applied(deltas)
    # Blank space around a thought is the tags' (llama.cpp's legacy shape puts the opening
    # tag's newline in the content before any reasoning field has come).
    assert (reasoning.strip(), answer) == (THOUGHT, ANSWER)
    assert all("</think>" not in d.text for d in deltas)


@pytest.mark.parametrize("style", list(ReasoningStyle))
async def test_every_reasoning_shape_of_a_whole_reply_comes_apart_from_the_answer(
    upstream: FakeUpstream, upstream_client: UpstreamClient, style: ReasoningStyle
) -> None:
    upstream.script(thinking(style))
    reply = await upstream_client.complete_chat(HELLO)
    assert (reply.reasoning.strip(), reply.text) == (THOUGHT, ANSWER)


async def test_reasoning_comes_before_the_answer_and_each_piece_is_given_once(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(thinking(ReasoningStyle.BOTH_FIELDS, reasoning_chunk_size=10))
    deltas = await collect(upstream_client)
    reasoning = [d.reasoning for d in deltas if d.reasoning]
    assert reasoning == [THOUGHT[i : i + 10] for i in range(0, len(THOUGHT), 10)]
    first_text = next(i for i, d in enumerate(deltas) if d.text)
    assert all(not d.reasoning for d in deltas[first_text:])


async def test_reasoning_tokens_are_read_and_not_added_to_the_completion_tokens(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(thinking(ReasoningStyle.REASONING_CONTENT))
    deltas = await collect(upstream_client)
    usage = deltas[-1].usage
    thought, answer = -(-len(THOUGHT) // 4), -(-len(ANSWER) // 4)
    assert usage is not None
    assert (usage.completion_tokens, usage.reasoning_tokens) == (thought + answer, thought)


async def test_a_model_that_began_mid_thought_streams_its_next_thought_as_reasoning_at_once(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(
        thinking(ReasoningStyle.CLOSE_TAG_ONLY), thinking(ReasoningStyle.CLOSE_TAG_ONLY)
    )
    first = await collect(upstream_client)
    assert (bool(first[0].text), first[0].reasoning) == (True, "")  # answer until the tag came
    assert any(d.restart for d in first)
    second = await collect(upstream_client)
    assert (bool(second[0].reasoning), second[0].text) == (True, "")
    assert not any(d.restart for d in second)
    assert applied(second) == (THOUGHT, ANSWER)


async def test_a_model_remembered_as_thinking_first_that_answers_straight_away_is_forgotten(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(
        thinking(ReasoningStyle.CLOSE_TAG_ONLY),
        ReplyScript(ANSWER),
        ReplyScript(ANSWER),
    )
    await collect(upstream_client)
    straight = await collect(upstream_client)
    assert applied(straight) == ("", ANSWER)
    assert straight[0].reasoning  # still taken for thought, until the end said otherwise
    again = await collect(upstream_client)
    assert (again[0].text, any(d.restart for d in again)) == (ANSWER[:4], False)


async def test_reasoning_effort_is_sent_only_when_set(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    await collect(upstream_client)
    await collect(
        upstream_client, ChatRequest("gpt-4o-mini", HELLO.messages, reasoning_effort="high")
    )
    first, second = (r.body for r in upstream.chat_requests())
    assert "reasoning_effort" not in first
    assert second["reasoning_effort"] == "high"


async def test_the_fake_refuses_reasoning_sent_back_and_unknown_efforts(
    upstream_client: UpstreamClient,
) -> None:
    sent_back = ChatRequest(
        "gpt-4o-mini",
        (
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello", "reasoning_content": "greet"},  # type: ignore[typeddict-unknown-key]
            {"role": "user", "content": "Again"},
        ),
    )
    with pytest.raises(UpstreamHTTPError) as refused:
        await collect(upstream_client, sent_back)
    assert refused.value.status == 400
    assert "must not be sent back" in str(refused.value)


# --- exact wire shapes ------------------------------------------------------------------------


def chunk(**delta: Any) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [choice]})


FINISH = json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})


async def test_deepseeks_stream_as_captured_gives_reasoning_then_answer(
    make_client: MakeClient,
) -> None:
    body = sse(
        chunk(role="assistant", content=None, reasoning_content=""),
        chunk(content=None, reasoning_content="好的"),
        chunk(content="Hi", reasoning_content=None),
        FINISH,
        "[DONE]",
    )
    handler, _ = answering(event_stream(body))
    deltas = await collect(make_client(handler))
    assert deltas == [Delta(reasoning="好的"), Delta("Hi"), Delta(finish_reason="stop")]


async def test_null_and_empty_reasoning_fields_are_nothing(make_client: MakeClient) -> None:
    body = sse(chunk(content="Hi", reasoning=None), chunk(content="!", reasoning=""), FINISH)
    handler, _ = answering(event_stream(body))
    assert await collect(make_client(handler)) == [
        Delta("Hi"),
        Delta("!"),
        Delta(finish_reason="stop"),
    ]


async def test_openai_usage_with_reasoning_tokens_keeps_completion_tokens_as_reported(
    make_client: MakeClient,
) -> None:
    usage = {
        "prompt_tokens": 9,
        "completion_tokens": 30,
        "total_tokens": 39,
        "completion_tokens_details": {"reasoning_tokens": 24, "audio_tokens": 0},
    }
    body = sse(chunk(content="Hi"), FINISH, json.dumps({"choices": [], "usage": usage}), "[DONE]")
    handler, _ = answering(event_stream(body))
    deltas = await collect(make_client(handler))
    assert deltas[-1].usage == Usage(9, 30, 39, reasoning_tokens=24)
