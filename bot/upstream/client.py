"""Client for the upstream OpenAI-compatible chat API: models, about, and chat (streamed or whole).

Owns every HTTP call to the chat API, the translation of httpx failures into `bot.errors` types
at this edge (which error means what: the table in `bot.upstream`), and which stretch of a call
is tried again (a stream: up to its first delta); when to retry is `bot.upstream.retries`'s, the
first-token and idle deadlines `bot.upstream.clocks`'s, what the bytes that come back mean
`bot.upstream.decode`'s. A request a model refuses a parameter of is sent again without it (the
refusal learnt in `bot.upstream.quirks`). It must not touch Telegram, the store or the history:
callers hand it a ready `ChatRequest`.

A model whose replies began mid-thought (only a closing `</think>`, see `bot.upstream.thinking`)
is remembered, so that its next replies stream their thinking as reasoning from the first word.

The API key goes only into the Authorization header; it is scrubbed (logs.redact) from every
error the public methods raise and from /about's text, whichever path produced them (upstreams
that echo a wrong key back must not put it in front of users).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx

from bot.config import UPSTREAM_CONCURRENCY, Settings
from bot.errors import (
    UpstreamCut,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamParameterRejected,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from bot.logs import redact
from bot.upstream import decode
from bot.upstream.about import readable_text
from bot.upstream.clocks import Clock, Timeouts, timed_lines
from bot.upstream.quirks import ServerQuirks
from bot.upstream.retries import retrying
from bot.upstream.thinking import ThinkTags
from bot.upstream.types import ChatRequest, Completion, Delta, ModelInfo, chat_body

# Timeouts is the constructor's: callers import it from here.
__all__ = ["Timeouts", "UpstreamClient"]

T = TypeVar("T")
DEFAULT_TIMEOUTS = Timeouts()
_Deltas = AsyncGenerator[Delta, None]

# Models remembered as beginning their replies mid-thought; past this many, memory starts over.
MID_THOUGHT_MODELS = 256


# Replies are asked for at most `streams` (UPSTREAM_CONCURRENCY) at once; more wait their turn in
# the client, before their first-token clock starts. Bounding them here and not in httpcore's pool
# matters: a request queued in the pool is rescanned against every connection each time one frees
# (seconds of stalled event loop under 1,000 chats), and its wait would count as the upstream's.
# One connection per reply, all kept alive (closing all but httpx's default 20 made every later
# reply open a new one), and these few more so a model list or /about never waits behind replies.
SPARE_CONNECTIONS = 16


class UpstreamClient:
    """One connection pool to the chat API, shared by every chat."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str = "",
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retries: int = 2,
        retry_backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        streams: int = UPSTREAM_CONCURRENCY,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.retries = retries
        self.retry_backoff = retry_backoff
        self._api_key = api_key
        # What this server and its models refuse, learned from their errors (quirks.py).
        self.quirks = ServerQuirks()
        self._replies = asyncio.Semaphore(streams)  # see the comment above SPARE_CONNECTIONS
        self._mid_thought: set[str] = set()  # models whose replies begin mid-thought
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # No httpx read or pool timeout: the first-token and idle clocks below govern both.
        timeout = httpx.Timeout(None, connect=timeouts.connect, write=timeouts.connect)
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=streams + SPARE_CONNECTIONS,
                max_keepalive_connections=streams + SPARE_CONNECTIONS,
            ),
            transport=transport,
            follow_redirects=True,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> UpstreamClient:
        return cls(
            settings.gpt_api_base_url,
            api_key=settings.gpt_api_key.get_secret_value(),
            timeouts=Timeouts(
                connect=settings.upstream_connect_timeout,
                first_token=settings.upstream_first_token_timeout,
                idle=settings.upstream_idle_timeout,
            ),
            retries=settings.upstream_retries,
            retry_backoff=settings.upstream_retry_backoff,
            streams=settings.upstream_concurrency,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def chat_url(self) -> str:
        # A base URL already ending in /v1 (OpenAI-style configs) must not become /v1/v1.
        suffix = "/chat/completions" if self.base_url.endswith("/v1") else "/v1/chat/completions"
        return self.base_url + suffix

    async def list_models(self) -> list[ModelInfo]:
        """The upstream's models: `{base}/models` (the seed), else `{base}/v1/models` (OpenAI)."""
        with self._scrubbed():
            return await self._list_models()

    async def _list_models(self) -> list[ModelInfo]:
        for path in ("/models", "/v1/models"):
            try:
                response = await self._fetch("GET", self.base_url + path)
            except UpstreamHTTPError as exc:
                if exc.status == 404 and path == "/models":
                    continue
                raise
            models = decode.parse_models(decode.json_body(response.content, required=False))
            if models is not None:
                return models
        raise UpstreamProtocolError("the models list is not {object: list, data: [...]}")

    async def about(self) -> str:
        """The upstream's `/about`, as readable `key: value` lines (or its text if not JSON)."""
        with self._scrubbed():
            response = await self._fetch("GET", f"{self.base_url}/about")
        payload = decode.json_body(response.content, required=False)
        text = response.text.strip() if payload is None else readable_text(payload)
        return redact(text, (self._api_key,))

    async def complete_chat(self, request: ChatRequest) -> Completion:
        """Ask for a whole reply (the only way to get audio); audio arrives decoded."""

        async def completion(body: dict[str, Any]) -> Completion:
            response = await self._fetch("POST", self.chat_url, body)
            # A 200 body may be an {"error": ...} that echoes the key: scrubbed like the rest.
            return decode.parse_completion(decode.json_body(response.content))

        with self._scrubbed():
            async with self._replies:
                return await self._adapted(request, completion, stream=False)

    async def stream_chat(self, request: ChatRequest) -> AsyncGenerator[Delta, None]:
        """Stream a reply: non-empty text deltas, then one with finish_reason/usage if known.

        A 200 `application/json` answer (servers that ignore `stream`) comes as one delta.
        Closing the iterator, or cancelling its consumer, closes the HTTP response at once.
        """
        if request.voice is not None:
            raise ValueError("voice replies are not streamed; use complete_chat")

        async def started(body: dict[str, Any]) -> _Deltas:
            return await self._retrying(lambda: self._started_stream(body))

        with self._scrubbed():
            async with self._replies:
                deltas = await self._adapted(request, started, stream=True)
                async with contextlib.aclosing(deltas):
                    async for delta in deltas:
                        yield delta

    async def _adapted(
        self,
        request: ChatRequest,
        send: Callable[[dict[str, Any]], Awaitable[T]],
        *,
        stream: bool,
    ) -> T:
        """`send` the request as this server and model take it; when they refuse a parameter,
        learn that and send it again at once without it (each refusal changes what is sent, and
        there are only so many parameters, so this ends)."""
        while True:
            body = chat_body(request, stream=stream, quirks=self.quirks.of(request.model))
            try:
                return await send(body)
            except UpstreamParameterRejected as refusal:
                if not self.quirks.learn(request.model, refusal, body):
                    raise

    @contextlib.contextmanager
    def _scrubbed(self) -> Iterator[None]:
        """Scrub the key from any UpstreamError raised inside."""
        try:
            yield
        except UpstreamError as exc:
            self._scrub(exc)
            raise

    async def _started_stream(self, body: dict[str, Any]) -> _Deltas:
        """A stream whose first delta has arrived: from here on, nothing is retried."""
        deltas = self._stream_once(body)
        return _chain(await anext(deltas, None), deltas)

    async def _stream_once(self, body: dict[str, Any]) -> _Deltas:
        clock = Clock(self.timeouts)
        response = await self._open("POST", self.chat_url, body, clock, stream=True)
        try:
            with _translating(self.timeouts, started=True):
                if response.status_code >= 400:
                    await clock.within(response.aread())
                    raise _http_error(response)
                content_type = response.headers.get("content-type", "")
                if content_type.startswith("text/html"):
                    # A captive portal, a proxy's sign-in page or a wrong base URL.
                    raise UpstreamProtocolError("an HTML page instead of a reply")
                if content_type.startswith("application/json"):
                    await clock.within(response.aread())
                    whole = decode.parse_completion(decode.json_body(response.content))
                    yield Delta(whole.text, whole.finish_reason, whole.usage, whole.reasoning)
                    return
                model = str(body.get("model"))
                thoughts = ThinkTags(starts_in_thought=model in self._mid_thought)
                try:
                    async with contextlib.aclosing(timed_lines(response, clock)) as lines:
                        async for delta in decode.read_deltas(lines, thoughts=thoughts):
                            yield delta
                            # Idle time starts when the consumer asks for more, not when text
                            # arrived: a consumer busy with Telegram must not time the upstream
                            # out. Reasoning is text that flows, too.
                            if delta.text or delta.reasoning:
                                clock.text_arrived()
                finally:
                    self._learn(model, thoughts)
        finally:
            await response.aclose()

    def _learn(self, model: str, thoughts: ThinkTags) -> None:
        """Remember whether this model's replies begin mid-thought, as this one showed."""
        if thoughts.answered_without_thought:
            self._mid_thought.discard(model)
        elif thoughts.began_mid_thought and model not in self._mid_thought:
            if len(self._mid_thought) >= MID_THOUGHT_MODELS:
                self._mid_thought.clear()
            self._mid_thought.add(model)

    async def _fetch(self, method: str, url: str, body: Any = None) -> httpx.Response:
        """A whole response with a status below 400, retried where that is safe."""
        return await self._retrying(lambda: self._fetch_once(method, url, body))

    async def _retrying(self, attempt_once: Callable[[], Awaitable[T]]) -> T:
        return await retrying(attempt_once, retries=self.retries, backoff=self.retry_backoff)

    async def _fetch_once(self, method: str, url: str, body: Any) -> httpx.Response:
        clock = Clock(self.timeouts)
        response = await self._open(method, url, body, clock, stream=False)
        try:
            clock.text_arrived()
            with _translating(self.timeouts, started=True):
                await clock.within(response.aread())
        finally:
            await response.aclose()
        if response.status_code >= 400:
            raise _http_error(response)
        return response

    async def _open(
        self, method: str, url: str, body: Any, clock: Clock, *, stream: bool
    ) -> httpx.Response:
        accept = "text/event-stream" if stream else "application/json"
        request = self._client.build_request(method, url, json=body, headers={"Accept": accept})
        with _translating(self.timeouts, started=False):
            return await clock.within(self._client.send(request, stream=True))

    def _scrub(self, exc: UpstreamError) -> None:
        """Replace the API key wherever upstream text in `exc` carried it."""
        secrets = (self._api_key,)
        for name in ("detail", "message"):
            value = getattr(exc, name, None)
            if isinstance(value, str):
                setattr(exc, name, redact(value, secrets))
        exc.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in exc.args)


async def _chain(first: Delta | None, rest: _Deltas) -> _Deltas:
    try:
        if first is not None:
            yield first
            async for delta in rest:
                yield delta
    finally:
        await rest.aclose()


@contextlib.contextmanager
def _translating(timeouts: Timeouts, *, started: bool) -> Iterator[None]:
    """httpx failures -> our errors; `started` says whether the response had begun."""
    try:
        yield
    except (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout) as exc:
        raise UpstreamTimeout("connect", timeouts.connect) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if started:
            raise UpstreamCut("stream cut") from exc
        raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
    except httpx.DecodingError as exc:
        raise UpstreamProtocolError("undecodable response body") from exc
    except httpx.ConnectError as exc:
        dns = _caused_by(exc, socket.gaierror)
        raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}", dns=dns) from exc
    except httpx.TransportError as exc:
        raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _http_error(response: httpx.Response) -> UpstreamHTTPError:
    headers, reason = response.headers, response.reason_phrase
    return decode.http_error(response.status_code, response.text, headers, reason)
