"""The Telegram calls a draft reply makes, each with its own fallback: a draft, a finished piece
as a message, and the small Stop message (when it is due, sending and deleting it).

Owns how each call is worded (what `sendMessageDraft` needs to show "Thinking…", no link previews,
a silent Stop message) and the plain-text resend when Telegram refuses formatting; a refusal of
drafts themselves is raised for draft_reply.py to fall back on. Decides neither what to show
(reply_text.py, draft_reply.py) nor when (the outbox; the Stop message's deletion it queues there
itself).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Message
from telegram.error import BadRequest, TelegramError

from bot.delivery.destination import Destination
from bot.delivery.live_reply import NO_PREVIEW, stop_keyboard
from bot.delivery.outbox import Outbox
from bot.delivery.telegram_errors import draft_refusal
from bot.i18n import N_, _
from bot.render.convert import Rendered

log = logging.getLogger(__name__)

# Translators: the message above an answer being written (as a draft), with the Stop button.
STOP_TEXT = N_("Writing the answer…")


async def show_draft(bot: Bot, dest: Destination, draft_id: int, target: Rendered) -> None:
    """Show `target` in the draft; plain if Telegram refuses its formatting."""
    try:
        await _send_draft(bot, dest, draft_id, target)
    except BadRequest as exc:
        if draft_refusal(exc) is not None or not target.entities:
            raise
        log.warning(
            "Telegram refused a draft's formatting (%s); entities: %s; resending as plain text",
            exc.message,
            ", ".join(e.to_json() for e in target.entities),
        )
        await _send_draft(bot, dest, draft_id, Rendered(target.text, ()))


async def _send_draft(bot: Bot, dest: Destination, draft_id: int, target: Rendered) -> None:
    await bot.send_message_draft(
        dest.chat_id,
        draft_id,
        # None for the placeholder: no text at all is what asks for "Thinking…".
        text=target.text or None,
        message_thread_id=dest.thread_id,
        entities=list(target.entities) or None,
    )


async def send_piece(bot: Bot, dest: Destination, rendered: Rendered) -> Message:
    """Send `rendered` as a message of the reply; plain if Telegram refuses its formatting."""
    try:
        return await _send(bot, dest, rendered)
    except BadRequest as exc:
        if not rendered.entities:
            raise
        log.warning(
            "Telegram refused formatting (%s); entities: %s; resending as plain text",
            exc.message,
            ", ".join(e.to_json() for e in rendered.entities),
        )
        return await _send(bot, dest, Rendered(rendered.text, ()))


async def _send(bot: Bot, dest: Destination, rendered: Rendered) -> Message:
    extra: dict[str, Any] = {}
    if rendered.entities:
        extra["entities"] = list(rendered.entities)
    return await bot.send_message(
        dest.chat_id,
        rendered.text,
        message_thread_id=dest.thread_id,
        link_preview_options=NO_PREVIEW,
        **extra,
    )


class StopMessage:
    """The small silent message with the ⏹ Stop button (a draft can't carry one), sent once a
    reply is still written `after` seconds into it (0: never, /stop only), deleted at its end."""

    def __init__(
        self, bot: Bot, outbox: Outbox, dest: Destination, data: str | None, after: float
    ) -> None:
        self._bot, self._outbox, self._dest = bot, outbox, dest
        self.data = data  # the button's callback data; None: no Stop message
        self._after = after
        self._tried = False
        self._id: int | None = None

    def due_at(self, started_at: float | None) -> float | None:
        """When it is due (loop time) for a reply started at `started_at`, if still to come."""
        if self.data is None or self._after <= 0 or self._tried or started_at is None:
            return None
        return started_at + self._after

    async def send(self) -> bool:
        """Send it (once, whatever comes of it); whether it was sent."""
        assert self.data is not None
        self._tried = True
        try:
            message = await self._bot.send_message(
                self._dest.chat_id,
                _(STOP_TEXT),
                message_thread_id=self._dest.thread_id,
                reply_markup=stop_keyboard(self.data),
                disable_notification=True,
            )
        except BadRequest as exc:  # /stop still works
            log.info("chat %s: no Stop message: %s", self._dest.chat_id, exc.message)
            return False
        self._id = message.message_id
        return True

    async def remove(self) -> None:
        """Delete it, if it was sent, through the outbox; a failure is only logged."""
        message_id, self._id = self._id, None
        if message_id is None:
            return
        chat_id = self._dest.chat_id
        try:
            await self._outbox.call(chat_id, lambda: self._bot.delete_message(chat_id, message_id))
        except TelegramError as exc:  # already deleted by the user, or the chat is gone
            log.info("chat %s: Stop message not deleted: %s", chat_id, exc)
