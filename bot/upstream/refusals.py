"""What a refused request means: the context overflowed, or the model rejects parameters.

Owns the wordings by which the common OpenAI-compatible servers say so — OpenAI, DeepSeek,
OpenRouter (which wraps its providers' errors in `error.metadata.raw`), Ollama, vLLM, SGLang,
LM Studio, LiteLLM, llama.cpp — and the order they are read in: a context overflow is recognised
first, since vLLM's names `param: "input_tokens"` and "max_tokens is too large" names a parameter
without rejecting it. Pure: an error's status and body in, a typed error (bot.errors) out; what
to do about it is the client's (parameters) and the conversation's (a shorter history).
Each wording is one a server has been seen to send; the fake upstream (tests/fakes/upstream)
replays them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.errors import UpstreamContextOverflow, UpstreamHTTPError, UpstreamParameterRejected

# The request parameters the bot may send that a model can refuse, as the request names them;
# a refusal of one of these is answered by leaving it out (`max_tokens`: by sending
# `max_completion_tokens` instead when the server asks for that). `stream_options` is the
# server's, not a model's: the client remembers it for the whole server.
DROPPABLE = (
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "max_tokens",
    "max_completion_tokens",
    "reasoning_effort",
    "stream_options",
)
# Other names servers give the same parameter: OpenAI's Responses-style `reasoning.effort`.
_ALIASES = {"reasoning.effort": "reasoning_effort"}
# `code`s that say the named parameter is refused as such (OpenAI, relays); a null code with a
# named param says it too (OpenAI's "Unrecognized request argument", vLLM), unless the message
# is about a size ("max_tokens is too large": the parameter is understood, its value too big).
_REFUSING_CODES = frozenset({"unsupported_parameter", "unsupported_value", "unknown_parameter"})
_ABOUT_SIZE = re.compile(r"too (?:large|small|long|big)", re.IGNORECASE)

# Codes and types that mean "the context is too long", whatever the message says.
_OVERFLOW_CODES = frozenset(
    {"context_length_exceeded", "exceed_context_size_error", "request_too_large"}
)
# Messages that mean it. One pattern per wording; comments name who says it.
_OVERFLOW = re.compile(
    "|".join(
        (
            r"context[_ ]length[_ ]exceeded",  # OpenAI's code, quoted in messages by relays
            r"maximum context length",  # OpenAI, DeepSeek, vLLM <= 0.2x, OpenRouter, LiteLLM
            r"context length is only",  # vLLM's renderer
            r"longer than the maximum model length",  # vLLM's engine
            r"longer than the model'?s context length",  # SGLang, Together
            r"exceeds? the (?:available )?context (?:size|window|length)",  # llama.cpp, OpenAI,
            # Ollama's runner ("the input length exceeds the context length")
            r"exceeds the maximum allowed length",  # SGLang
            r"prompt is longer than the context length",  # Ollama
            r"prompt (?:is )?too long",  # Anthropic through gateways, Ollama
            r"tokens to keep from the initial prompt is greater than the context length",  # LMS
            r"trying to keep the first \d+ tokens",  # LM Studio, older
            r"cannot truncate prompt with n_keep",  # LM Studio's llama.cpp engine
            r"input length \(\d+ tokens\) exceeds",  # SGLang
            r"contextwindowexceedederror",  # LiteLLM
            r"context window exceeds limit",  # MiniMax
            r"too large for model with \d+ maximum context length",  # Mistral
            r"maximum (?:prompt|input) length (?:is|of) [\d,]+",  # xAI, vLLM
            r"input tokens exceed the configured limit",  # Bedrock through LiteLLM
            r"reduce the length of the messages",  # Groq, OpenAI
        )
    ),
    re.IGNORECASE,
)
# Error bodies are short; a longer one (an HTML page) is read this far for the wordings above.
SCANNED_CHARS = 65_536
# A rate limit that counts tokens ("too many tokens per minute") is not an overflow.
_RATE_LIMIT = re.compile(r"rate limit|too many requests|tokens per min", re.IGNORECASE)


def classify(status: int, message: str, payload: Any, text: str) -> UpstreamHTTPError | None:
    """The overflow or parameter refusal an error means, or None when it is neither.

    `message` is what the error says (kept in the typed error), `payload` the error body as
    parsed JSON (None if it was not JSON), `text` the body as received.
    """
    if not (400 <= status < 500 or status == 500):  # llama.cpp said 500 for overflows until 2025
        return None
    found = _Found.of(payload, text[:SCANNED_CHARS])
    if found.overflow():
        return UpstreamContextOverflow(status, message)
    if status not in (400, 422):
        return None
    params = found.refused_params()
    if not params:
        return None
    instead = None
    if "max_tokens" in params and any("max_completion_tokens" in t for t in found.texts):
        instead = "max_completion_tokens"
    return UpstreamParameterRejected(status, message, params, use_instead=instead)


class _Found:
    """Everything an error body says: its texts, and the param/code/type of each error object in
    it (including JSON wrapped in strings: OpenRouter's metadata.raw, Ollama quoting llama.cpp)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.named: list[tuple[str, str | None]] = []  # (param, its error's code if a string)
        self.codes: list[str] = []  # every error object's code and type, lower-cased

    @classmethod
    def of(cls, payload: Any, text: str) -> _Found:
        found = cls()
        if payload is None:
            found.texts.append(text)
        else:
            found._walk(payload, 0)
        return found

    def _walk(self, value: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(value, str):
            self.texts.append(value)
            inner = _json_in(value) if depth < 5 else None
            if inner is not None:
                self._walk(inner, depth + 1)
        elif isinstance(value, dict):
            param, code = value.get("param"), value.get("code")
            if isinstance(param, str):
                self.named.append(
                    (_ALIASES.get(param, param), code if isinstance(code, str) else None)
                )
            for key in ("code", "type"):
                if isinstance(value.get(key), str):
                    self.codes.append(value[key].lower())
            for item in value.values():
                self._walk(item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                self._walk(item, depth + 1)

    def overflow(self) -> bool:
        if any(code in _OVERFLOW_CODES for code in self.codes):
            return True
        return any(_OVERFLOW.search(t) and not _RATE_LIMIT.search(t) for t in self.texts)

    def refused_params(self) -> tuple[str, ...]:
        """The DROPPABLE parameters this error refuses, in DROPPABLE's order."""
        sized = any(_ABOUT_SIZE.search(t) for t in self.texts)
        named = {
            param
            for param, code in self.named
            if code in _REFUSING_CODES or (code is None and not sized)
        }
        return tuple(
            name
            for name in DROPPABLE
            if name in named
            or any(pattern.search(t) for pattern in _REFUSING[name] for t in self.texts)
        )


def _refusing(name: str) -> tuple[re.Pattern[str], ...]:
    """The wordings that refuse `name`."""
    p = re.escape(name)
    wordings = [
        rf"unsupported (?:parameter|value):? '?{p}\b",  # OpenAI: Unsupported parameter: 'top_p'
        rf"'{p}' (?:is not supported|does not support)",  # OpenAI
        rf"\b{p}\b[^.'\"]{{0,40}}(?:is not supported|isn't supported|not supported)",
        rf"does not support parameters?:? \[[^\]]*'{p}'",  # LiteLLM's generic wording
        rf"don'?t support {p}\b",  # LiteLLM: O-series models don't support temperature=0.7
        rf"only {p}=\S+ is supported",  # LiteLLM
        rf"unrecognized request arguments? supplied:[^.]*\b{p}\b",  # OpenAI, legacy
        rf"unknown (?:parameter|field|argument):? '?{p}\b",  # relays
        rf"extra (?:parameters|fields|inputs) \[[^\]]*'{p}'",  # Azure AI Foundry
        rf"extra_forbidden[^\]}}]{{0,80}}'{p}'",  # pydantic servers (422 lists)
        rf"#/{p}: extra inputs are not permitted",  # Azure OpenAI with data sources
        rf"\(parameter={p},",  # vLLM's VLLMValidationError
    ]
    if name == "reasoning_effort":
        wordings.append(r"invalid reasoning (?:value|effort)")  # Ollama
    if name == "stream_options":
        # Any refusal that mentions it: the bot sends it only with `stream: true`.
        wordings.append(r"stream_options")
    return tuple(re.compile(wording, re.IGNORECASE) for wording in wordings)


_REFUSING: dict[str, tuple[re.Pattern[str], ...]] = {name: _refusing(name) for name in DROPPABLE}


def _json_in(text: str) -> Any:
    """The JSON document a string holds (OpenRouter's metadata.raw), or None."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None
