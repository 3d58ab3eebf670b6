"""The upstream client against scripted HTTP answers (httpx.MockTransport): parsing, errors."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.errors import (
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from bot.upstream.client import Timeouts, UpstreamClient
from bot.upstream.sse import ServerSentEvent, SSEDecoder
from bot.upstream.types import (
    AudioReply,
    ChatRequest,
    Completion,
    Delta,
    ModelInfo,
    SamplingParams,
    Usage,
)

BASE = "http://upstream.test"
HELLO = ChatRequest("gpt-4o-mini", ({"role": "user", "content": "Hello"},))
Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
MakeClient = Callable[..., UpstreamClient]


def chunk(content: str | None = None, *, role: str | None = None, finish: str | None = None) -> str:
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [choice]})


USAGE_CHUNK = json.dumps(
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
)


def sse(*datas: str, separator: str = "\n\n") -> bytes:
    return "".join(f"data: {data}{separator}" for data in datas).encode()


def event_stream(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"Content-Type": "text/event-stream"}, content=body)


class Trickle(httpx.AsyncByteStream):
    """A response body sent piece by piece, with pauses, ending in an exception if given."""

    def __init__(self, parts: Iterable[bytes | float], then: Exception | None = None) -> None:
        self._parts = list(parts)
        self._then = then

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self._parts:
            if isinstance(part, float):
                await asyncio.sleep(part)
            else:
                yield part
        if self._then is not None:
            raise self._then


def trickle(*parts: bytes | float, then: Exception | None = None) -> httpx.Response:
    headers = {"Content-Type": "text/event-stream"}
    return httpx.Response(200, headers=headers, stream=Trickle(parts, then))


def answering(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving these answers in turn (the last one repeats), and the requests it saw."""
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[UpstreamClient] = []

    def make(handler: Handler, **options: Any) -> UpstreamClient:
        options.setdefault("retry_backoff", 0.0)
        client = UpstreamClient(BASE, transport=httpx.MockTransport(handler), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def collect(client: UpstreamClient, request: ChatRequest = HELLO) -> list[Delta]:
    return [delta async for delta in client.stream_chat(request)]


async def collect_into(received: list[Delta], client: UpstreamClient) -> None:
    """Like `collect`, but what arrived before a failure stays visible to the test."""
    async for delta in client.stream_chat(HELLO):
        received.append(delta)


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


async def test_chunk_without_choices_or_usage_raises_protocol_error(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(event_stream(sse(json.dumps({"id": "c1", "choices": []}), "[DONE]")))
    with pytest.raises(UpstreamProtocolError) as caught:
        await collect(make_client(handler))
    assert caught.value.detail == "stream chunk without choices"


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


async def test_stream_request_has_only_the_set_params_and_no_auth_without_a_key(
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


# --- HTTP errors ------------------------------------------------------------------------------


async def test_http_error_carries_the_openai_error_message(make_client: MakeClient) -> None:
    body = {"error": {"message": "The model `x` does not exist", "type": "invalid_request_error"}}
    handler, _ = answering(httpx.Response(404, json=body))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler))
    assert (caught.value.status, caught.value.message) == (404, "The model `x` does not exist")


async def test_http_error_without_json_carries_the_body_text_cut_to_200_characters(
    make_client: MakeClient,
) -> None:
    page = "<html>" + "bad gateway " * 40 + "</html>"
    handler, _ = answering(httpx.Response(502, text=page))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=0))
    assert len(caught.value.message) == 200
    assert caught.value.message.startswith("<html>bad gateway bad gateway")


async def test_the_api_key_never_appears_in_an_error_message(make_client: MakeClient) -> None:
    body = {"error": {"message": "Incorrect API key provided: sk-secret-123."}}
    handler, _ = answering(httpx.Response(401, json=body))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, api_key="sk-secret-123"))
    assert caught.value.message == "Incorrect API key provided: ***."
    assert "sk-secret-123" not in str(caught.value)


def in_an_hour() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"Retry-After": "7"}, 7.0, 7.0),
        ({"Retry-After": "2.5"}, 2.5, 2.5),
        ({"retry-after-ms": "1500"}, 1.5, 1.5),
        ({"Retry-After": in_an_hour()}, 3000.0, 3600.0),
    ],
)
async def test_retry_after_is_read_from_seconds_milliseconds_or_an_http_date(
    make_client: MakeClient, headers: dict[str, str], low: float, high: float
) -> None:
    handler, _ = answering(httpx.Response(429, headers=headers, json={"error": {"message": "x"}}))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=0))
    assert caught.value.retry_after is not None
    assert low <= caught.value.retry_after <= high


async def test_unreadable_retry_after_is_none(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.Response(429, headers={"Retry-After": "soon"}))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=0))
    assert caught.value.retry_after is None


# --- transport failures and timeouts ----------------------------------------------------------


async def test_refused_connection_raises_unavailable_after_every_retry(
    make_client: MakeClient,
) -> None:
    handler, seen = answering(httpx.ConnectError("Connection refused"))
    with pytest.raises(UpstreamUnavailable) as caught:
        await collect(make_client(handler, retries=2))
    assert len(seen) == 3
    assert "Connection refused" in caught.value.detail


async def test_connect_timeout_raises_connect_phase_timeout(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.ConnectTimeout("timed out"))
    with pytest.raises(UpstreamTimeout) as caught:
        await collect(make_client(handler, retries=0, timeouts=Timeouts(connect=3)))
    assert (caught.value.phase, caught.value.seconds) == ("connect", 3)


async def test_connection_dropped_before_a_response_is_unavailable(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(httpx.RemoteProtocolError("Server disconnected without response"))
    with pytest.raises(UpstreamUnavailable):
        await collect(make_client(handler, retries=0))


async def test_connection_cut_mid_stream_raises_stream_cut(make_client: MakeClient) -> None:
    cut = httpx.RemoteProtocolError("incomplete chunked read")
    handler, _ = answering(trickle(sse(chunk("hi")), then=cut))
    with pytest.raises(UpstreamProtocolError) as caught:
        await collect(make_client(handler))
    assert caught.value.detail == "stream cut"


async def test_no_text_before_the_first_token_timeout_raises_first_token_timeout(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(trickle(sse(chunk("", role="assistant")), 5.0))
    with pytest.raises(UpstreamTimeout) as caught:
        await collect(make_client(handler, timeouts=Timeouts(first_token=0.1)))
    assert caught.value.phase == "first_token"


async def test_slow_response_headers_count_against_the_first_token_timeout(
    make_client: MakeClient,
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return event_stream(b"")

    with pytest.raises(UpstreamTimeout) as caught:
        await collect(make_client(slow, timeouts=Timeouts(first_token=0.1)))
    assert caught.value.phase == "first_token"


async def test_replies_past_the_stream_limit_wait_their_turn_without_timing_out(
    make_client: MakeClient,
) -> None:
    events: list[str] = []

    class Logged(Trickle):
        async def aclose(self) -> None:
            events.append("closed")

    async def handle(request: httpx.Request) -> httpx.Response:
        events.append("opened")
        parts = (sse(chunk("a")), 0.1, sse(chunk("b")), 0.1, sse(chunk("c")), 0.1)
        stream = Logged((*parts, sse(chunk(finish="stop"), "[DONE]")))
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, stream=stream)

    # One reply at a time; the second waits about 0.3 s for it, longer than its first token may
    # take: the wait for a turn is not the upstream being slow.
    client = make_client(handle, streams=1, timeouts=Timeouts(first_token=0.2, idle=5))
    first, second = await asyncio.gather(collect(client), collect(client))

    assert first == second == [Delta("a"), Delta("b"), Delta("c"), Delta("", "stop")]
    assert events == ["opened", "closed", "opened", "closed"]


async def test_a_pause_after_text_longer_than_idle_raises_idle_timeout(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(trickle(sse(chunk("hi")), 5.0, sse(chunk(finish="stop"))))
    client = make_client(handler, timeouts=Timeouts(first_token=5, idle=0.1))
    received: list[Delta] = []
    with pytest.raises(UpstreamTimeout) as caught:
        await collect_into(received, client)
    assert (caught.value.phase, received) == ("idle", [Delta("hi")])


async def test_a_slow_consumer_does_not_time_the_upstream_out(make_client: MakeClient) -> None:
    # Short pauses make every read wait, so a deadline counted from the last text would fire.
    pause = 0.001
    parts = (sse(chunk("a")), pause, sse(chunk("b")), pause, sse(chunk(finish="stop"), "[DONE]"))
    handler, _ = answering(trickle(*parts))
    client = make_client(handler, timeouts=Timeouts(idle=0.05))
    received = []
    async for delta in client.stream_chat(HELLO):
        received.append(delta)
        await asyncio.sleep(0.15)
    assert received == [Delta("a"), Delta("b"), Delta("", "stop")]


# --- retries ----------------------------------------------------------------------------------


async def test_503_is_retried_and_the_second_answer_streams(make_client: MakeClient) -> None:
    good = event_stream(sse(chunk("ok"), chunk(finish="stop"), "[DONE]"))
    handler, seen = answering(httpx.Response(503), good)
    assert await collect(make_client(handler)) == [Delta("ok"), Delta("", "stop")]
    assert len(seen) == 2


async def test_429_waits_for_a_short_retry_after_before_retrying(make_client: MakeClient) -> None:
    good = event_stream(sse(chunk("ok"), chunk(finish="stop")))
    handler, seen = answering(httpx.Response(429, headers={"Retry-After": "0.2"}), good)
    started = asyncio.get_running_loop().time()
    await collect(make_client(handler))
    assert len(seen) == 2
    assert asyncio.get_running_loop().time() - started >= 0.2


async def test_429_with_a_retry_after_over_30_seconds_gives_up_at_once(
    make_client: MakeClient,
) -> None:
    handler, seen = answering(httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=3))
    assert (len(seen), caught.value.retry_after) == (1, 120.0)


async def test_500_and_400_are_not_retried(make_client: MakeClient) -> None:
    for status in (500, 400):
        handler, seen = answering(httpx.Response(status))
        with pytest.raises(UpstreamHTTPError):
            await collect(make_client(handler, retries=3))
        assert len(seen) == 1


async def test_first_token_timeout_is_not_retried(make_client: MakeClient) -> None:
    handler, seen = answering(trickle(5.0))
    with pytest.raises(UpstreamTimeout):
        await collect(make_client(handler, retries=3, timeouts=Timeouts(first_token=0.05)))
    assert len(seen) == 1


async def test_nothing_is_retried_after_the_first_delta(make_client: MakeClient) -> None:
    cut = httpx.ReadError("connection reset")
    handler, seen = answering(trickle(sse(chunk("partial")), then=cut))
    client = make_client(handler, retries=3)
    received: list[Delta] = []
    with pytest.raises(UpstreamProtocolError):
        await collect_into(received, client)
    assert (len(seen), received) == (1, [Delta("partial")])


async def test_retries_back_off_exponentially(make_client: MakeClient) -> None:
    handler, seen = answering(httpx.ConnectError("refused"))
    started = asyncio.get_running_loop().time()
    with pytest.raises(UpstreamUnavailable):
        await collect(make_client(handler, retries=2, retry_backoff=0.05))
    assert len(seen) == 3
    assert asyncio.get_running_loop().time() - started >= 0.05 + 0.1


# --- models, about, whole replies -------------------------------------------------------------

MODELS = {
    "object": "list",
    "data": [
        {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "openai"},
        {"id": "local-model", "object": "model"},
    ],
}
EXPECTED_MODELS = [ModelInfo("gpt-4o", "openai", 1715367049), ModelInfo("local-model")]


async def test_models_come_from_slash_models(make_client: MakeClient) -> None:
    handler, seen = answering(httpx.Response(200, json=MODELS))
    assert await make_client(handler).list_models() == EXPECTED_MODELS
    assert [r.url.path for r in seen] == ["/models"]


@pytest.mark.parametrize(
    "first",
    [httpx.Response(404, text="Not Found"), httpx.Response(200, text="<html>a web page</html>")],
    ids=["404", "not-a-list"],
)
async def test_models_fall_back_to_v1_models(
    make_client: MakeClient, first: httpx.Response
) -> None:
    handler, seen = answering(first, httpx.Response(200, json=MODELS))
    assert await make_client(handler).list_models() == EXPECTED_MODELS
    assert [r.url.path for r in seen] == ["/models", "/v1/models"]


async def test_models_missing_on_both_paths_raise_404(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.Response(404, text="Not Found"))
    with pytest.raises(UpstreamHTTPError) as caught:
        await make_client(handler).list_models()
    assert caught.value.status == 404


async def test_about_json_reads_as_key_value_lines(make_client: MakeClient) -> None:
    about = {
        "name": "GPT API Service",
        "version": "1.0.0",
        "links": {"telegram": "https://t.me/x"},
        "expertise": ["Python", "Reverse Engineering"],
        "free": True,
    }
    handler, _ = answering(httpx.Response(200, json=about))
    assert await make_client(handler).about() == (
        "name: GPT API Service\n"
        "version: 1.0.0\n"
        "links:\n"
        "  telegram: https://t.me/x\n"
        "expertise: Python, Reverse Engineering\n"
        "free: true"
    )


async def test_about_text_is_returned_as_is(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.Response(200, text="  A friendly API.\n"))
    assert await make_client(handler).about() == "A friendly API."


async def test_about_error_is_typed(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.Response(500, text="boom"))
    with pytest.raises(UpstreamHTTPError) as caught:
        await make_client(handler).about()
    assert (caught.value.status, caught.value.message) == (500, "boom")


async def test_complete_chat_decodes_audio_and_uses_the_transcript_as_text(
    make_client: MakeClient,
) -> None:
    wav = b"RIFF\x00\x00\x00\x00WAVEfmt fake"
    audio = {
        "id": "audio_1",
        "data": base64.b64encode(wav).decode(),
        "transcript": "Hi!",
        "expires_at": 1700000000,
    }
    reply = {
        "choices": [
            {
                "message": {"role": "assistant", "content": None, "audio": audio},
                "finish_reason": "stop",
            }
        ]
    }
    handler, seen = answering(httpx.Response(200, json=reply))
    request = ChatRequest("gpt-4o-audio-preview", HELLO.messages, voice="fable")
    completion = await make_client(handler).complete_chat(request)
    assert completion == Completion(
        "Hi!", "stop", None, AudioReply(wav, "Hi!", "audio_1", 1700000000)
    )
    body = json.loads(seen[0].content)
    assert (body["stream"], body["modalities"], body["audio"]) == (
        False,
        ["text", "audio"],
        {"voice": "fable", "format": "wav"},
    )


async def test_complete_chat_with_bad_base64_audio_raises_protocol_error(
    make_client: MakeClient,
) -> None:
    message = {"content": None, "audio": {"data": "not base64!", "transcript": "x"}}
    handler, _ = answering(httpx.Response(200, json={"choices": [{"message": message}]}))
    with pytest.raises(UpstreamProtocolError) as caught:
        await make_client(handler).complete_chat(HELLO)
    assert caught.value.detail == "audio is not valid base64"


async def test_complete_chat_is_retried_on_502(make_client: MakeClient) -> None:
    reply = {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}
    handler, seen = answering(httpx.Response(502), httpx.Response(200, json=reply))
    assert await make_client(handler).complete_chat(HELLO) == Completion("ok", "stop", None, None)
    assert len(seen) == 2


async def test_from_settings_takes_url_key_timeouts_and_retries() -> None:
    settings = Settings(
        telegram_bot_token=SecretStr("123:abc"),
        gpt_api_base_url="http://example.test/",
        gpt_api_key=SecretStr("sk-1"),
        upstream_connect_timeout=1.5,
        upstream_first_token_timeout=20,
        upstream_idle_timeout=7,
        upstream_retries=4,
        upstream_retry_backoff=0.25,
        _env_file=None,  # type: ignore[call-arg]
    )
    client = UpstreamClient.from_settings(settings)
    await client.aclose()
    assert (client.base_url, client.timeouts, client.retries, client.retry_backoff) == (
        "http://example.test",
        Timeouts(connect=1.5, first_token=20, idle=7),
        4,
        0.25,
    )


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
