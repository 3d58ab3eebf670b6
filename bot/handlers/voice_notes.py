"""Voice notes and audio files coming in: listened to, and answered in the conversation.

Owns turning an incoming voice note or audio file into the user's turn: the size and claimed
duration caps (checked before downloading), the download (delivery/telegram_errors.py, by the file
id the inbox keeps — kept.py — so a restart can build it again) and the conversion to MP3
(media/audio.py: one bounded ffmpeg run, off the event loop), both inside one of the bot's
VOICE_CONCURRENCY conversion slots, the real duration the conversion measures, the `input_audio`
part and its room in the bot's budget of audio in flight (AUDIO_IN_FLIGHT_BYTES: taken before the
slot is given back, given back by the conversation service when the turn ends), the audio model
for chats whose model is text-only, and the text the history keeps ("[voice note, 7 s]"; old
audio is never sent again). Which group messages count as addressed is handlers/addressing.py's
business; the reply itself handlers/chat.py's `converse`.
"""

from __future__ import annotations

import base64
import logging
import math
import warnings
from dataclasses import dataclass
from datetime import timedelta

from telegram import Audio, Message, Update, Voice
from telegram.warnings import PTBDeprecationWarning

from bot.config import Settings
from bot.conversation.turns import UserTurn
from bot.delivery import telegram_errors
from bot.errors import AttachmentRefused, AudioError
from bot.handlers.chat import TurnContext, converse, kept_turn, turn_context
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.kept import FileRef, audio_record, file_of, quote_in
from bot.i18n import N_, _
from bot.media import audio
from bot.media.capacity import AudioBudget
from bot.store import Received
from bot.types import AudioPart
from bot.upstream.catalog import is_audio_model

log = logging.getLogger(__name__)

DOWNLOAD_FAILED = N_("I couldn't download that audio from Telegram. Please send it again.")
VOICE_NOTE = "voice note"  # Incoming.kind, and what the history calls it (in English)

# The refusals, whole sentences for a voice note and for an audio file (translated when shown).
_TOO_LONG = (
    # Translators: {seconds} is the audio's length, {limit} the longest the bot takes (seconds).
    N_(
        "That voice note is {seconds} s long: I can listen to at most {limit} s."
        " Please send a shorter one."
    ),
    # Translators: {seconds} is the audio's length, {limit} the longest the bot takes (seconds).
    N_(
        "That audio file is {seconds} s long: I can listen to at most {limit} s."
        " Please send a shorter one."
    ),
)
_LONGER_THAN_ALLOWED = (
    # Translators: {limit} is the longest audio the bot takes, in seconds.
    N_(
        "That voice note is longer than {limit} s: I can listen to at most {limit} s."
        " Please send a shorter one."
    ),
    # Translators: {limit} is the longest audio the bot takes, in seconds.
    N_(
        "That audio file is longer than {limit} s: I can listen to at most {limit} s."
        " Please send a shorter one."
    ),
)
_TOO_LARGE = (
    # Translators: {size} and {limit} are numbers of megabytes.
    N_("That voice note is too large ({size} MB): I can listen to at most {limit} MB."),
    # Translators: {size} and {limit} are numbers of megabytes.
    N_("That audio file is too large ({size} MB): I can listen to at most {limit} MB."),
)
_TOO_LARGE_UNKNOWN_SIZE = (
    # Translators: {limit} is a number of megabytes.
    N_("That voice note is too large: I can listen to at most {limit} MB."),
    # Translators: {limit} is a number of megabytes.
    N_("That audio file is too large: I can listen to at most {limit} MB."),
)
MEGABYTE = 1024 * 1024
# Clients report whole seconds: audio up to this much over VOICE_MAX_SECONDS is still heard.
DURATION_GRACE = 1.0
# At most this many characters of audio (base64 MP3: 1.6 MB for 300 s) waiting for or inside
# upstream requests at once, in every chat together; a note that does not fit waits its turn,
# holding its conversion slot. Sending one costs about twice its size again (the JSON body).
AUDIO_IN_FLIGHT_BYTES = 16 * MEGABYTE


def audio_budget(settings: Settings) -> AudioBudget:
    """The bot's budget of audio in flight: AUDIO_IN_FLIGHT_BYTES, or one note of
    VOICE_MAX_SECONDS if that is more (so such a note never waits for more than all of it)."""
    bounds = audio.Bounds(settings.voice_max_seconds + DURATION_GRACE, timeout=0)
    longest = 4 * math.ceil(bounds.cap(audio.MODEL_MP3_BYTES_PER_SECOND) / 3)
    return AudioBudget(max(AUDIO_IN_FLIGHT_BYTES, longest))


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
    heard = FileRef(incoming.file.file_id, incoming.kind, incoming.size, incoming.duration)
    record = audio_record(message, context.bot, heard)
    build = turn_context(message, context)
    # Downloaded and converted in the chat's turn, so a text sent right after it waits.
    await converse(message, context, lambda: heard_turn(build, record), kept=(record,))


async def heard_turn(build: TurnContext, record: Received) -> UserTurn:
    """The turn for a voice note or audio file: its audio as MP3 for an audio model (holding
    its room in the budget of audio in flight until the turn ends: `UserTurn.release`), and the
    marker and caption the history keeps. Raises a BotError the user reads when it can't be
    heard (too big or too long after all, damaged, not downloadable)."""
    settings = build.services.settings
    heard = file_of(record)
    kind = heard.name
    bounds = audio.Bounds(
        seconds=settings.voice_max_seconds + DURATION_GRACE,
        timeout=settings.voice_convert_timeout,
    )
    chosen = (await build.services.store.preferences(record.key)).model
    model = None if is_audio_model(chosen or settings.default_model) else settings.audio_model
    # In one of the bot's few conversion slots: a burst of audio waits without holding files,
    # threads or processes, and photos, documents and texts never wait behind it.
    async with build.services.audio_slots.slot():
        heard_audio = await _converted(build, record, heard, bounds)
        encoded = base64.b64encode(heard_audio.mp3).decode("ascii")
        # The last await: from here on, nothing can fail before the turn holds `release`.
        release = await build.services.audio_in_flight.hold(len(encoded))
    part: AudioPart = {"type": "input_audio", "input_audio": {"data": encoded, "format": "mp3"}}
    said = marker_text(kind, heard_audio.duration, record.content)
    text = build.quoted(said, quote_in(record))
    return kept_turn(record, text, parts=(part,), model=model, release=release)


async def _converted(
    build: TurnContext, record: Received, heard: FileRef, bounds: audio.Bounds
) -> audio.Mp3Audio:
    """The file downloaded and converted for the model (the download let go once converted)."""
    kind = heard.name
    data = await _download(build, heard)
    try:
        return await audio.to_mp3(data, bounds)
    except audio.AudioTooLong:
        claimed = heard.duration
        chat_id = record.key.chat_id
        log.info("chat %s: %s longer than allowed (claimed %g s)", chat_id, kind, claimed)
        raise _Refused(_longer_than_allowed(kind, build.services.settings)) from None
    except AudioError as exc:
        log.warning("chat %s: %s not converted: %s", record.key.chat_id, kind, exc)
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
    kind = VOICE_NOTE if isinstance(file, Voice) else "audio file"
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


def _for(kind: str, sentences: tuple[str, str]) -> str:
    """The sentence for a voice note or for an audio file, in the reader's language."""
    return _(sentences[0] if kind == VOICE_NOTE else sentences[1])


def _too_long(kind: str, seconds: float, settings: Settings) -> str:
    return _for(kind, _TOO_LONG).format(seconds=round(seconds), limit=settings.voice_max_seconds)


def _longer_than_allowed(kind: str, settings: Settings) -> str:
    return _for(kind, _LONGER_THAN_ALLOWED).format(limit=settings.voice_max_seconds)


async def _download(build: TurnContext, heard: FileRef) -> bytes:
    """The file's bytes, at most VOICE_MAX_BYTES of them."""
    limit = build.services.settings.voice_max_bytes
    try:
        return await telegram_errors.download(build.bot, heard.file_id, cap=limit)
    except telegram_errors.DownloadRefused as refused:
        if refused.too_big:
            raise _Refused(_refusal_by_size(heard.name, refused.size, limit)) from None
        raise _Refused(_(DOWNLOAD_FAILED)) from None


def _refusal_by_size(kind: str, size: int | None, limit: int) -> str:
    most = f"{limit / MEGABYTE:.0f}"
    if size is None:
        return _for(kind, _TOO_LARGE_UNKNOWN_SIZE).format(limit=most)
    return _for(kind, _TOO_LARGE).format(size=f"{size / MEGABYTE:.1f}", limit=most)
