"""Decoding the chat API's payloads: stream chunks, completions, the models list, errors.

Owns what the bytes that come back mean: event payloads and bodies in, typed values
(`bot.upstream.types`) or typed errors (`bot.errors`) out, Retry-After included. No I/O and no
httpx: `bot.upstream.client` feeds it (with its timeouts around each read) and decides about
retries; the event-stream framing is `bot.upstream.sse`'s, the /about document's lines
`bot.upstream.about`'s.

Reasoning comes apart from the answer in one of three ways, all read here: a delta's
`reasoning_content` (DeepSeek, SGLang, llama.cpp, LM Studio, LiteLLM, older vLLM) or `reasoning`
(OpenRouter, Ollama, newer vLLM; one version sends both with the same text, so a chunk gives one
of them, never both), or `<think>` tags inside `content` (`bot.upstream.thinking`). Tags in the
content of a stream that also has a reasoning field only repeat it (llama.cpp's
`deepseek-legacy`): they are taken out of the answer and not added to the reasoning.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import json
import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.errors import (
    UpstreamContextOverflow,
    UpstreamCut,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamReportedError,
)
from bot.upstream.refusals import classify
from bot.upstream.sse import DONE, ServerSentEvent, read_events
from bot.upstream.thinking import ThinkTags, ThoughtSplit, split_whole
from bot.upstream.types import AudioReply, Completion, Delta, ModelInfo, Usage

# Where servers put the reasoning of a delta or message, in the order they are read.
REASONING_FIELDS = ("reasoning_content", "reasoning")


def parse_chunk(event: ServerSentEvent) -> Delta:
    """One `chat.completion.chunk` event as a Delta (possibly empty); errors as exceptions.

    Its `text` is the content as sent, `<think>` tags and all (`read_deltas` splits them off).
    """
    try:
        payload = json.loads(event.data)
    except ValueError:
        raise UpstreamProtocolError("malformed JSON in stream") from None
    if not isinstance(payload, dict):
        raise UpstreamProtocolError("stream chunk is not a JSON object")
    if payload.get("error") or event.event == "error":
        raise error_from(payload)
    usage = _usage(payload.get("usage"))
    choices = payload.get("choices")
    if isinstance(choices, list) and not choices:
        # The usage chunk (OpenAI, vLLM, Ollama), or a frame with nothing for us (Azure's
        # content-filter annotations): either way no choice to read.
        return Delta(usage=usage)
    if not isinstance(choices, list):
        if usage is None:
            raise UpstreamProtocolError("stream chunk without choices")
        return Delta(usage=usage)
    choice = choices[0]
    if not isinstance(choice, dict):
        raise UpstreamProtocolError("stream choice is not a JSON object")
    delta = choice.get("delta") or choice.get("message") or {}
    if not isinstance(delta, dict):
        delta = {}
    finish_reason = _str_or_none(choice.get("finish_reason"))
    return Delta(text_of(delta.get("content")), finish_reason, usage, reasoning_of(delta))


def parse_completion(payload: Any) -> Completion:
    """A whole `chat.completion` body; audio is decoded from base64."""
    if not isinstance(payload, dict):
        raise UpstreamProtocolError("reply is not a JSON object")
    if payload.get("error"):
        raise error_from(payload)
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamProtocolError("reply without choices")
    message = choices[0].get("message") or choices[0].get("delta")
    if not isinstance(message, dict):
        raise UpstreamProtocolError("reply without a message")
    audio = _audio(message.get("audio"))
    split = split_whole(text_of(message.get("content")))
    reasoning = reasoning_of(message) or split.reasoning
    text = split.text or (audio.transcript if audio else "")
    finish_reason = _str_or_none(choices[0].get("finish_reason"))
    return Completion(text, finish_reason, _usage(payload.get("usage")), audio, reasoning)


def parse_models(payload: Any) -> list[ModelInfo] | None:
    """The models of an OpenAI list body (`{"object": "list", "data": [...]}`), else None."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return None
    return [
        ModelInfo(
            item["id"],
            _str_or_none(item.get("owned_by")),
            item.get("created") if isinstance(item.get("created"), int) else None,
        )
        for item in data
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


def error_from(payload: dict[str, Any]) -> UpstreamError:
    """An `{"error": {...}}` object inside a 200 body or stream.

    OpenRouter, SGLang and llama.cpp put the HTTP status in `code`; such errors become
    UpstreamHTTPError so 429s and 5xxs read the same as real HTTP errors, and a context overflow
    or a refused parameter is recognised as one (refusals.py). OpenAI's codes are strings:
    UpstreamReportedError, unless its code says the context overflowed.
    """
    error = payload.get("error")
    if not isinstance(error, dict):
        return UpstreamReportedError(str(error or payload.get("message") or "error event"))
    message = str(error.get("message") or error.get("type") or "unknown error")
    status = _status_in(error.get("code"))
    refused = classify(status or 400, message, payload, "")
    if isinstance(refused, UpstreamContextOverflow):
        return refused
    if status is not None:
        return refused or UpstreamHTTPError(status, message)
    return UpstreamReportedError(message)


def _status_in(code: Any) -> int | None:
    """An error's `code` when it is an HTTP error status (LiteLLM's is a string: "400")."""
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return code if isinstance(code, int) and 400 <= code < 600 else None


def text_of(content: Any) -> str:
    """Message content: a string, or the text of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def reasoning_of(message: dict[str, Any]) -> str:
    """The reasoning a delta or message carries in a field of its own; "" for none."""
    for field in REASONING_FIELDS:
        value = message.get(field)
        if isinstance(value, str) and value:
            return value
    return ""


def _usage(value: Any) -> Usage | None:
    if not isinstance(value, dict):
        return None
    prompt, completion = value.get("prompt_tokens"), value.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    total = value.get("total_tokens")
    details = value.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return Usage(
        prompt,
        completion,
        total if isinstance(total, int) else prompt + completion,
        reasoning if isinstance(reasoning, int) else None,
    )


def _audio(value: Any) -> AudioReply | None:
    if not isinstance(value, dict) or not isinstance(value.get("data"), str):
        return None
    try:
        data = base64.b64decode(value["data"], validate=True)
    except (binascii.Error, ValueError):
        raise UpstreamProtocolError("audio is not valid base64") from None
    expires_at = value.get("expires_at")
    return AudioReply(
        data=data,
        transcript=text_of(value.get("transcript")),
        id=_str_or_none(value.get("id")),
        expires_at=expires_at if isinstance(expires_at, int) else None,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def read_deltas(
    lines: AsyncIterator[str], *, thoughts: ThinkTags | None = None
) -> AsyncGenerator[Delta, None]:
    """A chat stream's lines as deltas: each non-empty piece of answer or reasoning, then one
    with finish_reason/usage.

    `thoughts` splits `<think>` tags off the content (a fresh parser when None; the client hands
    in its own to learn how the model began). Stops at `[DONE]` without reading further. Some
    servers omit `[DONE]` after a finish_reason, which is accepted; an end with neither means
    the reply was cut short.
    """
    reasoning = _Reasoning(thoughts or ThinkTags())
    finish_reason: str | None = None
    usage: Usage | None = None
    saw_done = False
    async with contextlib.aclosing(read_events(lines)) as events:
        async for event in events:
            if event.data.strip() == DONE:
                saw_done = True
                break
            chunk = parse_chunk(event)
            finish_reason = chunk.finish_reason or finish_reason
            usage = chunk.usage or usage
            delta = reasoning.split(chunk.text, chunk.reasoning)
            if delta is not None:
                yield delta
    if not saw_done and finish_reason is None:
        raise UpstreamCut("stream ended early")
    if (delta := reasoning.end()) is not None:
        yield delta
    if finish_reason is not None or usage is not None:
        yield Delta(finish_reason=finish_reason, usage=usage)


class _Reasoning:
    """One stream's content and reasoning fields, made into answer and reasoning deltas."""

    def __init__(self, thoughts: ThinkTags) -> None:
        self._thoughts = thoughts
        self._fields: list[str] = []  # the reasoning fields so far, for a restart

    def split(self, content: str, field: str) -> Delta | None:
        if field:
            self._fields.append(field)
        return self._delta(self._thoughts.feed(content), field)

    def end(self) -> Delta | None:
        return self._delta(self._thoughts.finish(), "")

    def _delta(self, split: ThoughtSplit, field: str) -> Delta | None:
        if not self._fields:
            reasoning = split.reasoning
        elif split.restart:
            reasoning = "".join(self._fields)
        else:
            reasoning = field  # tags beside a reasoning field repeat it
        if not (split.text or reasoning or split.restart):
            return None
        return Delta(split.text, reasoning=reasoning, restart=split.restart)


def json_body(content: bytes, *, required: bool = True) -> Any:
    """A response body as JSON; None if it is not JSON and not `required`."""
    try:
        return json.loads(content)
    except ValueError:
        if required:
            raise UpstreamProtocolError("malformed JSON in reply") from None
        return None


def http_error(
    status: int, body: str, headers: Mapping[str, str], reason: str
) -> UpstreamHTTPError:
    """An error status as UpstreamHTTPError: its message from the body, its Retry-After and
    x-should-retry; a context overflow or a refused parameter as the subclass saying so."""
    message = error_message(body) or reason
    refused = classify(status, message, json_body(body.encode(), required=False), body)
    if refused is not None:
        return refused
    return UpstreamHTTPError(
        status, message, retry_after(headers), should_retry=should_retry(headers)
    )


def should_retry(headers: Mapping[str, str]) -> bool | None:
    """The server's `x-should-retry` (OpenAI, Anthropic): True, False, or None when unsaid."""
    value = headers.get("x-should-retry", "").strip().lower()
    return {"true": True, "false": False}.get(value)


def error_message(body: str, limit: int = 200) -> str:
    """The message of an HTTP error body: OpenAI's `error.message`, else the text, shortened."""
    with contextlib.suppress(ValueError):
        payload = json.loads(body)
        if isinstance(payload, dict):
            error = payload.get("error")
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                return str(error["message"])
            # {"error": "..."} (many proxies), {"message": ...}, FastAPI's {"detail": ...}.
            for candidate in (error, payload.get("message"), payload.get("detail")):
                if isinstance(candidate, str) and candidate:
                    return candidate
    text = " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After (seconds or an HTTP date), or OpenAI's retry-after-ms, in seconds.

    `headers` must look names up case-insensitively, as httpx.Headers does.
    """
    with contextlib.suppress(ValueError):
        if "retry-after-ms" in headers:
            return _non_negative(float(headers["retry-after-ms"]) / 1000)
    value = headers.get("retry-after", "").strip()
    with contextlib.suppress(ValueError):
        return _non_negative(float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _non_negative((when - datetime.now(UTC)).total_seconds())


def _non_negative(seconds: float) -> float | None:
    return max(0.0, seconds) if math.isfinite(seconds) else None
