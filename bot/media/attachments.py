"""Attachments as the bot recognises them: photos as image parts, documents by what they are.

Owns the pure decisions: which photo size to fetch under the byte cap, the `image_url` part, which
documents count as text, PDF or Word (and which office formats are recognised but not read, with
what to do instead, worded in the reader's language: bot/i18n.py), decoding text files, and what
the history keeps ("[photo 1280x720]", "[document notes.md, 2.1 KB]", "[document report.pdf,
120.3 KB, 40 pages]"). Fitting a document's text into the context budget is document_text.py's.
No Telegram and no I/O: handlers/media.py and handlers/documents.py download and answer,
media/documents.py reads PDF and Word files.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Sequence
from typing import Protocol, TypeVar

from bot.i18n import N_, _
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
