"""The live reply: one Telegram message that grows as the answer streams, then its final form.

Owns what the chat sees of a written reply: "typing…" until the first words, paced edits that
always carry the newest text, rollover past 4096 UTF-16 units without losing or repeating text,
the final text and its notice, the plain-text fallback when Telegram refuses formatting, the Stop
button while it is written (added by edits only, never sent with a new message), a live message's
failures (deleted, bot blocked, group migrated, an answer lost), and closing: no task of it
outlives its turn. Which piece of the text goes into which message is reply_text.py's (a draft
reply that falls back to edits hands its `ReplyText` over); when a call may go is the outbox's
business; how text looks is render/'s.

A lost answer: a sendMessage Telegram carried out but whose answer never came is, to the bot,
the same as one that never arrived (the Bot API has no idempotency key and no way to read the
chat back), and the outbox sends it again rather than risk losing the reply. The user may then
see the copy Telegram kept above the reply: the text as it was at that moment, never with a
Stop button and never edited again. An edit whose answer was lost is harmless: its retry meets
"message is not modified".
"""

from __future__ import annotations

import asyncio
import logging
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
from bot.render.convert import Piece, Rendered

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
STOP_LABEL = "⏹ Stop"


def stop_keyboard(stop_data: str) -> InlineKeyboardMarkup:
    """The ⏹ Stop button, pressed with `stop_data` as its callback data."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(STOP_LABEL, callback_data=stop_data)]])


@dataclass(frozen=True, slots=True)
class _Step:
    """The next Telegram call a reply needs: what to show, and what follows from it."""

    target: Rendered
    urgent: bool  # a new message (first text, rollover) or the final text
    new_message: bool = False  # shown in a message of its own (the notice alone)
    then_freeze: Piece | None = None  # the message is complete once this is shown
    shows_notice: bool = False
    button: bool = False  # the Stop button under it


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

    @property
    def message_ids(self) -> list[int]:
        """Every Telegram message this reply has used, in order."""
        return list(self._text.message_ids)

    async def start(self) -> None:
        """Show "typing…" until the first words are visible."""
        if self._typing is None and not self._text.message_ids:
            self._typing = asyncio.create_task(self._keep_typing(), name="typing")

    async def update(self, text: str) -> None:
        """Make `text` the newest state; it is sent when pacing allows."""
        self._text.source = text
        self._dirty.set()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"live-{self._dest.chat_id}")

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        """Deliver the final text (and notice) completely, then return."""
        self._text.source = text
        self._text.notice = notice
        self._text.closing = True
        self._dirty.set()
        self._stop_typing()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"live-{self._dest.chat_id}")
        else:
            self._outbox.reprioritize(self._dest.chat_id)  # a waiting edit now carries the final
        await self._runner

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
        if step.shows_notice:
            self._text.notice_shown = True
        if step.then_freeze is not None:
            self._freeze(step.then_freeze)

    def _next_step(self) -> _Step | None:
        """The call the screen needs now, or None when it shows the newest state."""
        while True:
            head = self._text.head()
            if head is None:
                return None
            if head.piece is None:  # the notice alone
                return _Step(head.target, urgent=True, new_message=True, shows_notice=True)
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
