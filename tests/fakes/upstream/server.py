"""A fake OpenAI-compatible chat API in the seed's shape: a real HTTP server on 127.0.0.1.

Owns the endpoints the bot uses (`GET /models` or `/v1/models`, `GET /about`,
`POST /v1/chat/completions`), request validation the way the real API does it (OpenAI's error
shape), scripted replies with injected faults, WAV audio replies, and the log of what it received.
It must not import from `bot`: it stands for a server we do not control.

Validation is written by hand from /work/shared/spec/openai-openapi.yaml (nothing copied):
`components.schemas.Error` for the error body, `CreateChatCompletionRequest` for the parameter
ranges, `ChatCompletionRequestMessageContentPartAudio` for input audio (wav or mp3; only audio
models take it, and a WAV must decode, as OpenAI refuses corrupt audio),
`ChatCompletionRequestMessageContentPartImage` for images (a URL or a base64 data URL of PNG,
JPEG, GIF or WebP), which only the gpt-4o family (`VISION_MODELS`) accepts. Voices and
the accepted parameters follow the seed (`seed/gpt-api-service.md`), which is narrower than OpenAI.

Reasoning (`ReplyScript.reasoning`): the model thinks before it answers, in the shape a
`ReasoningStyle` names — DeepSeek's `delta.reasoning_content`, OpenRouter's and newer vLLM's
`delta.reasoning`, both at once (a vLLM version copies one into the other), `<think>` tags in the
content (Ollama, Qwen), only the closing tag (DeepSeek-R1's template opens the thought itself), or
tags in the content beside `reasoning_content` (llama.cpp's `deepseek-legacy`). A stream can pause
in the middle of the thought, for a time or until the test says, so a client's "thinking" shows.
A whole reply carries it the same way in its message (a spoken one in its fields, beside the audio).
Usage then counts the reasoning in `completion_tokens` and reports it apart as
`completion_tokens_details.reasoning_tokens`, as OpenAI does. An assistant message that carries
reasoning back (`reasoning_content` or `reasoning`) is refused, as DeepSeek refuses it (in the
fake's words).

Faults apply to chat requests. Streaming honours all of them. A whole (non-streaming) reply
honours the HTTP_* faults, HTML_PAGE, HANG_BEFORE_FIRST_TOKEN, CUT_MID_STREAM and STALL_MID_STREAM
(mid-body), MALFORMED_JSON, ERROR_EVENT (a 200 `{"error"}` body), EMPTY_CHOICES and NO_AUDIO;
NO_DONE has no meaning there and is ignored.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import io
import itertools
import json
import math
import re
import sys
import time
import wave
from array import array
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.upstream.providers import PROVIDER_KEYS, Provider

JsonDict = dict[str, Any]

CHAT_PATH = "/v1/chat/completions"
# Request bodies up to this size are read (aiohttp's own default, 1 MiB, would answer 413 to the
# 30 s of input audio a real server takes; five minutes of it are ~13 MB of base64).
MAX_REQUEST_BYTES = 64 * 1024 * 1024

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4o-2024-05-13",
    "gpt-4",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-0301",
    "gpt-4o-audio-preview",
    "gpt-4o-audio-preview-2024-10-01",
    "text-embedding-3-large",
    "text-embedding-3-small",
    "text-embedding-ada-002",
)

DEFAULT_ABOUT: Mapping[str, Any] = {
    "name": "GPT API Service (fake)",
    "version": "1.0.0",
    "description": "An OpenAI-compatible chat API for tests",
    "maintained_by": "the test suite",
    "originator_info": {"expertise": ["Python Development", "Testing"], "youtube": None},
    "social_links": {"telegram": "https://t.me/example", "github": "https://github.com/example"},
}

VOICES = frozenset({"alloy", "echo", "fable", "onyx", "nova", "shimmer"})
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
# The parameters the seed documents, plus the audio ones: anything else is rejected the way
# OpenAI rejects unknown arguments, so the client cannot drift into sending extras.
REQUEST_KEYS = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "max_tokens",
        "stream",
        "modalities",
        "audio",
        "reasoning_effort",
    }
)
# OpenAI's values for `reasoning_effort`; the seed's models take it too in this fake.
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
# The models of DEFAULT_MODELS that read images (OpenAI's gpt-4o family, without the audio ones):
# an image part sent to any other model is refused, as OpenAI refuses it.
VISION_MODELS = frozenset({"gpt-4o", "gpt-4o-2024-05-13", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"})
# The image formats OpenAI accepts in a data URL.
_DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp);base64,([A-Za-z0-9+/]*={0,2})")
# OpenAI refuses a message `name` outside this pattern.
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
PARAM_RANGES = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
SAMPLE_RATE = 24_000
# 400 Hz divides 24 kHz evenly, so one 60-sample period repeats into any length without a loop.
TONE_HZ = 400


class Fault(enum.Enum):
    NONE = "none"
    HTTP_500 = "http_500"
    HTTP_401 = "http_401"
    HTTP_403 = "http_403"
    HTTP_404 = "http_404"
    HTTP_429 = "http_429"
    HTTP_503 = "http_503"
    HTML_PAGE = "html_page"  # 200 with an HTML page, as a captive portal or a broken proxy sends
    CUT_MID_STREAM = "cut_mid_stream"  # close the connection after `after_chunks` chunks
    MALFORMED_JSON = "malformed_json"  # a broken data event after `after_chunks` chunks
    ERROR_EVENT = "error_event"  # an {"error": {...}} data event after `after_chunks` chunks
    NO_DONE = "no_done"  # the content, then a clean end without finish_reason or [DONE]
    EMPTY_CHOICES = "empty_choices"  # a chunk with `choices: []` and no usage
    HANG_BEFORE_FIRST_TOKEN = "hang_before_first_token"  # headers, then nothing until client leaves
    STALL_MID_STREAM = "stall_mid_stream"  # `after_chunks` chunks, then nothing until client leaves
    NO_AUDIO = "no_audio"  # an audio request answered with text only
    # --- statuses of other servers (providers.py has their refusals) ---
    HTTP_408 = "http_408"  # OpenRouter's "Your request timed out", LiteLLM's Timeout
    HTTP_502 = "http_502"  # a gateway's HTML page
    HTTP_529 = "http_529"  # Anthropic's "Overloaded" through a gateway, x-should-retry: true


class ReasoningStyle(enum.Enum):
    """Where a script's reasoning travels (see the module docstring)."""

    REASONING_CONTENT = "reasoning_content"
    REASONING = "reasoning"
    BOTH_FIELDS = "both_fields"
    THINK_TAGS = "think_tags"
    CLOSE_TAG_ONLY = "close_tag_only"
    TAGS_AND_REASONING_CONTENT = "tags_and_reasoning_content"


@dataclass(frozen=True, slots=True)
class ReplyScript:
    """How the fake answers one chat request; `chunk_size` is characters per chunk."""

    text: str
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_size: int = 4
    fault: Fault = Fault.NONE
    after_chunks: int = 2
    retry_after: int | None = None
    usage: bool = True
    # Replaces the message of an HTTP or in-stream error; "{key}" stands for the API key the
    # request carried, for servers that echo it back.
    error_message: str | None = None
    audio_seconds: float | None = None  # None: 0.06 s per transcript character, at least 0.5 s
    # --- other servers' ways ---
    # How the reply ends: "length" (cut at max_tokens), "content_filter", OpenRouter's "error".
    finish_reason: str = "stop"
    # An `x-should-retry` header on an HTTP fault (OpenAI's, Anthropic's): None sends none.
    should_retry: bool | None = None
    # -- reasoning: thought streamed before `text`, in `reasoning_chunk_size` pieces -----------
    reasoning: str = ""
    reasoning_style: ReasoningStyle = ReasoningStyle.REASONING_CONTENT
    reasoning_chunk_size: int = 8
    # Halfway through the thought: a silence of this many seconds, then a wait for the event.
    thinking_pause: float = 0.0
    thinking_until: asyncio.Event | None = None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received: lower-cased header names, JSON body or None, monotonic time."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    at: float


class FakeUpstream:
    """The fake server; `script()` queues replies, `requests` and `disconnects` record the rest.

    `disconnects` counts chat requests whose client left before the reply ended (a handler still
    waiting when the server stops counts too, so read it before `stop()`).
    """

    def __init__(
        self,
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        models_path: str = "/models",
        about: Mapping[str, Any] | None = DEFAULT_ABOUT,
        require_key: str | None = None,
        provider: Provider | None = None,
    ) -> None:
        self.models = tuple(models)
        self.models_path = models_path
        self.about = about  # None: no /about at all (a 404), as on every server but the seed's
        self.require_key = require_key
        # How it refuses what other servers refuse (providers.py); None: OpenAI's defaults.
        self.provider = provider or Provider()
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self.base_url = ""
        self._scripts: deque[ReplyScript] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        app = web.Application(
            middlewares=[self._record_and_authorize], client_max_size=MAX_REQUEST_BYTES
        )
        app.router.add_get(self.models_path, self._on_models)
        if self.about is not None:
            app.router.add_get("/about", self._on_about)
        app.router.add_post(CHAT_PATH, self._on_chat)
        # handler_cancellation: a client that goes away cancels its handler, which is how
        # `disconnects` learns about it even while the handler is only sleeping.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def script(self, *scripts: ReplyScript) -> None:
        """Queue replies; each chat request consumes the next one, in order."""
        self._scripts.extend(scripts)

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == CHAT_PATH]

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10) -> None:
        """Wait until `predicate()` holds (checked whenever a request or disconnect is recorded).

        Raises TimeoutError after `within` seconds.
        """
        async with asyncio.timeout(within):
            while not predicate():
                await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @web.middleware
    async def _record_and_authorize(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(
            RecordedRequest(request.method, request.path, headers, body, time.monotonic())
        )
        self._notify()
        if self.require_key is not None:
            given = request.headers.get("Authorization")
            if given is None:
                return _error(401, "You didn't provide an API key.", code=None)
            if given != f"Bearer {self.require_key}":
                return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        return await handler(request)

    async def _on_models(self, request: web.Request) -> web.Response:
        data = [
            {"id": model, "object": "model", "created": 1715367049, "owned_by": "fake-upstream"}
            for model in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _on_about(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.about or {}))

    async def _on_chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        problem = self._invalid(body) or self.provider.refusal(body)
        if problem is not None:
            return problem
        script = self._scripts.popleft() if self._scripts else _echo(body["messages"])
        failure = _http_fault(script, body["model"], _bearer_key(request))
        if failure is not None:
            return failure
        try:
            if body.get("stream"):
                return await self._stream(request, body, script)
            return await self._whole(request, body, script)
        except (asyncio.CancelledError, ConnectionResetError):
            self.disconnects += 1
            self._notify()
            raise

    def _invalid(self, body: Any) -> web.Response | None:
        """The error the real API would answer for this request body, or None if it is valid."""
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        for key in body:
            if key not in REQUEST_KEYS | PROVIDER_KEYS:
                return _error(400, f"Unrecognized request argument supplied: {key}", param=key)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error(400, "you must provide a model parameter", param="model")
        problem = _invalid_messages(body.get("messages")) or _invalid_params(body)
        if problem is not None:
            return problem
        if model not in self.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return _error(404, message, code="model_not_found")
        if "embedding" in model:
            message = f"`{model}` is not a chat model and is not supported in v1/chat/completions."
            return _error(400, message, param="model")
        if _has_image(body["messages"]) and model not in VISION_MODELS:
            message = "Invalid content type. image_url is only supported by certain models."
            return _error(400, message, param="messages", code="invalid_value")
        if "audio" not in model and _has_audio_input(body["messages"]):
            message = "This model does not support audio input (`input_audio` content parts)."
            return _error(400, message, param="messages", code="invalid_value")
        if "audio" in body.get("modalities", []):
            if "audio" not in model:
                message = "Invalid value: 'audio'. This model does not support audio output."
                return _error(400, message, param="modalities", code="invalid_value")
            if body.get("stream"):
                message = "This fake does not stream audio; send `stream: false`."
                return _error(400, message, param="stream", code="unsupported_value")
        return None

    async def _stream(
        self, request: web.Request, body: JsonDict, script: ReplyScript
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        if script.fault is Fault.HANG_BEFORE_FIRST_TOKEN:
            await _until_client_leaves()
        await asyncio.sleep(script.first_token_delay)
        chunk = _ChunkMaker(f"chatcmpl-fake{next(self._ids)}", body["model"])
        await response.write(chunk.event({"role": "assistant", "content": ""}))
        if script.reasoning:
            await _think(response, chunk, script)
        pieces = _pieces(script.text, script.chunk_size)
        for index in range(len(pieces) + 1):
            at_fault = index == min(script.after_chunks, len(pieces))
            if at_fault and await _inject(request, response, script, chunk):
                return response
            if index == len(pieces):
                break
            if index:
                await asyncio.sleep(script.chunk_delay)
            await response.write(chunk.event({"content": pieces[index]}))
        if script.fault is not Fault.NO_DONE:
            await response.write(chunk.event({}, finish_reason=script.finish_reason))
            if script.usage and self.provider.streams_usage(body):
                usage = _usage(body["messages"], script.text, script.reasoning)
                await response.write(chunk.usage_event(usage))
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _whole(
        self, request: web.Request, body: JsonDict, script: ReplyScript
    ) -> web.StreamResponse:
        if script.fault is Fault.HANG_BEFORE_FIRST_TOKEN:
            await _until_client_leaves()
        await asyncio.sleep(script.first_token_delay)
        if script.fault is Fault.ERROR_EVENT:
            said = _message(script, _bearer_key(request), _SERVER_ERROR["message"])
            return web.json_response({"error": {**_SERVER_ERROR, "message": said}})
        if script.fault is Fault.MALFORMED_JSON:
            return web.Response(
                text='{"id": "chatcmpl-fake", "choices": [', content_type="application/json"
            )
        message: JsonDict = {"role": "assistant", "content": script.text}
        if script.reasoning:
            message = _whole_thought(script)
        if "audio" in body.get("modalities", []) and script.fault is not Fault.NO_AUDIO:
            seconds = script.audio_seconds or max(0.5, 0.06 * len(script.text))
            audio = {
                "id": f"audio_fake{next(self._ids)}",
                "data": base64.b64encode(make_wav(seconds)).decode("ascii"),
                "transcript": script.text,
                "expires_at": int(time.time()) + 3600,
            }
            # A reasoning model's thought stays in its fields beside the audio.
            message = {**message, "content": None, "audio": audio}
        finish = script.finish_reason
        choices = [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]
        payload: JsonDict = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [] if script.fault is Fault.EMPTY_CHOICES else choices,
        }
        if script.usage:
            payload["usage"] = _usage(body["messages"], script.text, script.reasoning)
        if script.fault in (Fault.CUT_MID_STREAM, Fault.STALL_MID_STREAM):
            return await _partial_body(request, json.dumps(payload).encode(), script.fault)
        return web.json_response(payload)


_SERVER_ERROR: JsonDict = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": None,
}


class _ChunkMaker:
    """`chat.completion.chunk` events of one reply, shaped like OpenAI's."""

    def __init__(self, ident: str, model: str) -> None:
        self._base = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

    def event(self, delta: JsonDict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**self._base, "choices": [choice]})

    def usage_event(self, usage: JsonDict) -> bytes:
        return _sse({**self._base, "choices": [], "usage": usage})

    def empty_choices_event(self) -> bytes:
        return _sse({**self._base, "choices": []})


# -- reasoning ------------------------------------------------------------------------------

_TAG_STYLES = {
    ReasoningStyle.THINK_TAGS: ("<think>", "</think>\n\n"),
    ReasoningStyle.CLOSE_TAG_ONLY: ("", "</think>\n\n"),
    ReasoningStyle.TAGS_AND_REASONING_CONTENT: ("<think>\n", "\n</think>\n\n"),
}


_CONTENT_FIELD_STYLES = frozenset(
    {
        ReasoningStyle.REASONING_CONTENT,
        ReasoningStyle.BOTH_FIELDS,
        ReasoningStyle.TAGS_AND_REASONING_CONTENT,
    }
)


async def _think(response: web.StreamResponse, chunk: _ChunkMaker, script: ReplyScript) -> None:
    """Stream the script's thought as its style says, pausing halfway."""
    style = script.reasoning_style
    opening, closing = _TAG_STYLES.get(style, ("", ""))
    if style is ReasoningStyle.TAGS_AND_REASONING_CONTENT:
        # Each piece of thought twice: in the field, and inside the tags in the content.
        deltas = [{"content": opening, "reasoning_content": None}]
        deltas += [
            {"content": piece, "reasoning_content": piece}
            for piece in _pieces(script.reasoning, script.reasoning_chunk_size)
        ]
        deltas.append({"content": closing, "reasoning_content": None})
    elif opening or closing:
        thought = opening + script.reasoning + closing
        deltas = [{"content": piece} for piece in _pieces(thought, script.reasoning_chunk_size)]
    else:
        deltas = [
            _reasoning_delta(style, piece)
            for piece in _pieces(script.reasoning, script.reasoning_chunk_size)
        ]
    for index, delta in enumerate(deltas):
        if index == len(deltas) // 2:
            await asyncio.sleep(script.thinking_pause)
            if script.thinking_until is not None:
                await script.thinking_until.wait()
        elif index:
            await asyncio.sleep(script.chunk_delay)
        await response.write(chunk.event(delta))


def _reasoning_delta(style: ReasoningStyle, piece: str) -> JsonDict:
    if style is ReasoningStyle.REASONING:
        return {"content": None, "reasoning": piece}
    if style is ReasoningStyle.BOTH_FIELDS:
        return {"content": None, "reasoning": piece, "reasoning_content": piece}
    return {"content": None, "reasoning_content": piece}


def _whole_thought(script: ReplyScript) -> JsonDict:
    """The message of a whole reply that thought first, in the script's style."""
    style = script.reasoning_style
    opening, closing = _TAG_STYLES.get(style, ("", ""))
    message: JsonDict = {"role": "assistant", "content": script.text}
    if opening or closing:
        message["content"] = opening + script.reasoning + closing + script.text
    if style in (ReasoningStyle.REASONING, ReasoningStyle.BOTH_FIELDS):
        message["reasoning"] = script.reasoning
    if style in _CONTENT_FIELD_STYLES:
        message["reasoning_content"] = script.reasoning
    return message


def _reasoning_sent_back(messages: list[JsonDict]) -> web.Response | None:
    """DeepSeek's 400 for an earlier reply's reasoning sent back inside `messages`."""
    for index, message in enumerate(messages):
        for field in ("reasoning_content", "reasoning"):
            if field in message:
                text = (
                    f"Invalid 'messages[{index}].{field}': the reasoning of an earlier reply"
                    " must not be sent back. Remove it from the message."
                )
                return _error(400, text, param=f"messages[{index}].{field}")
    return None


async def _inject(
    request: web.Request, response: web.StreamResponse, script: ReplyScript, chunk: _ChunkMaker
) -> bool:
    """Play the script's mid-stream fault, if any; True when the stream is over because of it."""
    fault = script.fault
    if fault is Fault.CUT_MID_STREAM:
        # No await after the abort: the handler must not see its own cut as a client leaving.
        _abort(request)
        return True
    if fault is Fault.STALL_MID_STREAM:
        await _until_client_leaves()
    if fault is Fault.MALFORMED_JSON:
        await response.write(b'data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n')
    elif fault is Fault.ERROR_EVENT:
        message = _message(script, _bearer_key(request), _SERVER_ERROR["message"])
        await response.write(_sse({"error": {**_SERVER_ERROR, "message": message}}))
        await response.write_eof()
        return True
    elif fault is Fault.EMPTY_CHOICES:
        await response.write(chunk.empty_choices_event())
    return False


async def _partial_body(request: web.Request, body: bytes, fault: Fault) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if fault is Fault.STALL_MID_STREAM:
        await _until_client_leaves()
    _abort(request)
    return response


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _until_client_leaves() -> None:
    # Only the handler's cancellation (the client went away, or the server stops) ends this.
    await asyncio.Event().wait()


def _http_fault(script: ReplyScript, model: str, key: str) -> web.Response | None:
    failure = _status_fault(script, model, key)
    if failure is not None and script.should_retry is not None:
        failure.headers["x-should-retry"] = "true" if script.should_retry else "false"
    return failure


def _status_fault(script: ReplyScript, model: str, key: str) -> web.Response | None:
    match script.fault:
        case Fault.HTTP_408:
            message = _message(script, key, "Your request timed out")
            return _error(408, message, type_="timeout")
        case Fault.HTTP_502:
            page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return web.Response(status=502, text=page, content_type="text/html")
        case Fault.HTTP_529:
            error = {"type": "overloaded_error", "message": _message(script, key, "Overloaded")}
            body = {"type": "error", "error": error, "request_id": "req_fake"}
            return web.json_response(body, status=529, headers={"x-should-retry": "true"})
        case Fault.HTTP_500:
            message = _message(script, key, _SERVER_ERROR["message"])
            return _error(500, message, type_="server_error")
        case Fault.HTTP_503:
            message = _message(script, key, "The engine is currently overloaded.")
            return _error(503, message, type_="server_error")
        case Fault.HTTP_401:
            message = _message(script, key, "Incorrect API key provided.")
            return _error(401, message, code="invalid_api_key")
        case Fault.HTTP_403:
            message = _message(script, key, "Country, region, or territory not supported.")
            return _error(403, message, code="unsupported_country_region_territory")
        case Fault.HTTP_404:
            default = f"The model `{model}` does not exist or you do not have access to it."
            return _error(404, _message(script, key, default), code="model_not_found")
        case Fault.HTTP_429:
            headers = {} if script.retry_after is None else {"Retry-After": str(script.retry_after)}
            default = "Rate limit reached for requests. Please try again later."
            message = _message(script, key, default)
            return _error(
                429, message, type_="requests", code="rate_limit_exceeded", headers=headers
            )
        case Fault.HTML_PAGE:
            page = "<html><head><title>Sign in</title></head><body>Sign in first</body></html>"
            return web.Response(text=page, content_type="text/html")
    return None


def _message(script: ReplyScript, key: str, default: str) -> str:
    if script.error_message is None:
        return default
    return script.error_message.replace("{key}", key)


def _bearer_key(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ")


def _error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    error = {"message": message, "type": type_, "param": param, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers)


def _invalid_messages(messages: Any) -> web.Response | None:
    if not isinstance(messages, list) or not messages:
        message = "Invalid 'messages': expected a non-empty array of messages."
        return _error(400, message, param="messages", code="empty_array")
    sent_back = _reasoning_sent_back([m for m in messages if isinstance(m, dict)])
    if sent_back is not None:
        return sent_back
    for index, item in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(item, dict):
            return _error(400, f"Invalid '{where}': expected an object.", param=where)
        if item.get("role") not in ROLES:
            message = f"Invalid value: '{item.get('role')}'. Supported values are: {sorted(ROLES)}."
            return _error(400, message, param=f"{where}.role", code="invalid_value")
        if "content" not in item:
            message = f"Missing required parameter: '{where}.content'."
            return _error(400, message, param=f"{where}.content", code="missing_required_parameter")
        name = item.get("name")
        if name is not None and not (isinstance(name, str) and _NAME.fullmatch(name)):
            message = f"Invalid '{where}.name': string does not match pattern '{_NAME.pattern}'."
            return _error(400, message, param=f"{where}.name", code="invalid_value")
        content = item["content"]
        if isinstance(content, list):
            problem = _invalid_parts(content, where)
            if problem is not None:
                return problem
        elif not isinstance(content, str) and not (content is None and item["role"] == "assistant"):
            message = f"Invalid type for '{where}.content': expected a string or an array."
            return _error(400, message, param=f"{where}.content", code="invalid_type")
    return None


def _invalid_parts(parts: list[Any], where: str) -> web.Response | None:
    for index, part in enumerate(parts):
        param = f"{where}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind == "image_url" and isinstance(part.get("image_url"), dict):
            if _valid_image_url(part["image_url"].get("url")):
                continue
            message = f"Invalid image in '{param}': expected an http(s) URL or a base64 data URL."
            return _error(400, message, param=param, code="invalid_image_url")
        if kind == "input_audio":
            audio = part.get("input_audio")
            if (
                isinstance(audio, dict)
                and isinstance(audio.get("data"), str)
                and audio.get("format") in ("wav", "mp3")
            ):
                if audio["format"] == "wav" and not _decodes_as_wav(audio["data"]):
                    message = f"The audio in '{param}' could not be decoded as WAV."
                    return _error(400, message, param=param, code="invalid_value")
                continue
        return _error(400, f"Invalid content part '{param}'.", param=param, code="invalid_value")
    return None


def _valid_image_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    if url.startswith(("http://", "https://")):
        return True
    match = _DATA_URL.fullmatch(url)
    if match is None:
        return False
    try:
        return bool(base64.b64decode(match.group(2), validate=True))
    except ValueError:
        return False


def _has_image(messages: list[JsonDict]) -> bool:
    return any(
        isinstance(part, dict) and part.get("type") == "image_url"
        for message in messages
        if isinstance(message["content"], list)
        for part in message["content"]
    )


def _has_audio_input(messages: list[JsonDict]) -> bool:
    return any(
        isinstance(part, dict) and part.get("type") == "input_audio"
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


def _decodes_as_wav(data: str) -> bool:
    """Whether base64 `data` is a WAV file with at least one frame of audio."""
    try:
        raw = base64.b64decode(data, validate=True)
        with wave.open(io.BytesIO(raw), "rb") as wav:
            return wav.getnframes() > 0
    except (ValueError, EOFError, wave.Error):
        return False


def _invalid_params(body: JsonDict) -> web.Response | None:
    for name, (low, high) in PARAM_RANGES.items():
        value = body.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            message = f"Invalid '{name}': expected a number from {low} to {high}, got {value!r}."
            return _error(400, message, param=name, code="invalid_value")
    for limit in ("max_tokens", "max_completion_tokens"):
        tokens = body.get(limit)
        if tokens is not None and (
            isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1
        ):
            message = f"Invalid '{limit}': expected a positive integer, got {tokens!r}."
            return _error(400, message, param=limit, code="invalid_value")
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        supported = ", ".join(f"'{value}'" for value in REASONING_EFFORTS)
        message = f"Invalid value: '{effort}'. Supported values are: {supported}."
        return _error(400, message, param="reasoning_effort", code="invalid_value")
    if "stream" in body and not isinstance(body["stream"], bool):
        return _error(400, "Invalid 'stream': expected a boolean.", param="stream")
    modalities = body.get("modalities", ["text"])
    if not isinstance(modalities, list) or not set(modalities) <= {"text", "audio"}:
        return _error(400, "Invalid 'modalities'.", param="modalities", code="invalid_value")
    if "audio" in modalities:
        audio = body.get("audio")
        if not isinstance(audio, dict):
            message = "Missing required parameter: 'audio' (needed for audio output)."
            return _error(400, message, param="audio", code="missing_required_parameter")
        if audio.get("voice") not in VOICES:
            message = f"Invalid value: '{audio.get('voice')}'. Supported voices: {sorted(VOICES)}."
            return _error(400, message, param="audio.voice", code="invalid_value")
        if audio.get("format") != "wav":
            message = "This fake only produces WAV audio (`audio.format: wav`)."
            return _error(400, message, param="audio.format", code="invalid_value")
    return None


def _echo(messages: list[JsonDict]) -> ReplyScript:
    """The reply when nothing is scripted: the last user message, read back."""
    user = [m for m in messages if m["role"] == "user"]
    return ReplyScript(f"You said: {_text_of(user[-1]['content']) if user else ''}")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    words = {"input_audio": "[audio]", "image_url": "[image]"}
    return " ".join(
        part.get("text", "") if part.get("type") == "text" else words.get(part.get("type"), "")
        for part in content
    )


def _usage(messages: list[JsonDict], reply: str, reasoning: str = "") -> JsonDict:
    # Roughly OpenAI's rule of thumb: four characters to a token. Reasoning tokens are
    # completion tokens, and also reported apart (OpenAI's completion_tokens_details).
    prompt = max(1, sum(len(_text_of(m.get("content"))) for m in messages) // 4)
    thought = math.ceil(len(reasoning) / 4)
    completion = math.ceil(len(reply) / 4) + thought
    usage: JsonDict = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": thought}
    return usage


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _sse(payload: JsonDict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def make_wav(seconds: float) -> bytes:
    """A 24 kHz mono 16-bit WAV: a quiet 400 Hz tone lasting `seconds`."""
    period = SAMPLE_RATE // TONE_HZ
    one = array("h", (int(8000 * math.sin(2 * math.pi * i / period)) for i in range(period)))
    if sys.byteorder == "big":
        one.byteswap()
    frames = int(seconds * SAMPLE_RATE)
    pcm = (one.tobytes() * (frames // period + 1))[: frames * 2]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    return buffer.getvalue()
