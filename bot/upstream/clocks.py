"""The upstream's clocks: how long a reply may take to begin, and to go on.

Owns `Timeouts` (UPSTREAM_CONNECT_TIMEOUT, UPSTREAM_FIRST_TOKEN_TIMEOUT, UPSTREAM_IDLE_TIMEOUT)
and the deadline each read of one response must meet — the first-token clock until text (or
reasoning) flows, the idle clock after — with a response's lines read within it; a missed
deadline is `UpstreamTimeout` naming its phase. It must not open or retry calls, nor read what
the lines mean: that is client.py's and decode.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from bot.errors import TimeoutPhase, UpstreamTimeout

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds: to connect, from sending to the first text, and between pieces of text."""

    connect: float = 10
    first_token: float = 60
    idle: float = 30


class Clock:
    """The deadline the next read must meet, and which timeout it stands for."""

    def __init__(self, timeouts: Timeouts) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = timeouts.idle
        self.phase: TimeoutPhase = "first_token"
        self.seconds = timeouts.first_token
        self.deadline = self._loop.time() + self.seconds

    def text_arrived(self) -> None:
        """Text has flowed: from now on, each wait for more text gets `idle` seconds."""
        self.phase, self.seconds = "idle", self._idle
        self.deadline = self._loop.time() + self._idle

    async def within(self, awaitable: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout_at(self.deadline):
                return await awaitable
        except TimeoutError:
            raise UpstreamTimeout(self.phase, self.seconds) from None


async def timed_lines(response: httpx.Response, clock: Clock) -> AsyncGenerator[str, None]:
    """The lines of a streamed response, each within `clock`'s deadline."""
    lines = response.aiter_lines()
    try:
        while True:
            try:
                yield await clock.within(anext(lines))
            except StopAsyncIteration:
                return
    finally:
        # httpx types this as an iterator, but it is a generator: close it with the stream.
        if isinstance(lines, AsyncGenerator):
            await lines.aclose()
