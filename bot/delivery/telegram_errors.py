"""Telegram's error texts, read in one place, and the one token-safe file download.

Owns the wordings Telegram answers with that the bot acts on — "message is not modified", "message
to edit not found", "there is no text in the message to edit", VOICE_MESSAGES_FORBIDDEN, "file is
too big", a refused message draft — matched case-insensitively (PTB capitalises them), and
`download`: getFile, then the file URL, which holds the bot token, so no exception text of the
download is ever logged or kept. It decides nothing about what the user reads: callers turn these
into their own answers.
"""

from __future__ import annotations

import logging
from enum import Enum

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, TelegramError

log = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"
_EDIT_TARGET_GONE = "message to edit not found"
_NO_TEXT = "there is no text in the message to edit"  # a voice note: edit its caption instead
_VOICE_FORBIDDEN = "voice_messages_forbidden"
_FILE_TOO_BIG = "file is too big"  # getFile refuses files over 20 MB, whatever our caps say
# sendMessageDraft outside a private chat (Telegram's own wording, and that of servers that say it
# in words); a Bot API server without the method answers 404 "Not Found", which PTB raises as
# InvalidToken (its "Unauthorized", 401, is a real token problem); a server older than Bot API
# 10.0 refuses the empty draft ("Thinking…"), and one of 9.3 or 9.4 drafts only with topic mode.
_DRAFT_PEER = ("textdraft_peer_invalid", "private chat")
_DRAFT_SERVER = ("text must be non-empty", "text is empty", "topic mode", "can be used only")
_NOT_FOUND = "not found"


def _says(exc: BadRequest, wording: str) -> bool:
    return wording in exc.message.lower()


def not_modified(exc: BadRequest) -> bool:
    """An edit to what the message already shows (often: an earlier try got through)."""
    return _says(exc, _NOT_MODIFIED)


def edit_target_gone(exc: BadRequest) -> bool:
    """The message to edit no longer exists (the user deleted it)."""
    return _says(exc, _EDIT_TARGET_GONE)


def no_text_to_edit(exc: BadRequest) -> bool:
    """editMessageText on a message without text (a voice note, which has a caption)."""
    return _says(exc, _NO_TEXT)


def voice_forbidden(exc: BadRequest) -> bool:
    """The user's privacy settings forbid voice messages from the bot."""
    return _says(exc, _VOICE_FORBIDDEN)


def file_too_big(exc: BadRequest) -> bool:
    """getFile refused a file over the Bot API's download limit."""
    return _says(exc, _FILE_TOO_BIG)


class DraftRefusal(Enum):
    """Why Telegram (or a self-hosted Bot API server) refused a message draft."""

    CHAT = "chat"  # not allowed in this chat
    SERVER = "server"  # not at all: the server lacks the method, or the empty draft


def draft_refusal(exc: TelegramError) -> DraftRefusal | None:
    """Whether `exc`, raised by sendMessageDraft, means drafts are refused (and where); None
    for any other error (formatting, flood, network, a real token problem)."""
    text = exc.message.lower()
    if isinstance(exc, InvalidToken):
        return DraftRefusal.SERVER if text.startswith(_NOT_FOUND) else None
    if not isinstance(exc, BadRequest):
        return None
    if any(wording in text for wording in _DRAFT_PEER):
        return DraftRefusal.CHAT
    if any(wording in text for wording in _DRAFT_SERVER):
        return DraftRefusal.SERVER
    return None


class DownloadRefused(Exception):
    """A file could not be fetched: `too_big` when it is over `cap` (size when known)."""

    def __init__(self, *, too_big: bool, size: int | None = None) -> None:
        super().__init__("file too big" if too_big else "download failed")
        self.too_big = too_big
        self.size = size


async def download(bot: Bot, file_id: str, *, cap: int) -> bytes:
    """A file's bytes: getFile, then the file URL under TELEGRAM_API_URL; at most `cap` bytes.

    Not through the outbox: a download is no message, must not take the chat's turn to speak,
    and Telegram does not count it against the flood limits.
    """
    try:
        file = await bot.get_file(file_id)
    except BadRequest as exc:
        if file_too_big(exc):
            raise DownloadRefused(too_big=True) from None
        log.warning("getFile %s failed: %s", file_id, exc.message)  # Telegram's words, no URL
        raise DownloadRefused(too_big=False) from None
    except TelegramError as exc:
        log.warning("getFile %s failed: %s", file_id, type(exc).__name__)
        raise DownloadRefused(too_big=False) from None
    if file.file_size is not None and file.file_size > cap:
        raise DownloadRefused(too_big=True, size=file.file_size)
    try:
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        # Only the type: a download error may quote the file URL, which holds the token.
        log.warning("downloading %s failed: %s", file_id, type(exc).__name__)
        raise DownloadRefused(too_big=False) from None
    if len(data) > cap:  # Telegram did not tell the size beforehand
        raise DownloadRefused(too_big=True, size=len(data))
    return data
