"""Where a reply goes: the protocols the conversation writes into, free of Telegram.

`delivery.live_reply.LiveReply` implements `ReplySink` (a live, edited Telegram message) and
`delivery.voice_reply.VoiceReply` implements `VoiceSink` (that, or a voice note); tests use their
own. Must not import Telegram.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.upstream.types import AudioReply


class ReplySink(Protocol):
    """Where a reply goes while it is produced (a live Telegram message, a console, a test)."""

    async def start(self) -> None:
        """The reply is being prepared: show that the bot is working."""

    async def update(self, text: str) -> None:
        """The whole reply so far; called often, must return quickly."""

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        """The final reply, plus a notice (why it is incomplete) when there is one."""

    async def close(self) -> None:
        """The turn is over, however it ended (called after `finish`, or instead of it when
        something failed first): stop whatever still runs — "typing…", a delivery waiting for
        newer text — and send nothing more. Must not raise; harmless when called twice."""


@runtime_checkable
class VoiceSink(ReplySink, Protocol):
    """A sink that can also deliver a spoken reply."""

    async def start_speaking(self) -> None:
        """A spoken reply is being prepared: show that the bot is recording."""

    async def speak(self, audio: AudioReply) -> None:
        """Deliver the spoken reply (WAV and transcript); fall back to text if it must."""
