"""Server-sent events framing: the lines of a response in, events and their `data` out.

Owns the WHATWG event-stream rules, the one leniency OpenAI-compatible proxies need, and the
`[DONE]` marker that ends a chat stream. No I/O, no timeouts and no meaning: what a payload says
is `bot.upstream.decode`'s, reading the lines in time is `bot.upstream.client`'s.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its `data` lines joined with newlines, and its `event` type."""

    data: str
    event: str = "message"


class SSEDecoder:
    """Turns lines (without their terminators) into events, by the WHATWG event-stream rules.

    One leniency beyond the standard: some OpenAI-compatible proxies end each event with a single
    newline instead of a blank line. A strict decoder would glue their events into one unreadable
    payload, so a `data:` or `event:` line arriving while the pending data is already a whole JSON
    document (or `[DONE]`) dispatches the pending event first. Genuine multi-line data is
    unaffected: its first lines are never a whole document on their own.
    """

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""

    def feed(self, line: str) -> list[ServerSentEvent]:
        """Consume one line; return the events it completes (usually none or one)."""
        if not line:
            event = self._dispatch()
            return [event] if event else []
        if line.startswith(":"):
            return []
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        completed: list[ServerSentEvent] = []
        if field in ("data", "event") and self._data and _is_whole("\n".join(self._data)):
            event = self._dispatch()
            if event:
                completed.append(event)
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return completed

    def flush(self) -> ServerSentEvent | None:
        """Dispatch what is pending at the end of the stream (a last event without a blank line)."""
        return self._dispatch()

    def _dispatch(self) -> ServerSentEvent | None:
        event = None
        if self._data:
            event = ServerSentEvent("\n".join(self._data), self._event or "message")
        self._data = []
        self._event = ""
        return event


def _is_whole(data: str) -> bool:
    if data.strip() == DONE:
        return True
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


async def read_events(lines: AsyncIterator[str]) -> AsyncGenerator[ServerSentEvent, None]:
    """The events of a stream's lines, the last one dispatched even without a blank line."""
    decoder = SSEDecoder()
    async for line in lines:
        for event in decoder.feed(line):
            yield event
    last = decoder.flush()
    if last is not None:
        yield last
