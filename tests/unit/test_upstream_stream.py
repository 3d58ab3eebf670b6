"""The upstream client's streamed replies against scripted HTTP answers: parsing SSE as real
servers send it, what is sent, and the SSE decoder on its own."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.errors import (
    UpstreamHTTPError,
    UpstreamProtocolError,
)
from bot.upstream.client import UpstreamClient
from bot.upstream.sse import ServerSentEvent, SSEDecoder
from bot.upstream.types import ChatRequest, Delta, SamplingParams, Usage
from tests.unit.upstream_answers import (
    BASE,
    HELLO,
    USAGE_CHUNK,
    MakeClient,
    answering,
    chunk,
    collect,
    event_stream,
    sse,
)

# --- streaming: the happy path and the quirks of real servers --------------------------------


async def test_stream_yields_text_then_one_final_delta_with_finish_reason_and_usage(
    make_client: MakeClient,
) -> None:
    body = sse(
        chunk("", role="assistant"),
        chunk("Hel"),
        chunk("lo"),
        chunk(finish="stop"),
        USAGE_CHUNK,
        "[DONE]",
    )
    handler, _ = answering(event_stream(body))
    deltas = await collect(make_client(handler))
    assert deltas == [Delta("Hel"), Delta("lo"), Delta("", "stop", Usage(3, 2, 5))]


async def test_stream_reads_crlf_comments_event_lines_and_multiline_data(
    make_client: MakeClient,
) -> None:
    split_chunk = chunk("two").replace('"delta": ', '"delta":\r\ndata: ')
    body = (
        ": keep-alive\r\n\r\n"
        f"event: message\r\ndata: {chunk('one ')}\r\n\r\n"
        f"data: {split_chunk}\r\n\r\n"
        f"data:{chunk(finish='stop')}\r\n\r\n"
        "data: [DONE]\r\n\r\n"
    ).encode()
    handler, _ = answering(event_stream(body))
    deltas = await collect(make_client(handler))
    assert deltas == [Delta("one "), Delta("two"), Delta(finish_reason="stop")]


async def test_stream_reads_events_separated_by_single_newlines(make_client: MakeClient) -> None:
    body = sse(chunk("a"), chunk("b"), chunk(finish="stop"), "[DONE]", separator="\n")
    handler, _ = answering(event_stream(body))
    assert await collect(make_client(handler)) == [Delta("a"), Delta("b"), Delta("", "stop")]


async def test_stream_with_finish_reason_but_no_done_is_accepted(make_client: MakeClient) -> None:
    handler, _ = answering(event_stream(sse(chunk("hi"), chunk(finish="length"))))
    assert await collect(make_client(handler)) == [Delta("hi"), Delta("", "length")]


async def test_stream_ending_without_done_or_finish_reason_raises_ended_early(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(event_stream(sse(chunk("hi"), chunk(" there"))))
    with pytest.raises(UpstreamProtocolError) as caught:
        await collect(make_client(handler))
    assert caught.value.detail == "stream ended early"


async def test_stream_with_malformed_json_raises_protocol_error(make_client: MakeClient) -> None:
    handler, _ = answering(event_stream(sse(chunk("hi"), '{"choices": [', "[DONE]")))
    with pytest.raises(UpstreamProtocolError) as caught:
        await collect(make_client(handler))
    assert caught.value.detail == "malformed JSON in stream"


async def test_chunks_with_empty_choices_and_no_usage_are_skipped(
    make_client: MakeClient,
) -> None:
    # Azure sends such frames (content-filter annotations) before and between the text.
    annotation = json.dumps({"id": "", "choices": [], "prompt_filter_results": []})
    body = sse(annotation, chunk("hi"), annotation, chunk(finish="stop"), "[DONE]")
    handler, _ = answering(event_stream(body))
    assert await collect(make_client(handler)) == [Delta("hi"), Delta("", "stop")]


async def test_a_chunk_without_a_choices_list_or_usage_raises_protocol_error(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(event_stream(sse(json.dumps({"id": "c1"}), "[DONE]")))
    with pytest.raises(UpstreamProtocolError) as caught:
        await collect(make_client(handler))
    assert caught.value.detail == "stream chunk without choices"


async def test_usage_is_read_from_whichever_chunk_carries_it(make_client: MakeClient) -> None:
    # OpenRouter puts usage on a chunk that also has choices; OpenAI on a `choices: []` one.
    usage = {"prompt_tokens": 7, "completion_tokens": 40, "total_tokens": 47}
    with_choices = json.loads(chunk(finish="stop")) | {"usage": usage}
    handler, _ = answering(event_stream(sse(chunk("hi"), json.dumps(with_choices), "[DONE]")))
    assert await collect(make_client(handler)) == [Delta("hi"), Delta("", "stop", Usage(7, 40, 47))]


async def test_error_event_raises_protocol_error_with_its_message(make_client: MakeClient) -> None:
    error = json.dumps({"error": {"message": "model overloaded", "type": "server_error"}})
    handler, _ = answering(event_stream(sse(chunk("hi"), error)))
    with pytest.raises(UpstreamProtocolError) as caught:
        await collect(make_client(handler))
    assert caught.value.detail == "model overloaded"


async def test_error_event_with_an_http_status_code_raises_http_error(
    make_client: MakeClient,
) -> None:
    error = json.dumps({"error": {"message": "Rate limit exceeded", "code": 429}})
    handler, _ = answering(event_stream(sse(error)))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=0))
    assert (caught.value.status, caught.value.message) == (429, "Rate limit exceeded")


async def test_json_answer_to_a_stream_request_comes_as_one_delta(make_client: MakeClient) -> None:
    reply = {
        "choices": [
            {"message": {"role": "assistant", "content": "Whole"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    handler, _ = answering(httpx.Response(200, json=reply))
    assert await collect(make_client(handler)) == [Delta("Whole", "stop", Usage(1, 1, 2))]


async def test_stream_request_has_only_the_set_params_asks_for_usage_and_has_no_auth_without_a_key(
    make_client: MakeClient,
) -> None:
    handler, seen = answering(event_stream(sse(chunk(finish="stop"), "[DONE]")))
    request = ChatRequest(
        "gpt-4o", HELLO.messages, SamplingParams(temperature=0.5, frequency_penalty=0.0)
    )
    await collect(make_client(handler), request)
    sent = seen[0]
    assert (sent.method, str(sent.url)) == ("POST", f"{BASE}/v1/chat/completions")
    assert json.loads(sent.content) == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hello"}],
        "temperature": 0.5,
        "frequency_penalty": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert sent.headers["accept"] == "text/event-stream"
    assert "authorization" not in sent.headers


async def test_api_key_is_sent_as_a_bearer_token(make_client: MakeClient) -> None:
    handler, seen = answering(event_stream(sse(chunk(finish="stop"), "[DONE]")))
    await collect(make_client(handler, api_key="sk-secret"))
    assert seen[0].headers["authorization"] == "Bearer sk-secret"


async def test_streaming_a_voice_request_is_refused(make_client: MakeClient) -> None:
    handler, seen = answering(httpx.Response(500))
    with pytest.raises(ValueError, match="complete_chat"):
        await collect(make_client(handler), ChatRequest("gpt-4o-audio-preview", (), voice="nova"))
    assert seen == []


async def test_a_base_url_ending_in_v1_is_not_doubled() -> None:
    handler, seen = answering(event_stream(sse(chunk(finish="stop"), "[DONE]")))
    client = UpstreamClient(f"{BASE}/v1/", transport=httpx.MockTransport(handler))
    try:
        await collect(client)
    finally:
        await client.aclose()
    assert str(seen[0].url) == f"{BASE}/v1/chat/completions"


# --- the SSE decoder on its own ---------------------------------------------------------------


def test_decoder_joins_multiline_data_and_keeps_the_event_type() -> None:
    decoder = SSEDecoder()
    lines = ["event: error", "data: first", "data: second", "", ": comment", ""]
    events = [event for line in lines for event in decoder.feed(line)]
    assert events == [ServerSentEvent("first\nsecond", "error")]


def test_decoder_flushes_a_last_event_without_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed('data: {"a": 1}') == []
    assert decoder.flush() == ServerSentEvent('{"a": 1}')
