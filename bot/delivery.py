"""The live reply: one Telegram message that grows as the answer streams, then its final form.

Owns what the chat sees of a reply: "typing…" until the first words, the first visible text as
soon as it exists, paced edits that always carry the newest text (intermediate states coalesce
while waiting), rollover into further messages past 4096 UTF-16 units without losing or
repeating text, the final formatted flush, the plain-text safety net when Telegram rejects
formatting, the Stop button under the message being written (gone once the reply ends), and
the Telegram failures of a live message: deleted by the user (continue in a new message), bot
blocked (stop quietly), group migrated (follow it). Timing and retries belong to `outbox.py`;
formatting and splitting to `render.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.outbox import Outbox, Priority
from bot.render import TELEGRAM_TEXT_LIMIT, Piece, Rendered, split_markdown, utf16_len

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
STOP_LABEL = "⏹ Stop"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a reply goes: the chat, its forum topic, the message it answers."""

    chat_id: int
    thread_id: int | None = None  # None for private chats, plain groups and the General topic
    reply_to: int | None = None


def with_notice(rendered: Rendered, notice: str) -> Rendered | None:
    """`rendered` followed by an italic notice, or None when the two don't fit one message."""
    mark = f"⚠️ {notice}"
    if not rendered.text:
        return Rendered(mark, (MessageEntity(MessageEntity.ITALIC, 0, utf16_len(mark)),))
    text = f"{rendered.text}\n\n{mark}"
    if utf16_len(text) > TELEGRAM_TEXT_LIMIT:
        return None
    italic = MessageEntity(MessageEntity.ITALIC, utf16_len(rendered.text) + 2, utf16_len(mark))
    return Rendered(text, (*rendered.entities, italic))


class LiveReply:
    """A `ReplySink` that streams into Telegram messages."""

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        destination: Destination,
        *,
        typing_interval: float = 4.0,
        stop_data: str | None = None,
    ) -> None:
        self._bot = bot
        # callback_data of the Stop button shown while the reply is written; None: no button.
        self._stop_button = (
            None
            if stop_data is None
            else InlineKeyboardMarkup([[InlineKeyboardButton(STOP_LABEL, callback_data=stop_data)]])
        )
        self._shown_button = False  # whether _current shows the Stop button
        self._outbox = outbox
        self._dest = destination
        self._typing_interval = typing_interval
        self._source = ""
        self._notice: str | None = None
        self._frozen_end = 0  # source before this offset is in finished messages
        self._carry = ""  # markdown that reopens a code block split at _frozen_end
        self._current: int | None = None  # message id of the message still being edited
        self._shown: Rendered | None = None  # what _current displays
        self._message_ids: list[int] = []
        self._closing = False
        self._dead = False  # the chat can't receive messages (bot blocked, chat gone)
        self._dirty = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._typing: asyncio.Task[None] | None = None

    @property
    def message_ids(self) -> list[int]:
        """Every Telegram message this reply has used, in order."""
        return list(self._message_ids)

    async def start(self) -> None:
        """Show "typing…" until the first words are visible."""
        if self._typing is None:
            self._typing = asyncio.create_task(self._keep_typing(), name="typing")

    async def update(self, text: str) -> None:
        """Make `text` the newest state; it is sent when pacing allows."""
        self._source = text
        self._dirty.set()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"live-{self._dest.chat_id}")

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        """Deliver the final text (and notice) completely, then return."""
        self._source = text
        self._notice = notice
        self._closing = True
        self._dirty.set()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"live-{self._dest.chat_id}")
        try:
            await self._runner
        finally:
            self._stop_typing()

    async def _run(self) -> None:
        while not self._dead:
            await self._dirty.wait()
            self._dirty.clear()
            busy = True
            while busy and not self._dead:
                busy = await self._step()
            if self._closing and not self._dirty.is_set():
                return

    async def _step(self) -> bool:
        """Perform the next Telegram call the screen needs; False when it is up to date."""
        pieces = self._pieces()
        if not pieces:
            return False
        first_text = self._current is None and not self._message_ids
        final = self._closing
        urgent = first_text or final or len(pieces) > 1
        piece = pieces[0]
        target = piece.rendered
        if final and len(pieces) == 1 and self._notice:
            target = with_notice(target, self._notice) or target
        # Not on the first send: a short reply would pay an extra edit just to remove it.
        button = self._stop_button is not None and not (final or first_text) and len(pieces) == 1
        if self._current is not None and target == self._shown and button == self._shown_button:
            if len(pieces) == 1:
                return False
            self._freeze(piece)
            return True
        try:
            await self._outbox.call(
                self._dest.chat_id,
                lambda: self._show(target, button=button),
                priority=Priority.URGENT if urgent else Priority.EDIT,
                retry_flood=urgent,
            )
        except RetryAfter:
            return True  # the chat is held; try again with whatever is newest by then
        except Forbidden as exc:
            log.info("chat %s can't receive the reply: %s", self._dest.chat_id, exc)
            self._dead = True
            return False
        except NetworkError as exc:
            if final:
                raise
            # Retries are spent; newer text will try again, and the final text always does.
            log.warning("chat %s: live edit failed (%s); waiting for newer text", self._dest, exc)
            return False
        if len(pieces) > 1:
            self._freeze(piece)
            return True
        if final and self._notice and target is piece.rendered:
            await self._send_notice_alone()
        return False

    def _pieces(self) -> list[Piece]:
        pieces = split_markdown(self._source, start=self._frozen_end, carry=self._carry)
        if not pieces and self._closing and self._current is None and not self._message_ids:
            # Nothing to show at all: the notice alone is the reply.
            notice = self._notice or "(empty reply)"
            self._notice = None
            mark = with_notice(Rendered("", ()), notice)
            assert mark is not None
            return [Piece(mark, len(self._source), "")]
        return pieces

    def _freeze(self, piece: Piece) -> None:
        self._frozen_end = piece.end
        self._carry = piece.carry
        self._current = None
        self._shown = None

    async def _send_notice_alone(self) -> None:
        notice, self._notice = self._notice, None
        assert notice is not None
        mark = with_notice(Rendered("", ()), notice)
        assert mark is not None
        self._current = None
        await self._outbox.call(self._dest.chat_id, lambda: self._show(mark))

    async def _show(self, rendered: Rendered, *, button: bool = False) -> None:
        """Send or edit the current message; fall back to plain text if formatting is refused."""
        try:
            await self._send_or_edit(rendered, button=button)
        except BadRequest as exc:
            reason = exc.message.lower()
            if "not modified" in reason:
                # Already on screen: an earlier attempt whose answer was lost got through.
                self._shown, self._shown_button = rendered, button
            elif "message to edit not found" in reason:
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
            message = await self._send(rendered.text, entities, markup)
            self._current = message.message_id
            self._message_ids.append(message.message_id)
            self._stop_typing()
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

    async def _send(
        self,
        text: str,
        entities: list[MessageEntity] | None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message:
        extra: dict[str, Any] = {}
        # Only the first message answers the user's; continuations follow it.
        if self._dest.reply_to is not None and not self._message_ids:
            extra["reply_parameters"] = ReplyParameters(
                self._dest.reply_to, allow_sending_without_reply=True
            )
        return await self._bot.send_message(
            self._dest.chat_id,
            text,
            entities=entities,
            message_thread_id=self._dest.thread_id,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup,
            **extra,
        )

    async def _keep_typing(self) -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await self._outbox.call(
                    self._dest.chat_id,
                    lambda: self._bot.send_chat_action(
                        self._dest.chat_id,
                        ChatAction.TYPING,
                        message_thread_id=self._dest.thread_id,
                    ),
                    priority=Priority.BACKGROUND,
                    paced=False,
                )
            await asyncio.sleep(self._typing_interval)

    def _stop_typing(self) -> None:
        if self._typing is not None:
            self._typing.cancel()
            self._typing = None
