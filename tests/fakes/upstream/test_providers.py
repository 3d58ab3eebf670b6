"""The fake upstream's provider behaviours (providers.py) on the wire, as plain HTTP: each answers
in the shape and words of the server it stands for, and only when its switch is on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream, Fault, Provider, ReplyScript
from tests.fakes.upstream.providers import prompt_tokens

JsonDict = dict[str, Any]


@asynccontextmanager
async def serving(**provider: Any) -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream(models=("gpt-4o-mini", "gpt-5"), provider=Provider(**provider)) as fake:
        yield fake


async def post(fake: FakeUpstream, **body: Any) -> httpx.Response:
    body = {"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}], **body}
    async with httpx.AsyncClient() as http:
        return await http.post(f"{fake.base_url}/v1/chat/completions", json=body)


def events(answer: httpx.Response) -> list[Any]:
    payloads = [e.removeprefix("data: ") for e in answer.text.split("\n\n") if e.strip()]
    return [p if p == "[DONE]" else json.loads(p) for p in payloads]


async def test_a_model_refuses_its_parameters_one_at_a_time_in_openais_words() -> None:
    async with serving(refuses={"gpt-5": frozenset({"temperature", "max_tokens"})}) as fake:
        at_default = await post(fake, temperature=1)
        refused = await post(fake, temperature=0.7, max_tokens=10)
        renamed = await post(fake, temperature=0.7, max_completion_tokens=10)
        other_model = await post(fake, model="gpt-4o-mini", temperature=0.7, max_tokens=10)
    assert at_default.status_code == 200  # temperature 1 is the default, accepted
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
    assert renamed.json()["error"]["code"] == "unsupported_value"
    assert "Only the default (1) value is supported." in renamed.json()["error"]["message"]
    assert other_model.status_code == 200


async def test_litellm_refuses_them_all_at_once_with_no_param() -> None:
    refused = frozenset({"top_p", "presence_penalty"})
    async with serving(refuses={"gpt-5": refused}, refusal_wording="litellm") as fake:
        answer = await post(fake, top_p=0.5, presence_penalty=1)
    error = answer.json()["error"]
    assert (answer.status_code, error["param"], error["code"]) == (400, None, "400")
    assert error["message"].startswith(
        "litellm.UnsupportedParamsError: openai does not support parameters: "
        "['presence_penalty', 'top_p'], for model=gpt-5."
    )


async def test_openrouter_wraps_the_providers_refusal_in_metadata_raw() -> None:
    async with serving(
        refuses={"gpt-5": frozenset({"top_p"})}, refusal_wording="openrouter"
    ) as fake:
        answer = await post(fake, top_p=0.5)
    error = answer.json()["error"]
    assert error["message"] == "Provider returned error"
    assert json.loads(error["metadata"]["raw"])["error"]["param"] == "top_p"


@pytest.mark.parametrize(
    ("wording", "said"),
    [
        ("openai", "This model's maximum context length is 10 tokens."),
        ("vllm", "the model's context length is only 10 tokens"),
        ("llamacpp", "request (26 tokens) exceeds the available context size (10 tokens)"),
        ("litellm", "litellm.ContextWindowExceededError"),
        ("lmstudio", "The number of tokens to keep from the initial prompt is greater"),
    ],
)
async def test_a_context_limit_is_refused_in_each_servers_words(wording: str, said: str) -> None:
    long = [{"role": "user", "content": "x" * 101}]  # 26 tokens at four characters a token
    assert prompt_tokens(long) == 26
    async with serving(context_limit=10, overflow_wording=wording) as fake:
        refused = await post(fake, messages=long)
        fits = await post(fake, messages=[{"role": "user", "content": "x" * 40}])
    assert refused.status_code == 400
    assert said in refused.text
    assert fits.status_code == 200


async def test_sglang_says_the_context_overflowed_inside_a_200_stream() -> None:
    async with serving(context_limit=1, overflow_wording="sglang_stream") as fake:
        answer = await post(fake, messages=[{"role": "user", "content": "x" * 9}], stream=True)
    first, done = events(answer)
    assert answer.status_code == 200
    assert first["error"]["message"].startswith("Input length (3 tokens) exceeds the maximum")
    assert done == "[DONE]"


async def test_the_usage_chunk_has_no_choices_and_comes_only_when_asked_for() -> None:
    async with serving() as fake:
        fake.script(ReplyScript("ab", usage=True), ReplyScript("ab", usage=True))
        asked = events(await post(fake, stream=True, stream_options={"include_usage": True}))
        unasked = events(await post(fake, stream=True))
    assert asked[-2]["choices"] == []
    assert asked[-2]["usage"]["completion_tokens"] == 1
    assert all("usage" not in e or e["usage"] is None for e in unasked[:-1])


async def test_openrouter_sends_usage_unasked() -> None:
    async with serving(stream_options="ignore") as fake:
        fake.script(ReplyScript("ab", usage=True))
        unasked = events(await post(fake, stream=True))
    assert unasked[-2]["usage"]["prompt_tokens"] == 1


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("unknown_parameter", "Unknown parameter: 'stream_options'."),
        ("extra_forbidden", "Validation error at #/stream_options: Extra inputs are not permitted"),
    ],
)
async def test_a_relay_refuses_stream_options(mode: str, said: str) -> None:
    async with serving(stream_options=mode) as fake:
        refused = await post(fake, stream=True, stream_options={"include_usage": True})
        plain = await post(fake, stream=True)
    assert (refused.status_code, refused.json()["error"]["message"]) == (400, said)
    assert plain.status_code == 200


async def test_a_strict_template_refuses_roles_that_do_not_alternate() -> None:
    twice = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    async with serving(strict_roles=True) as fake:
        refused = await post(fake, messages=twice)
        fine = await post(fake, messages=twice[:1])
    assert refused.status_code == 400
    assert (
        "roles must alternate user/assistant/user/assistant" in refused.json()["error"]["message"]
    )
    assert fine.status_code == 200


@pytest.mark.parametrize("reason", ["length", "content_filter", "error"])
async def test_a_reply_ends_with_the_scripted_finish_reason(reason: str) -> None:
    async with serving() as fake:
        fake.script(ReplyScript("ab", finish_reason=reason))
        streamed = events(await post(fake, stream=True))
    assert streamed[-2]["choices"][0]["finish_reason"] == reason


@pytest.mark.parametrize(
    ("fault", "status", "retry"),
    [(Fault.HTTP_408, 408, None), (Fault.HTTP_529, 529, "true"), (Fault.HTTP_503, 503, "false")],
)
async def test_other_servers_statuses_with_their_retry_advice(
    fault: Fault, status: int, retry: str | None
) -> None:
    async with serving() as fake:
        fake.script(
            ReplyScript("ab", fault=fault, should_retry=False if retry == "false" else None)
        )
        answer = await post(fake, stream=True)
    assert answer.status_code == status
    assert answer.headers.get("x-should-retry") == retry


async def test_a_server_without_an_about_page_answers_404() -> None:
    async with FakeUpstream(about=None) as fake, httpx.AsyncClient() as http:
        answer = await http.get(f"{fake.base_url}/about")
    assert answer.status_code == 404
