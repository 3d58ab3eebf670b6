"""The upstream client's calls besides streaming, against scripted HTTP answers: the models
list, /about, whole (audio) replies; and the client built from Settings."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.errors import (
    UpstreamHTTPError,
    UpstreamProtocolError,
)
from bot.upstream.client import Timeouts, UpstreamClient
from bot.upstream.types import AudioReply, ChatRequest, Completion, ModelInfo
from tests.unit.upstream_answers import (
    HELLO,
    MakeClient,
    answering,
)

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
