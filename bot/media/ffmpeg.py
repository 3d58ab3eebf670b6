"""One ffmpeg run: the bounded subprocess every audio conversion of the bot goes through.

Owns starting ffmpeg (from a worker thread: a start waits for the exec) at the lowest CPU
priority (niceness 19, so the bot's own work and other chats come first on a busy machine), its
input as a file in a private temporary folder (removed afterwards, whatever happens; ffmpeg may
open nothing but that file: `-protocol_whitelist file`), reading its output on the event loop up
to a byte cap and the end of its complaint, and killing it when it outlives its time or its
caller is cancelled. What to convert to, and the limits of each kind of conversion, are
media/audio.py's; this module knows no format and nothing of Telegram, the upstream or the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from bot.errors import AudioError, FfmpegMissing
from bot.media.processes import kill, reap

FFMPEG = "ffmpeg"
# Every ffmpeg run's CPU priority: the lowest, so that on a busy machine the bot's own event loop
# and other chats' work come first; conversions then take longer, not the others' replies.
FFMPEG_NICENESS = 19
_QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")
_INPUT = "input"  # the input's file name inside its private folder
_STDERR_TAIL = 300  # characters of ffmpeg's complaint kept in an error (logs only)
_READ_CHUNK = 64 * 1024


def ffmpeg_path() -> str | None:
    """Where ffmpeg is, or None when it is not on PATH (looked up anew each time)."""
    return shutil.which(FFMPEG)


class OutputOverCap(Exception):
    """ffmpeg wrote more than the cap; it was killed."""


class FfmpegFailed(Exception):
    """ffmpeg exited with an error; `complaint` is the end of what it said."""

    def __init__(self, complaint: str) -> None:
        super().__init__(complaint)
        self.complaint = complaint


async def run_ffmpeg(
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
    ffmpeg = require_ffmpeg()
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
        await reap(spawning)
    if len(out) > cap:
        raise OutputOverCap()
    if code != 0:
        raise FfmpegFailed(complaint or f"ffmpeg exited with {code}")
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
                kill(process)
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
    return complaint_tail(kept.decode("utf-8", "replace"))


def require_ffmpeg() -> str:
    path = ffmpeg_path()
    if path is None:
        raise FfmpegMissing()
    return path


def complaint_tail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _STDERR_TAIL else "…" + text[-_STDERR_TAIL:]
