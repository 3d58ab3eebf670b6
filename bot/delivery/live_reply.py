"""The live reply: one Telegram message that grows as the answer streams, then its final form.

Owns what the chat sees of a written reply: "typing…" until the first words, paced edits that
always carry the newest text, rollover past 4096 UTF-16 units without losing or repeating text,
the final text and its notice, the plain-text fallback when Telegram refuses formatting, the Stop
button while it is written (added by edits only, never sent with a new message), a live message's
failures (deleted, bot blocked, group migrated, an answer lost), and closing: no task of it
outlives its turn. Which piece of the text goes into which message is reply_text.py's (a draft
reply that falls back to edits hands its `ReplyText` over); when a call may go is the outbox's
business; how text looks is render/'s.

A reasoning model's thinking (`think`, a `ThinkingSink`): while it thinks and no answer has come,
the live message says so and for how long ("💭 Thinking… 12 s", its seconds moving on at the
pace of any edit, the Stop button under it). When the answer begins, that message becomes its
first: the reasoning above it as the chat shows reasoning (reply_text.py lays it out with
render/reasoning.py), or the first of the reasoning's own messages when it is shown in full.

A lost answer: a sendMessage Telegram carried out but whose answer never came is, to the bot,
the same as one that never arrived (the Bot API has no idempotency key and no way to read the
chat back), and the outbox sends it again rather than risk losing the reply. The user may then
see the copy Telegram kept above the reply: the text as it was at that moment, never with a
Stop button and never edited again. An edit whose answer was lost is harmless: its retry meets
"message is not modified".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError

from bot.delivery import telegram_errors
from bot.delivery.destination import Destination, keep_acting
from bot.delivery.outbox import NothingToSend, Outbox, Priority
from bot.delivery.reply_text import ReplyText
from bot.i18n import N_, _
from bot.render.convert import Piece, Rendered
from bot.types import Clock, ShowReasoning

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Translators: the button under a reply being written that stops it.
STOP_LABEL = N_("⏹ Stop")


def stop_keyboard(stop_data: str) -> InlineKeyboardMarkup:
    """The ⏹ Stop button, pressed with `stop_data` as its callback data."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(_(STOP_LABEL), callback_data=stop_data)]])


@dataclass(frozen=True, slots=True)
class _Step:
    """The next Telegram call a reply needs: what to show, and what follows from it."""

    target: Rendered
    urgent: bool  # a new message (first text, rollover) or the final text
    new_message: bool = False  # shown in a message of its own (the notice alone)
    then_freeze: Piece | None = None  # the message is complete once this is shown
    shows_notice: bool = False
    button: bool = False  # the Stop button under it
    lead: bool = False  # one of the reasoning's own messages: complete once shown
    thinking: bool = False  # the line saying the model thinks


class LiveReply:
    """A `ReplySink` that streams into Telegram messages.

    One call at a time is queued in the outbox; what it shows is read only when the outbox lets
    it go, so every call carries the newest text and the states in between never cost a call.
    `text`: the state of a reply that began another way (a draft) and goes on here; its next
    message starts where that one's finished messages end.
    """

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        destination: Destination,
        *,
        typing_interval: float = 4.0,
        stop_data: str | None = None,
        text: ReplyText | None = None,
        clock: Clock = time.monotonic,
        thinking_tick: float = 1.0,
    ) -> None:
        self._bot = bot
        # callback_data of the Stop button shown while the reply is written; None: no button.
        self._stop_button = None if stop_data is None else stop_keyboard(stop_data)
        self._shown_button = False  # whether _current shows the Stop button
        self._outbox = outbox
        self._dest = destination
        self._typing_interval = typing_interval
        self._text = ReplyText() if text is None else text
        self._current: int | None = None  # message id of the message still being edited
        self._shown: Rendered | None = None  # what _current displays
        self._urgent = False  # the call waiting in the outbox shows a first or final text
        self._dead = False  # the chat can't receive messages (bot blocked, chat gone)
        self._dirty = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._typing: asyncio.Task[None] | None = None
        self._clock = clock
        self._thinking_tick = thinking_tick  # seconds between looks at the thinking line
        self._thinking_shown = False  # _current shows the thinking line

    @property
    def message_ids(self) -> list[int]:
        """Every Telegram message this reply has used, in order."""
        return list(self._text.message_ids)

    async def start(self) -> None:
        """Show "typing…" until the first words are visible."""
        if self._typing is None and not self._text.message_ids:
            self._typing = asyncio.create_task(self._keep_typing(), name="typing")

    async def think(self, reasoning: str, *, show: ShowReasoning) -> None:
        """Make `reasoning` the newest thinking: "thinking…" until the answer, then as `show`."""
        self._text.think(reasoning, show, self._clock())
        self._wake()

    async def update(self, text: str) -> None:
        """Make `text` the newest state; it is sent when pacing allows."""
        self._text.set_source(text, self._clock())
        self._wake()

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        """Deliver the final text (and notice) completely, then return."""
        self._text.end(text, notice, self._clock())
        self._dirty.set()
        self._stop_typing()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"live-{self._dest.chat_id}")
        else:
            self._outbox.reprioritize(self._dest.chat_id)  # a waiting edit now carries the final
        await self._runner

    def _wake(self) -> None:
        self._dirty.set()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"live-{self._dest.chat_id}")

    async def close(self) -> None:
        """Stop "typing…" and any delivery still waiting (the turn is over: `finish` has run,
        or something failed before it could); nothing more is sent."""
        tasks = [task for task in (self._typing, self._runner) if task and not task.done()]
        self._typing = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        while not self._dead:
            self._dirty.clear()
            step = self._next_step()
            if step is None:
                if self._text.closing:
                    return
                if self._text.thinking():
                    # The seconds on the thinking line move on without news from the model.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._thinking_tick):
                            await self._dirty.wait()
                else:
                    await self._dirty.wait()
                continue
            self._urgent = step.urgent
            try:
                await self._outbox.call(self._dest.chat_id, self._deliver, priority=self._urgency)
            except NothingToSend:
                continue  # the newest state was already on screen; look again
            except Forbidden as exc:
                log.info("chat %s can't receive the reply: %s", self._dest.chat_id, exc)
                self._dead = True
                self._stop_typing()
            except NetworkError as exc:
                if self._text.closing:
                    raise
                # Retries are spent; newer text will try again, and the final text always does.
                log.warning(
                    "chat %s: live edit failed (%s); waiting for newer text", self._dest, exc
                )
                await self._dirty.wait()

    def _urgency(self) -> Priority:
        return Priority.URGENT if self._urgent or self._text.closing else Priority.EDIT

    async def _deliver(self) -> None:
        """Show the newest state: called by the outbox when the call may go."""
        step = self._next_step()
        if step is None:
            # The screen already shows the newest state: rendering hid the change, or the final
            # text took back the Stop button this call was queued to add.
            raise NothingToSend
        if step.new_message:
            self._current = None
        await self._show(step.target, button=step.button)
        self._thinking_shown = step.thinking
        if step.shows_notice:
            self._text.notice_shown = True
        if step.then_freeze is not None:
            self._freeze(step.then_freeze)
        if step.lead:
            self._text.leads_shown += 1
            self._current, self._shown = None, None

    def _next_step(self) -> _Step | None:
        """The call the screen needs now, or None when it shows the newest state."""
        if self._text.thinking():
            return self._thinking_step()
        while True:
            head = self._text.head(thinking_shown=self._thinking_shown)
            if head is None:
                return None
            if head.lead:
                shown = self._current is not None and head.target == self._shown
                if shown and not self._shown_button:  # on screen: a lost answer's retry got in
                    self._text.leads_shown += 1
                    self._current, self._shown = None, None
                    continue
                return _Step(head.target, urgent=True, lead=True)
            if head.piece is None:  # the end: the notice, or the reasoning's block, alone
                if self._current is not None and head.target == self._shown:
                    self._text.notice_shown = True
                    return None
                return _Step(head.target, urgent=True, new_message=head.alone, shows_notice=True)
            closing = self._text.closing
            freeze = head.piece if head.complete else None
            # Only an edit shows the Stop button, never a new message: a sendMessage whose
            # answer is lost is sent again, and the copy Telegram did keep, whose id the bot
            # never learnt, must not keep a button nobody can remove. (A short reply done at
            # once would also pay an extra edit just to remove it.)
            button = self._stop_button is not None and self._current is not None
            button = button and not (closing or head.more)
            if (
                self._current is not None
                and head.target == self._shown
                and button == self._shown_button
            ):
                if freeze is None:
                    return None
                self._freeze(freeze)
                continue
            urgent = self._current is None or closing or head.more
            return _Step(
                head.target,
                urgent,
                then_freeze=freeze,
                shows_notice=head.shows_notice,
                button=button,
            )

    def _thinking_step(self) -> _Step | None:
        target = self._text.thinking_line(self._clock())
        button = self._stop_button is not None and self._current is not None
        if self._current is not None and target == self._shown and button == self._shown_button:
            return None
        return _Step(target, urgent=self._current is None, button=button, thinking=True)

    def _freeze(self, piece: Piece) -> None:
        self._text.freeze(piece)
        self._current = None
        self._shown = None

    async def _show(self, rendered: Rendered, *, button: bool = False) -> None:
        """Send or edit the current message; fall back to plain text if formatting is refused."""
        try:
            await self._send_or_edit(rendered, button=button)
        except BadRequest as exc:
            if telegram_errors.not_modified(exc):
                # Already on screen: an earlier attempt whose answer was lost got through.
                self._shown, self._shown_button = rendered, button
            elif telegram_errors.edit_target_gone(exc):
                log.info("chat %s: live message was deleted; continuing in a new one", self._dest)
                self._current = None
                await self._send_or_edit(rendered, button=button)
            elif rendered.entities:
                log.warning(
                    "Telegram refused formatting (%s); entities: %s; resending as plain text",
                    exc.message,
                    ", ".join(e.to_json() for e in rendered.entities),
                )
                await self._send_or_edit(Rendered(rendered.text, ()), button=button)
                self._shown = rendered
            else:
                raise
        except ChatMigrated as exc:
            log.info("chat %s migrated to %s", self._dest.chat_id, exc.new_chat_id)
            # The message so far stays in the old group; the reply goes on in the supergroup.
            self._dest = Destination(int(exc.new_chat_id), self._dest.thread_id, None)
            self._current = None
            await self._send_or_edit(rendered, button=button)

    async def _send_or_edit(self, rendered: Rendered, *, button: bool = False) -> None:
        entities = list(rendered.entities) or None
        markup = self._stop_button if button else None
        if self._current is None:
            # Without the button, whatever the step wanted (see _next_step); an edit adds it.
            message = await self._send(rendered.text, entities)
            self._current = message.message_id
            self._text.message_ids.append(message.message_id)
            self._stop_typing()
            button = False
        elif rendered == self._shown:
            # Only the button changes; the text on screen (perhaps the plain-text fallback of
            # `rendered`) stays as it is.
            await self._bot.edit_message_reply_markup(
                chat_id=self._dest.chat_id, message_id=self._current, reply_markup=markup
            )
        else:
            # An edit without reply_markup removes the button: it must be sent every time.
            await self._bot.edit_message_text(
                rendered.text,
                chat_id=self._dest.chat_id,
                message_id=self._current,
                entities=entities,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup,
            )
        self._shown, self._shown_button = rendered, button

    async def _send(self, text: str, entities: list[MessageEntity] | None) -> Message:
        extra: dict[str, Any] = {}
        # Only the first message answers the user's; continuations follow it.
        if self._dest.reply_to is not None and not self._text.message_ids:
            extra["reply_parameters"] = ReplyParameters(
                self._dest.reply_to, allow_sending_without_reply=True
            )
        return await self._bot.send_message(
            self._dest.chat_id,
            text,
            entities=entities,
            message_thread_id=self._dest.thread_id,
            link_preview_options=NO_PREVIEW,
            **extra,
        )

    async def _keep_typing(self) -> None:
        await keep_acting(
            self._bot,
            self._outbox,
            self._dest,
            ChatAction.TYPING,
            self._typing_interval,
            until=lambda: bool(self._text.message_ids),
        )

    def _stop_typing(self) -> None:
        if self._typing is not None:
            self._typing.cancel()
            self._typing = None
