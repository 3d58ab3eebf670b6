"""Voice: /voice chooses the voice of spoken replies; voice notes and audio files are listened to.

Owns the voice keyboard and its presses, `/voice <name>`, and turning an incoming voice note or
audio file into the user's turn: the size and duration caps (checked before downloading),
`getFile` and the download from the Bot API's file URL, the conversion to WAV
(`bot.media.audio`, off the event loop), the `input_audio` part, the audio model for chats
whose model is text-only, and
the text the history keeps ("[voice note, 7 s]"; old audio is never sent again). Which group
messages count as addressed is handlers/addressing.py's business, who may change the voice
bot/admins.py's, the reply itself handlers/chat.py's and conversation.py's.

Callback data (anything else under `v:` is answered as out of date and changes nothing):

    v:<voice>     choose this voice
    v:default     back to DEFAULT_VOICE
"""

from __future__ import annotations

import base64
import io
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta

from telegram import (
    Audio,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    Voice,
)
from telegram.error import BadRequest, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.config import Settings
from bot.conversation.preferences import SETTINGS, VOICES, SettingError, parse
from bot.conversation.service import UserTurn
from bot.errors import AttachmentRefused, AudioError
from bot.handlers.addressing import prompt_of
from bot.handlers.chat import converse, quoted, user_turn
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext
from bot.handlers.keyboards import CURRENT_MARK, EXPIRED, Pressed, View, handle_press, send_view
from bot.media import audio
from bot.store import ChatSettings
from bot.upstream.catalog import is_audio_model

log = logging.getLogger(__name__)

BUTTON_PATTERN = r"^v:"
COLUMNS = 3
GROUP_ONLY_ADMINS = "Sorry, only this group's admins can change the voice."
STALE = "This button is out of date. Send /voice again."
DOWNLOAD_FAILED = "I couldn't download that audio from Telegram. Please send it again."
# Telegram's getFile refuses files over 20 MB whatever our own cap says.
TOO_BIG_FOR_TELEGRAM = "file is too big"
MEGABYTE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Incoming:
    """An audio message's file and what Telegram says about it."""

    file: Voice | Audio
    kind: str  # "voice note" or "audio file"
    duration: float
    size: int | None


async def on_voice_command(update: Update, context: BotContext) -> None:
    """Show the voices as buttons, or set the one named after /voice."""
    message = update.effective_message
    if message is None:
        return
    wanted = " ".join(context.args or []).strip()
    key = chat_key(message)
    chat = await context.services.store.settings(key)
    if not wanted:
        await send_view(context, message, voice_view(chat, context.services.settings))
        return
    try:
        value = parse(SETTINGS["voice"], wanted)
    except SettingError:
        await answer(update, context, f"There is no voice “{wanted}”. {_choices()}")
        return
    if not await context.services.admins.may_change(
        message.chat, message.from_user, sender_chat=message.sender_chat
    ):
        await answer(update, context, GROUP_ONLY_ADMINS)
        return
    chat = await context.services.store.update_settings(key, voice=value)
    await answer(update, context, _chosen(chat, context.services.settings))


async def on_voice_button(update: Update, context: BotContext) -> None:
    """Set the voice the pressed button names."""
    await handle_press(update, context, _press)


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
        # Downloaded and converted in the chat's turn, so a text sent right after it waits.
        try:
            wav = await audio.to_wav(await _download(incoming, context))
        except AudioError as exc:
            log.warning("chat %s: %s not converted: %s", message.chat_id, incoming.kind, exc)
            raise
        if wav.duration > settings.voice_max_seconds + 1:
            raise _Refused(_too_long(incoming.kind, wav.duration, settings))
        chosen = (await context.services.store.settings(chat_key(message))).model
        model = None if is_audio_model(chosen or settings.default_model) else settings.audio_model
        part = {
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


def voice_view(chat: ChatSettings, defaults: Settings) -> View:
    """The six voices as buttons, the chat's current one marked."""
    current = chat.voice or defaults.default_voice
    # A chat on the default has "Default" marked, not the voice it stands for today.
    buttons = [
        InlineKeyboardButton(
            f"{CURRENT_MARK} {voice}" if voice == chat.voice else voice, callback_data=f"v:{voice}"
        )
        for voice in VOICES
    ]
    rows = [buttons[i : i + COLUMNS] for i in range(0, len(buttons), COLUMNS)]
    default = f"Default ({defaults.default_voice})"
    rows.append(
        [
            InlineKeyboardButton(
                f"{CURRENT_MARK} {default}" if chat.voice is None else default,
                callback_data="v:default",
            )
        ]
    )
    text = (
        f"Voice for this chat: {current}{' (default)' if chat.voice is None else ''}\n\n"
        "Spoken replies use it: answers to voice notes, and every answer when the chat's model"
        " is an audio model (🔊 in /model). Type /voice <name> or choose:"
    )
    return View(text, InlineKeyboardMarkup(rows))


def marker_text(kind: str, seconds: float, caption: str) -> str:
    """What the history keeps of an audio turn: "[voice note, 7 s]", then any caption."""
    marker = f"[{kind}, {max(1, round(seconds))} s]"
    return f"{marker} {caption}" if caption else marker


class _Refused(AttachmentRefused):
    """The audio can't be taken; the message says why, for the user."""


async def _press(query: CallbackQuery, context: BotContext) -> Pressed:
    message = query.message
    if not isinstance(message, Message):
        return Pressed(EXPIRED)
    wanted = (query.data or "").removeprefix("v:")
    try:
        value = parse(SETTINGS["voice"], wanted)
    except SettingError:
        return Pressed(STALE)
    if not await context.services.admins.may_change(message.chat, query.from_user):
        return Pressed(GROUP_ONLY_ADMINS)
    chat = await context.services.store.update_settings(chat_key(message), voice=value)
    defaults = context.services.settings
    return Pressed(_chosen(chat, defaults), voice_view(chat, defaults))


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


async def _download(incoming: Incoming, context: BotContext) -> bytes:
    """The file's bytes: getFile, then the file URL under TELEGRAM_API_URL."""
    limit = context.services.settings.voice_max_bytes
    try:
        telegram_file = await incoming.file.get_file()
        if telegram_file.file_size is not None and telegram_file.file_size > limit:
            raise _Refused(_refusal_by_size(incoming.kind, telegram_file.file_size, limit))
        out = io.BytesIO()
        await telegram_file.download_to_memory(out)
    except BadRequest as exc:
        if TOO_BIG_FOR_TELEGRAM in exc.message.lower():
            raise _Refused(_refusal_by_size(incoming.kind, None, limit)) from exc
        log.warning("getFile failed: %s", exc.message)
        raise _Refused(DOWNLOAD_FAILED) from exc
    except TelegramError as exc:
        # Not the exception text: a download error may name the file URL, which holds the token.
        log.warning("downloading audio failed: %s", type(exc).__name__)
        raise _Refused(DOWNLOAD_FAILED) from None
    data = out.getvalue()
    if len(data) > limit:
        raise _Refused(_refusal_by_size(incoming.kind, len(data), limit))
    return data


def _refusal_by_size(kind: str, size: int | None, limit: int) -> str:
    shown = f" ({size / MEGABYTE:.1f} MB)" if size is not None else ""
    return f"That {kind} is too large{shown}: I can listen to at most {limit / MEGABYTE:.0f} MB."


def _chosen(chat: ChatSettings, defaults: Settings) -> str:
    if chat.voice is None:
        return f"Back to the default voice: {defaults.default_voice}."
    return f"Voice for this chat: {chat.voice}."


def _choices() -> str:
    return f"Voices: {', '.join(VOICES)} (or “default”). /voice shows them as buttons."
