"""Photos sent to the bot: downloaded and asked about in the conversation with a vision model.

Owns turning a photo (or an album: one request for all its photos) into a turn with `image_url`
parts for a vision model, and the download both photos and documents use: within a byte cap,
with the answer for a file too big or not downloaded. A photo is queued as what the inbox keeps
of it (kept.py), and built from that when its turn comes: downloaded then, so a message sent
after it is answered after it, and built the same way after a restart. Documents are
documents.py's; choosing a photo's size and its image part media/attachments.py's, gathering an
album media/albums.py's, downloading delivery/telegram_errors.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import filters

from bot.conversation.turns import UserTurn
from bot.delivery import telegram_errors
from bot.errors import AttachmentRefused
from bot.handlers.addressing import is_addressed
from bot.handlers.chat import TurnContext, converse, kept_turn, turn_context
from bot.handlers.context import BotContext
from bot.handlers.kept import photo_record, photo_sizes, quote_in
from bot.i18n import N_, _
from bot.media import attachments
from bot.store import Received
from bot.upstream.catalog import is_vision_model

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
            raise AttachmentRefused(too_big(None, biggest, settings.photo_max_bytes))
        chosen.append(size)
    images = await asyncio.gather(
        *(download(build, size.file_id, None, settings.photo_max_bytes) for size in chosen)
    )
    parts = await asyncio.to_thread(lambda: tuple(attachments.image_part(d) for d in images))
    question = next((record.content for record in records if record.content), "")
    markers = " ".join(attachments.photo_marker(size.width, size.height) for size in chosen)
    text = build.quoted(f"{markers}\n{question}" if question else markers, quote_in(lead))
    chat = await build.services.store.preferences(lead.key)
    model = chat.model or settings.default_model
    vision = is_vision_model(model, settings.vision_models)
    return kept_turn(lead, text, parts=parts, model=None if vision else settings.vision_model)


async def download(build: TurnContext, file_id: str, what: str | None, cap: int) -> bytes:
    """A file's bytes, at most `cap` of them; `what` names the file (None: a photo)."""
    try:
        return await telegram_errors.download(build.bot, file_id, cap=cap)
    except telegram_errors.DownloadRefused as refused:
        if refused.too_big:
            raise AttachmentRefused(too_big(what, refused.size, cap)) from None
        raise AttachmentRefused(_(DOWNLOAD_FAILED)) from None


def too_big(what: str | None, size: int | None, cap: int) -> str:
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
