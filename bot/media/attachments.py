"""Attachments read for the model: photos as image parts, text documents as fenced text.

Owns the pure decisions: which photo size to fetch under the byte cap, the `image_url` part, which
documents count as text, decoding them, fitting one into the context budget with a notice, and
what the history keeps ("[photo 1280x720]", "[document notes.md, 2.1 KB]"). No Telegram and no
I/O: handlers/media.py downloads and answers.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.i18n import N_
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

# Translated where it is shown (bot/i18n.py).
SUPPORTED = N_(
    "I can read photos, and text files (.txt, .md, .py, .json, .csv and other plain text, "
    "as UTF-8)."
)
# The part of the history's character budget one document may take: the rest keeps room for
# the answer and a follow-up question, so the file is still in the context when they are sent.
DOCUMENT_SHARE = 2 / 3
_BACKTICKS = re.compile(r"`{3,}")


class DocumentKind(enum.Enum):
    TEXT = "text"
    IMAGE = "image"  # a picture sent as a file: the bot asks for it as a photo
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
class DocumentText:
    """A document as the user turn carries it; `shown` < `total` when it was cut."""

    text: str
    shown: int
    total: int

    @property
    def truncated(self) -> bool:
        return self.shown < self.total


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
    """Whether a document is text the model can read, a picture sent as a file, or neither.

    The extension wins over the MIME type: clients label .py or .md files as
    application/octet-stream often, and text/plain is sometimes put on anything.
    """
    name = (file_name or "").strip()
    extension = extension_of(name)
    mime = (mime_type or "").split(";", 1)[0].strip().lower()
    if extension in TEXT_EXTENSIONS or name.lower() in TEXT_NAMES:
        return DocumentKind.TEXT
    if extension in IMAGE_EXTENSIONS or mime.startswith("image/"):
        return DocumentKind.IMAGE
    if mime.startswith("text/") or mime in TEXT_MIME_TYPES or mime.endswith(("+json", "+xml")):
        return DocumentKind.TEXT
    return DocumentKind.OTHER


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


def document_marker(file_name: str, size: int) -> str:
    """The line that names a document in the turn and in the history."""
    return f"[document {file_name}, {human_size(size)}]"


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
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(content)), default=0))
    head = f"{document_marker(file_name, size)}\n{fence}{extension_of(file_name)}\n"
    ask = f"\n\n{question}" if question else ""
    total = len(content)
    if len(head) + total + 1 + len(fence) + len(ask) <= budget:
        return DocumentText(head + _closed(content, fence) + ask, total, total)
    # The notice names how much was shown, at most `total`: room for that many digits suffices.
    notice_room = len(_truncation_notice(total, total))
    room = max(0, budget - len(head) - 1 - len(fence) - len(ask) - notice_room)
    cut = content[:room]
    line_end = cut.rfind("\n")
    if line_end >= room * 0.8:  # a whole last line reads better than a clipped one
        cut = cut[: line_end + 1]
    shown = len(cut)
    notice = _truncation_notice(shown, total)
    return DocumentText(head + _closed(cut, fence) + notice + ask, shown, total)


def _truncation_notice(shown: int, total: int) -> str:
    return f"\n[truncated: only the first {shown:,} of {total:,} characters of the file fit]"


def _closed(content: str, fence: str) -> str:
    """`content` and the closing fence on a line of its own."""
    return f"{content}{fence}" if content.endswith("\n") or not content else f"{content}\n{fence}"
