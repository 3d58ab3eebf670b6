"""Audio conversion: WAV replies to voice notes (OGG/Opus) or MP3, any audio to WAV for the model.

Owns every ffmpeg run of the bot and the formats (voice notes OGG/Opus mono 48 kHz ~32 kbit/s;
audio for the model 16-bit PCM WAV mono 16 kHz). All blocking work runs in a worker thread, so the
event loop keeps serving other chats; failures come out as `bot.errors.AudioError` types. Knows
nothing of Telegram, the upstream or the store.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
import warnings
from dataclasses import dataclass

with warnings.catch_warnings():
    # pydub imports the stdlib `audioop` (deprecated since 3.11) and warns at import when ffmpeg
    # is missing; we report a missing ffmpeg ourselves, per conversion and in `bot check`.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError, CouldntEncodeError

from bot.errors import AudioEncodeFailed, AudioUndecodable, FfmpegMissing

FFMPEG = "ffmpeg"
VOICE_SAMPLE_RATE = 48_000
VOICE_BITRATE = "32k"
MP3_BITRATE = "64k"
INPUT_SAMPLE_RATE = 16_000
# "voip" tunes Opus for speech; constrained VBR keeps even a steady tone near the bitrate
# (plain VBR spends up to twice as much on one).
VOICE_OPTIONS: tuple[str, ...] = ("-ac", "1", "-ar", str(VOICE_SAMPLE_RATE))
VOICE_OPTIONS += ("-application", "voip", "-vbr", "constrained")
_STDERR_TAIL = 300  # characters of ffmpeg's complaint kept in an error (logs only)
# What pydub lets escape from a WAV it cannot parse, besides its own CouldntDecodeError.
_PARSE_ERRORS = (CouldntDecodeError, ValueError, IndexError, EOFError, struct.error)


@dataclass(frozen=True, slots=True)
class VoiceNote:
    """An OGG/Opus voice note and how long it plays, in seconds."""

    ogg: bytes
    duration: float

    @property
    def whole_seconds(self) -> int:
        """The duration as `sendVoice` takes it: whole seconds, at least 1."""
        return max(1, round(self.duration))


@dataclass(frozen=True, slots=True)
class PcmAudio:
    """16-bit PCM WAV (mono, 16 kHz) and how long it plays, in seconds."""

    wav: bytes
    duration: float


def ffmpeg_path() -> str | None:
    """Where ffmpeg is, or None when it is not on PATH (looked up anew each time)."""
    return shutil.which(FFMPEG)


async def wav_to_voice(wav: bytes) -> VoiceNote:
    """A WAV (any rate, any channels) as an OGG/Opus voice note, converted in a worker thread."""
    return await asyncio.to_thread(_wav_to_voice, wav)


async def wav_to_mp3(wav: bytes) -> bytes:
    """A WAV as mono MP3, for `sendAudio` (which wants MP3 or M4A), in a worker thread."""
    return await asyncio.to_thread(_wav_to_mp3, wav)


async def to_wav(data: bytes) -> PcmAudio:
    """Any audio ffmpeg can decode (OGG/Opus, MP3, M4A, ...) as 16-bit mono 16 kHz WAV."""
    return await asyncio.to_thread(_to_wav, data)


def _wav_to_voice(wav: bytes) -> VoiceNote:
    segment = _parse_wav(wav)
    ogg = _export(
        segment,
        format="ogg",
        codec="libopus",
        bitrate=VOICE_BITRATE,
        parameters=list(VOICE_OPTIONS),
    )
    return VoiceNote(ogg, segment.duration_seconds)


def _wav_to_mp3(wav: bytes) -> bytes:
    segment = _parse_wav(wav)
    return _export(
        segment, format="mp3", codec="libmp3lame", bitrate=MP3_BITRATE, parameters=["-ac", "1"]
    )


def _to_wav(data: bytes) -> PcmAudio:
    _require_ffmpeg()
    if not data:
        raise AudioUndecodable("no data")
    try:
        # The temporary-file variant needs no ffprobe, and ffmpeg sniffs the input format itself.
        segment = AudioSegment.from_file_using_temporary_files(io.BytesIO(data))
    except FileNotFoundError as exc:
        raise FfmpegMissing() from exc
    except _PARSE_ERRORS as exc:
        raise AudioUndecodable(_tail(exc)) from exc
    if len(segment) == 0:
        raise AudioUndecodable("no audio in the file")
    wav = _export(
        segment,
        format="wav",
        codec="pcm_s16le",
        parameters=["-ac", "1", "-ar", str(INPUT_SAMPLE_RATE)],
    )
    return PcmAudio(wav, segment.duration_seconds)


def _parse_wav(wav: bytes) -> AudioSegment:
    _require_ffmpeg()
    try:
        segment = AudioSegment.from_wav(io.BytesIO(wav))
    except _PARSE_ERRORS as exc:
        raise AudioUndecodable(_tail(exc)) from exc
    if len(segment) == 0:
        raise AudioUndecodable("no audio in the WAV")
    return segment


def _export(segment: AudioSegment, **options: object) -> bytes:
    out = io.BytesIO()
    try:
        segment.export(out, **options)
    except FileNotFoundError as exc:
        raise FfmpegMissing() from exc
    except CouldntEncodeError as exc:
        raise AudioEncodeFailed(_tail(exc)) from exc
    data = out.getvalue()
    if not data:
        raise AudioEncodeFailed("ffmpeg produced nothing")
    return data


def _require_ffmpeg() -> None:
    if ffmpeg_path() is None:
        raise FfmpegMissing()


def _tail(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= _STDERR_TAIL else "…" + text[-_STDERR_TAIL:]
