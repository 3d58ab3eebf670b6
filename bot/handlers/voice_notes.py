"""Voice notes and audio files coming in: listened to, and answered in the conversation.

Owns turning an incoming voice note or audio file into the user's turn: the size and claimed
duration caps (checked before downloading), the bound on how many are downloaded and converted at
once (VOICE_CONCURRENCY, one `audio.ConversionLimit` per application), the download
(delivery/telegram_errors.py), the conversion to WAV (media/audio.py: one bounded ffmpeg run,
off the event loop) and the real duration it measures, the `input_audio` part, the audio model for
chats whose model is text-only, and the text the history keeps ("[voice note, 7 s]"; old audio is
never sent again). Which group messages count as addressed is handlers/addressing.py's business;
the reply itself handlers/chat.py's `converse`.
"""

from __future__ import annotations

import base64
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta

from telegram import Audio, Message, Update, Voice
from telegram.warnings import PTBDeprecationWarning

from bot.config import Settings
from bot.conversation.service import UserTurn
from bot.delivery import telegram_errors
from bot.errors import AttachmentRefused, AudioError
from bot.handlers.addressing import prompt_of
from bot.handlers.chat import converse, quoted, user_turn
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext
from bot.media import audio
from bot.types import AudioPart
from bot.upstream.catalog import is_audio_model

log = logging.getLogger(__name__)

DOWNLOAD_FAILED = "I couldn't download that audio from Telegram. Please send it again."
MEGABYTE = 1024 * 1024
# Clients report whole seconds: audio up to this much over VOICE_MAX_SECONDS is still heard.
DURATION_GRACE = 1.0
# bot_data key of the application's `audio.ConversionLimit`, shared by every chat.
CONVERSIONS = "voice_conversions"


@dataclass(frozen=True, slots=True)
class Incoming:
    """An audio message's file and what Telegram says about it."""

    file: Voice | Audio
    kind: str  # "voice note" or "audio file"
    duration: float
    size: int | None


async def on_voice_message(update: Update, context: BotContext) -> None:
    """Listen to a voice note or audio file and answer it (aloud, with an audio model)."""
    message = update.effective_message
    if message is None:
        return
    incoming = _incoming(message)
    if incoming is None:
        return
    settings = context.services.settings
    refusal = _refusal(incoming, settings)
    if refusal is not None:
        await answer(update, context, refusal)
        return

    async def heard() -> UserTurn:
        # Downloaded and converted in the chat's turn, so a text sent right after it waits; and
        # in one of the bot's few conversion slots, so a burst of audio waits without holding
        # files, threads or processes, and photos, documents and texts never wait behind it.
        async with conversion_limit(context).slot():
            wav = await _listened(incoming, message.chat_id, context)
        chosen = (await context.services.store.preferences(chat_key(message))).model
        model = None if is_audio_model(chosen or settings.default_model) else settings.audio_model
        part: AudioPart = {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(wav.wav).decode("ascii"), "format": "wav"},
        }
        said = marker_text(incoming.kind, wav.duration, prompt_of(message, context.bot.username))
        text = quoted(message, said, context)
        return user_turn(message, text, parts=(part,), model=model)

    try:
        await converse(message, context, heard)
    except (_Refused, AudioError) as refused:
        await answer(update, context, refused.user_message)


def conversion_limit(context: BotContext) -> audio.ConversionLimit:
    """The application's bound on audio downloaded and converted at once (made on first use)."""
    limit = context.bot_data.get(CONVERSIONS)
    if not isinstance(limit, audio.ConversionLimit):
        limit = audio.ConversionLimit(context.services.settings.voice_concurrency)
        context.bot_data[CONVERSIONS] = limit
    return limit


async def _listened(incoming: Incoming, chat_id: int, context: BotContext) -> audio.PcmAudio:
    """The audio, downloaded, as WAV for the model; refused when it really plays longer than
    allowed, whatever its sender's client claimed. The download is dropped on return."""
    settings = context.services.settings
    data = await _download(incoming, context)
    bounds = audio.Bounds(
        seconds=settings.voice_max_seconds + DURATION_GRACE,
        timeout=settings.voice_convert_timeout,
    )
    try:
        return await audio.to_wav(data, bounds)
    except audio.AudioTooLong:
        claimed = incoming.duration
        log.info("chat %s: %s longer than allowed (claimed %g s)", chat_id, incoming.kind, claimed)
        raise _Refused(_longer_than_allowed(incoming.kind, settings)) from None
    except AudioError as exc:
        log.warning("chat %s: %s not converted: %s", chat_id, incoming.kind, exc)
        raise


def marker_text(kind: str, seconds: float, caption: str) -> str:
    """What the history keeps of an audio turn: "[voice note, 7 s]", then any caption."""
    marker = f"[{kind}, {max(1, round(seconds))} s]"
    return f"{marker} {caption}" if caption else marker


class _Refused(AttachmentRefused):
    """The audio can't be taken; the message says why, for the user."""


def _incoming(message: Message) -> Incoming | None:
    file: Voice | Audio | None = message.voice or message.audio
    if file is None:
        return None
    kind = "voice note" if isinstance(file, Voice) else "audio file"
    with warnings.catch_warnings():
        # PTB 22 warns that durations will become timedeltas; both forms are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration = file.duration
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
    return Incoming(file, kind, seconds, file.file_size)


def _refusal(incoming: Incoming, settings: Settings) -> str | None:
    """Why this audio is refused before downloading it, or None."""
    if incoming.size is not None and incoming.size > settings.voice_max_bytes:
        return _refusal_by_size(incoming.kind, incoming.size, settings.voice_max_bytes)
    if incoming.duration > settings.voice_max_seconds:
        return _too_long(incoming.kind, incoming.duration, settings)
    return None


def _too_long(kind: str, seconds: float, settings: Settings) -> str:
    return (
        f"That {kind} is {round(seconds)} s long: I can listen to at most"
        f" {settings.voice_max_seconds} s. Please send a shorter one."
    )


def _longer_than_allowed(kind: str, settings: Settings) -> str:
    return (
        f"That {kind} is longer than {settings.voice_max_seconds} s: I can listen to at most"
        f" {settings.voice_max_seconds} s. Please send a shorter one."
    )


async def _download(incoming: Incoming, context: BotContext) -> bytes:
    """The file's bytes, at most VOICE_MAX_BYTES of them."""
    limit = context.services.settings.voice_max_bytes
    try:
        return await telegram_errors.download(context.bot, incoming.file.file_id, cap=limit)
    except telegram_errors.DownloadRefused as refused:
        if refused.too_big:
            raise _Refused(_refusal_by_size(incoming.kind, refused.size, limit)) from None
        raise _Refused(DOWNLOAD_FAILED) from None


def _refusal_by_size(kind: str, size: int | None, limit: int) -> str:
    shown = f" ({size / MEGABYTE:.1f} MB)" if size is not None else ""
    return f"That {kind} is too large{shown}: I can listen to at most {limit / MEGABYTE:.0f} MB."
