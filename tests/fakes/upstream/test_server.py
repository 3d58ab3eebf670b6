"""The real upstream client against the real fake upstream, over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import io
import json
import wave

import httpx
import pytest

from bot.errors import (
    UpstreamError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from bot.types import ContentPart
from bot.upstream.client import Timeouts, UpstreamClient
from bot.upstream.types import ChatRequest, Delta, SamplingParams
from tests.fakes.upstream import DEFAULT_MODELS, FakeUpstream, Fault, ReplyScript, make_wav

HELLO = ChatRequest("gpt-4o-mini", ({"role": "user", "content": "Hello"},))
TONE = base64.b64encode(make_wav(0.1)).decode("ascii")
STORY = "Once upon a time, a bot streamed its reply in small pieces."
# Generous for the ordinary tests; the timeout tests use their own short ones.
ROOMY = Timeouts(connect=2, first_token=5, idle=5)
SHORT = Timeouts(connect=2, first_token=0.2, idle=0.2)


async def text_of(client: UpstreamClient, request: ChatRequest = HELLO) -> str:
    return "".join([delta.text async for delta in client.stream_chat(request)])


async def test_streamed_text_equals_the_scripted_text(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(ReplyScript(STORY, chunk_size=5, chunk_delay=0.001))
    deltas = [delta async for delta in upstream_client.stream_chat(HELLO)]
    assert "".join(d.text for d in deltas) == STORY
    assert len(deltas) == 13  # twelve pieces of five characters or fewer, then the finish
    assert (deltas[-1].finish_reason, deltas[-1].usage is not None) == ("stop", True)
    assert upstream.disconnects == 0


async def test_unscripted_reply_echoes_the_last_user_text_with_audio_noted(
    upstream_client: UpstreamClient,
) -> None:
    parts: list[ContentPart] = [
        {"type": "text", "text": "What is this?"},
        {"type": "input_audio", "input_audio": {"data": TONE, "format": "wav"}},
    ]
    request = ChatRequest(
        "gpt-4o-audio-preview",
        (
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": parts},
        ),
    )
    assert await text_of(upstream_client, request) == "You said: What is this? [audio]"


@pytest.mark.parametrize(
    ("model", "data", "problem"),
    [
        ("gpt-4o-mini", TONE, "This model does not support audio input"),
        ("gpt-4o-audio-preview", "UklGRg==", "could not be decoded as WAV"),
    ],
    ids=["text-model", "corrupt-wav"],
)
async def test_input_audio_is_refused_by_text_models_and_when_it_does_not_decode(
    upstream_client: UpstreamClient, model: str, data: str, problem: str
) -> None:
    part: ContentPart = {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}
    request = ChatRequest(model, ({"role": "user", "content": [part]},))
    with pytest.raises(UpstreamHTTPError) as caught:
        await text_of(upstream_client, request)
    assert caught.value.status == 400
    assert problem in caught.value.message


async def test_the_client_sends_what_the_seed_documents_and_asks_for_usage(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    params = SamplingParams(temperature=0.5, top_p=1, presence_penalty=0, frequency_penalty=0)
    await text_of(upstream_client, ChatRequest("gpt-4o", HELLO.messages, params))
    (recorded,) = upstream.chat_requests()
    assert recorded.body == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hello"}],
        "temperature": 0.5,
        "top_p": 1,
        "presence_penalty": 0,
        "frequency_penalty": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert recorded.headers["accept"] == "text/event-stream"
    assert "authorization" not in recorded.headers


async def test_a_reply_length_limit_goes_as_max_tokens_on_streamed_and_whole_requests(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    limited = ChatRequest("gpt-4o-audio-preview", HELLO.messages, max_reply_tokens=300)
    await text_of(upstream_client, limited)
    await upstream_client.complete_chat(dataclasses.replace(limited, voice="nova"))
    assert [r.body["max_tokens"] for r in upstream.chat_requests()] == [300, 300]


STREAM_FAULTS: list[tuple[Fault, type[UpstreamError], int | str]] = [
    (Fault.HTTP_500, UpstreamHTTPError, 500),
    (Fault.HTTP_401, UpstreamHTTPError, 401),
    (Fault.HTTP_404, UpstreamHTTPError, 404),
    (Fault.HTTP_429, UpstreamHTTPError, 429),
    (Fault.CUT_MID_STREAM, UpstreamProtocolError, "stream cut"),
    (Fault.MALFORMED_JSON, UpstreamProtocolError, "malformed JSON in stream"),
    (Fault.ERROR_EVENT, UpstreamProtocolError, "The server had an error"),
    (Fault.NO_DONE, UpstreamProtocolError, "stream ended early"),
    (Fault.HANG_BEFORE_FIRST_TOKEN, UpstreamTimeout, "first_token"),
    (Fault.STALL_MID_STREAM, UpstreamTimeout, "idle"),
]


@pytest.mark.parametrize(
    ("fault", "error", "detail"), STREAM_FAULTS, ids=[f.name for f, _, _ in STREAM_FAULTS]
)
async def test_each_stream_fault_raises_its_documented_error(
    upstream: FakeUpstream, fault: Fault, error: type[UpstreamError], detail: int | str
) -> None:
    upstream.script(ReplyScript(STORY, fault=fault, after_chunks=2))
    client = UpstreamClient(upstream.base_url, timeouts=SHORT, retries=0)
    try:
        with pytest.raises(error) as caught:
            await text_of(client)
    finally:
        await client.aclose()
    raised = caught.value
    if isinstance(raised, UpstreamHTTPError):
        assert raised.status == detail
    elif isinstance(raised, UpstreamTimeout):
        assert (raised.phase, raised.seconds) == (detail, 0.2)
    else:
        assert isinstance(raised, UpstreamProtocolError)
        assert str(raised.detail).startswith(str(detail))


async def test_timed_out_streams_are_closed_so_the_fake_sees_the_client_leave(
    upstream: FakeUpstream,
) -> None:
    upstream.script(ReplyScript(STORY, fault=Fault.HANG_BEFORE_FIRST_TOKEN))
    async with contextlib.aclosing(UpstreamClient(upstream.base_url, timeouts=SHORT)) as client:
        with pytest.raises(UpstreamTimeout):
            await text_of(client)
    await upstream.wait_until(lambda: upstream.disconnects == 1, within=2)


async def test_closing_the_stream_early_closes_the_connection(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(ReplyScript(STORY, chunk_size=2, chunk_delay=0.02))
    stream = upstream_client.stream_chat(HELLO)
    first = await anext(stream)
    await stream.aclose()
    await upstream.wait_until(lambda: upstream.disconnects == 1, within=2)
    assert (first, upstream.disconnects) == (Delta("On"), 1)


async def test_cancelling_the_consumer_closes_the_connection(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(ReplyScript(STORY, chunk_size=2, chunk_delay=0.02))
    received: list[str] = []
    streaming = asyncio.Event()

    async def consume() -> None:
        async for delta in upstream_client.stream_chat(HELLO):
            received.append(delta.text)
            streaming.set()

    task = asyncio.create_task(consume())
    await streaming.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await upstream.wait_until(lambda: upstream.disconnects == 1, within=2)
    assert "".join(received) != STORY


async def test_429_with_a_short_retry_after_is_retried(upstream: FakeUpstream) -> None:
    upstream.script(ReplyScript("", fault=Fault.HTTP_429, retry_after=0), ReplyScript("Second try"))
    async with contextlib.aclosing(
        UpstreamClient(upstream.base_url, timeouts=ROOMY, retry_backoff=0.01)
    ) as client:
        assert await text_of(client) == "Second try"
    assert len(upstream.chat_requests()) == 2


async def test_audio_reply_decodes_to_a_valid_wav(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(ReplyScript("Hello in a voice", audio_seconds=0.75))
    request = ChatRequest("gpt-4o-audio-preview", HELLO.messages, voice="alloy")
    completion = await upstream_client.complete_chat(request)
    assert completion.audio is not None
    with wave.open(io.BytesIO(completion.audio.data)) as wav:
        shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes())
    assert shape == (1, 2, 24_000, 18_000)
    assert (completion.text, completion.audio.transcript) == ("Hello in a voice",) * 2
    assert completion.audio.id is not None
    assert completion.audio.expires_at is not None


async def test_audio_without_a_scripted_length_lasts_at_least_half_a_second(
    upstream_client: UpstreamClient,
) -> None:
    request = ChatRequest("gpt-4o-audio-preview", HELLO.messages, voice="nova")
    completion = await upstream_client.complete_chat(request)
    assert completion.audio is not None
    with wave.open(io.BytesIO(completion.audio.data)) as wav:
        assert wav.getnframes() >= 12_000


async def test_no_audio_fault_answers_with_text_only(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    upstream.script(ReplyScript("Just text", fault=Fault.NO_AUDIO))
    request = ChatRequest("gpt-4o-audio-preview", HELLO.messages, voice="echo")
    completion = await upstream_client.complete_chat(request)
    assert (completion.text, completion.audio) == ("Just text", None)


WHOLE_REPLY_FAULTS: list[tuple[Fault, type[UpstreamError]]] = [
    (Fault.HTTP_500, UpstreamHTTPError),
    (Fault.CUT_MID_STREAM, UpstreamProtocolError),
    (Fault.MALFORMED_JSON, UpstreamProtocolError),
    (Fault.ERROR_EVENT, UpstreamProtocolError),
    (Fault.EMPTY_CHOICES, UpstreamProtocolError),
    (Fault.HANG_BEFORE_FIRST_TOKEN, UpstreamTimeout),
    (Fault.STALL_MID_STREAM, UpstreamTimeout),
]


@pytest.mark.parametrize(
    ("fault", "error"), WHOLE_REPLY_FAULTS, ids=[f.name for f, _ in WHOLE_REPLY_FAULTS]
)
async def test_whole_reply_faults_raise_typed_errors(
    upstream: FakeUpstream, fault: Fault, error: type[UpstreamError]
) -> None:
    upstream.script(ReplyScript(STORY, fault=fault))
    async with contextlib.aclosing(
        UpstreamClient(upstream.base_url, timeouts=SHORT, retries=0)
    ) as client:
        with pytest.raises(error):
            await client.complete_chat(HELLO)


@pytest.mark.parametrize("models_path", ["/models", "/v1/models"])
async def test_models_are_listed_from_either_path(models_path: str) -> None:
    async with (
        FakeUpstream(models_path=models_path) as upstream,
        contextlib.aclosing(UpstreamClient(upstream.base_url, timeouts=ROOMY)) as client,
    ):
        models = await client.list_models()
    assert [model.id for model in models] == list(DEFAULT_MODELS)
    expected_paths = ["/models"] if models_path == "/models" else ["/models", "/v1/models"]
    assert [r.path for r in upstream.requests] == expected_paths


async def test_about_reads_as_lines(upstream_client: UpstreamClient) -> None:
    about = await upstream_client.about()
    assert about.splitlines()[:2] == ["name: GPT API Service (fake)", "version: 1.0.0"]
    assert "  expertise: Python Development, Testing" in about.splitlines()


async def test_a_required_key_is_accepted_and_a_wrong_one_refused() -> None:
    async with FakeUpstream(require_key="sk-right") as upstream:
        good = UpstreamClient(upstream.base_url, api_key="sk-right", timeouts=ROOMY)
        async with contextlib.aclosing(good):
            assert await text_of(good) == "You said: Hello"
        bad = UpstreamClient(upstream.base_url, api_key="sk-wrong", timeouts=ROOMY)
        async with contextlib.aclosing(bad):
            with pytest.raises(UpstreamHTTPError) as caught:
                await text_of(bad)
    assert (caught.value.status, caught.value.message) == (401, "Incorrect API key provided.")
    assert upstream.requests[0].headers["authorization"] == "Bearer sk-right"


async def test_unknown_model_is_a_404_naming_the_model(upstream_client: UpstreamClient) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await text_of(upstream_client, ChatRequest("gpt-9", HELLO.messages))
    assert caught.value.status == 404
    assert caught.value.message.startswith("The model `gpt-9` does not exist")


async def test_embedding_model_cannot_chat(upstream_client: UpstreamClient) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await text_of(upstream_client, ChatRequest("text-embedding-3-small", HELLO.messages))
    assert caught.value.status == 400


async def test_fake_rejects_what_the_real_api_rejects(upstream: FakeUpstream) -> None:
    url = f"{upstream.base_url}/v1/chat/completions"
    hello = [{"role": "user", "content": "hi"}]
    bodies = [
        {"model": "gpt-4o", "messages": []},
        {"model": "gpt-4o", "messages": [{"role": "robot", "content": "hi"}]},
        {"model": "gpt-4o", "messages": [{"role": "user"}]},
        {"messages": hello},
        {"model": "gpt-4o", "messages": hello, "stream_options": {"include_usage": True}},
        {"model": "gpt-4o", "messages": hello, "temperature": 3},
        {"model": "gpt-4o", "messages": hello, "max_tokens": 0},
        {"model": "gpt-4o", "messages": hello, "max_tokens": "100"},
        {
            "model": "gpt-4o-audio-preview",
            "messages": hello,
            "stream": True,
            "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "wav"},
        },
        {
            "model": "gpt-4o-audio-preview",
            "messages": hello,
            "modalities": ["text", "audio"],
            "audio": {"voice": "robot", "format": "wav"},
        },
    ]
    async with httpx.AsyncClient() as http:
        answers = [await http.post(url, json=body) for body in bodies]
    assert [a.status_code for a in answers] == [400] * len(bodies)
    assert all(set(a.json()["error"]) == {"message", "type", "param", "code"} for a in answers)
    assert upstream.chat_requests()[4].body["stream_options"] == {"include_usage": True}


async def test_fake_streams_chunks_in_openai_shape(upstream: FakeUpstream) -> None:
    upstream.script(ReplyScript("abcdef", chunk_size=3))
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{upstream.base_url}/v1/chat/completions", json=body)
    events = [line.removeprefix("data: ") for line in answer.text.split("\n\n") if line]
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert [c["choices"][0]["delta"] if c["choices"] else None for c in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "abc"},
        {"content": "def"},
        {},
        None,
    ]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[4]["usage"]["completion_tokens"] == 2


def with_image(model: str, url: str) -> ChatRequest:
    parts: list[ContentPart] = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    return ChatRequest(model, ({"role": "user", "content": parts},))


async def test_images_are_read_by_the_gpt_4o_family_and_refused_by_other_models(
    upstream_client: UpstreamClient,
) -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    assert (
        await text_of(upstream_client, with_image("gpt-4o-mini", png))
        == "You said: What is this? [image]"
    )
    with pytest.raises(UpstreamHTTPError) as caught:
        await text_of(upstream_client, with_image("gpt-3.5-turbo", png))
    assert (caught.value.status, caught.value.message) == (
        400,
        "Invalid content type. image_url is only supported by certain models.",
    )


@pytest.mark.parametrize(
    "url", ["data:image/png;base64,not base64!", "data:application/pdf;base64,JVBERg==", "cat.jpg"]
)
async def test_an_image_part_that_is_no_url_nor_base64_image_is_refused(
    upstream_client: UpstreamClient, url: str
) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await text_of(upstream_client, with_image("gpt-4o", url))
    assert caught.value.status == 400
    assert caught.value.message.startswith("Invalid image in 'messages[0].content[1]'")
