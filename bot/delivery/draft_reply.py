"""The draft reply: a private chat's answer streamed as a message draft, then persisted.

Owns what a private chat (or a topic of one) sees of a written reply with STREAM_MODE=draft:
"Thinking…" (an empty draft) the moment the request goes upstream, the draft growing with the
text (entities at every update, paced by the outbox like every call), each finished piece
persisted with sendMessage, the draft kept alive through long pauses, a small Stop message for a
reply still written after a few seconds (a draft can't carry a button), the end of the draft,
and falling back to edits (live_reply.py takes over the same `ReplyText`) when Telegram refuses
drafts — remembered in memory, for the chat or the whole bot, by `DraftSupport`. Which piece
goes into which message is reply_text.py's; when a call may go is the outbox's.

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
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.delivery.destination import Destination
from bot.delivery.live_reply import NO_PREVIEW, LiveReply, stop_keyboard
from bot.delivery.outbox import NothingToSend, Outbox, Priority
from bot.delivery.reply_text import Head, ReplyText
from bot.delivery.telegram_errors import DraftRefusal, draft_refusal
from bot.render.convert import Rendered

log = logging.getLogger(__name__)

PLACEHOLDER = Rendered("", ())  # an empty draft: Telegram shows "Thinking…"
SEALED = Rendered("⏳", ())  # what the draft shows while its text becomes a message
STOP_TEXT = "Writing the answer…"  # the Stop message, above the draft
KEEPALIVE = 20.0  # seconds without a draft call before it is sent again (it lasts 30 s)
STOP_AFTER = 4.0  # seconds into a reply before the Stop message is shown
MAX_REFUSED_CHATS = 10_000  # chats remembered as refusing drafts, the latest first


class DraftSupport:
    """Where drafts may be used, learnt from Telegram's refusals and kept in memory (a restart
    tries again): a server that refuses them (no such method, no empty draft) turns them off
    for the whole bot, a chat that refuses them for itself (the latest MAX_REFUSED_CHATS)."""

    def __init__(self, *, max_chats: int = MAX_REFUSED_CHATS) -> None:
        self._server_refuses = False
        self._chats: OrderedDict[int, None] = OrderedDict()
        self._max_chats = max_chats

    def usable(self, chat_id: int) -> bool:
        """Whether a reply in `chat_id` should stream as a draft."""
        return not self._server_refuses and chat_id not in self._chats

    def refused(self, chat_id: int, refusal: DraftRefusal, exc: TelegramError) -> None:
        """Telegram refused a draft in `chat_id` for this reason; logged once per chat (or,
        for the server, once)."""
        if refusal is DraftRefusal.SERVER:
            if not self._server_refuses:
                log.warning(
                    "the Bot API server refuses message drafts (%s): replies stream with edits",
                    exc.message,
                )
            self._server_refuses = True
            return
        if chat_id not in self._chats:
            log.warning(
                "chat %s refuses message drafts (%s): its replies stream with edits",
                chat_id,
                exc.message,
            )
        self._chats[chat_id] = None
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)


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
    ) -> None:
        if draft_id == 0:
            raise ValueError("a draft id must be non-zero")
        self._bot = bot
        self._outbox = outbox
        self._dest = destination
        self._support = support
        self._draft_id = draft_id
        self._keepalive = keepalive
        self._stop_after = stop_after  # 0: no Stop message (/stop only)
        self._stop_data = stop_data
        self._typing_interval = typing_interval
        self._text = ReplyText()
        self._drafted: Rendered | None = None  # what the draft shows; None: no draft
        self._drafted_at = 0.0  # loop time of the last draft call
        self._dismissed = False  # a message came after the last draft call: clients dropped it
        self._sealed = False  # the draft shows ⏳: its piece is persisted next
        self._follow = False  # the next call goes right behind the previous one
        self._started_at: float | None = None  # loop time of `start`
        self._stop_tried = False
        self._stop_message: int | None = None
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

    async def update(self, text: str) -> None:
        """Make `text` the newest state; the draft shows it when pacing allows."""
        if self._live is not None:
            await self._live.update(text)
            return
        self._text.source = text
        self._kick()

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        """Persist the final text (and notice) completely, then remove the Stop message."""
        self._text.source = text
        self._text.notice = notice
        self._text.closing = True
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
        due = [self._drafted_at + self._keepalive] if self._drafted is not None else []
        if (stop_at := self._stop_due_at()) is not None:
            due.append(stop_at)
        timeout = None
        if due:
            timeout = max(0.0, min(due) - asyncio.get_running_loop().time())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._dirty.wait()

    def _next_step(self) -> _Step | None:
        """The call the chat needs now, or None when it shows the newest state."""
        head = self._text.head()
        if head is not None and (head.piece is None or head.final or head.complete):
            if head.piece is not None and self._shows_text() and not self._sealed:
                return _Step(_Call.SEAL, urgent=True)
            return _Step(_Call.PERSIST, urgent=True, head=head)
        if self._text.closing or self._dead:
            return None
        now = asyncio.get_running_loop().time()
        stop_at = self._stop_due_at()
        if stop_at is not None and now >= stop_at:
            return _Step(_Call.STOP, urgent=False)
        if head is not None:
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
        if (
            self._stop_data is None
            or self._stop_after <= 0
            or self._stop_tried
            or self._text.closing
            or self._started_at is None
        ):
            return None
        return self._started_at + self._stop_after

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
                self._stop_tried = True
                try:
                    await self._send_stop()
                except BadRequest as exc:  # /stop still works
                    log.info("chat %s: no Stop message: %s", self._dest.chat_id, exc.message)

    async def _draft(self, target: Rendered) -> None:
        """Show `target` in the draft; plain if Telegram refuses its formatting."""
        try:
            await self._send_draft(target)
        except BadRequest as exc:
            if draft_refusal(exc) is not None or not target.entities:
                raise
            log.warning(
                "Telegram refused a draft's formatting (%s); entities: %s; resending as plain text",
                exc.message,
                ", ".join(e.to_json() for e in target.entities),
            )
            await self._send_draft(Rendered(target.text, ()))
        self._drafted, self._dismissed = target, False
        self._drafted_at = asyncio.get_running_loop().time()

    async def _send_draft(self, target: Rendered) -> None:
        await self._bot.send_message_draft(
            self._dest.chat_id,
            self._draft_id,
            # None for the placeholder: no text at all is what asks for "Thinking…".
            text=target.text or None,
            message_thread_id=self._dest.thread_id,
            entities=list(target.entities) or None,
        )

    async def _persist(self, head: Head) -> None:
        """Send the head piece (or the notice alone) as a message; the draft is gone then."""
        rendered = head.target
        try:
            message = await self._send(rendered.text, rendered)
        except BadRequest as exc:
            if not rendered.entities:
                raise
            log.warning(
                "Telegram refused formatting (%s); entities: %s; resending as plain text",
                exc.message,
                ", ".join(e.to_json() for e in rendered.entities),
            )
            message = await self._send(rendered.text, None)
        self._text.message_ids.append(message.message_id)
        if head.shows_notice:
            self._text.notice_shown = True
        if head.piece is not None:
            self._text.freeze(head.piece)
        self._drafted, self._dismissed, self._sealed = None, False, False

    async def _send(self, text: str, rendered: Rendered | None) -> Message:
        extra: dict[str, Any] = {}
        if rendered is not None and rendered.entities:
            extra["entities"] = list(rendered.entities)
        return await self._bot.send_message(
            self._dest.chat_id,
            text,
            message_thread_id=self._dest.thread_id,
            link_preview_options=NO_PREVIEW,
            **extra,
        )

    async def _send_stop(self) -> None:
        """The Stop message, silently; it dismisses the draft, which is shown again at once."""
        assert self._stop_data is not None
        message = await self._bot.send_message(
            self._dest.chat_id,
            STOP_TEXT,
            message_thread_id=self._dest.thread_id,
            reply_markup=stop_keyboard(self._stop_data),
            disable_notification=True,
        )
        self._stop_message = message.message_id
        if self._drafted is not None:
            self._dismissed = True
            self._follow = True

    async def _remove_stop_message(self) -> None:
        message_id, self._stop_message = self._stop_message, None
        if message_id is None or self._dead:
            return
        try:
            await self._outbox.call(
                self._dest.chat_id,
                lambda: self._bot.delete_message(self._dest.chat_id, message_id),
            )
        except TelegramError as exc:  # already deleted by the user, or the chat is gone
            log.info("chat %s: Stop message not deleted: %s", self._dest.chat_id, exc)

    # --- falling back to edits -------------------------------------------------------------

    def _fall_back(self, exc: BadRequest | InvalidToken) -> None:
        """Drafts were refused: the reply goes on with edits, from the text so far."""
        refusal = draft_refusal(exc)
        if refusal is None and isinstance(exc, InvalidToken):
            raise exc  # a real token problem, not the drafts'
        if refusal is None:
            log.warning(
                "chat %s: Telegram refused a message draft (%s); this reply goes on with edits",
                self._dest.chat_id,
                exc.message,
            )
        else:
            self._support.refused(self._dest.chat_id, refusal, exc)
        self._live = LiveReply(
            self._bot,
            self._outbox,
            self._dest,
            typing_interval=self._typing_interval,
            stop_data=self._stop_data,
            text=self._text,
        )

    async def _continue_live(self) -> None:
        """Hand the reply so far to the edits (whatever the draft showed becomes a message)."""
        assert self._live is not None
        if self._text.source:
            await self._live.update(self._text.source)
        elif self._started_at is not None:
            await self._live.start()
