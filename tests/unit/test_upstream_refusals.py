"""What a refused request means (bot/upstream/refusals.py, read through decode.http_error), in
each server's recorded words, and what the client learns from it (bot/upstream/quirks.py).

The bodies are as the research memo quotes them from the servers' sources or wire captures.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.errors import UpstreamContextOverflow, UpstreamHTTPError, UpstreamParameterRejected
from bot.upstream.decode import http_error
from bot.upstream.quirks import ServerQuirks


def classified(status: int, body: Any) -> UpstreamHTTPError | None:
    """The refusal an error status with `body` (a JSON document, or text when a str) is read as
    by the client (decode.http_error), or None when it is a plain HTTP error."""
    error = http_error(status, body if isinstance(body, str) else json.dumps(body), {}, "Bad")
    return error if isinstance(error, UpstreamContextOverflow | UpstreamParameterRejected) else None


def openai(message: str, param: str | None = None, code: str | None = None) -> Any:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


REFUSALS: list[Any] = [
    pytest.param(
        openai(
            "Unsupported value: 'temperature' does not support 0.7 with this model. Only the "
            "default (1) value is supported.",
            "temperature",
            "unsupported_value",
        ),
        ("temperature",),
        None,
        id="openai-temperature-only-default",
    ),
    pytest.param(
        openai(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        ),
        ("max_tokens",),
        "max_completion_tokens",
        id="openai-max-tokens-asks-for-max-completion-tokens",
    ),
    pytest.param(
        openai("Unrecognized request argument supplied: reasoning_effort"),
        ("reasoning_effort",),
        None,
        id="openai-legacy-reasoning-effort-param-null",
    ),
    pytest.param(
        openai(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            "reasoning.effort",
            "unsupported_parameter",
        ),
        ("reasoning_effort",),
        None,
        id="openai-responses-style-reasoning-effort",
    ),
    pytest.param(
        {
            "error": {
                "message": "Unsupported parameter: 'top_p' is not supported with this model.",
                "code": "invalid_request_body",
            }
        },
        ("top_p",),
        None,
        id="copilot-relay-no-param",
    ),
    pytest.param(
        {
            "error": {
                "message": "litellm.UnsupportedParamsError: openai does not support parameters: "
                "['top_p', 'presence_penalty'], for model=gpt-5. To drop these, set "
                "`litellm.drop_params=True`. Received Model Group=gpt-5\n"
                "Available Model Group Fallbacks=None",
                "type": None,
                "param": None,
                "code": "400",
            }
        },
        ("top_p", "presence_penalty"),
        None,
        id="litellm-several-at-once",
    ),
    pytest.param(
        {
            "error": {
                "message": "litellm.UnsupportedParamsError: gpt-5 models (including gpt-5-codex) "
                "don't support temperature=0.7. Only temperature=1 is supported.",
                "type": None,
                "param": None,
                "code": "400",
            }
        },
        ("temperature",),
        None,
        id="litellm-temperature",
    ),
    pytest.param(
        {
            "error": {
                "message": "Provider returned error",
                "code": 400,
                "metadata": {
                    "raw": json.dumps(
                        openai(
                            "Unsupported parameter: 'frequency_penalty' is not supported with "
                            "this model.",
                            "frequency_penalty",
                            "unsupported_parameter",
                        )
                    ),
                    "provider_name": "OpenAI",
                },
            }
        },
        ("frequency_penalty",),
        None,
        id="openrouter-wrapped-in-metadata-raw",
    ),
    pytest.param(
        openai("Unknown parameter: 'stream_options'.", "stream_options", "unknown_parameter"),
        ("stream_options",),
        None,
        id="relay-unknown-stream-options",
    ),
    pytest.param(
        {
            "error": {
                "requestid": "x",
                "code": 400,
                "message": "Validation error at #/stream_options: Extra inputs are not permitted",
            }
        },
        ("stream_options",),
        None,
        id="azure-extra-inputs-stream-options",
    ),
    pytest.param(
        '{"detail":"Unsupported parameter: top_p"}',
        ("top_p",),
        None,
        id="relay-detail-as-text",
    ),
]


@pytest.mark.parametrize(("body", "params", "instead"), REFUSALS)
def test_a_refused_parameter_is_named_in_each_servers_wording(
    body: Any, params: tuple[str, ...], instead: str | None
) -> None:
    error = classified(400, body)
    assert isinstance(error, UpstreamParameterRejected)
    assert error.params == params
    assert error.use_instead == instead


OVERFLOWS: list[Any] = [
    pytest.param(
        openai(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 130000 tokens. Please reduce the length of the messages.",
            "messages",
            "context_length_exceeded",
        ),
        id="openai",
    ),
    pytest.param(
        {
            "error": {
                "message": "You passed 5000 input tokens and requested 100 output tokens. However, "
                "the model's context length is only 4096 tokens, resulting in a maximum input "
                "length of 3996 tokens. Please reduce the length of the input prompt. "
                "(parameter=input_tokens, value=5000)",
                "type": "BadRequestError",
                "param": "input_tokens",
                "code": 400,
            }
        },
        id="vllm-renderer-param-input-tokens",
    ),
    pytest.param(
        {
            "error": {
                "message": "'max_tokens' or 'max_completion_tokens' is too large: 8000. This "
                "model's maximum context length is 4096 tokens and your request has 2778 input "
                "tokens (8000 > 4096 - 2778). None",
                "type": "BadRequestError",
                "param": "max_tokens",
                "code": 400,
            }
        },
        id="vllm-max-tokens-too-large-is-an-overflow-not-a-refusal",
    ),
    pytest.param(
        "The decoder prompt (length 12324) is longer than the maximum model length of 8192. "
        "Make sure that `max_model_len` is no smaller than the number of text tokens.",
        id="vllm-engine",
    ),
    pytest.param(
        {
            "error": {
                "code": 400,
                "message": "request (36017 tokens) exceeds the available context size (32768 "
                "tokens), try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 36017,
                "n_ctx": 32768,
            }
        },
        id="llamacpp",
    ),
    pytest.param(
        {
            "error": '{"error":{"code":400,"message":"request (9177 tokens) exceeds the available '
            'context size (4096 tokens), try increasing it","type":"exceed_context_size_error"}}'
        },
        id="ollama-quoting-llamacpp",
    ),
    pytest.param(
        {
            "error": {
                "message": "litellm.ContextWindowExceededError: ContextWindowExceededError: "
                "OpenAIException - This model's maximum context length is 8192 tokens.",
                "type": None,
                "param": None,
                "code": "400",
            }
        },
        id="litellm",
    ),
    pytest.param(
        {
            "error": {
                "message": "Provider returned error",
                "code": 400,
                "metadata": {
                    "raw": '{"type":"error","error":{"message":"prompt is too long: '
                    '210000 tokens > 200000 maximum"}}'
                },
            }
        },
        id="openrouter-wrapping-prompt-is-too-long",
    ),
    pytest.param(
        {
            "error": "The number of tokens to keep from the initial prompt is greater than the "
            "context length. Try to load the model with a larger context length, or provide a "
            "shorter input"
        },
        id="lmstudio",
    ),
]


@pytest.mark.parametrize("body", OVERFLOWS)
def test_a_context_overflow_is_recognised_before_any_parameter(body: Any) -> None:
    assert isinstance(classified(400, body), UpstreamContextOverflow)


def test_a_too_large_max_tokens_that_is_no_overflow_is_no_refusal_either() -> None:
    body = openai(
        "max_tokens is too large: 8192. This model supports at most 4096 completion tokens, "
        "whereas you provided 8192.",
        "max_tokens",
    )
    assert classified(400, body) is None


@pytest.mark.parametrize(
    "body",
    [
        openai("Rate limit reached: too many tokens per min", None, "rate_limit_exceeded"),
        openai("Invalid 'messages[1].content': string too long.", "messages[1].content"),
        openai("The model `gpt-9` does not exist", "model", "model_not_found"),
    ],
    ids=["rate-limit-counting-tokens", "a-message-field-not-droppable", "unknown-model"],
)
def test_other_refusals_are_neither(body: Any) -> None:
    assert classified(400, body) is None


def test_a_gateway_status_is_neither_whatever_its_page_says() -> None:
    body = "<html>502 Bad Gateway: the prompt is too long for the proxy buffer</html>"
    assert classified(502, body) is None


# --- what the client learns ----------------------------------------------------------------------


def refusal(*params: str, instead: str | None = None) -> UpstreamParameterRejected:
    return UpstreamParameterRejected(400, "refused", params, use_instead=instead)


def test_a_refused_parameter_is_left_out_for_that_model_only() -> None:
    quirks = ServerQuirks()
    sent = {"model": "gpt-5", "temperature": 0.7, "top_p": 0.5}
    assert quirks.learn("gpt-5", refusal("temperature"), sent)
    assert quirks.unused("gpt-5") == {"temperature"}
    assert quirks.unused("gpt-4o") == frozenset()
    # The same refusal again changes nothing more: the client gives up instead of looping.
    assert not quirks.learn("gpt-5", refusal("temperature"), sent)


def test_a_parameter_that_was_not_sent_teaches_nothing() -> None:
    quirks = ServerQuirks()
    assert not quirks.learn("gpt-5", refusal("top_p"), {"model": "gpt-5"})
    assert quirks.unused("gpt-5") == frozenset()


def test_max_tokens_is_renamed_only_when_the_server_asks_and_dropped_otherwise() -> None:
    quirks = ServerQuirks()
    sent = {"model": "o3", "max_tokens": 50}
    assert quirks.learn("o3", refusal("max_tokens", instead="max_completion_tokens"), sent)
    assert quirks.of("o3").max_tokens_field == "max_completion_tokens"
    assert quirks.unused("o3") == frozenset()
    assert quirks.learn("llama", refusal("max_tokens"), {"model": "llama", "max_tokens": 50})
    assert quirks.of("llama").max_tokens_field == "max_tokens"
    assert quirks.unused("llama") == {"max_tokens"}


def test_stream_options_are_the_servers_not_a_models() -> None:
    quirks = ServerQuirks()
    sent = {"model": "a", "stream_options": {"include_usage": True}}
    assert quirks.learn("a", refusal("stream_options"), sent)
    assert not quirks.of("b").stream_usage
    assert quirks.unused("a") == frozenset()


def test_the_models_remembered_are_bounded() -> None:
    quirks = ServerQuirks(max_models=2)
    for model in ("a", "b", "c"):
        quirks.learn(model, refusal("top_p"), {"model": model, "top_p": 1})
    assert [quirks.unused(m) for m in ("a", "b", "c")] == [frozenset(), {"top_p"}, {"top_p"}]
