"""Audio conversion: any audio to MP3 for the model, WAV replies to voice notes (OGG/Opus) or MP3.

Owns the formats (audio for the model MP3 mono 16 kHz 32 kbit/s, or 16-bit PCM WAV mono 16 kHz;
voice notes OGG/Opus mono 48 kHz ~32 kbit/s) and what each kind of conversion may cost: audio for
the model is decoded only up to its duration limit (`-t`), so a long or many-channel file costs
no more than a short mono one, within its timeout and an output cap; its real duration is
measured from what was decoded. Every conversion is one bounded ffmpeg run (media/ffmpeg.py:
off the event loop's thread, lowest CPU priority, a private input file, killed on time or
cancellation). Failures come out as `bot.errors.AudioError` types (the two about bounds,
`AudioTooLong` and `AudioTimedOut`, are defined here). How many conversions run at once, and
how much converted audio is held, is media/capacity.py's. Knows nothing of Telegram, the
upstream or the store.
"""

from __future__ import annotations

import asyncio
import io
import math
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

with warnings.catch_warnings():
    # pydub imports the stdlib `audioop` (deprecated since 3.11) and warns at import when ffmpeg
    # is missing; we report a missing ffmpeg ourselves, per conversion and in `bot check`.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

from bot.errors import AudioEncodeFailed, AudioError, AudioUndecodable
from bot.i18n import _
from bot.media.ffmpeg import (
    FfmpegFailed,
    OutputOverCap,
    complaint_tail,
    require_ffmpeg,
    run_ffmpeg,
)

VOICE_SAMPLE_RATE = 48_000
VOICE_BITRATE = "32k"
MP3_BITRATE = "64k"
INPUT_SAMPLE_RATE = 16_000
INPUT_BYTES_PER_SECOND = INPUT_SAMPLE_RATE * 2  # mono, 16-bit
# Audio for the model as MP3: constant 32 kbit/s at 16 kHz (MPEG-2 layer III), every frame 576
# samples (36 ms) in exactly 144 bytes (no padding at this rate), so its length in bytes measures
# its duration as the PCM's does. A 300 s note is 1.2 MB rather than 9.6 MB as WAV.
MODEL_MP3_BITRATE = "32k"
MODEL_MP3_BYTES_PER_SECOND = 32_000 // 8
# What LAME puts before the audio (its encoder delay, 576 + 529 samples): not part of the length.
MP3_ENCODER_DELAY = 1105 / INPUT_SAMPLE_RATE
_PCM_CODEC: tuple[str, ...] = ("-c:a", "pcm_s16le", "-f", "s16le")
# No Xing/Info frame (it can't be filled in on a pipe) and no ID3 tag: only audio frames.
_MP3_CODEC: tuple[str, ...] = ("-c:a", "libmp3lame", "-b:a", MODEL_MP3_BITRATE, "-f", "mp3")
_MP3_CODEC += ("-write_xing", "0", "-id3v2_version", "0")
# Audio for the model is decoded this far past its limit, so that longer audio shows as longer.
OVERRUN_SECONDS = 0.5
# The PCM cap is what the duration limit allows plus this much: it only catches an ffmpeg that
# ignores -t, so it may be loose.
OUTPUT_SLACK_BYTES = 64 * 1024
# Replies the model speaks are encoded within this time (minutes of audio take well under 1 s)
# and are at most this large: Telegram takes uploads up to 50 MB from bots.
ENCODE_TIMEOUT = 60.0
ENCODED_MAX_BYTES = 50 * 1024 * 1024
# "voip" tunes Opus for speech; constrained VBR keeps even a steady tone near the bitrate
# (plain VBR spends up to twice as much on one).
VOICE_OPTIONS: tuple[str, ...] = ("-ac", "1", "-ar", str(VOICE_SAMPLE_RATE))
VOICE_OPTIONS += ("-application", "voip", "-vbr", "constrained")
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
    """16-bit PCM WAV (mono, 16 kHz) and how long it plays, in seconds (measured, not claimed)."""

    wav: bytes
    duration: float


@dataclass(frozen=True, slots=True)
class Mp3Audio:
    """MP3 (mono, 16 kHz, 32 kbit/s) and how long it plays, in seconds (measured, not claimed)."""

    mp3: bytes
    duration: float


@dataclass(frozen=True, slots=True)
class Bounds:
    """What turning one incoming file into audio for the model may cost.

    `seconds`: longer audio is refused (`AudioTooLong`), and at most a little more of it is ever
    decoded; `timeout`: seconds the ffmpeg run may take before it is killed (`AudioTimedOut`);
    `output_bytes`: most PCM bytes read from ffmpeg (None: what `seconds` needs, plus slack).
    """

    seconds: float
    timeout: float
    output_bytes: int | None = None

    @property
    def decoded_seconds(self) -> float:
        return self.seconds + OVERRUN_SECONDS

    @property
    def output_cap(self) -> int:
        """The PCM cap."""
        return self.cap(INPUT_BYTES_PER_SECOND)

    def cap(self, bytes_per_second: int) -> int:
        """The most bytes read from ffmpeg for output of this many bytes a second."""
        if self.output_bytes is not None:
            return self.output_bytes
        return math.ceil(self.decoded_seconds * bytes_per_second) + OUTPUT_SLACK_BYTES


class AudioTooLong(AudioError):
    """The audio plays longer than its limit; only the limit and a little more were decoded."""

    def __init__(self, limit: float) -> None:
        super().__init__(f"audio longer than {limit:g} s")
        self.limit = limit

    @property
    def user_message(self) -> str:
        # Translators: {limit} is the longest audio the bot takes, in seconds.
        return _(
            "That audio is longer than {limit} s, more than I can listen to."
            " Please send a shorter one."
        ).format(limit=f"{self.limit:g}")


class AudioTimedOut(AudioError):
    """ffmpeg did not finish within its timeout, and was killed."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"conversion took over {timeout:g} s; ffmpeg killed")
        self.timeout = timeout

    @property
    def user_message(self) -> str:
        # Translators: {timeout} is a number of seconds.
        return _(
            "Converting that audio took longer than {timeout} s, so I stopped."
            " Please send a shorter recording, or another format (a voice note always works)."
        ).format(timeout=f"{self.timeout:g}")


async def to_mp3(data: bytes, bounds: Bounds) -> Mp3Audio:
    """Any audio ffmpeg can decode (OGG/Opus, MP3, M4A, FLAC, ...) as mono 16 kHz MP3 at
    32 kbit/s: what the bot sends the model, an eighth of the WAV's size.

    One ffmpeg pass downmixes, resamples and encodes while it decodes and stops after
    `bounds.decoded_seconds`, so a file's rate, channels and length cost nothing beyond that.
    """
    mp3 = await _decode(data, bounds, _MP3_CODEC, MODEL_MP3_BYTES_PER_SECOND)
    duration = max(0.0, len(mp3) / MODEL_MP3_BYTES_PER_SECOND - MP3_ENCODER_DELAY)
    return Mp3Audio(mp3, _within(duration, bounds))


async def to_wav(data: bytes, bounds: Bounds) -> PcmAudio:
    """The same as `to_mp3`, as 16-bit mono 16 kHz WAV (lossless, eight times larger)."""
    pcm = await _decode(data, bounds, _PCM_CODEC, INPUT_BYTES_PER_SECOND)
    duration = _within(len(pcm) / INPUT_BYTES_PER_SECOND, bounds)
    return PcmAudio(_wav_header(len(pcm)) + pcm, duration)


def _within(duration: float, bounds: Bounds) -> float:
    """The duration, if within the bounds' limit (AudioTooLong otherwise)."""
    if duration > bounds.seconds:
        raise AudioTooLong(bounds.seconds)
    return duration


async def _decode(
    data: bytes, bounds: Bounds, codec: Sequence[str], bytes_per_second: int
) -> bytes:
    """`data` decoded to mono 16 kHz by one bounded ffmpeg run, and encoded by `codec` at a
    constant `bytes_per_second` (which sizes the output's cap)."""
    if not data:
        raise AudioUndecodable("no data")
    cap = bounds.cap(bytes_per_second)
    options = ["-map", "0:a:0", "-t", f"{bounds.decoded_seconds:g}"]
    options += ["-ac", "1", "-ar", str(INPUT_SAMPLE_RATE), *codec]
    # Written in 32 KB blocks rather than one per decoded frame: fewer wake-ups of the loop.
    options += ["-flush_packets", "0", "-fs", str(cap)]
    try:
        out = await run_ffmpeg(data, (), options, within=bounds.timeout, cap=cap)
    except TimeoutError as exc:
        raise AudioTimedOut(bounds.timeout) from exc
    except OutputOverCap as exc:
        raise AudioTooLong(bounds.seconds) from exc
    except FfmpegFailed as exc:
        raise AudioUndecodable(exc.complaint) from exc
    if not out:
        raise AudioUndecodable("no audio in the file")
    return out


async def wav_to_voice(wav: bytes) -> VoiceNote:
    """A WAV (any rate, any channels) as an OGG/Opus voice note."""
    plain, duration = await asyncio.to_thread(_plain_wav, wav)
    options = ["-c:a", "libopus", "-b:a", VOICE_BITRATE, *VOICE_OPTIONS, "-f", "ogg"]
    return VoiceNote(await _encode(plain, options), duration)


async def wav_to_mp3(wav: bytes) -> bytes:
    """A WAV as mono MP3, for `sendAudio` (which wants MP3 or M4A)."""
    plain, _ = await asyncio.to_thread(_plain_wav, wav)
    options = ["-ac", "1", "-c:a", "libmp3lame", "-b:a", MP3_BITRATE, "-f", "mp3"]
    return await _encode(plain, options)


async def _encode(wav: bytes, options: list[str]) -> bytes:
    """A plain WAV encoded by ffmpeg with `options`, within ENCODE_TIMEOUT and ENCODED_MAX_BYTES."""
    options = [*options, "-fs", str(ENCODED_MAX_BYTES)]
    try:
        encoded = await run_ffmpeg(
            wav, ("-f", "wav"), options, within=ENCODE_TIMEOUT, cap=ENCODED_MAX_BYTES
        )
    except TimeoutError as exc:
        raise AudioEncodeFailed(f"took over {ENCODE_TIMEOUT:g} s; ffmpeg killed") from exc
    except OutputOverCap as exc:
        raise AudioEncodeFailed(f"over {ENCODED_MAX_BYTES} bytes") from exc
    except FfmpegFailed as exc:
        raise AudioEncodeFailed(exc.complaint) from exc
    if not encoded:
        raise AudioEncodeFailed("ffmpeg produced nothing")
    return encoded


def _plain_wav(wav: bytes) -> tuple[bytes, float]:
    """A reply's WAV checked and rewritten plainly (pydub mends odd headers), and its duration."""
    require_ffmpeg()
    try:
        segment = AudioSegment.from_wav(io.BytesIO(wav))
    except _PARSE_ERRORS as exc:
        raise AudioUndecodable(complaint_tail(str(exc))) from exc
    if len(segment) == 0:
        raise AudioUndecodable("no audio in the WAV")
    plain = io.BytesIO()
    segment.export(plain, format="wav")  # a plain WAV is written by pydub itself, no ffmpeg
    return plain.getvalue(), segment.duration_seconds


def _wav_header(data_bytes: int) -> bytes:
    """The 44-byte header of a 16-bit mono 16 kHz PCM WAV holding `data_bytes` of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        INPUT_SAMPLE_RATE,
        INPUT_BYTES_PER_SECOND,
        2,  # bytes per frame
        16,  # bits per sample
        b"data",
        data_bytes,
    )
