"""Attachments read for the model: photos as image parts, documents as fenced text.

Owns the pure decisions: which photo size to fetch under the byte cap, the `image_url` part, which
documents count as text, PDF or Word (and which office formats are recognised but not read, with
what to do instead), decoding text files, fitting a document's text — a text file's, or the pages
media/documents.py read from a PDF or Word file — into the context budget with a notice saying
what was read, and what the history keeps ("[photo 1280x720]", "[document notes.md, 2.1 KB]",
"[document report.pdf, 120.3 KB, 40 pages]"). What goes to the model is English; what was read
of a cut document is a `ReadSpan`, which handlers/media.py words for the reader, and the refusal
of an office file is worded in the reader's language (bot/i18n.py). No Telegram and no I/O:
handlers/media.py downloads and answers, media/documents.py reads PDF and Word files.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.i18n import N_, _
from bot.media.documents import DocumentContent
from bot.types import ImagePart

# Files whose name alone says they are text, whatever MIME type the sender's client guessed.
TEXT_EXTENSIONS = frozenset(
    {"txt", "text", "md", "markdown", "rst", "adoc", "org", "tex", "log", "csv", "tsv"}
    | {"json", "jsonl", "ndjson", "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "properties"}
    | {"xml", "html", "htm", "css", "scss", "svg", "srt", "vtt", "diff", "patch", "sql", "graphql"}
    | {"py", "pyi", "ipynb", "js", "mjs", "cjs", "ts", "tsx", "jsx", "vue", "svelte", "java", "kt"}
    | {"kts", "scala", "groovy", "gradle", "c", "h", "cc", "cpp", "cxx", "hpp", "cs", "go", "rs"}
    | {"rb", "php", "pl", "lua", "r", "swift", "m", "dart", "ex", "exs", "erl", "hs", "clj", "ml"}
    | {"sh", "bash", "zsh", "fish", "ps1", "bat", "cmd", "dockerfile", "tf", "nix", "proto"}
)
TEXT_NAMES = frozenset({"dockerfile", "makefile", "readme", "license", "procfile", "gemfile"})
TEXT_MIME_TYPES = frozenset(
    {
        "application/json",
        "application/ld+json",
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/typescript",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/sql",
        "application/x-sh",
        "application/x-python",
        "application/x-python-code",
        "application/x-httpd-php",
        "application/x-subrip",
        "application/csv",
    }
)
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif", "heic", "heif", "bmp", "tif"})
PDF_MIME_TYPES = frozenset({"application/pdf", "application/x-pdf"})
WORD_MIME_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# Office formats the bot recognises but does not read, by what they are: the answer says how to
# send the same content in a form it reads.
_SAVE_AS_WORD = N_("Save it as .docx or PDF (File > Save As) and send it again.")
OFFICE_ADVICE = {
    "document": _SAVE_AS_WORD,
    "spreadsheet": N_("Save the sheet as CSV (or PDF) and send it again."),
    "presentation": N_("Save it as PDF and send it again."),
}
OFFICE_EXTENSIONS = {
    "doc": N_("an old Word document (.doc)"),
    "dot": N_("an old Word template (.dot)"),
    "docm": N_("a Word document with macros (.docm)"),
    "dotx": N_("a Word template (.dotx)"),
    "odt": N_("an OpenDocument text (.odt)"),
    "pages": N_("a Pages document"),
    "wps": N_("a Works document (.wps)"),
    "wpd": N_("a WordPerfect document (.wpd)"),
    "xls": N_("a spreadsheet"),
    "xlsx": N_("a spreadsheet"),
    "xlsm": N_("a spreadsheet"),
    "xlsb": N_("a spreadsheet"),
    "ods": N_("a spreadsheet"),
    "numbers": N_("a spreadsheet"),
    "ppt": N_("a presentation"),
    "pptx": N_("a presentation"),
    "pps": N_("a presentation"),
    "ppsx": N_("a presentation"),
    "odp": N_("a presentation"),
    "key": N_("a presentation"),
}
OFFICE_MIME_TYPES = {
    "application/msword": "doc",
    "application/vnd.ms-word.document.macroenabled.12": "docm",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.presentation": "odp",
}

# Translated where it is shown (bot/i18n.py).
SUPPORTED = N_(
    "I can read photos, PDF files with a text layer, Word documents (.docx), and text files "
    "(.txt, .md, .py, .json, .csv and other plain text, as UTF-8)."
)
# The part of the history's character budget one document may take: the rest keeps room for
# the answer and a follow-up question, so the file is still in the context when they are sent.
DOCUMENT_SHARE = 2 / 3
_BACKTICKS = re.compile(r"`{3,}")


class DocumentKind(enum.Enum):
    TEXT = "text"
    PDF = "pdf"
    WORD = "word"  # .docx
    IMAGE = "image"  # a picture sent as a file: the bot asks for it as a photo
    OFFICE = "office"  # an office format it can't read: it says how to save it instead
    OTHER = "other"


class Sized(Protocol):
    """A photo size as Telegram describes it (telegram.PhotoSize fits)."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def file_size(self) -> int | None: ...


S = TypeVar("S", bound=Sized)


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """What of a document was read when it was not all: its first `shown` characters of `total`
    (None: the reader stopped before the end), or for a PDF pages 1 to `last_page` of
    `page_count`, the last only in part when `partial`. The chat's notice says it in the
    reader's language (handlers/media.py); `extent` in English for the model."""

    shown: int
    total: int | None
    last_page: int | None = None
    page_count: int | None = None
    partial: bool = False

    @property
    def extent(self) -> str:
        if self.page_count is None or self.last_page is None:
            if self.total is None:
                return f"its first {self.shown:,} characters"
            return f"its first {self.shown:,} of {self.total:,} characters"
        last = self.last_page
        pages = "page 1" if last == 1 else f"pages 1\u2013{last:,}"
        in_part = f" (page {last:,} only in part)" if self.partial else ""
        return f"{pages} of {self.page_count:,}{in_part}"


@dataclass(frozen=True, slots=True)
class DocumentText:
    """A document as the user turn carries it: `shown` of the `total` characters of its text;
    `span` says what was read when it was not all (its `extent`: "its first 1,234 of 10,000
    characters", "pages 1 to 12 of 40"), None when it was."""

    text: str
    shown: int
    total: int
    span: ReadSpan | None = None

    @property
    def extent(self) -> str:
        return "" if self.span is None else self.span.extent

    @property
    def truncated(self) -> bool:
        return self.span is not None


def largest_photo(sizes: Sequence[S], max_bytes: int) -> S | None:
    """The biggest size of a photo whose file fits `max_bytes` (unknown sizes are tried)."""
    fitting = [s for s in sizes if s.file_size is None or s.file_size <= max_bytes]
    return max(fitting, key=lambda s: s.width * s.height, default=None)


def photo_marker(width: int, height: int) -> str:
    """What the history keeps of a photo: the model saw it once, later turns read this."""
    return f"[photo {width}x{height}]"


def image_mime_type(data: bytes) -> str:
    """The MIME type of an image from its first bytes; Telegram photos are JPEG."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/jpeg"


def image_part(data: bytes) -> ImagePart:
    """An OpenAI `image_url` content part carrying the image itself as a base64 data URL."""
    encoded = base64.b64encode(data).decode("ascii")
    return {
        "type": "image_url",
        "image_url": {"url": f"data:{image_mime_type(data)};base64,{encoded}"},
    }


def extension_of(file_name: str) -> str:
    """The lower-cased extension of a file name ("" when it has none)."""
    stem, dot, extension = file_name.rpartition(".")
    return extension.lower() if dot and stem else ""


def document_kind(file_name: str | None, mime_type: str | None) -> DocumentKind:
    """Whether a document is text the model can read, a PDF or Word file (read for their text),
    a picture sent as a file, an office format the bot can't read, or none of those.

    The extension wins over the MIME type: clients label .py or .md files as
    application/octet-stream often, and text/plain is sometimes put on anything.
    """
    name = (file_name or "").strip()
    extension = extension_of(name)
    mime = _mime(mime_type)
    if extension in TEXT_EXTENSIONS or name.lower() in TEXT_NAMES:
        return DocumentKind.TEXT
    if extension == "pdf":
        return DocumentKind.PDF
    if extension == "docx":
        return DocumentKind.WORD
    if extension in OFFICE_EXTENSIONS:
        return DocumentKind.OFFICE
    if extension in IMAGE_EXTENSIONS or mime.startswith("image/"):
        return DocumentKind.IMAGE
    if mime in PDF_MIME_TYPES:
        return DocumentKind.PDF
    if mime == WORD_MIME_TYPE:
        return DocumentKind.WORD
    if mime in OFFICE_MIME_TYPES:
        return DocumentKind.OFFICE
    if mime.startswith("text/") or mime in TEXT_MIME_TYPES or mime.endswith(("+json", "+xml")):
        return DocumentKind.TEXT
    return DocumentKind.OTHER


def office_refusal(file_name: str, mime_type: str | None) -> str:
    """The answer to an office file the bot can't read (DocumentKind.OFFICE): what it is, and
    how to send it so that it can."""
    extension = extension_of(file_name)
    if extension not in OFFICE_EXTENSIONS:
        extension = OFFICE_MIME_TYPES.get(_mime(mime_type), "doc")
    what = OFFICE_EXTENSIONS[extension]
    family = what.removeprefix("a ") if what in ("a spreadsheet", "a presentation") else "document"
    # Translators: {name} is a file's name; {what} is a kind of file such as "a spreadsheet";
    # {advice} says how to save it instead; {supported} says which files the bot reads.
    return _("I can't read {name}: it is {what}. {advice} {supported}").format(
        name=file_name, what=_(what), advice=_(OFFICE_ADVICE[family]), supported=_(SUPPORTED)
    )


def _mime(mime_type: str | None) -> str:
    return (mime_type or "").split(";", 1)[0].strip().lower()


def decode_text(data: bytes) -> str | None:
    """The file's text, or None when it is binary (NUL bytes) or not UTF-8."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def human_size(size: int) -> str:
    """A byte count as people read it, in decimal units like the settings: 812 B, 2.1 KB, 5.0 MB."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


def document_marker(file_name: str, size: int, pages: int | None = None) -> str:
    """The line that names a document in the turn and in the history (with a PDF's pages)."""
    counted = "" if pages is None else f", {pages:,} page{'' if pages == 1 else 's'}"
    return f"[document {file_name}, {human_size(size)}{counted}]"


def document_budget(history_char_budget: int, max_message_chars: int, quote: int = 0) -> int:
    """The characters a document's turn may take: its share of the history's budget, and never
    more than one turn may hold (MAX_MESSAGE_CHARS) beside the `quote` of the message it replies
    to — so a file the bot has said it reads is never then refused for its length."""
    return max(0, min(int(history_char_budget * DOCUMENT_SHARE), max_message_chars - quote))


def document_text(
    file_name: str, size: int, content: str, question: str, *, budget: int
) -> DocumentText:
    """The user turn for a text document: its name and size, the content in a fenced block, then
    the user's question; the content is cut (at a line end when one is near) with a notice so
    the whole turn fits `budget` characters (`document_budget`).

    Only when the name, the fences, the notice and the question alone exceed `budget` is the
    turn longer than it, with none of the content: the caller refuses that one.
    """
    fence = _fence(content)
    head = f"{document_marker(file_name, size)}\n{fence}{extension_of(file_name)}\n"
    ask = f"\n\n{question}" if question else ""
    total = len(content)
    if len(head) + total + 1 + len(fence) + len(ask) <= budget:
        return DocumentText(head + _closed(content, fence) + ask, total, total)
    # The notice names how much was shown, at most `total`: room for that many digits suffices.
    notice_room = len(_truncation_notice(total, total))
    room = max(0, budget - len(head) - 1 - len(fence) - len(ask) - notice_room)
    cut = _cut(content, room)
    shown = len(cut)
    notice = _truncation_notice(shown, total)
    return DocumentText(
        head + _closed(cut, fence) + notice + ask, shown, total, ReadSpan(shown, total)
    )


def extracted_text(
    file_name: str, size: int, content: DocumentContent, question: str, *, budget: int
) -> DocumentText:
    """The user turn for a PDF or Word document, as `document_text` makes one for a text file:
    its name, size and pages, the text read from it in a fenced block — each PDF page under a
    "[page N]" line — then the question. When the text was cut, by the worker's page or character
    limit or here to fit `budget`, a notice says which pages were read (or, for a Word document,
    how many characters); a cut never leaves a page's line without any of its text.

    Only when the name, the fences, the notice and the question alone exceed `budget` is the
    turn longer than it, or without any of the text (`shown` 0): the caller refuses those.
    """
    body, spans = _paged(content)
    fence = _fence(body)
    # A Word document's headings and tables are written as markdown; a PDF's text is plain.
    language = "text" if content.page_count is not None else "markdown"
    head = f"{document_marker(file_name, size, content.page_count)}\n{fence}{language}\n"
    ask = f"\n\n{question}" if question else ""
    total = len(body)
    fixed = len(head) + 1 + len(fence) + len(ask)
    if content.stopped is None and fixed + total <= budget:
        return DocumentText(head + _closed(body, fence) + ask, total, total)
    # The notice is longest when it names the highest numbers: room for it is kept first.
    longest = _extent(content, spans, total, total, partial=True)
    room = max(0, budget - fixed - len(_extracted_notice(longest.extent)))
    shown = len(_cut(body, room)) if total > room else total
    partial = shown < total or content.partial
    if spans:
        # The last page with any of its text shown, and none of the next page's line.
        last = max((span for span in spans if span.text_start < shown), default=None)
        if last is None:
            shown = 0
        else:
            partial = shown < last.text_end or (last is spans[-1] and content.partial)
            shown = min(shown, last.text_end)
    span = _extent(content, spans, shown, total, partial=partial)
    cut = body[:shown]
    return DocumentText(
        head + _closed(cut, fence) + _extracted_notice(span.extent) + ask, shown, total, span
    )


@dataclass(frozen=True, slots=True, order=True)
class _PageSpan:
    """Where one PDF page's text lies in the fenced body (after its "[page N]" line)."""

    text_start: int
    text_end: int
    number: int


def _paged(content: DocumentContent) -> tuple[str, list[_PageSpan]]:
    """The document's text as one body (a PDF's pages each under their "[page N]" line, blank
    pages left out) and where each page's text lies in it; a Word document has no spans."""
    if content.page_count is None:
        return "\n\n".join(content.pages), []
    parts: list[str] = []
    spans = []
    offset = 0
    for number, text in enumerate(content.pages, start=1):
        if not text:
            continue
        separator = "\n\n" if parts else ""
        piece = f"{separator}[page {number}]\n"
        spans.append(_PageSpan(offset + len(piece), offset + len(piece) + len(text), number))
        parts += [piece, text]
        offset += len(piece) + len(text)
    return "".join(parts), spans


def _extent(
    content: DocumentContent, spans: list[_PageSpan], shown: int, total: int, *, partial: bool
) -> ReadSpan:
    """What of the document was read."""
    if content.page_count is None:
        return ReadSpan(shown, total if content.stopped is None else None)
    last = max((s.number for s in spans if s.text_start < shown), default=len(content.pages))
    if shown == total and not partial:
        last = len(content.pages)  # blank pages after the last page with text were read too
    return ReadSpan(shown, total, last, content.page_count, partial)


def _extracted_notice(extent: str) -> str:
    return f"\n[truncated: read only {extent}]"


def _truncation_notice(shown: int, total: int) -> str:
    return f"\n[truncated: only the first {shown:,} of {total:,} characters of the file fit]"


def _fence(content: str) -> str:
    """A code fence longer than any run of backticks in `content`."""
    return "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(content)), default=0))


def _cut(content: str, room: int) -> str:
    """The first `room` characters of `content`, ending at a line end when one is near."""
    cut = content[:room]
    line_end = cut.rfind("\n")
    if line_end >= room * 0.8:  # a whole last line reads better than a clipped one
        cut = cut[: line_end + 1]
    return cut


def _closed(content: str, fence: str) -> str:
    """`content` and the closing fence on a line of its own."""
    return f"{content}{fence}" if content.endswith("\n") or not content else f"{content}\n{fence}"
