"""The draft reply: a private chat's answer streamed as a message draft, then persisted.

Owns what a private chat (or a topic of one) sees of a written reply with STREAM_MODE=draft:
"Thinking…" (an empty draft) the moment the request goes upstream, the draft growing with the
text (entities at every update, paced by the outbox like every call), each finished piece
persisted with sendMessage, the draft kept alive through long pauses, when the small Stop
message is sent for a reply still written after a few seconds (a draft can't carry a button),
the end of the draft, and falling back to edits (live_reply.py takes over the same `ReplyText`,
reasoning and all) when Telegram refuses drafts — remembered by draft_support.py. A reasoning
model's thinking (`think`, a `ThinkingSink`) as a live reply shows it: "💭 Thinking… 12 s" in
the draft, its seconds moving on at the draft's pace, then the reasoning as the chat shows it —
its own messages persisted first (full), the block above the answer's first piece (collapsed),
or nothing (hidden). Which piece goes into which message, and the reasoning's layout, are
reply_text.py's; how each call is made is draft_calls.py's; when it may go, the outbox's.

Ending a draft. No call turns a draft into a message: a client removes the draft when a message
from the bot arrives in the same chat (or topic), or 30 s after its last update. Some remove it
late (Android: seconds) or only once the chat is reopened (macOS), and a message landing while
the draft still shows its text then shows that text twice. So a piece is persisted in two calls
right behind each other: the draft becomes "⏳", then the message is sent, and a late client
shows a small ⏳ under the message, never the text twice. No draft call is made after the last
message: it would paint the bubble again, for 30 s. The chat's one short burst (pacing.py's
follow-up) is kept for that pair, so ⏳ shows for a round trip, not a chat interval: the first
words don't spend it and go a chat interval after "Thinking…" (with a model that answers within
the second, they show up to a second later than with edits; measured, README "Benchmark").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from enum import Enum, auto

from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError

from bot.delivery.destination import Destination
from bot.delivery.draft_calls import StopMessage, send_piece, show_draft
from bot.delivery.draft_support import DraftSupport
from bot.delivery.live_reply import LiveReply
from bot.delivery.outbox import NothingToSend, Outbox, Priority
from bot.delivery.reply_text import Head, ReplyText
from bot.delivery.telegram_errors import draft_refusal
from bot.render.convert import Rendered
from bot.types import Clock, ShowReasoning

log = logging.getLogger(__name__)

PLACEHOLDER = Rendered("", ())  # an empty draft: Telegram shows "Thinking…"
SEALED = Rendered("⏳", ())  # what the draft shows while its text becomes a message
KEEPALIVE = 20.0  # seconds without a draft call before it is sent again (it lasts 30 s)
STOP_AFTER = 4.0  # seconds into a reply before the Stop message is shown


class _Call(Enum):
    DRAFT = auto()  # the draft shows `target` (the placeholder, the text so far, or again)
    SEAL = auto()  # the draft becomes ⏳: its text is persisted next
    PERSIST = auto()  # the head piece, or the notice alone, as a message
    STOP = auto()  # the Stop message


_DRAFT_CALLS = frozenset({_Call.DRAFT, _Call.SEAL})


@dataclass(frozen=True, slots=True)
class _Step:
    """The next call the chat needs."""

    call: _Call
    urgent: bool
    target: Rendered = PLACEHOLDER
    head: Head | None = None


class DraftReply:
    """A `ReplySink` that streams into a message draft of a private chat and persists it.

    As in a LiveReply, one call at a time is queued in the outbox and what it does is decided
    only when the outbox lets it go, so every draft carries the newest text. `draft_id` names
    the draft (non-zero, unique in the chat for this reply: the id of the message it answers)
    and stays the same for the whole reply, so a late copy of an earlier update is replaced by
    the next one rather than shown beside it.
    """

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        destination: Destination,
        support: DraftSupport,
        *,
        draft_id: int,
        keepalive: float = KEEPALIVE,
        stop_after: float = STOP_AFTER,
        stop_data: str | None = None,
        typing_interval: float = 4.0,
        clock: Clock = time.monotonic,
        thinking_tick: float = 1.0,
    ) -> None:
        if draft_id == 0:
            raise ValueError("a draft id must be non-zero")
        self._bot = bot
        self._outbox = outbox
        self._dest = destination
        self._support = support
        self._draft_id = draft_id
        self._keepalive = keepalive
        self._stop = StopMessage(bot, outbox, destination, stop_data, stop_after)
        self._typing_interval = typing_interval
        self._clock = clock  # the thinking line's seconds
        self._thinking_tick = thinking_tick  # seconds between looks at the thinking line
        self._text = ReplyText()
        self._drafted: Rendered | None = None  # what the draft shows; None: no draft
        self._drafted_at = 0.0  # loop time of the last draft call
        self._dismissed = False  # a message came after the last draft call: clients dropped it
        self._sealed = False  # the draft shows ⏳: its piece is persisted next
        self._follow = False  # the next call goes right behind the previous one
        self._started_at: float | None = None  # loop time of `start`
        self._making: _Call | None = None  # the call being made (for its failures)
        self._urgent = False
        self._dead = False  # the chat can't receive messages (bot blocked)
        self._live: LiveReply | None = None  # the edits the reply goes on with, drafts refused
        self._dirty = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    @property
    def message_ids(self) -> list[int]:
        """Every Telegram message of the reply, in order (not the Stop message)."""
        return list(self._text.message_ids)

    async def start(self) -> None:
        """Show "Thinking…" (an empty draft) until the first words."""
        if self._live is not None:
            await self._live.start()
        elif self._started_at is None:
            self._started_at = asyncio.get_running_loop().time()
            self._kick()

    async def think(self, reasoning: str, *, show: ShowReasoning) -> None:
        """Make `reasoning` the newest thinking: the draft says the model thinks, and for how
        long, until the answer begins; then the reasoning is shown as `show` says, as a live
        reply shows it (reply_text.py lays it out for both)."""
        if self._live is not None:
            await self._live.think(reasoning, show=show)
            return
        self._text.think(reasoning, show, self._clock())
        self._kick()

    async def update(self, text: str) -> None:
        """Make `text` the newest state; the draft shows it when pacing allows."""
        if self._live is not None:
            await self._live.update(text)
            return
        self._text.set_source(text, self._clock())
        self._kick()

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        """Persist the final text (and notice) completely, then remove the Stop message."""
        self._text.end(text, notice, self._clock())
        if self._live is None:
            self._kick()
            self._outbox.reprioritize(self._dest.chat_id)  # a waiting draft now ends the reply
            assert self._runner is not None
            await self._runner
        if self._live is not None:
            await self._live.finish(text, notice=notice)
        await self._remove_stop_message()

    async def close(self) -> None:
        """Stop the keep-alive and any delivery still waiting; nothing more is sent but the
        Stop message's removal (a turn that failed before `finish` still had one)."""
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        if self._live is not None:
            await self._live.close()
        try:
            await self._remove_stop_message()
        except Exception:  # close must not raise; a Stop message left over only looks odd
            log.exception("chat %s: Stop message not deleted", self._dest.chat_id)

    def _kick(self) -> None:
        self._dirty.set()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"draft-{self._dest.chat_id}")

    # --- the runner ------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._dead and self._live is None:
            self._dirty.clear()
            step = self._next_step()
            if step is None:
                if self._text.closing:
                    return
                await self._wait_for_change()
                continue
            self._urgent = step.urgent
            follow, self._follow = self._follow, False
            try:
                await self._outbox.call(
                    self._dest.chat_id, self._deliver, priority=self._urgency, follow=follow
                )
            except NothingToSend:
                continue  # the draft already shows the newest state; look again
            except Forbidden as exc:
                log.info("chat %s can't receive the reply: %s", self._dest.chat_id, exc)
                self._dead = True
            except (BadRequest, InvalidToken) as exc:
                if self._making not in _DRAFT_CALLS:
                    raise
                self._fall_back(exc)
            except NetworkError as exc:
                await self._failed(exc)
        if self._live is not None and not self._text.closing:
            await self._continue_live()

    async def _failed(self, exc: NetworkError) -> None:
        """A call failed after the outbox's retries: what matters is the text, not the draft."""
        if self._making is _Call.SEAL:
            # Persist the piece all the same; at worst a late client shows its text twice.
            self._sealed = True
            return
        if self._making is _Call.PERSIST and self._text.closing:
            raise exc
        if self._making is _Call.STOP:
            return  # /stop still works
        log.warning("chat %s: draft call failed (%s); waiting for newer text", self._dest, exc)
        self._drafted_at = asyncio.get_running_loop().time()  # the keep-alive tries again later
        await self._wait_for_change()

    def _urgency(self) -> Priority:
        return Priority.URGENT if self._urgent or self._text.closing else Priority.EDIT

    async def _wait_for_change(self) -> None:
        """Until the text changes, or the keep-alive or the Stop message is due."""
        loop = asyncio.get_running_loop()
        due = [self._drafted_at + self._keepalive] if self._drafted is not None else []
        if self._text.thinking():
            due.append(loop.time() + self._thinking_tick)  # the seconds move on meanwhile
        if (stop_at := self._stop_due_at()) is not None:
            due.append(stop_at)
        timeout = None
        if due:
            timeout = max(0.0, min(due) - loop.time())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._dirty.wait()

    def _next_step(self) -> _Step | None:
        """The call the chat needs now, or None when it shows the newest state."""
        thinking = self._text.thinking()
        head = None if thinking else self._text.head()
        # A finished piece, one of the reasoning's own messages, or the end goes as a message;
        # the draft becomes ⏳ first when it shows text (the answer's, or the thinking line).
        if head is not None and (head.piece is None or head.final or head.complete):
            if self._shows_text() and not self._sealed:
                return _Step(_Call.SEAL, urgent=True)
            return _Step(_Call.PERSIST, urgent=True, head=head)
        if self._text.closing or self._dead:
            return None
        now = asyncio.get_running_loop().time()
        stop_at = self._stop_due_at()
        if stop_at is not None and now >= stop_at:
            return _Step(_Call.STOP, urgent=False)
        if thinking:
            target = self._text.thinking_line(self._clock())
        elif head is not None:
            target = head.target
        elif self._started_at is not None:
            target = PLACEHOLDER
        else:
            return None
        if target != self._drafted or self._dismissed:
            return _Step(_Call.DRAFT, urgent=not self._shows_text(), target=target)
        if now >= self._drafted_at + self._keepalive:
            return _Step(_Call.DRAFT, urgent=True, target=target)  # or it expires
        return None

    def _shows_text(self) -> bool:
        return self._drafted is not None and bool(self._drafted.text)

    def _stop_due_at(self) -> float | None:
        """When the Stop message is due (loop time), if it is still to come."""
        return None if self._text.closing else self._stop.due_at(self._started_at)

    # --- the calls -------------------------------------------------------------------------

    async def _deliver(self) -> None:
        """Make the call the chat needs now: called by the outbox when it may go."""
        step = self._next_step()
        if step is None:
            raise NothingToSend
        self._making = step.call
        match step.call:
            case _Call.DRAFT:
                await self._draft(step.target)
            case _Call.SEAL:
                await self._draft(SEALED)
                self._sealed = True
                self._follow = True
            case _Call.PERSIST:
                assert step.head is not None
                await self._persist(step.head)
            case _Call.STOP:
                # Its arrival dismisses the draft, which is shown again at once.
                if await self._stop.send() and self._drafted is not None:
                    self._dismissed = True
                    self._follow = True

    async def _draft(self, target: Rendered) -> None:
        await show_draft(self._bot, self._dest, self._draft_id, target)
        self._drafted, self._dismissed = target, False
        self._drafted_at = asyncio.get_running_loop().time()

    async def _persist(self, head: Head) -> None:
        """Send the head piece (or the notice alone) as a message; the draft is gone then."""
        message = await send_piece(self._bot, self._dest, head.target)
        self._text.message_ids.append(message.message_id)
        if head.shows_notice:
            self._text.notice_shown = True
        if head.lead:
            self._text.leads_shown += 1
        if head.piece is not None:
            self._text.freeze(head.piece)
        self._drafted, self._dismissed, self._sealed = None, False, False

    async def _remove_stop_message(self) -> None:
        if not self._dead:
            await self._stop.remove()

    # --- falling back to edits -------------------------------------------------------------

    def _fall_back(self, exc: BadRequest | InvalidToken) -> None:
        """Drafts were refused: the reply goes on with edits, from the text so far."""
        refusal = draft_refusal(exc)
        if refusal is None and isinstance(exc, InvalidToken):
            raise exc  # a real token problem, not the drafts'
        self._support.refused(self._dest.chat_id, refusal, exc)
        self._live = LiveReply(
            self._bot,
            self._outbox,
            self._dest,
            typing_interval=self._typing_interval,
            stop_data=self._stop.data,
            text=self._text,
            clock=self._clock,
            thinking_tick=self._thinking_tick,
        )

    async def _continue_live(self) -> None:
        """Hand the reply so far to the edits (whatever the draft showed becomes a message: the
        text, or the thinking line, its seconds going on)."""
        assert self._live is not None
        if self._text.source or self._text.reasoning:
            await self._live.update(self._text.source)
        elif self._started_at is not None:
            await self._live.start()
