"""What the inbox keeps of a photo, file or audio turn while it waits, to build it again later.

Owns turning such a message into the `Received` record the inbox keeps when it arrives — its
kind, the caption as the question (without the bot's mention or a leading /ask), the sender, and
a JSON object with what Telegram said of the file (file ids and sizes, a document's name and
MIME type, a voice note's length) and the message it replies to — and reading those records
back. Building the turn from them (downloading by file id, converting, reading a PDF) is
media.py's, documents.py's and voice_notes.py's business, done the same way for a message just
received and for one kept across a restart. No file's content is kept, only the ids to fetch it
again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Message

from bot.handlers.addressing import Quote, caption_question, prompt_of, quote_of
from bot.handlers.common import chat_key
from bot.store import InboxKind, Received


@dataclass(frozen=True, slots=True)
class PhotoSize:
    """One size Telegram has of a photo (a media.attachments.Sized)."""

    file_id: str
    width: int
    height: int
    file_size: int | None


@dataclass(frozen=True, slots=True)
class FileRef:
    """A document or an audio file: its id and what Telegram said of it.

    `name` is the document's file name, or for audio "voice note" / "audio file";
    `duration` is the length the sender's client reported (audio only); `mime_type` the type
    the sender's client gave a document (None in records kept before it was).
    """

    file_id: str
    name: str
    size: int | None
    duration: float = 0.0
    mime_type: str | None = None


def photo_record(message: Message, bot: Bot, *, joined_to: int | None = None) -> Received:
    """A photo as the inbox keeps it; an album's later photos are `joined_to` its first."""
    sizes = [[s.file_id, s.width, s.height, s.file_size] for s in message.photo]
    quote = None if joined_to is not None else _quote(message, bot)
    return _record(
        message,
        "photo",
        caption_question(message, bot.username),
        {"sizes": sizes, "quote": quote},
        joined_to=joined_to,
    )


def document_record(message: Message, bot: Bot) -> Received:
    """A document (text, PDF or Word file) as the inbox keeps it."""
    document = message.document
    assert document is not None  # only documents come here
    data = {
        "file_id": document.file_id,
        # No name: "" (a stand-in is chosen, in the reader's language, where it is shown).
        "name": document.file_name or "",
        "size": document.file_size,
        "mime": document.mime_type,
        "quote": _quote(message, bot),
    }
    return _record(message, "document", caption_question(message, bot.username), data)


def audio_record(message: Message, bot: Bot, audio: FileRef) -> Received:
    """A voice note or audio file as the inbox keeps it; its caption is the question."""
    data = {
        "file_id": audio.file_id,
        "name": audio.name,
        "size": audio.size,
        "duration": audio.duration,
        "quote": _quote(message, bot),
    }
    return _record(message, "audio", prompt_of(message, bot.username), data)


def photo_sizes(record: Received) -> list[PhotoSize]:
    """Every size Telegram has of a kept photo."""
    return [PhotoSize(str(i), int(w), int(h), s) for i, w, h, s in _data(record)["sizes"]]


def file_of(record: Received) -> FileRef:
    """The document or audio file a kept record names."""
    data = _data(record)
    return FileRef(
        str(data["file_id"]),
        str(data["name"]),
        data["size"],
        float(data.get("duration", 0)),
        data.get("mime"),
    )


def quote_in(record: Received) -> Quote | None:
    """The message the kept one replied to, as it was when it arrived."""
    quote = _data(record).get("quote")
    if not isinstance(quote, dict):
        return None
    return Quote(str(quote["text"]), quote["author"], int(quote["message_id"]))


def _record(
    message: Message,
    kind: InboxKind,
    caption: str,
    data: dict[str, Any],
    *,
    joined_to: int | None = None,
) -> Received:
    user = message.from_user
    private = message.chat.type == message.chat.PRIVATE
    return Received(
        chat_key(message),
        caption,
        message.message_id,
        user.id if user else None,
        None if private else sender_name(message),
        kind,
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        joined_to,
    )


def sender_name(message: Message) -> str | None:
    """Who wrote a group message, as the model is told: the user's first name, or the title of
    an anonymous admin's or linked channel's chat."""
    if message.sender_chat is not None:
        return message.sender_chat.title
    return message.from_user.first_name if message.from_user else None


def _quote(message: Message, bot: Bot) -> dict[str, Any] | None:
    quote = quote_of(message, bot.id)
    if quote is None:
        return None
    return {"text": quote.text, "author": quote.author, "message_id": quote.message_id}


def _data(record: Received) -> dict[str, Any]:
    data = json.loads(record.attachment or "{}")
    assert isinstance(data, dict)
    return data
