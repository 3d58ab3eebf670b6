"""Documents sent to the bot: read as text and asked about in the conversation.

Owns turning a document — a text file, or the text of a PDF or Word file — into a turn holding
its text (a caption is the question; without one the model is asked to summarise it), the chat's
notice when only part of it is read, and the answers for files the bot can't read: at once,
before downloading, for kinds it never reads (at most BAD_INPUT_ANSWERS a minute per chat, like
bad_input.py's); once read, for a PDF that needs a password, has no text layer, is damaged or
goes past a limit. A file is queued as what the inbox keeps of it (kept.py) and downloaded
(media.py's `download`) when its turn comes; a PDF or Word file is downloaded and read inside one
of the bot's DOCUMENT_CONCURRENCY slots. Which files are which is media/attachments.py's, fitting
their text into the budget media/document_text.py's, reading PDF and Word files
media/documents.py's; photos are media.py's.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.conversation.limits import too_long_text
from bot.conversation.turns import UserTurn
from bot.errors import AttachmentRefused
from bot.handlers.bad_input import answer_bad_input
from bot.handlers.chat import TurnContext, converse, kept_turn, turn_context
from bot.handlers.common import send_text
from bot.handlers.context import BotContext
from bot.handlers.kept import FileRef, document_record, file_of, quote_in
from bot.handlers.media import download, too_big
from bot.i18n import N_, _, ngettext, number
from bot.media import attachments, document_text, documents
from bot.media.attachments import DocumentKind
from bot.media.document_text import DocumentText, ReadSpan
from bot.media.documents import DocumentUnreadable, Unreadable
from bot.store import Received

log = logging.getLogger(__name__)

AS_PHOTO = N_("Please send pictures as a photo, not as a file, so I can look at them.")
# The question of a document sent without a caption: the model summarises it, and the document
# stays in the conversation for the questions that follow.
NO_QUESTION = "(Sent without a question: summarise it briefly, then offer to answer questions.)"
READ_FORMATS = {DocumentKind.PDF: documents.Format.PDF, DocumentKind.WORD: documents.Format.WORD}


def unnamed() -> str:
    """What the answers call a file sent without a name (Telegram's file_name is optional)."""
    # Translators: stands for the name of a file sent without one, as in "I can't read {name}."
    # or "{name} is too big": a label, which may begin a sentence.
    return _("(unnamed file)")


async def on_document(update: Update, context: BotContext) -> None:
    """Read a text, PDF or Word file into the conversation, or say which files the bot reads."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    document = message.document
    name = document.file_name or unnamed()
    kind = attachments.document_kind(document.file_name, document.mime_type)
    if kind is DocumentKind.IMAGE:
        await answer_bad_input(update, context, _(AS_PHOTO))
        return
    if kind is DocumentKind.OFFICE:
        refusal = attachments.office_refusal(name, document.mime_type)
        await answer_bad_input(update, context, refusal)
        return
    if kind is DocumentKind.OTHER:
        # Translators: {name} is a file's name; {supported} says which files the bot reads.
        refusal = _("I can't read {name}. {supported}")
        await answer_bad_input(
            update, context, refusal.format(name=name, supported=_(attachments.SUPPORTED))
        )
        return
    cap = context.services.settings.document_max_bytes
    if document.file_size is not None and document.file_size > cap:
        await answer_bad_input(update, context, too_big(name, document.file_size, cap))
        return
    record = document_record(message, context.bot)
    build = turn_context(message, context)
    await converse(message, context, lambda: document_turn(build, record), kept=(record,))


async def document_turn(build: TurnContext, record: Received) -> UserTurn:
    """The turn for a document: its name, size (and a PDF's pages) and text, cut to the context
    budget (which the user is told about), then the caption, or without one a request to
    summarise it. Cut so the whole turn, any quoted message included, passes MAX_MESSAGE_CHARS:
    what the user is told is read is what goes upstream."""
    settings = build.services.settings
    document = file_of(record)
    name = document.name or unnamed()
    limit = settings.max_message_chars
    quote = quote_in(record)
    # What quoting the replied-to message adds in front of any text (0 when nothing is quoted).
    quoting = len(build.quoted("x", quote)) - 1
    budget = document_text.document_budget(settings.history_char_budget, limit, quoting)
    question = record.content or NO_QUESTION
    kind = attachments.document_kind(name, document.mime_type)
    if kind in READ_FORMATS:
        read = await _read_document(build, document, READ_FORMATS[kind], question, budget)
    else:
        data = await download(build, document.file_id, name, settings.document_max_bytes)
        read = await asyncio.to_thread(_text_file, name, data, question, budget)
    text = build.quoted(read.text, quote)
    if len(text) > limit:
        # The caption and the quoted message leave no room for the file: say so now, before
        # promising to read any of it.
        raise AttachmentRefused(too_long_text(len(text), limit))
    if read.total and not read.shown:
        # Translators: {name} is a file's name; {limit} is a number of characters.
        refusal = _(
            "Your question leaves no room for {name} in one message of at most {limit} "
            "characters. Please ask a shorter question."
        )
        raise AttachmentRefused(refusal.format(name=name, limit=number(limit)))
    if read.truncated:
        await send_text(
            build.bot,
            build.services.outbox,
            build.destination,
            _read_notice(name, read.span),
        )
    return kept_turn(record, text)


def _text_file(name: str, data: bytes, question: str, budget: int) -> DocumentText:
    """A text file's turn (in a thread: a file of megabytes takes milliseconds to scan)."""
    content = attachments.decode_text(data)
    if content is None:
        # Translators: {name} is a file's name; {supported} says which files the bot reads.
        refusal = _(
            "I couldn't read {name} as text: it is binary or not UTF-8. "
            "{supported} Save it as UTF-8 text, or paste the text in a message."
        )
        raise AttachmentRefused(refusal.format(name=name, supported=_(attachments.SUPPORTED)))
    return document_text.document_text(name, len(data), content, question, budget=budget)


async def _read_document(
    build: TurnContext, document: FileRef, kind: documents.Format, question: str, budget: int
) -> DocumentText:
    """A PDF's or Word file's turn: downloaded and read in one of the bot's document slots, so a
    burst of them waits holding no file and no process."""
    settings = build.services.settings
    name = document.name or unnamed()
    limits = documents.ReadLimits(
        pages=settings.document_max_pages,
        # No more than the turn can show: the rest would be read to be cut.
        chars=max(1, min(settings.document_max_chars, budget)),
        seconds=settings.document_timeout,
        memory=settings.document_max_memory,
    )
    async with build.services.document_slots.slot():
        data = await download(build, document.file_id, name, settings.document_max_bytes)
        try:
            content = await documents.read_document(data, kind, limits)
        except DocumentUnreadable as exc:
            log.info("document %s not read: %s", name, exc)
            refusal = _unreadable(name, kind, exc.why, settings.document_timeout)
            raise AttachmentRefused(refusal) from None
    if not content.has_text:
        raise AttachmentRefused(_no_text(name, content))
    return await asyncio.to_thread(
        document_text.extracted_text, name, len(data), content, question, budget=budget
    )


def _unreadable(name: str, kind: documents.Format, why: Unreadable, timeout: float) -> str:
    """What the sender reads about a PDF or Word file that could not be read (`name` is the
    file's name in each)."""
    instead = _("Send a smaller file, or paste the part you need as text.")
    if why is Unreadable.ENCRYPTED:
        return _(
            "{name} is protected by a password, so I can't read it. Send a copy without "
            "the password, or paste the text in a message."
        ).format(name=name)
    if why is Unreadable.OLD_FORMAT:
        advice = attachments.OFFICE_ADVICE["document"]  # outside _(): its key is no message
        # Translators: {advice} says how to save the file in a format the bot reads.
        return _(
            "I can't read {name}: it is protected by a password or saved in the old Word "
            "format (.doc). {advice}"
        ).format(name=name, advice=_(advice))
    if why is Unreadable.TOO_BIG:
        # Translators: {instead} suggests sending a smaller file or pasting text.
        return _(
            "{name} is too big or too complex for me to read: it unpacks to more than I allow "
            "for one file. {instead}"
        ).format(name=name, instead=instead)
    if why is Unreadable.TIMED_OUT:
        # Translators: {seconds} is a number of seconds; {instead} suggests sending a smaller
        # file or pasting text.
        return _("Reading {name} took longer than {seconds} s, so I stopped. {instead}").format(
            name=name, seconds=number(timeout), instead=instead
        )
    if kind is documents.Format.PDF:
        return _("I couldn't read {name}: it seems damaged, or it isn't really a PDF.").format(
            name=name
        )
    return _(
        "I couldn't read {name}: it seems damaged, or it isn't really a Word (.docx) document."
    ).format(name=name)


def _no_text(name: str, content: documents.DocumentContent) -> str:
    """What the sender reads about a document without any text (`name` is the file's name)."""
    if content.page_count is None:
        return _(
            "{name} has no text I can read. If it holds pictures of text, send them as photos."
        ).format(name=name)
    pages = len(content.pages)
    if pages == content.page_count:
        return _(
            "{name} has no text I can read: it seems to be scanned pages (images). "
            "Send the pages as photos and I'll read them."
        ).format(name=name)
    return ngettext(
        "{name} has no text I can read on its first {pages} page: it seems to be scanned pages "
        "(images). Send the pages as photos and I'll read them.",
        "{name} has no text I can read on its first {pages} pages: it seems to be scanned pages "
        "(images). Send the pages as photos and I'll read them.",
        pages,
    ).format(name=name, pages=number(pages))


def _read_notice(name: str, span: ReadSpan | None) -> str:
    """The chat's notice that only part of the document `name` is read: which part."""
    if span is None:
        return ""
    if span.page_count is None or span.last_page is None:
        if span.total is None:
            return ngettext(
                "{name} is longer than I can read at once: I'm reading its first {shown} "
                "character.",
                "{name} is longer than I can read at once: I'm reading its first {shown} "
                "characters.",
                span.shown,
            ).format(name=name, shown=number(span.shown))
        # Translators: {name} is a file's name; {shown} and {total} count characters.
        return _(
            "{name} is longer than I can read at once: "
            "I'm reading its first {shown} of {total} characters."
        ).format(name=name, shown=number(span.shown), total=number(span.total))
    values = {"name": name, "last": number(span.last_page), "count": number(span.page_count)}
    if span.last_page == 1:
        if span.partial:
            # Translators: {name} is a file's name; {count} is how many pages the PDF has.
            text = _(
                "{name} is longer than I can read at once: I'm reading page 1 of {count} "
                "(and that page only in part)."
            )
        else:
            # Translators: {name} is a file's name; {count} is how many pages the PDF has.
            text = _("{name} is longer than I can read at once: I'm reading page 1 of {count}.")
    elif span.partial:
        # Translators: {name} is a file's name; pages 1 to {last} of the PDF's {count} are read.
        text = _(
            "{name} is longer than I can read at once: I'm reading pages 1\u2013{last} of "
            "{count} (page {last} only in part)."
        )
    else:
        # Translators: {name} is a file's name; pages 1 to {last} of the PDF's {count} are read.
        text = _(
            "{name} is longer than I can read at once: I'm reading pages 1\u2013{last} of {count}."
        )
    return text.format(**values)
