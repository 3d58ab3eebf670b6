"""Audio conversion: any audio to MP3 for the model, WAV replies to voice notes (OGG/Opus) or MP3.

Owns every ffmpeg run of the bot, the formats (audio for the model MP3 mono 16 kHz 32 kbit/s, or
16-bit PCM WAV mono 16 kHz; voice notes OGG/Opus mono 48 kHz ~32 kbit/s) and what one run may
cost. A run is one ffmpeg subprocess, started from a worker thread (a start waits for the exec)
and then read by the event loop, so no thread waits while it runs and the loop keeps serving
other chats; it runs at the lowest CPU priority (niceness 19), so the bot's own work and other
chats come first on a busy machine. Its input is a
file in a private temporary folder (removed afterwards, whatever happens); ffmpeg may open
nothing but that file (`-protocol_whitelist file`) and decodes straight to the output format;
its output is read up to a byte cap; it is killed when it outlives its timeout or its caller is
cancelled. Audio for the model is decoded only up to its duration limit (`-t`), so a long or
many-channel file costs no more than a short mono one. `ConversionLimit` bounds how many
conversions run at once; `AudioBudget` how many bytes of converted audio wait for or are inside
upstream requests at once. Failures come out as `bot.errors.AudioError` types (the two about
bounds, `AudioTooLong` and `AudioTimedOut`, are defined here). Knows nothing of Telegram, the
upstream or the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import shutil
import struct
import subprocess
import tempfile
import warnings
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

with warnings.catch_warnings():
    # pydub imports the stdlib `audioop` (deprecated since 3.11) and warns at import when ffmpeg
    # is missing; we report a missing ffmpeg ourselves, per conversion and in `bot check`.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

from bot.errors import AudioEncodeFailed, AudioError, AudioUndecodable, FfmpegMissing

FFMPEG = "ffmpeg"
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
# Every ffmpeg run's CPU priority: the lowest, so that on a busy machine the bot's own event loop
# and other chats' work come first; conversions then take longer, not the others' replies.
FFMPEG_NICENESS = 19
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
_QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")
_INPUT = "input"  # the input's file name inside its private folder
_STDERR_TAIL = 300  # characters of ffmpeg's complaint kept in an error (logs only)
_READ_CHUNK = 64 * 1024
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
        return (
            f"That audio is longer than {self.limit:g} s, more than I can listen to."
            " Please send a shorter one."
        )


class AudioTimedOut(AudioError):
    """ffmpeg did not finish within its timeout, and was killed."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"conversion took over {timeout:g} s; ffmpeg killed")
        self.timeout = timeout

    @property
    def user_message(self) -> str:
        return (
            f"Converting that audio took longer than {self.timeout:g} s, so I stopped."
            " Please send a shorter recording, or another format (a voice note always works)."
        )


class ConversionLimit:
    """At most `limit` conversions at once; the others wait, first come, first served.

    Waiting costs nothing but the waiting coroutine: no thread, no process, no buffer (a caller
    that downloads inside its slot holds no file while it waits either).
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a conversion limit must allow at least one conversion")
        self.limit = limit
        self.running = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(limit)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for the block, waiting for one first if all are taken."""
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()


class AudioBudget:
    """At most `limit` bytes of converted audio held at once, from its conversion until its turn
    ends (waiting for the upstream, inside the request, while the reply is shown).

    `hold(size)` waits until the size fits, first come, first served (a later small one does not
    overtake an earlier large one), and returns the function that gives the room back; a size
    over the whole budget waits until nothing else is held. Waiting holds nothing.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("an audio budget must allow at least one byte")
        self.limit = limit
        self.held = 0
        self._queue: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def hold(self, size: int) -> Callable[[], None]:
        """Wait until `size` bytes fit, take them, and return what gives them back (once)."""
        size = max(0, min(size, self.limit))
        entry = (size, asyncio.get_running_loop().create_future())
        self._queue.append(entry)
        self._grant()
        try:
            await entry[1]
        except BaseException:
            if entry[1].done() and not entry[1].cancelled():
                self._give_back(size)  # granted, but its caller was cancelled meanwhile
            else:
                self._queue.remove(entry)
                self._grant()  # it may have held up the ones behind it
            raise
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._give_back(size)

        return release

    def _give_back(self, size: int) -> None:
        self.held -= size
        self._grant()

    def _grant(self) -> None:
        while self._queue and self.held + self._queue[0][0] <= self.limit:
            size, granted = self._queue.popleft()
            self.held += size
            granted.set_result(None)


def ffmpeg_path() -> str | None:
    """Where ffmpeg is, or None when it is not on PATH (looked up anew each time)."""
    return shutil.which(FFMPEG)


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
        out = await _convert(data, (), options, within=bounds.timeout, cap=cap)
    except TimeoutError as exc:
        raise AudioTimedOut(bounds.timeout) from exc
    except _OutputOverCap as exc:
        raise AudioTooLong(bounds.seconds) from exc
    except _FfmpegFailed as exc:
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
        encoded = await _convert(
            wav, ("-f", "wav"), options, within=ENCODE_TIMEOUT, cap=ENCODED_MAX_BYTES
        )
    except TimeoutError as exc:
        raise AudioEncodeFailed(f"took over {ENCODE_TIMEOUT:g} s; ffmpeg killed") from exc
    except _OutputOverCap as exc:
        raise AudioEncodeFailed(f"over {ENCODED_MAX_BYTES} bytes") from exc
    except _FfmpegFailed as exc:
        raise AudioEncodeFailed(exc.complaint) from exc
    if not encoded:
        raise AudioEncodeFailed("ffmpeg produced nothing")
    return encoded


def _plain_wav(wav: bytes) -> tuple[bytes, float]:
    """A reply's WAV checked and rewritten plainly (pydub mends odd headers), and its duration."""
    _require_ffmpeg()
    try:
        segment = AudioSegment.from_wav(io.BytesIO(wav))
    except _PARSE_ERRORS as exc:
        raise AudioUndecodable(_tail(str(exc))) from exc
    if len(segment) == 0:
        raise AudioUndecodable("no audio in the WAV")
    plain = io.BytesIO()
    segment.export(plain, format="wav")  # a plain WAV is written by pydub itself, no ffmpeg
    return plain.getvalue(), segment.duration_seconds


# --- one ffmpeg run ------------------------------------------------------------------------------


class _OutputOverCap(Exception):
    """ffmpeg wrote more than the cap; it was killed."""


class _FfmpegFailed(Exception):
    """ffmpeg exited with an error; `complaint` is the end of what it said."""

    def __init__(self, complaint: str) -> None:
        super().__init__(complaint)
        self.complaint = complaint


async def _convert(
    data: bytes, input_options: Sequence[str], options: Sequence[str], *, within: float, cap: int
) -> bytes:
    """What ffmpeg writes to stdout for `data`, given it as a file: at most `cap` bytes, within
    `within` seconds (TimeoutError otherwise; ffmpeg is killed)."""
    staging = asyncio.ensure_future(asyncio.to_thread(_stage, data))
    try:
        async with asyncio.timeout(within):
            # Shielded: if we are cancelled meanwhile, the write still ends before the clean-up.
            ffmpeg, folder = await asyncio.shield(staging)
            arguments = [*_QUIET, "-protocol_whitelist", "file", *input_options]
            arguments += ["-i", str(folder / _INPUT), *options, "pipe:1"]
            return await _run(ffmpeg, arguments, cap)
    finally:
        await _unstage(staging)


def _stage(data: bytes) -> tuple[str, Path]:
    """ffmpeg's path, and a new private folder holding `data` as its input (in a thread)."""
    ffmpeg = _require_ffmpeg()
    folder = Path(tempfile.mkdtemp(prefix="bot-audio-"))  # mode 0700
    try:
        (folder / _INPUT).write_bytes(data)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise AudioError(f"could not write a temporary file: {exc.strerror}") from exc
    return ffmpeg, folder


async def _unstage(staging: asyncio.Future[tuple[str, Path]]) -> None:
    """Remove the staged folder, once its write has ended (whatever became of it)."""
    if not staging.done():
        await asyncio.wait([staging])
    if staging.cancelled() or staging.exception() is not None:
        return
    _, folder = staging.result()
    await asyncio.to_thread(shutil.rmtree, folder, True)


async def _run(ffmpeg: str, arguments: list[str], cap: int) -> bytes:
    """ffmpeg's output: it is started in a worker thread (starting a process waits until the
    process runs, which on a busy machine can take tens of milliseconds: not on the event loop),
    its pipes are read by the event loop, and it is waited for only once it has closed them."""
    spawning = asyncio.ensure_future(asyncio.to_thread(_spawn, [ffmpeg, *arguments]))
    try:
        # Shielded: if we are cancelled meanwhile, the process is still known, and killed.
        process = await asyncio.shield(spawning)
        out, complaint = await _outputs(process, cap)
        code = await asyncio.to_thread(process.wait)  # it closed its pipes: it is ending
    finally:
        await _reap(spawning)
    if len(out) > cap:
        raise _OutputOverCap()
    if code != 0:
        raise _FfmpegFailed(complaint or f"ffmpeg exited with {code}")
    return out


def _spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """The process started, then set to the lowest CPU priority. Set from here rather than in
    the child before its exec (`preexec_fn` is unsafe in a process with threads, and this runs
    in one) or by a `nice` wrapper (one more program that must be installed): only its first
    instants run at the bot's own priority."""
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except FileNotFoundError as exc:
        raise FfmpegMissing() from exc
    with contextlib.suppress(ProcessLookupError):  # it may have ended already
        os.setpriority(os.PRIO_PROCESS, process.pid, FFMPEG_NICENESS)
    return process


async def _outputs(process: subprocess.Popen[bytes], cap: int) -> tuple[bytes, str]:
    """At most `cap` + 1 bytes of the process's stdout (killing it once it writes more), and the
    end of its stderr, both read to their end."""
    transports: list[asyncio.ReadTransport] = []
    try:
        stdout, stderr = [
            await _stream(pipe, transports) for pipe in (process.stdout, process.stderr)
        ]

        async def output() -> bytes:
            read = await _read_at_most(stdout, cap + 1)
            if len(read) > cap:
                _kill(process)
            return read

        out, complaint = await asyncio.gather(output(), _last_words(stderr))
        return out, complaint
    finally:
        for transport in transports:
            transport.close()


async def _stream(
    pipe: IO[bytes] | None, transports: list[asyncio.ReadTransport]
) -> asyncio.StreamReader:
    """A reader of `pipe` on the event loop (its transport added to `transports`)."""
    reader = asyncio.StreamReader(limit=_READ_CHUNK)
    protocol = asyncio.StreamReaderProtocol(reader)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(lambda: protocol, pipe)
    transports.append(transport)
    return reader


async def _reap(spawning: asyncio.Future[subprocess.Popen[bytes]]) -> None:
    """Kill the process if it still runs, and wait for it to end (whatever became of it)."""
    if not spawning.done():
        await asyncio.wait([spawning])
    if spawning.cancelled() or spawning.exception() is not None:
        return
    process = spawning.result()
    if process.returncode is None:
        _kill(process)
        await asyncio.to_thread(process.wait)
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have just ended by itself
        process.kill()


async def _read_at_most(stream: asyncio.StreamReader, limit: int) -> bytes:
    """The stream's bytes until its end, or the first ones once at least `limit` have come."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(_READ_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def _last_words(stream: asyncio.StreamReader) -> str:
    """The end of what ffmpeg says on stderr, read to the end so the pipe never fills up."""
    kept = b""
    while chunk := await stream.read(_READ_CHUNK):
        kept = (kept + chunk)[-4 * _STDERR_TAIL :]
    return _tail(kept.decode("utf-8", "replace"))


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


def _require_ffmpeg() -> str:
    path = ffmpeg_path()
    if path is None:
        raise FfmpegMissing()
    return path


def _tail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _STDERR_TAIL else "…" + text[-_STDERR_TAIL:]
