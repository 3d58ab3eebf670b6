"""Where a reply goes: the protocols the conversation writes into, free of Telegram.

`delivery.live_reply.LiveReply` (a live, edited Telegram message) and `delivery.draft_reply.
DraftReply` (a private chat's message draft, then its messages) implement `ReplySink`, and
`delivery.voice_reply.VoiceReply` implements `VoiceSink` (either of those, or a voice note); all
three are `ThinkingSink`s too, which show a reasoning model's thinking. A sink without `think`
still gets every answer, and no reasoning. Tests use their own. Must not import Telegram.
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
    then the reasoning itself as `show` says once the answer begins.

    Optional: `generation.generate` checks `isinstance(sink, ThinkingSink)` and calls `think`
    only on sinks that have it; any other sink gets the answer alone and never the reasoning.
    The contract, for a sink that implements it (another Telegram sink, a draft, a console):

    - `think` gets the whole reasoning so far, not the newest piece, each time it grows; `show`
      is the chat's choice (`bot.types.ShowReasoning`), the same on every call of one reply.
    - Within one delta, `think` comes before `update`. While reasoning has come and the answer
      is still blank, the model is thinking: show that (and for how long, by the sink's own
      clock; nothing passes times in). The first `update` with non-blank text ends the
      thinking; `finish` ends it too, for a reply that never answered (stopped, cut, failed).
    - The answer is `update`'s and `finish`'s text only; the reasoning never appears in it, and
      `finish` does not repeat the reasoning: the sink keeps what `think` gave it, to show in
      the final form.
    - A restart: when a reply that began mid-thought closes its thought (only `</think>`, see
      `bot.upstream.thinking`), `think` gets the whole reasoning, now including words that an
      earlier `update` gave as answer, and the next `update` gets the whole answer so far, which
      may be shorter than before or "". A sink must not assume each text extends the last.
    - A spoken reply (asked for whole) calls no `think`: its reasoning is stored only.
    - Like `update`, `think` must return quickly: it records the state, delivery happens
      when pacing allows.

    `delivery.live_reply.LiveReply` is the reference: its look comes from
    `bot.render.reasoning` (`thinking_line(seconds)` while it thinks, then `layout(reasoning,
    show, seconds)`: the reasoning's own messages and the block above the answer's first
    message, put together with `stacked`), through `delivery.reply_text.ReplyText`, which
    `delivery.draft_reply.DraftReply` shares.
    """

    async def think(self, reasoning: str, *, show: ShowReasoning) -> None:
        """The whole reasoning so far (never part of the answer `update` and `finish` give);
        see the class docstring for when it is called and what follows."""
