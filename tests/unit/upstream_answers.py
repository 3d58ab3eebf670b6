"""Scripted HTTP answers for the upstream client's tests (httpx.MockTransport, no server): SSE
bodies and chunks, bodies trickled with pauses, a handler that answers in turn and keeps the
requests, and reading a stream to its end. The `make_client` fixture (tests/conftest.py) builds
clients on such a handler."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any

import httpx

from bot.upstream.client import UpstreamClient
from bot.upstream.types import ChatRequest, Delta

BASE = "http://upstream.test"
HELLO = ChatRequest("gpt-4o-mini", ({"role": "user", "content": "Hello"},))
Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
MakeClient = Callable[..., UpstreamClient]


def chunk(content: str | None = None, *, role: str | None = None, finish: str | None = None) -> str:
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [choice]})


USAGE_CHUNK = json.dumps(
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
)


def sse(*datas: str, separator: str = "\n\n") -> bytes:
    return "".join(f"data: {data}{separator}" for data in datas).encode()


def event_stream(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"Content-Type": "text/event-stream"}, content=body)


class Trickle(httpx.AsyncByteStream):
    """A response body sent piece by piece, with pauses, ending in an exception if given."""

    def __init__(self, parts: Iterable[bytes | float], then: Exception | None = None) -> None:
        self._parts = list(parts)
        self._then = then

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self._parts:
            if isinstance(part, float):
                await asyncio.sleep(part)
            else:
                yield part
        if self._then is not None:
            raise self._then


def trickle(*parts: bytes | float, then: Exception | None = None) -> httpx.Response:
    headers = {"Content-Type": "text/event-stream"}
    return httpx.Response(200, headers=headers, stream=Trickle(parts, then))


def answering(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving these answers in turn (the last one repeats), and the requests it saw."""
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


async def collect(client: UpstreamClient, request: ChatRequest = HELLO) -> list[Delta]:
    return [delta async for delta in client.stream_chat(request)]


async def collect_into(received: list[Delta], client: UpstreamClient) -> None:
    """Like `collect`, but what arrived before a failure stays visible to the test."""
    async for delta in client.stream_chat(HELLO):
        received.append(delta)
