"""/export: the current conversation, or every one of the chat, sent as a Markdown document.

Owns the command's arguments, how many exports are prepared at once bot-wide (EXPORTS_AT_ONCE;
a busy bot says so rather than queueing them), the file's name and caption, and sending it. Anyone
in a chat may export it. What is stored and read is the store's; the document's shape is
conversation/transcript.py's, built in a thread since an export may be megabytes. Listing,
switching and forgetting conversations are conversations.py's.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update

from bot.conversation.transcript import moment, size_text, title_of, transcript
from bot.handlers.common import answer, chat_key, destination
from bot.handlers.context import BotContext
from bot.i18n import N_, _, ngettext, number
from bot.store import STORE_ERRORS, ChatKey

log = logging.getLogger(__name__)

# Exports prepared at once, bot-wide (each holds up to EXPORT_MAX_BYTES in memory).
EXPORTS_AT_ONCE = 2
_EXPORTS = "exports_in_progress"  # bot_data key of the semaphore
UPLOAD_TIMEOUT = 60.0  # seconds to send an export (the default for an upload is 20)

EXPORT_USAGE = N_("Usage: /export sends this conversation as a file; /export all sends every one.")
NOTHING_TO_EXPORT = N_("There is nothing to export yet: this conversation has no messages.")
NOTHING_AT_ALL = N_("There is nothing to export yet: this chat has no conversations.")
EXPORT_BUSY = N_("Other exports are being prepared right now. Please try again in a minute.")
EXPORT_FAILED = N_("The bot's database failed, so nothing was exported. Please try again later.")


async def on_export(update: Update, context: BotContext) -> None:
    """Send the current conversation (/export all: every one of this chat) as a Markdown file."""
    message = update.effective_message
    if message is None:
        return
    args = [a.lower() for a in context.args or []]
    if args not in ([], ["all"]):
        await answer(update, context, _(EXPORT_USAGE))
        return
    slots = context.bot_data.setdefault(_EXPORTS, asyncio.Semaphore(EXPORTS_AT_ONCE))
    assert isinstance(slots, asyncio.Semaphore)
    if slots.locked():  # bounded: a queue of exports would hold their memory and updates
        await answer(update, context, _(EXPORT_BUSY))
        return
    async with slots:
        document = await _document(context, chat_key(message), everything=bool(args))
    if isinstance(document, str):
        await answer(update, context, document)
        return
    data, filename, caption = document
    dest = destination(message)
    await context.services.outbox.call(
        dest.chat_id,
        lambda: context.bot.send_document(
            dest.chat_id,
            data,
            filename=filename,
            caption=caption,
            message_thread_id=dest.thread_id,
            write_timeout=UPLOAD_TIMEOUT,
        ),
    )


async def _document(
    context: BotContext, key: ChatKey, *, everything: bool
) -> tuple[bytes, str, str] | str:
    """The export's bytes, file name and caption; or what to answer instead."""
    settings = context.services.settings
    limit = settings.export_max_bytes
    try:
        export = await context.services.store.export(key, everything=everything, max_chars=limit)
    except STORE_ERRORS:
        log.exception("chat %s: the export could not be read", key)
        return _(EXPORT_FAILED)
    if not export.conversations:
        return _(NOTHING_AT_ALL) if everything else _(NOTHING_TO_EXPORT)
    now = time.time()
    document = await asyncio.to_thread(
        transcript,
        export,
        group=key.chat_id < 0,
        max_bytes=limit,
        exported_at=now,
        default_model=settings.default_model,
    )
    day = moment(now)[:10]
    count = len(export.conversations)
    if everything:
        filename = f"conversations-{day}.md"
        caption = ngettext(
            "{count} conversation of this chat, most recent first.",
            "{count} conversations of this chat, most recent first.",
            count,
        ).format(count=number(count))
    else:
        filename = f"conversation-{day}.md"
        first = export.conversations[0].summary
        # Translators: the caption of an exported conversation: {title} is the start of its
        # first question; a turn is a question and its answer.
        caption = ngettext("“{title}”: {count} turn.", "“{title}”: {count} turns.", first.turns)
        caption = caption.format(title=title_of(first.first_question), count=number(first.turns))
    if not document.complete:
        # Translators: {size} is a size such as "1.0 MB".
        cut = _("Cut at the size limit of {size}: older messages are left out.")
        caption += " " + cut.format(size=size_text(limit))
    return document.text.encode(), filename, caption
