"""The values that cross the upstream package's edge: a `ChatRequest` in, replies out.

Owns their shapes and the JSON body a `ChatRequest` becomes. Plain frozen values: no I/O, no
reading of replies (`bot.upstream.decode` builds `Delta`, `Completion` and `ModelInfo` from the
wire), nothing of Telegram, the store or the history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from bot.types import ChatMessage


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """Sampling knobs; None leaves the parameter out of the request."""

    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


# How long a reasoning model thinks (OpenAI's `reasoning_effort`; vLLM, Ollama, DeepSeek and
# OpenRouter take the same values). Other values exist on some servers; these are the common ones.
ReasoningEffort = Literal["low", "medium", "high"]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion: OpenAI message dicts; `voice` asks for a spoken (WAV) reply."""

    model: str
    messages: tuple[ChatMessage, ...]
    params: SamplingParams = SamplingParams()
    voice: str | None = None
    # The longest reply, in tokens (MAX_REPLY_TOKENS); None leaves it to the upstream.
    max_reply_tokens: int | None = None
    # None leaves it out: models that do not reason refuse the parameter.
    reasoning_effort: ReasoningEffort | None = None


@dataclass(frozen=True, slots=True)
class Quirks:
    """What the server and the request's model are known to refuse, learned from their errors
    (upstream/quirks.py): the body is built without it."""

    # Parameters the model refuses, as the body names them: left out.
    unused: frozenset[str] = frozenset()
    # The name the reply length limit goes by: "max_completion_tokens" once the server asked.
    max_tokens_field: str = "max_tokens"
    # Ask for usage in streams (`stream_options.include_usage`); False once the server refused.
    stream_usage: bool = True


def chat_body(request: ChatRequest, *, stream: bool, quirks: Quirks = Quirks()) -> dict[str, Any]:
    """The request as the JSON body of `POST /v1/chat/completions`; unset params left out, and
    what `quirks` says the server or model refuses.

    The one place a request becomes a body: every request, streamed or whole, is built here.
    """
    body: dict[str, Any] = {"model": request.model, "messages": list(request.messages)}
    body.update(
        (name, value) for name, value in asdict(request.params).items() if value is not None
    )
    if request.max_reply_tokens is not None:
        # The seed and most OpenAI-compatible servers know `max_tokens`; OpenAI's newer
        # `max_completion_tokens` is not understood by all of them.
        body["max_tokens"] = request.max_reply_tokens
    if request.reasoning_effort is not None:
        body["reasoning_effort"] = request.reasoning_effort
    body["stream"] = stream
    if request.voice is not None:
        body["modalities"] = ["text", "audio"]
        body["audio"] = {"voice": request.voice, "format": "wav"}
    return _adapted(body, quirks, stream=stream)


def _adapted(body: dict[str, Any], quirks: Quirks, *, stream: bool) -> dict[str, Any]:
    """`body` as this server and model take it (every parameter above, whoever added it)."""
    if stream and quirks.stream_usage:
        # Usage comes in a last chunk with `choices: []` (OpenAI, vLLM, Ollama, DeepSeek);
        # OpenRouter sends it anyway.
        body["stream_options"] = {"include_usage": True}
    if "max_tokens" in body and quirks.max_tokens_field != "max_tokens":
        body[quirks.max_tokens_field] = body.pop("max_tokens")
    for name in quirks.unused:
        body.pop(name, None)
    return body


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens as the upstream reports them. `completion_tokens` already counts the reasoning
    tokens (OpenAI, DeepSeek and OpenRouter report those apart too, as `reasoning_tokens`)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    reasoning_tokens: int | None = None  # None: not reported


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of a streamed reply; the last one may carry `finish_reason` and `usage`.

    `text` is the answer's; `reasoning` is the model's thinking, which is never part of the
    answer. With `restart`, what the stream gave before was provisional (a reply whose thought
    only shows as such at its closing tag, see `bot.upstream.thinking`): this delta's `text` and
    `reasoning` are the whole answer and reasoning so far.
    """

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    reasoning: str = ""
    restart: bool = False


@dataclass(frozen=True, slots=True)
class AudioReply:
    data: bytes
    transcript: str
    id: str | None
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole reply; `text` is the audio transcript when the upstream sent audio and no content.
    `reasoning` is the model's thinking, apart from the answer ("" when it sent none)."""

    text: str
    finish_reason: str | None
    usage: Usage | None
    audio: AudioReply | None
    reasoning: str = ""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    owned_by: str | None = None
    created: int | None = None
