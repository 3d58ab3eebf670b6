"""PDF and Word (.docx) files read as text for the model, in a worker process that is bounded.

Owns the shapes of a read (the formats, `ReadLimits`, `DocumentContent`, why a file is
unreadable) and running one read: a short-lived Python process started for that file alone
(media/document_reader.py is what runs in it), its input an unnamed temporary file (its stdin),
its answer one JSON object on stdout, read by the event loop up to a byte cap. The worker limits
itself before it reads a byte (memory, CPU time, no files, no processes, the lowest CPU
priority); the bot kills it when it outlives `ReadLimits.seconds` or its caller is cancelled (a
thread could not be stopped; a process can), so a crafted file — a decompression bomb, thousands
of pages, deeply nested or cyclic objects — costs at most those limits. The worker runs with an
empty environment (no token or key to find).

What the bot then does with the text (the budget, the notices, the answers) is the business of
media/document_text.py and handlers/documents.py; this module knows nothing of Telegram, the
upstream or the store.
"""

from __future__ import annotations

import asyncio
import enum
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from bot.media.processes import kill, reap

# Where the `bot` package lives, so the worker imports this module whatever its working folder.
_ROOT = str(Path(__file__).resolve().parents[2])
# -I: no environment variables, no user site-packages, no current folder on the path.
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from bot.media.document_reader import worker_main; worker_main(sys.argv[2:])"
)
# CPU seconds the worker may use beyond its wall-clock limit before the kernel stops it: only for
# a worker whose parent is gone, as the parent kills it first.
_CPU_SLACK = 1
_READ_CHUNK = 64 * 1024


class Format(enum.Enum):
    """The document formats this module reads."""

    PDF = "pdf"
    WORD = "docx"


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What reading one document may cost: pages and characters of text read, seconds before the
    worker is killed, and bytes of address space it may use."""

    pages: int
    chars: int
    seconds: float
    memory: int

    @property
    def output_cap(self) -> int:
        """The most bytes of answer the worker may write: the text as JSON (six bytes per
        character at worst, an escaped control character) and a little per page."""
        return 6 * self.chars + 64 * self.pages + 4096


@dataclass(frozen=True, slots=True)
class DocumentContent:
    """The text read from a document.

    `pages`: the text of each page read, in order (a Word document is one "page": it has pages
    only once laid out); `page_count`: the pages the PDF has (None for a Word document);
    `stopped`: which limit ended the reading before the document's end, if one did; `partial`:
    the last page was cut at the character limit.
    """

    pages: tuple[str, ...]
    page_count: int | None
    stopped: Literal["pages", "chars"] | None = None
    partial: bool = False

    @property
    def has_text(self) -> bool:
        return any(page.strip() for page in self.pages)


class Unreadable(enum.Enum):
    """Why a document could not be read."""

    ENCRYPTED = "encrypted"  # it needs a password
    OLD_FORMAT = "old_format"  # a .docx that is an OLE2 file: a .doc, or a password-protected .docx
    DAMAGED = "damaged"  # not a valid PDF or .docx
    TOO_BIG = "too_big"  # it would take more memory or work than the limits allow
    TIMED_OUT = "timed_out"  # the worker outlived its time, and was killed


class DocumentUnreadable(Exception):
    """The document can't be read; `why` says which case, `detail` is for the logs."""

    def __init__(self, why: Unreadable, detail: str = "") -> None:
        super().__init__(f"{why.value}: {detail}" if detail else why.value)
        self.why = why
        self.detail = detail


async def read_document(data: bytes, kind: Format, limits: ReadLimits) -> DocumentContent:
    """The text of a PDF or Word document, read by a worker process within `limits`.

    Raises DocumentUnreadable when it can't be read (password, damage, limits, time).
    """
    argv = [sys.executable, "-I", "-c", _BOOTSTRAP, _ROOT, kind.value]
    argv += [str(limits.pages), str(limits.chars), str(limits.memory)]
    argv.append(str(math.ceil(limits.seconds) + _CPU_SLACK))
    try:
        code, out = await _run(argv, data, within=limits.seconds, cap=limits.output_cap)
    except TimeoutError:
        raise DocumentUnreadable(Unreadable.TIMED_OUT, f"over {limits.seconds:g} s") from None
    if len(out) > limits.output_cap:
        raise DocumentUnreadable(Unreadable.TOO_BIG, "answer over its cap")
    return _answer(code, out)


def _answer(code: int, out: bytes) -> DocumentContent:
    """The worker's answer, or why there is none."""
    try:
        answer = json.loads(out)
    except ValueError:
        # Killed by the kernel (CPU limit) or crashed in a C library, before it answered.
        raise DocumentUnreadable(Unreadable.DAMAGED, f"worker exited with {code}") from None
    status = answer.get("status")
    if status != "ok":
        why = Unreadable(status) if status in _STATUSES else Unreadable.DAMAGED
        raise DocumentUnreadable(why, str(answer.get("detail", "")))
    stopped = answer.get("stopped")
    return DocumentContent(
        tuple(str(page) for page in answer["pages"]),
        answer.get("page_count"),
        stopped if stopped in ("pages", "chars") else None,
        bool(answer.get("partial")),
    )


_STATUSES = frozenset(why.value for why in Unreadable)


# --- the worker's process, seen from the bot ---------------------------------------------------


async def _run(argv: list[str], data: bytes, *, within: float, cap: int) -> tuple[int, bytes]:
    """The worker's exit code and at most `cap` + 1 bytes of its stdout, within `within` seconds
    (TimeoutError otherwise). It is killed if it is still running when this returns or raises."""
    staging = asyncio.ensure_future(asyncio.to_thread(_staged, data))
    try:
        async with asyncio.timeout(within):
            # Shielded: if we are cancelled meanwhile, the file is still known, and closed.
            stdin = await asyncio.shield(staging)
            spawning = asyncio.ensure_future(asyncio.to_thread(_spawn, argv, stdin))
            try:
                process = await asyncio.shield(spawning)
                out = await _output(process, cap)
                code = await asyncio.to_thread(process.wait)  # it closed stdout: it is ending
            finally:
                await reap(spawning)
    finally:
        await _unstage(staging)
    return code, out


def _staged(data: bytes) -> IO[bytes]:
    """`data` in an unnamed temporary file, rewound: the worker's stdin (in a thread)."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _unstage
    try:
        file.write(data)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return file


async def _unstage(staging: asyncio.Future[IO[bytes]]) -> None:
    """Close (and so delete) the staged file, once its write has ended."""
    if not staging.done():
        await asyncio.wait([staging])
    if staging.cancelled() or staging.exception() is not None:
        return
    await asyncio.to_thread(staging.result().close)


def _spawn(argv: list[str], stdin: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start the worker (in a thread: starting a process waits until it runs)."""
    return subprocess.Popen(
        argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={}
    )


async def _output(process: subprocess.Popen[bytes], cap: int) -> bytes:
    """The worker's stdout to its end, or its first `cap` + 1 bytes (it is killed then)."""
    reader = asyncio.StreamReader(limit=_READ_CHUNK)
    protocol = asyncio.StreamReaderProtocol(reader)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(lambda: protocol, process.stdout)
    try:
        chunks: list[bytes] = []
        size = 0
        while size <= cap:
            chunk = await reader.read(_READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            kill(process)
        return b"".join(chunks)
    finally:
        transport.close()
