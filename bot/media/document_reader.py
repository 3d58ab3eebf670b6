"""The document worker: the short-lived process media/documents.py starts to read one file.

Owns what runs inside that process: limiting itself (setrlimit) before it reads a byte, reading a
PDF's text layer (pypdf, its stream limits below the memory limit) or a Word document's
paragraphs, headings and tables in reading order (python-docx, a .docx whose parts would unpack
past a share of the memory limit refused before it is unpacked), stopping at the page and
character limits, and answering with one JSON object on stdout. Runs with an empty environment
and imports nothing of the bot but this module and documents.py's shapes; must not touch
Telegram, the upstream, the store or the event loop.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, Literal

from bot.media.documents import Format, ReadLimits, Unreadable

# An OLE2 compound file: the old binary Office formats (.doc, .xls, .ppt), and also a .docx
# saved with a password (Word wraps the encrypted package in one).
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Shares of the memory limit: any one decoded PDF stream, everything a .docx unpacks to, and its
# XML alone (a parsed XML tree takes several times its text).
_STREAM_SHARE = 8
_UNPACKED_SHARE = 4
_XML_SHARE = 16
_MAX_DOCX_PARTS = 10_000
# The worker's niceness: the lowest priority, as for ffmpeg (media/audio.py).
WORKER_NICENESS = 19
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


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
    """Bound this process: memory, CPU time, no files written, no children, no core dump; and
    the lowest CPU priority, so the bot and its other chats come first while a file is read."""
    import resource

    os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICENESS)

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
