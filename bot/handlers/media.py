"""Photos and documents sent to the bot: downloaded, read, and asked about in the conversation.

Owns turning a photo (or an album: one request for all its photos) into a turn with `image_url`
parts for a vision model, a text document into a turn holding its text, and the answers for files
the bot can't read. Reading attachments is media/attachments.py's business, downloading
delivery/telegram_errors.py's. Downloads happen in the chat's turn, so a message sent after a
photo is answered after it.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Document, Message, Update
from telegram.ext import filters

from bot.conversation.limits import too_long_text
from bot.conversation.service import PendingTurn, UserTurn
from bot.delivery import telegram_errors
from bot.errors import AttachmentRefused
from bot.handlers.addressing import caption_question, is_addressed
from bot.handlers.chat import converse, quoted, user_turn
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext
from bot.media import attachments
from bot.media.attachments import DocumentKind
from bot.upstream.catalog import is_vision_model

log = logging.getLogger(__name__)

AS_PHOTO = "Please send pictures as a photo, not as a file, so I can look at them."
DOWNLOAD_FAILED = "I couldn't download that file from Telegram. Please send it again."


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
        await _converse(update, message, context, lambda: _photo_turn(context, message, [message]))
        return
    albums = context.services.albums
    key = (message.chat_id, message.media_group_id)
    album = albums.join(key, message)
    if album is None:  # the update that opened this album is collecting it
        return
    if message.chat.type == message.chat.PRIVATE:
        # Collected inside the chat's turn, so a question typed right after the album waits.
        async def album_turn() -> UserTurn:
            return await _photo_turn(context, message, await albums.collect(key, album))

        await _converse(update, message, context, album_turn)
        return
    photos = await albums.collect(key, album)
    addressed = [photo for photo in photos if is_addressed(photo, context.bot)]
    if addressed:
        lead = addressed[0]
        await _converse(update, lead, context, lambda: _photo_turn(context, lead, photos))


async def on_document(update: Update, context: BotContext) -> None:
    """Read a text file into the conversation, or say which files the bot can read."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    document = message.document
    name = document.file_name or "file"
    kind = attachments.document_kind(document.file_name, document.mime_type)
    if kind is DocumentKind.IMAGE:
        await answer(update, context, AS_PHOTO)
        return
    if kind is DocumentKind.OTHER:
        await answer(update, context, f"I can't read {name}. {attachments.SUPPORTED}")
        return
    cap = context.services.settings.document_max_bytes
    if document.file_size is not None and document.file_size > cap:
        await answer(update, context, _too_big(name, document.file_size, cap))
        return
    await _converse(
        update, message, context, lambda: _document_turn(update, context, message, document)
    )


async def _converse(
    update: Update, message: Message, context: BotContext, turn: PendingTurn
) -> None:
    try:
        await converse(message, context, turn)
    except AttachmentRefused as refusal:
        await answer(update, context, refusal.user_message)


async def _photo_turn(context: BotContext, lead: Message, photos: list[Message]) -> UserTurn:
    """The turn for one photo or an album: an image part per photo, a marker per photo in the
    text (all the history keeps of them), then the caption; for a vision model."""
    services = context.services
    settings = services.settings
    photos = sorted(photos, key=lambda photo: photo.message_id)
    chosen = []
    for photo in photos:
        size = attachments.largest_photo(photo.photo, settings.photo_max_bytes)
        if size is None:
            biggest = max(s.file_size or 0 for s in photo.photo)
            raise AttachmentRefused(_too_big("This photo", biggest, settings.photo_max_bytes))
        chosen.append(size)
    images = await asyncio.gather(
        *(
            _download(context, size.file_id, "This photo", settings.photo_max_bytes)
            for size in chosen
        )
    )
    parts = await asyncio.to_thread(lambda: tuple(attachments.image_part(d) for d in images))
    captioned = next((photo for photo in photos if photo.caption), None)
    question = "" if captioned is None else caption_question(captioned, context.bot.username)
    markers = " ".join(attachments.photo_marker(size.width, size.height) for size in chosen)
    text = quoted(lead, f"{markers}\n{question}" if question else markers, context)
    chat = await services.store.preferences(chat_key(lead))
    model = chat.model or settings.default_model
    vision = is_vision_model(model, settings.vision_models)
    return user_turn(lead, text, parts=parts, model=None if vision else settings.vision_model)


async def _document_turn(
    update: Update, context: BotContext, message: Message, document: Document
) -> UserTurn:
    """The turn for a text document: its name, size and text (cut to the context budget, which
    the user is told about), then the caption. Cut so the whole turn, any quoted message
    included, passes MAX_MESSAGE_CHARS: what the user is told is read is what goes upstream."""
    settings = context.services.settings
    name = document.file_name or "file"
    data = await _download(context, document.file_id, name, settings.document_max_bytes)
    content = await asyncio.to_thread(attachments.decode_text, data)
    if content is None:
        raise AttachmentRefused(
            f"I couldn't read {name} as text: it is binary or not UTF-8. "
            f"{attachments.SUPPORTED} Save it as UTF-8 text, or paste the text in a message."
        )
    question = caption_question(message, context.bot.username)
    limit = settings.max_message_chars
    # What quoting the replied-to message adds in front of any text (0 when nothing is quoted).
    quote = len(quoted(message, "x", context)) - 1
    budget = attachments.document_budget(settings.history_char_budget, limit, quote)
    read = attachments.document_text(name, len(data), content, question, budget=budget)
    text = quoted(message, read.text, context)
    if len(text) > limit:
        # The caption and the quoted message leave no room for the file: say so now, before
        # promising to read any of it.
        raise AttachmentRefused(too_long_text(len(text), limit))
    if read.truncated:
        await answer(
            update,
            context,
            f"{name} is longer than I can read at once: "
            f"I'm reading its first {read.shown:,} of {read.total:,} characters.",
        )
    return user_turn(message, text)


async def _download(context: BotContext, file_id: str, what: str, cap: int) -> bytes:
    """A file's bytes, at most `cap` of them."""
    try:
        return await telegram_errors.download(context.bot, file_id, cap=cap)
    except telegram_errors.DownloadRefused as refused:
        if refused.too_big:
            raise AttachmentRefused(_too_big(what, refused.size, cap)) from None
        raise AttachmentRefused(DOWNLOAD_FAILED) from None


def _too_big(what: str, size: int | None, cap: int) -> str:
    shown = "too big" if size is None else attachments.human_size(size)
    return f"{what} is {shown}; the most I can read is {attachments.human_size(cap)}."
