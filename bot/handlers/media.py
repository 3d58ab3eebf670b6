"""Photos and documents sent to the bot: downloaded, read, and asked about in the conversation.

Owns turning a photo (or an album: one request for all its photos) into a turn with `image_url`
parts for a vision model, a text document into a turn holding its text, and the answers for files
the bot can't read (at most BAD_INPUT_ANSWERS a minute per chat, like bad_input.py's). A photo
or file is queued as what the inbox keeps of it (kept.py), and built from that when its turn
comes: downloaded then, so a message sent after it is answered after it, and built the same way
after a restart. Reading attachments is media/attachments.py's business, downloading
delivery/telegram_errors.py's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import filters

from bot.conversation.limits import too_long_text
from bot.conversation.turns import UserTurn
from bot.delivery import telegram_errors
from bot.errors import AttachmentRefused
from bot.handlers.addressing import is_addressed
from bot.handlers.bad_input import answer_bad_input
from bot.handlers.chat import TurnContext, converse, kept_turn, turn_context
from bot.handlers.common import send_text
from bot.handlers.context import BotContext
from bot.handlers.kept import document_record, file_of, photo_record, photo_sizes, quote_in
from bot.i18n import N_, _, number
from bot.media import attachments
from bot.media.attachments import DocumentKind
from bot.store import Received
from bot.upstream.catalog import is_vision_model

log = logging.getLogger(__name__)

AS_PHOTO = N_("Please send pictures as a photo, not as a file, so I can look at them.")
DOWNLOAD_FAILED = N_("I couldn't download that file from Telegram. Please send it again.")


class InAlbum(filters.MessageFilter):
    """Messages that belong to a media group; in groups every album photo is looked at, because
    only one of them carries the caption that may address the bot."""

    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None


async def on_photo(update: Update, context: BotContext) -> None:
    """Answer a photo, or a whole album once its last photo has arrived, with a vision model."""
    message = update.effective_message
    if message is None or not message.photo:
        return
    if message.media_group_id is None:
        record = photo_record(message, context.bot)
        build = turn_context(message, context)
        await converse(message, context, lambda: photo_turn(build, [record]), kept=(record,))
        return
    albums = context.services.albums
    key = (message.chat_id, message.media_group_id)
    album = albums.join(key, message)
    if album is None:  # the update that opened this album is collecting it
        return
    if message.chat.type == message.chat.PRIVATE:
        try:
            await _queue_then_collect(message, context, lambda: albums.collect(key, album))
        finally:
            # Refused before it was collected (a limit, a full queue): forget it, so it does
            # not stay in the collector taking the album's items.
            albums.discard(key, album)
        return
    photos = await albums.collect(key, album)
    addressed = [photo for photo in photos if is_addressed(photo, context.bot)]
    if addressed:
        lead = addressed[0]
        records = _album_records(lead, photos, context)
        build = turn_context(lead, context)
        await converse(lead, context, lambda: photo_turn(build, list(records)), kept=records)


async def _queue_then_collect(
    lead: Message, context: BotContext, collect: Callable[[], Awaitable[list[Message]]]
) -> None:
    """A private album: queued at its first photo, so a question typed right after the album
    waits for it, and built from every photo once they have all come (this handler waits for
    them, ALBUM_WAIT after the last one; the turn, when its turn comes, waits for this)."""
    first = photo_record(lead, context.bot)
    album: asyncio.Future[tuple[Received, ...]] = asyncio.get_running_loop().create_future()
    build = turn_context(lead, context)

    async def album_turn() -> UserTurn:
        return await photo_turn(build, list(await asyncio.shield(album)))

    queued = await converse(lead, context, album_turn, kept=(first,))
    try:
        photos = await collect()
        records = _album_records(lead, photos, context)
        if queued:
            # Kept before the turn may be built, so the later photos leave the inbox with it.
            await context.services.conversation.keep_joined(records[1:])
    except BaseException as error:
        # The queued turn must not wait forever: it fails with the reason (explained in the
        # chat); nobody waits for the turn of an album that was refused.
        if not queued:
            album.cancel()
        elif isinstance(error, Exception):
            album.set_exception(error)
        else:
            album.set_exception(RuntimeError("the album's photos were not collected"))
        raise
    album.set_result(records)


def _album_records(
    lead: Message, photos: list[Message], context: BotContext
) -> tuple[Received, ...]:
    """What the inbox keeps of an album: its lead photo, then the others joined to it."""
    others = [photo for photo in photos if photo.message_id != lead.message_id]
    joined = (photo_record(p, context.bot, joined_to=lead.message_id) for p in others)
    return (photo_record(lead, context.bot), *joined)


async def on_document(update: Update, context: BotContext) -> None:
    """Read a text file into the conversation, or say which files the bot can read."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    document = message.document
    # Translators: stands for the name of a file sent without one ("I can't read {name}.").
    name = document.file_name or _("file")
    kind = attachments.document_kind(document.file_name, document.mime_type)
    if kind is DocumentKind.IMAGE:
        await answer_bad_input(update, context, _(AS_PHOTO))
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
        await answer_bad_input(update, context, _too_big(name, document.file_size, cap))
        return
    record = document_record(message, context.bot)
    build = turn_context(message, context)
    await converse(message, context, lambda: document_turn(build, record), kept=(record,))


async def photo_turn(build: TurnContext, records: list[Received]) -> UserTurn:
    """The turn for one photo or an album (its lead's record first): an image part per photo,
    a marker per photo in the text (all the history keeps of them), then the caption; for a
    vision model."""
    settings = build.services.settings
    lead = records[0]
    records = sorted(records, key=lambda record: record.telegram_message_id)
    chosen = []
    for record in records:
        sizes = photo_sizes(record)
        size = attachments.largest_photo(sizes, settings.photo_max_bytes)
        if size is None:
            biggest = max(s.file_size or 0 for s in sizes)
            raise AttachmentRefused(_too_big(None, biggest, settings.photo_max_bytes))
        chosen.append(size)
    images = await asyncio.gather(
        *(_download(build, size.file_id, None, settings.photo_max_bytes) for size in chosen)
    )
    parts = await asyncio.to_thread(lambda: tuple(attachments.image_part(d) for d in images))
    question = next((record.content for record in records if record.content), "")
    markers = " ".join(attachments.photo_marker(size.width, size.height) for size in chosen)
    text = build.quoted(f"{markers}\n{question}" if question else markers, quote_in(lead))
    chat = await build.services.store.preferences(lead.key)
    model = chat.model or settings.default_model
    vision = is_vision_model(model, settings.vision_models)
    return kept_turn(lead, text, parts=parts, model=None if vision else settings.vision_model)


async def document_turn(build: TurnContext, record: Received) -> UserTurn:
    """The turn for a text document: its name, size and text (cut to the context budget, which
    the user is told about), then the caption. Cut so the whole turn, any quoted message
    included, passes MAX_MESSAGE_CHARS: what the user is told is read is what goes upstream."""
    settings = build.services.settings
    document = file_of(record)
    name = document.name
    data = await _download(build, document.file_id, name, settings.document_max_bytes)
    content = await asyncio.to_thread(attachments.decode_text, data)
    if content is None:
        # Translators: {name} is a file's name; {supported} says which files the bot reads.
        refusal = _(
            "I couldn't read {name} as text: it is binary or not UTF-8. "
            "{supported} Save it as UTF-8 text, or paste the text in a message."
        )
        raise AttachmentRefused(refusal.format(name=name, supported=_(attachments.SUPPORTED)))
    limit = settings.max_message_chars
    quote = quote_in(record)
    # What quoting the replied-to message adds in front of any text (0 when nothing is quoted).
    quoting = len(build.quoted("x", quote)) - 1
    budget = attachments.document_budget(settings.history_char_budget, limit, quoting)
    read = attachments.document_text(name, len(data), content, record.content, budget=budget)
    text = build.quoted(read.text, quote)
    if len(text) > limit:
        # The caption and the quoted message leave no room for the file: say so now, before
        # promising to read any of it.
        raise AttachmentRefused(too_long_text(len(text), limit))
    if read.truncated:
        await send_text(
            build.bot,
            build.services.outbox,
            build.destination,
            # Translators: {name} is a file's name; {shown} and {total} count characters.
            _(
                "{name} is longer than I can read at once: "
                "I'm reading its first {shown} of {total} characters."
            ).format(name=name, shown=number(read.shown), total=number(read.total)),
        )
    return kept_turn(record, text)


async def _download(build: TurnContext, file_id: str, what: str | None, cap: int) -> bytes:
    """A file's bytes, at most `cap` of them; `what` names the file (None: a photo)."""
    try:
        return await telegram_errors.download(build.bot, file_id, cap=cap)
    except telegram_errors.DownloadRefused as refused:
        if refused.too_big:
            raise AttachmentRefused(_too_big(what, refused.size, cap)) from None
        raise AttachmentRefused(_(DOWNLOAD_FAILED)) from None


def _too_big(what: str | None, size: int | None, cap: int) -> str:
    """Why a file (named `what`; None: a photo) of `size` bytes is refused."""
    limit = attachments.human_size(cap)
    if what is None:
        if size is None:
            # Translators: {limit} is a size such as "10.0 MB".
            return _("This photo is too big; the most I can read is {limit}.").format(limit=limit)
        # Translators: {size} and {limit} are sizes such as "10.0 MB".
        return _("This photo is {size}; the most I can read is {limit}.").format(
            size=attachments.human_size(size), limit=limit
        )
    if size is None:
        # Translators: {name} is a file's name; {limit} is a size such as "10.0 MB".
        return _("{name} is too big; the most I can read is {limit}.").format(
            name=what, limit=limit
        )
    # Translators: {name} is a file's name; {size} and {limit} are sizes such as "10.0 MB".
    return _("{name} is {size}; the most I can read is {limit}.").format(
        name=what, size=attachments.human_size(size), limit=limit
    )
