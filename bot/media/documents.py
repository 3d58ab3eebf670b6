"""PDF and Word (.docx) files read as text for the model, in a worker process that is bounded.

Owns reading a PDF's text layer (pypdf) and a Word document's paragraphs, headings and tables in
reading order (python-docx), and what one read may cost. A read is one short-lived Python process
started for that file alone: its input is an unnamed temporary file (its stdin), its answer one
JSON object on stdout, read by the event loop up to a byte cap. Before it reads a byte of the file
the worker limits itself (setrlimit): address space to `ReadLimits.memory`, CPU time to a little
over `ReadLimits.seconds`, no files written, no processes started, no core dump; pypdf's own
stream limits are set below the memory limit, and a .docx whose parts would unpack to more than a
share of it is refused before it is unpacked. The parent kills the worker when it outlives
`ReadLimits.seconds` or its caller is cancelled (a thread could not be stopped; a process can), so
a crafted file — a decompression bomb, thousands of pages, deeply nested or cyclic objects —
costs at most those limits. The worker stops reading at `ReadLimits.pages` pages or
`ReadLimits.chars` characters. It runs with an empty environment (no token or key to find) and
imports nothing of the bot but this module.

What the bot then does with the text (the budget, the notices, the answers) is the business of
media/attachments.py and handlers/media.py; this module knows nothing of Telegram, the upstream
or the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import io
import json
import math
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

# Where the `bot` package lives, so the worker imports this module whatever its working folder.
_ROOT = str(Path(__file__).resolve().parents[2])
# -I: no environment variables, no user site-packages, no current folder on the path.
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from bot.media.documents import worker_main; worker_main(sys.argv[2:])"
)
# An OLE2 compound file: the old binary Office formats (.doc, .xls, .ppt), and also a .docx
# saved with a password (Word wraps the encrypted package in one).
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Shares of the memory limit: any one decoded PDF stream, everything a .docx unpacks to, and its
# XML alone (a parsed XML tree takes several times its text).
_STREAM_SHARE = 8
_UNPACKED_SHARE = 4
_XML_SHARE = 16
_MAX_DOCX_PARTS = 10_000
# CPU seconds the worker may use beyond its wall-clock limit before the kernel stops it: only for
# a worker whose parent is gone, as the parent kills it first.
_CPU_SLACK = 1
_READ_CHUNK = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


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
                await _reap(spawning)
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
            _kill(process)
        return b"".join(chunks)
    finally:
        transport.close()


async def _reap(spawning: asyncio.Future[subprocess.Popen[bytes]]) -> None:
    """Kill the worker if it still runs, and wait for it to end (whatever became of it)."""
    if not spawning.done():
        await asyncio.wait([spawning])
    if spawning.cancelled() or spawning.exception() is not None:
        return
    process = spawning.result()
    if process.returncode is None:
        _kill(process)
        await asyncio.to_thread(process.wait)
    if process.stdout is not None:
        process.stdout.close()


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have just ended by itself
        process.kill()


# --- the worker --------------------------------------------------------------------------------


def worker_main(args: Sequence[str]) -> None:
    """The worker process: limit itself, read the document on stdin, answer on stdout."""
    kind, pages, chars, memory, cpu_seconds = args
    limits = ReadLimits(int(pages), int(chars), float(cpu_seconds), int(memory))
    read = _read_pdf if kind == Format.PDF.value else _read_docx
    answer = _answer_of(read, limits)
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))
    sys.stdout.buffer.flush()


def _answer_of(read: Any, limits: ReadLimits) -> dict[str, Any]:
    """What `read` made of the document on stdin, or why it failed, as the worker's answer."""
    _import_readers()  # before the memory limit: the libraries themselves are trusted
    _limit_self(limits)
    failure: tuple[Unreadable, str] | None = None
    try:
        return dict(read(sys.stdin.buffer.read(), limits))
    except MemoryError:
        # Nothing else is done in here: the traceback holds what filled the memory.
        failure = (Unreadable.TOO_BIG, "memory limit")
    except RecursionError:
        failure = (Unreadable.DAMAGED, "nested too deeply")
    except Exception as exc:
        failure = _classified(exc)
    why, detail = failure
    return {"status": why.value, "detail": detail}


def _classified(exc: Exception) -> tuple[Unreadable, str]:
    """Why a reader failed. Anything a parser of hostile input raises means the file is not what
    it claims; the types the libraries name for limits and passwords say more."""
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    detail = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, LimitReachedError):
        return Unreadable.TOO_BIG, detail
    # lxml reports an allocation that failed at the memory limit as a syntax error.
    if any(entry.type_name == "ERR_NO_MEMORY" for entry in getattr(exc, "error_log", ())):
        return Unreadable.TOO_BIG, "memory limit (XML)"
    if isinstance(exc, FileNotDecryptedError | DependencyError):
        return Unreadable.ENCRYPTED, detail
    return Unreadable.DAMAGED, detail


def _import_readers() -> None:
    # pypdf brings its AES provider (cryptography), for PDFs encrypted with an empty password.
    import docx  # noqa: F401
    import pypdf  # noqa: F401


def _limit_self(limits: ReadLimits) -> None:
    """Bound this process: memory, CPU time, no files written, no children, no core dump."""
    import resource

    cpu = math.ceil(limits.seconds)
    for which, value in (
        (resource.RLIMIT_AS, limits.memory),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_CORE, 0),
    ):
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def _read_pdf(data: bytes, limits: ReadLimits) -> dict[str, Any]:
    """A PDF's text, page by page, up to the page and character limits."""
    from pypdf import PasswordType, PdfReader, overwrite_configuration

    stream_cap = limits.memory // _STREAM_SHARE
    overwrite_configuration(
        maximum_declared_stream_length=stream_cap,
        array_based_stream_maximum_output_length=stream_cap,
        jbig2_maximum_output_length=stream_cap,
        lzw_maximum_output_length=stream_cap,
        run_length_maximum_output_length=stream_cap,
        zlib_maximum_output_length=stream_cap,
        brotli_maximum_output_length=stream_cap,
        image_maximum_buffer_size=stream_cap,
        stream_decoding_work_maximum_length=stream_cap,
        jbig2dec_binary=None,  # never start another program
    )
    reader = PdfReader(io.BytesIO(data))
    # A PDF encrypted with an empty user password opens in any viewer without asking: read it.
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        return {"status": Unreadable.ENCRYPTED.value, "detail": "a password is needed"}
    count = len(reader.pages)
    pages = _Pages(limits)
    for index in range(count):
        if index >= limits.pages:
            pages.stopped = "pages"
            break
        if not pages.add(_clean(reader.pages[index].extract_text())):
            break
    return pages.answer(count)


def _read_docx(data: bytes, limits: ReadLimits) -> dict[str, Any]:
    """A Word document's text in reading order: headings marked as in markdown, list items,
    tables as markdown rows; up to the character limit."""
    import zipfile

    import docx
    from docx.table import Table

    if data.startswith(OLE2_MAGIC):
        return {"status": Unreadable.OLD_FORMAT.value, "detail": "an OLE2 file"}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # The sizes a zip declares are the most zipfile will unpack (it stops there, and then
        # fails the CRC), so they bound what the package costs before a byte is inflated.
        parts = archive.infolist()
        unpacked = sum(part.file_size for part in parts)
        xml = sum(p.file_size for p in parts if p.filename.endswith((".xml", ".rels")))
        if (
            len(parts) > _MAX_DOCX_PARTS
            or unpacked > limits.memory // _UNPACKED_SHARE
            or xml > limits.memory // _XML_SHARE
        ):
            detail = f"{len(parts)} parts unpacking to {unpacked} bytes ({xml} of XML)"
            return {"status": Unreadable.TOO_BIG.value, "detail": detail}
    document = docx.Document(io.BytesIO(data))
    text = _Pages(limits)
    for block in document.iter_inner_content():
        lines = _table_lines(block) if isinstance(block, Table) else [_paragraph_line(block)]
        if not all(text.add_line(line) for line in lines if line):
            break
    return text.answer(None)


def _paragraph_line(paragraph: Any) -> str:
    """A paragraph as one line; a heading as a markdown heading, a list item with a dash."""
    text = " ".join(paragraph.text.split())
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return f"# {text}"
    level = style.removeprefix("Heading ").strip()
    if style.startswith("Heading ") and level.isdigit():
        return f"{'#' * min(int(level), 6)} {text}"
    if style.startswith("List"):
        return f"- {text}"
    return text


def _table_lines(table: Any) -> list[str]:
    """A table as markdown rows, a cell spanning columns once; the first row as the header."""
    lines = []
    for number, row in enumerate(table.rows):
        cells = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # the same cell again: it spans this column too
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + " --- |" * len(cells))
    return lines


class _Pages:
    """The text read so far, page by page, within the character limit."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.pages: list[str] = []
        self.chars = 0
        self.stopped: Literal["pages", "chars"] | None = None
        self.partial = False
        self._lines: list[str] = []  # a Word document's lines, its one page

    def add(self, text: str) -> bool:
        """Add a page's text; False once the character limit is reached."""
        room = self.limits.chars - self.chars
        if len(text) > room:
            self.stopped = "chars"
            if room > 0:
                self.pages.append(_clipped(text, room))
                self.partial = True
            return False
        self.pages.append(text)
        self.chars += len(text)
        return True

    def add_line(self, line: str) -> bool:
        """Add a line of a Word document's text; False once the character limit is reached."""
        line = _clean(line)
        room = self.limits.chars - self.chars - (1 if self._lines else 0)
        if len(line) > room:
            self.stopped = "chars"
            self.partial = True
            if room > 0:
                self._lines.append(_clipped(line, room))
            return False
        self._lines.append(line)
        self.chars += len(line) + (1 if len(self._lines) > 1 else 0)
        return True

    def answer(self, page_count: int | None) -> dict[str, Any]:
        pages = self.pages if page_count is not None else ["\n".join(self._lines)]
        return {
            "status": "ok",
            "pages": pages,
            "page_count": page_count,
            "stopped": self.stopped,
            "partial": self.partial,
        }


def _clipped(text: str, room: int) -> str:
    """The first `room` characters of `text`, ending at a line end or a space when one is near:
    a whole last line or word reads better than a clipped one."""
    cut = text[:room]
    for end in ("\n", " "):
        at = cut.rfind(end)
        if at >= room * 0.8:
            return cut[:at].rstrip()
    return cut


def _clean(text: str) -> str:
    """Text as extracted, made plain: no control characters or invalid code points, no trailing
    spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n")
    text = _CONTROL.sub("", text).encode("utf-8", "replace").decode("utf-8")
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()
