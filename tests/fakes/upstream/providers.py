"""How real OpenAI-compatible servers refuse requests, in their own words, for the fake upstream.

Owns the provider behaviours `FakeUpstream(provider=Provider(...))` switches on — each one what a
named server was seen to do (wordings from their sources or wire captures; the README's
"Providers" table lists which the bot's tests exercise):

- a model that refuses named parameters: OpenAI's wording (`Unsupported value: 'temperature'
  does not support 0.7 … Only the default (1) value is supported.`, `Unsupported parameter:
  'max_tokens' … Use 'max_completion_tokens' instead.`, `Unrecognized request argument supplied:
  reasoning_effort`), LiteLLM's (`litellm.UnsupportedParamsError: … does not support parameters:
  ['top_p']`, `param: null`, `code: "400"`), or OpenAI's wrapped by OpenRouter (`Provider returned
  error`, the real body in `error.metadata.raw`);
- a context limit, counted as the fake counts usage (four characters of message text to a
  token), refused in the wording of OpenAI, DeepSeek, OpenRouter, vLLM, llama.cpp, LiteLLM,
  Ollama, LM Studio, or SGLang (which says it inside a 200 stream);
- `stream_options` honoured (OpenAI, vLLM, Ollama: the usage chunk only when asked for), ignored
  (OpenRouter: usage always), or refused (a relay's `Unknown parameter: 'stream_options'.`, Azure's
  `Validation error at #/stream_options: Extra inputs are not permitted`);
- a chat template that needs alternating roles (vLLM's `Conversation roles must alternate
  user/assistant/user/assistant/...`).

It must not import from `bot`: it stands for servers we do not control.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

JsonDict = dict[str, Any]

RefusalWording = Literal["openai", "litellm", "openrouter"]
OverflowWording = Literal[
    "openai",
    "deepseek",
    "openrouter",
    "vllm",
    "llamacpp",
    "litellm",
    "ollama",
    "lmstudio",
    "sglang_stream",
]
StreamOptions = Literal["honour", "ignore", "unknown_parameter", "extra_forbidden"]

# The request keys these behaviours need the fake to accept (beyond the seed's).
PROVIDER_KEYS = frozenset({"stream_options", "max_completion_tokens", "reasoning_effort"})


@dataclass(frozen=True, slots=True)
class Provider:
    """What the fake does beyond the seed; the defaults are OpenAI's, refusing nothing."""

    # model -> the parameters it refuses (temperature is accepted at its default, 1, as OpenAI's
    # reasoning models accept it).
    refuses: Mapping[str, frozenset[str]] = field(default_factory=dict)
    refusal_wording: RefusalWording = "openai"
    # Tokens (four characters of message text each) a request may hold; None: no limit.
    context_limit: int | None = None
    overflow_wording: OverflowWording = "openai"
    stream_options: StreamOptions = "honour"
    strict_roles: bool = False

    def refusal(self, body: JsonDict) -> web.StreamResponse | None:
        """What the server answers instead of a reply to `body`, or None when it replies."""
        if "stream_options" in body:
            refused = self._stream_options_refused(body)
            if refused is not None:
                return refused
        if self.strict_roles and not _alternating(body["messages"]):
            message = (
                "After the optional system message, conversation roles must alternate "
                "user/assistant/user/assistant/..."
            )
            return _json(400, _vllm_error(message, None))
        refused_params = [
            name
            for name in sorted(self.refuses.get(body["model"], frozenset()))
            if name in body and not (name == "temperature" and body[name] == 1)
        ]
        if refused_params:
            return self._param_refusal(body, refused_params)
        if self.context_limit is not None:
            tokens = prompt_tokens(body["messages"])
            if tokens > self.context_limit:
                return self._overflow(body, tokens, self.context_limit)
        return None

    def streams_usage(self, body: JsonDict) -> bool:
        """Whether a streamed reply to `body` ends with a usage chunk."""
        if self.stream_options == "ignore":
            return True
        options = body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    def _stream_options_refused(self, body: JsonDict) -> web.Response | None:
        if not body.get("stream"):
            message = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
            return _json(400, _openai_error(message, "stream_options", None))
        if self.stream_options == "unknown_parameter":
            message = "Unknown parameter: 'stream_options'."
            return _json(400, _openai_error(message, "stream_options", "unknown_parameter"))
        if self.stream_options == "extra_forbidden":
            message = "Validation error at #/stream_options: Extra inputs are not permitted"
            return _json(400, {"error": {"requestid": "fake-1", "code": 400, "message": message}})
        return None

    def _param_refusal(self, body: JsonDict, names: list[str]) -> web.Response:
        model = body["model"]
        if self.refusal_wording == "litellm":
            if names[0] == "temperature":
                said = (
                    f"litellm.UnsupportedParamsError: gpt-5 models (including gpt-5-codex) "
                    f"don't support temperature={body['temperature']}. Only temperature=1 is "
                    "supported. To drop unsupported params set `litellm.drop_params = True`"
                )
            else:
                listed = ", ".join(f"'{name}'" for name in names)
                said = (
                    f"litellm.UnsupportedParamsError: openai does not support parameters: "
                    f"[{listed}], for model={model}. To drop these, set `litellm.drop_params="
                    "True` or for proxy:\n\n`litellm_settings:\n drop_params: true`\n"
                )
            said += f". Received Model Group={model}\nAvailable Model Group Fallbacks=None"
            return _json(
                400, {"error": {"message": said, "type": None, "param": None, "code": "400"}}
            )
        openai = _openai_refusal(names[0], body)
        if self.refusal_wording == "openrouter":
            wrapped = {
                "message": "Provider returned error",
                "code": 400,
                "metadata": {
                    "raw": json.dumps(openai),
                    "provider_name": "OpenAI",
                    "is_byok": False,
                },
            }
            return _json(400, {"error": wrapped, "user_id": "user_fake"})
        return _json(400, openai)

    def _overflow(self, body: JsonDict, tokens: int, limit: int) -> web.StreamResponse:
        out = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        wording = self.overflow_wording
        if wording == "openai":
            message = (
                f"This model's maximum context length is {limit} tokens. However, your "
                f"messages resulted in {tokens} tokens. Please reduce the length of the messages."
            )
            return _json(400, _openai_error(message, "messages", "context_length_exceeded"))
        if wording == "deepseek":
            message = (
                f"This model's maximum context length is {limit} tokens. However, you requested "
                f"{tokens + out} tokens ({tokens} in the messages, {out} in the completion). "
                "Please reduce the length of the messages or completion."
            )
            return _json(400, _openai_error(message, None, "invalid_request_error"))
        if wording == "openrouter":
            message = (
                f"This endpoint's maximum context length is {limit} tokens. However, you "
                f"requested about {tokens + out} tokens ({tokens} of text input, {out} in the "
                'output). Please reduce the length of either one, or use the "middle-out" '
                "transform to compress your prompt automatically."
            )
            error = {"message": message, "code": 400, "metadata": {"provider_name": None}}
            return _json(400, {"error": error})
        if wording == "vllm":
            # The renderer's wording: it does not say "maximum context length".
            message = (
                f"You passed {tokens} input tokens and requested {out} output tokens. However, "
                f"the model's context length is only {limit} tokens, resulting in a maximum "
                f"input length of {limit - out} tokens. Please reduce the length of the input "
                f"prompt. (parameter=input_tokens, value={tokens})"
            )
            return _json(400, _vllm_error(message, "input_tokens"))
        if wording == "llamacpp":
            error = {
                "code": 400,
                "message": (
                    f"request ({tokens} tokens) exceeds the available context size "
                    f"({limit} tokens), try increasing it"
                ),
                "type": "exceed_context_size_error",
                "n_prompt_tokens": tokens,
                "n_ctx": limit,
            }
            return _json(400, {"error": error})
        if wording == "litellm":
            message = (
                "litellm.ContextWindowExceededError: ContextWindowExceededError: OpenAIException "
                f"- This model's maximum context length is {limit} tokens. However, your "
                f"messages resulted in {tokens} tokens. Please reduce the length of the "
                f"messages.. Received Model Group={body['model']}\n"
                "Available Model Group Fallbacks=None"
            )
            error = {"message": message, "type": None, "param": None, "code": "400"}
            return _json(400, {"error": error})
        if wording == "ollama":
            message = (
                "the prompt is longer than the context length currently available to the "
                "model; shorten the prompt, adjust the context length in settings, or use a "
                "model with a longer context length"
            )
            return _json(400, _openai_error(message, None, None, type_="api_error"))
        if wording == "lmstudio":
            message = (
                "The number of tokens to keep from the initial prompt is greater than the "
                "context length. Try to load the model with a larger context length, or "
                "provide a shorter input"
            )
            return _json(400, {"error": message})
        # SGLang, streaming: HTTP 200, the error as the first event, then [DONE].
        error = {
            "code": 400,
            "message": (
                f"Input length ({tokens} tokens) exceeds the maximum allowed length "
                f"({limit} tokens). Use a shorter input or enable --allow-auto-truncate."
            ),
            "object": "error",
            "param": None,
            "type": "BAD_REQUEST",
        }
        events = f"data: {json.dumps({'error': error, 'model': body['model']})}\n\ndata: [DONE]\n\n"
        return web.Response(text=events, content_type="text/event-stream")


def prompt_tokens(messages: list[JsonDict]) -> int:
    """The fake's token count of a request's messages: four characters of text to a token."""
    return max(1, math.ceil(sum(len(_text(m.get("content"))) for m in messages) / 4))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _alternating(messages: list[JsonDict]) -> bool:
    """Whether the roles after the system messages go user, assistant, user, …"""
    roles = [m["role"] for m in messages if m["role"] not in ("system", "developer")]
    return all(role == ("user" if i % 2 == 0 else "assistant") for i, role in enumerate(roles))


def _openai_refusal(name: str, body: JsonDict) -> JsonDict:
    if name == "temperature":
        message = (
            f"Unsupported value: 'temperature' does not support {body[name]} with this model. "
            "Only the default (1) value is supported."
        )
        return _openai_error(message, name, "unsupported_value")
    if name == "reasoning_effort":
        # gpt-4o: the legacy wording, with no param.
        return _openai_error("Unrecognized request argument supplied: reasoning_effort", None, None)
    message = f"Unsupported parameter: '{name}' is not supported with this model."
    if name == "max_tokens":
        message += " Use 'max_completion_tokens' instead."
    return _openai_error(message, name, "unsupported_parameter")


def _openai_error(
    message: str, param: str | None, code: str | None, *, type_: str = "invalid_request_error"
) -> JsonDict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _vllm_error(message: str, param: str | None) -> JsonDict:
    return {"error": {"message": message, "type": "BadRequestError", "param": param, "code": 400}}


def _json(status: int, payload: JsonDict) -> web.Response:
    return web.json_response(payload, status=status)
