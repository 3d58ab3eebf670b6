"""Producing one reply: streaming it (or, when spoken, asking for it whole) until it ends.

Owns the end of a reply — the upstream finishes or fails, the user stops it, the bot shuts down —
and keeps whatever text, reasoning, usage and audio arrived by then, each apart: the answer goes
to the sink's `update`, the reasoning to its `think` (a `ThinkingSink`) and never into the answer.
It also keeps how the model ended it: a reply cut at its length limit, held back by a content
filter or ended by an error (finish_reason `length`, `content_filter`, `error`) gets a notice
saying so. Upstream errors become the user's notice and never escape (the error itself is kept,
for answer.py to retry a context overflow). Must not store anything: answer.py does.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from bot.conversation.sinks import ReplySink, ThinkingSink
from bot.errors import UpstreamContextOverflow, UpstreamError
from bot.i18n import N_, _
from bot.store import ChatKey
from bot.types import ShowReasoning
from bot.upstream.client import UpstreamClient
from bot.upstream.types import AudioReply, ChatRequest, Delta, Usage

log = logging.getLogger(__name__)

Status = Literal["complete", "interrupted", "stopped"]

# Translators: ends a reply the user stopped while it was being written.
STOPPED_NOTICE = N_("Stopped.")
RESTART_NOTICE = N_("The bot restarted, so this reply was cut short. Please ask again.")
# How the model ended a reply it did not finish, by its finish_reason.
FINISH_NOTICES = {
    "length": N_("The reply was cut off: it reached the length limit for one reply."),
    "content_filter": N_("The AI service's content filter stopped this reply here."),
    "error": N_("The AI service ended this reply with an error."),
}


@dataclass(frozen=True, slots=True)
class Running:
    """The turn a chat is generating: whose message it answers, and the switch that ends it."""

    telegram_message_id: int | None
    user_id: int | None
    stop: asyncio.Event
    shutdown: asyncio.Event


@dataclass(frozen=True, slots=True)
class Generated:
    """What a reply came to: its text (and audio, when spoken), and how it ended; `reasoning`
    is what the model thought first ("" when it showed none), never part of `text`."""

    text: str
    status: Status
    notice: str | None
    usage: Usage | None  # None: the upstream reported none
    audio: AudioReply | None
    reasoning: str = ""
    error: UpstreamError | None = None  # what ended it, when the upstream failed


@dataclass(slots=True)
class _Progress:
    text: str = ""
    usage: Usage | None = None
    audio: AudioReply | None = None
    reasoning: str = ""
    finish_reason: str | None = None

    def add(self, delta: Delta) -> None:
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
        if delta.restart:
            self.text, self.reasoning = delta.text, delta.reasoning
        else:
            self.text += delta.text
            self.reasoning += delta.reasoning


async def generate(
    upstream: UpstreamClient,
    key: ChatKey,
    request: ChatRequest,
    sink: ReplySink,
    running: Running,
    *,
    show_reasoning: ShowReasoning = "collapsed",
) -> Generated:
    """Stream the answer until it ends, fails or `running` is stopped; never raises upstream
    errors. A request with a voice is asked for whole, since audio is not streamed.
    `show_reasoning` is how the sink, if it can (a ThinkingSink), shows the reasoning."""
    progress = _Progress()
    work = (
        _stream(upstream, request, sink, progress, show_reasoning)
        if request.voice is None
        else _complete(upstream, request, progress)
    )
    streaming = asyncio.create_task(work)
    stopping = asyncio.create_task(running.stop.wait())
    shutting_down = asyncio.create_task(running.shutdown.wait())
    try:
        await asyncio.wait(
            {streaming, stopping, shutting_down}, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopping.cancel()
        shutting_down.cancel()
        if not streaming.done():
            streaming.cancel()
        await asyncio.wait({streaming})  # let it wind down; its outcome is read below

    def ended(status: Status, notice: str | None, error: UpstreamError | None = None) -> Generated:
        return Generated(
            progress.text,
            status,
            notice,
            progress.usage,
            progress.audio,
            reasoning=progress.reasoning,
            error=error,
        )

    if streaming.cancelled():
        if running.stop.is_set():
            return ended("stopped", _(STOPPED_NOTICE))
        return ended("interrupted", _(RESTART_NOTICE))
    error = streaming.exception()
    if error is None:
        cut = FINISH_NOTICES.get(progress.finish_reason or "")
        if cut is not None:
            log.info("chat %s: the reply ended with finish_reason %s", key, progress.finish_reason)
            return ended("interrupted", _(cut))
        return ended("complete", None)
    if isinstance(error, UpstreamError):
        # An overflow is asked again with less history (answer.py), not a failure yet.
        overflow = isinstance(error, UpstreamContextOverflow)
        log.log(logging.INFO if overflow else logging.WARNING, "chat %s: %s", key, error)
        return ended("interrupted", error.user_message, error)
    raise error


async def _stream(
    upstream: UpstreamClient,
    request: ChatRequest,
    sink: ReplySink,
    progress: _Progress,
    show: ShowReasoning,
) -> None:
    thinking = sink if isinstance(sink, ThinkingSink) else None
    async for delta in upstream.stream_chat(request):
        if delta.usage is not None:
            progress.usage = delta.usage
        progress.add(delta)
        if thinking is not None and (delta.reasoning or delta.restart):
            await thinking.think(progress.reasoning, show=show)
        if delta.text or delta.restart:
            await sink.update(progress.text)


async def _complete(upstream: UpstreamClient, request: ChatRequest, progress: _Progress) -> None:
    """Ask for the whole reply at once (audio is never streamed) and keep what came back."""
    completion = await upstream.complete_chat(request)
    progress.text = completion.text
    progress.usage = completion.usage
    progress.audio = completion.audio
    progress.reasoning = completion.reasoning
    progress.finish_reason = completion.finish_reason
