"""The spoken reply: a voice note answering the user's message, its transcript as the caption.

Owns what the chat sees of an audio model's answer: "recording voice…", the OGG/Opus voice note
(media/audio.py converts it, off the event loop), `sendAudio` when the user forbids voice messages,
a transcript too long for a caption as a text message, and text with a notice when the audio can't
be converted. Every written path is the wrapped LiveReply's or DraftReply's (a reasoning model's
thinking too); every call goes through the outbox. The status reaction, when given, is told the
answer is being written.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden

from bot.delivery import telegram_errors
from bot.delivery.destination import Destination, keep_acting
from bot.delivery.draft_reply import DraftReply
from bot.delivery.live_reply import LiveReply
from bot.delivery.outbox import Outbox
from bot.delivery.reactions import StatusReaction
from bot.errors import AudioError
from bot.i18n import N_, _
from bot.media import audio
from bot.render.convert import utf16_len
from bot.types import ShowReasoning
from bot.upstream.types import AudioReply

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # UTF-16 units, as Telegram counts a caption
# Translators: the title of the audio file the bot sends when a chat forbids voice messages.
TRACK_TITLE = N_("Voice reply")


def caption_for(transcript: str) -> str | None:
    """The caption of a voice reply: the whole transcript when it fits, else none (it follows)."""
    text = transcript.strip()
    return text if text and utf16_len(text) <= CAPTION_LIMIT else None


class VoiceReply:
    """A `VoiceSink`: written replies through a LiveReply (or a DraftReply), spoken ones as
    voice notes."""

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        text: LiveReply | DraftReply,
        destination: Destination,
        *,
        reply_to: int | None,
        action_interval: float = 4.0,
        status: StatusReaction | None = None,
    ) -> None:
        self._bot = bot
        self._outbox = outbox
        self._text = text
        self._dest = destination
        self._reply_to = reply_to
        self._action_interval = action_interval
        self._recording: asyncio.Task[None] | None = None
        self._voice_ids: list[int] = []
        self._status = status

    @property
    def message_ids(self) -> list[int]:
        """Every Telegram message this reply has used: the voice note first, then any text."""
        return [*self._voice_ids, *self._text.message_ids]

    async def start(self) -> None:
        if self._status is not None:
            self._status.writing()
        await self._text.start()

    async def think(self, reasoning: str, *, show: ShowReasoning) -> None:
        await self._text.think(reasoning, show=show)

    async def update(self, text: str) -> None:
        await self._text.update(text)

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        self._stop_recording()
        await self._text.finish(text, notice=notice)

    async def close(self) -> None:
        """Stop "recording voice…" and the written reply's loops; nothing more is sent."""
        recording, self._recording = self._recording, None
        if recording is not None:
            recording.cancel()
            await asyncio.gather(recording, return_exceptions=True)
        await self._text.close()

    async def start_speaking(self) -> None:
        """Show "recording voice…" until the voice note is sent."""
        if self._status is not None:
            self._status.writing()
        if self._recording is None:
            self._recording = asyncio.create_task(self._keep_recording(), name="record-voice")

    async def speak(self, reply: AudioReply) -> None:
        """Send the answer as a voice note; as text with a notice if it can't be converted."""
        transcript = reply.transcript.strip()
        try:
            note = await audio.wav_to_voice(reply.data)
            caption = caption_for(transcript)
            message = await self._send_voice(note, caption, reply.data)
        except AudioError as exc:
            log.warning("chat %s: voice reply not converted: %s", self._dest.chat_id, exc)
            await self.finish(transcript, notice=exc.user_message)
            return
        except Forbidden as exc:
            log.info("chat %s can't receive the voice reply: %s", self._dest.chat_id, exc)
            self._stop_recording()
            return
        finally:
            self._stop_recording()
        self._voice_ids.append(message.message_id)
        if caption is None and transcript:
            await self._text.finish(transcript)

    async def _send_voice(self, note: audio.VoiceNote, caption: str | None, wav: bytes) -> Message:
        try:
            return await self._outbox.call(
                self._dest.chat_id,
                lambda: self._bot.send_voice(
                    self._dest.chat_id,
                    note.ogg,
                    duration=note.whole_seconds,
                    caption=caption,
                    **self._placement(),
                ),
            )
        except BadRequest as exc:
            if not telegram_errors.voice_forbidden(exc):
                raise
        log.info("chat %s forbids voice messages; sending an audio file", self._dest.chat_id)
        # sendAudio plays MP3 or M4A; an OGG would arrive as a plain document.
        mp3 = await audio.wav_to_mp3(wav)
        return await self._outbox.call(
            self._dest.chat_id,
            lambda: self._bot.send_audio(
                self._dest.chat_id,
                mp3,
                duration=note.whole_seconds,
                caption=caption,
                title=_(TRACK_TITLE),
                filename="reply.mp3",
                **self._placement(),
            ),
        )

    def _placement(self) -> dict[str, Any]:
        placement: dict[str, Any] = {"message_thread_id": self._dest.thread_id}
        if self._reply_to is not None:
            placement["reply_parameters"] = ReplyParameters(
                self._reply_to, allow_sending_without_reply=True
            )
        return placement

    async def _keep_recording(self) -> None:
        await keep_acting(
            self._bot, self._outbox, self._dest, ChatAction.RECORD_VOICE, self._action_interval
        )

    def _stop_recording(self) -> None:
        if self._recording is not None:
            self._recording.cancel()
            self._recording = None
