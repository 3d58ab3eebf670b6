"""Small test doubles that several test modules share: a clock moved by hand, a reply sink, an
ffmpeg whose decoding runs wait at a gate.

Fixtures built on them (`clock`, `store`, `service`, ...) are in `tests/conftest.py`; the fake
Telegram and the fake upstream are in `tests/fakes/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings

# 2026-03-14 21:40:00 UTC: a real wall-clock instant, so UTC days and months mean something,
# 2 h 20 min before midnight, so a test can move on by minutes without reaching the next day.
EVENING = datetime(2026, 3, 14, 21, 40, tzinfo=UTC).timestamp()


@dataclass
class FakeClock:
    """A clock the test moves by hand (`clock.now += 30`), for code that takes a `clock`
    callable (time.time or time.monotonic). With `tick`, each reading first moves it on by
    that many seconds."""

    now: float = EVENING
    tick: float = 0.0

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


class RecordingSink:
    """A reply sink (the protocol `ConversationService` writes into) that remembers what it was
    given: the calls in order, every text shown, the final text and its notice, and whether the
    turn closed it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.started = False
        self.updates: list[str] = []
        self.final: str | None = None
        self.notice: str | None = None
        self.first_update = asyncio.Event()
        self.closed = False  # close() is not among `calls`: every turn ends with it

    async def start(self) -> None:
        self.calls.append("start")
        self.started = True

    async def update(self, text: str) -> None:
        self.calls.append("update")
        self.updates.append(text)
        self.first_update.set()

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        self.calls.append("finish")
        self.final = text
        self.notice = notice

    async def close(self) -> None:
        self.closed = True


def marker_kwargs(request: pytest.FixtureRequest, name: str) -> dict[str, Any] | None:
    """The keyword arguments of the test's closest `name` marker; None when it has none."""
    node: pytest.Item = request.node
    marker = node.get_closest_marker(name)
    return None if marker is None else dict(marker.kwargs)


def settings_from(**values: Any) -> Settings:
    """Settings as the bot loads them at startup (errors as users read them), from `values` and
    the environment but no .env file; a token and a database path unless given."""
    defaults: dict[str, Any] = {"telegram_bot_token": "1:test", "database_path": Path("unused")}
    return load_settings(_env_file=None, **(defaults | values))


def run_sql(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a database file through a second, plain connection, as an
    operator's sqlite3 shell would, and commit it; the rows it gave (`query` runs it off the
    event loop)."""
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        return [tuple(row) for row in connection.execute(sql, parameters)]


async def query(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return await asyncio.to_thread(run_sql, path, sql, parameters)


async def rows_naming(path: Path, chat_id: int, texts: tuple[str, ...]) -> dict[str, int]:
    """ "table.column" -> how many rows hold `chat_id` there, or any of `texts` in their text,
    over every column of every table the schema has (read from the file itself, so a table
    added later is searched too); only those with any."""
    found: dict[str, int] = {}
    tables = await query(
        path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for (table,) in tables:
        for column in await query(path, "SELECT name FROM pragma_table_info(?)", (table,)):
            # Names come from the schema itself, quoted; the values are parameters.
            tests = " OR ".join(['"{0}" = ?'] + ['instr("{0}", ?) > 0'] * len(texts))
            sql = f'SELECT COUNT(*) FROM "{table}" WHERE ' + tests.format(column[0])
            [(count,)] = await query(path, sql, (chat_id, *texts))
            if count:
                found[f"{table}.{column[0]}"] = count
    return found


def file_holds(path: Path, texts: tuple[str, ...]) -> list[str]:
    """Which of `texts` the database file or its write-ahead log hold anywhere, in UTF-8, live
    or in free space (what someone with the file could read back)."""
    data = b"".join(
        part.read_bytes() for part in (path, path.with_name(path.name + "-wal")) if part.exists()
    )
    return [text for text in texts if text.encode() in data]


def audio_bomb(seconds: float, *, size: int | None = None) -> bytes:
    """A FLAC of `seconds` of silence in 8 channels (7.1) at 192 kHz, as a hostile client might
    send: 32 KB a minute, which decode at the file's own rate and channels to 3 MB a second.

    With `size`, the file is exactly `size` bytes: a PADDING metadata block of zeros (which
    decoders skip) after the STREAMINFO block makes up the difference, so a bomb can weigh as
    much as the bot accepts (VOICE_MAX_BYTES) and still decode to the same audio."""
    silence = ["-f", "lavfi", "-i", "anullsrc=r=192000:cl=7.1", "-t", f"{seconds:g}"]
    flac = ["-c:a", "flac", "-sample_fmt", "s16", "-f", "flac", "-"]
    data = subprocess.run(
        ["ffmpeg", "-v", "error", *silence, *flac],
        capture_output=True,
        check=True,
    ).stdout
    return data if size is None else _flac_padded(data, size)


_FLAC_HEAD = 4 + 4 + 34  # "fLaC", then STREAMINFO: a 4-byte block header and 34 bytes
_FLAC_PADDING = 1  # metadata block type; the block is not the last one (top bit clear)


def _flac_padded(data: bytes, size: int) -> bytes:
    padding = size - len(data) - 4
    if data[:4] != b"fLaC" or not 0 <= padding < 1 << 24:
        raise ValueError(f"can't pad a {len(data)}-byte FLAC to {size} bytes")
    header = bytes([_FLAC_PADDING]) + padding.to_bytes(3, "big")
    return data[:_FLAC_HEAD] + header + bytes(padding) + data[_FLAC_HEAD:]


# Decoding runs (audio for the model) are the ones that write 16-bit PCM.
_GATED_FFMPEG = """#!/bin/sh
case " $* " in
  *" 0:a:0 "*)
    echo "start $$" >> '{folder}/runs'
    while [ ! -e '{folder}/open' ]; do sleep 0.01; done
    '{real}' "$@"
    code=$?
    echo "end $$" >> '{folder}/runs'
    exit $code;;
esac
exec '{real}' "$@"
"""


class GatedFfmpeg:
    """An `ffmpeg` script in `folder` that runs the `real` one, except that a decoding run (one
    turning audio into samples for the model) first waits until the gate is `open()` — forever,
    if it never is. It records when each such run starts and ends, by process id: the id of the
    process the bot started, which is the one to kill.

    Put `folder` first on PATH (the `gated_ffmpeg` fixture does) and the bot runs this one.
    """

    def __init__(self, folder: Path, real: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / "ffmpeg"
        script.write_text(_GATED_FFMPEG.format(folder=folder, real=real))
        script.chmod(0o755)

    def open(self) -> None:
        """Let every waiting and later decoding run go on."""
        (self.folder / "open").touch()

    def runs(self) -> list[tuple[str, int]]:
        """("start" or "end", process id) of the decoding runs, in order."""
        log = self.folder / "runs"
        lines = log.read_text().split("\n") if log.exists() else []
        return [(event, int(pid)) for event, pid in (line.split() for line in lines if line)]

    def started(self) -> list[int]:
        return [pid for event, pid in self.runs() if event == "start"]

    def most_at_once(self) -> int:
        """The most decoding runs that were under way at the same time."""
        running = most = 0
        for event, _ in self.runs():
            running += 1 if event == "start" else -1
            most = max(most, running)
        return most

    async def wait_for_starts(self, count: int) -> None:
        """Return once `count` decoding runs have started (AssertionError after 20 s)."""
        for _ in range(2000):
            if len(self.started()) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{count} ffmpeg runs expected, {len(self.started())} started")


def child_processes() -> set[int]:
    """The ids of this process's children that have not been reaped (Linux: /proc)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that has just ended
            pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids


@dataclass(frozen=True, slots=True)
class HeardMp3:
    """What an MP3 holds, as ffmpeg decodes it: codec, channels, sample rate and seconds."""

    codec: str
    channels: int
    rate: int
    seconds: float


def heard_mp3(data: bytes) -> HeardMp3:
    """The shape of MP3 bytes (ffprobe), and their length decoded (ffprobe can't tell it on a
    pipe when the MP3 has no Xing frame)."""
    probe = ["ffprobe", "-v", "error", "-of", "default=noprint_wrappers=1"]
    probe += ["-show_entries", "stream=codec_name,channels,sample_rate", "-"]
    out = subprocess.run(probe, input=data, capture_output=True, check=True).stdout
    info = dict(line.split("=", 1) for line in out.decode().split())
    channels, rate = int(info["channels"]), int(info["sample_rate"])
    decode = ["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "s16le", "-c:a", "pcm_s16le", "-"]
    pcm = subprocess.run(decode, input=data, capture_output=True, check=True).stdout
    return HeardMp3(info["codec_name"], channels, rate, len(pcm) / (2 * channels * rate))


def process_exists(pid: int) -> bool:
    """Whether a process with this id still exists (an ended, reaped one does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
