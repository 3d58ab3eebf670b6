"""Where a reply goes: the protocols the conversation writes into, free of Telegram.

`delivery.live_reply.LiveReply` implements `ReplySink` (a live, edited Telegram message) and
`delivery.voice_reply.VoiceReply` implements `VoiceSink` (that, or a voice note); both are
`ThinkingSink`s too, which show a reasoning model's thinking. A sink without `think` still gets
every answer, and no reasoning. Tests use their own. Must not import Telegram.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.types import ShowReasoning
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


@runtime_checkable
class ThinkingSink(ReplySink, Protocol):
    """A sink that also shows a reasoning model's thinking: that it thinks, and for how long,
    then the reasoning itself as `show` says once the answer begins."""

    async def think(self, reasoning: str, *, show: ShowReasoning) -> None:
        """The whole reasoning so far (never part of the answer `update` and `finish` give).

        Called before `update` while the model thinks; called again if more arrives later. The
        answer so far may then be "" again: a reply that began mid-thought shows it only at
        the end of its thought, when what looked like answer turns out to have been reasoning.
        Must return quickly, like `update`.
        """
