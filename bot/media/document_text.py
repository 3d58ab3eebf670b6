"""A document's text as the user turn carries it: fenced, fitted to the context budget.

Owns the budget one document may take (DOCUMENT_SHARE of the history's, within one turn), the
turn made of a text file's content or of the pages media/documents.py read from a PDF or Word
file — its marker (attachments.py), the text in a fence no backticks in it can close, then the
question — cut where needed with an English notice for the model, and `ReadSpan`, what of a cut
document was read, which handlers/documents.py words for the reader. Pure: no Telegram, no I/O,
no decisions about which files are read (attachments.py) or how the reader is answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.media.attachments import document_marker, extension_of
from bot.media.documents import DocumentContent

# The part of the history's character budget one document may take: the rest keeps room for
# the answer and a follow-up question, so the file is still in the context when they are sent.
DOCUMENT_SHARE = 2 / 3
_BACKTICKS = re.compile(r"`{3,}")


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """What of a document was read when it was not all: its first `shown` characters of `total`
    (None: the reader stopped before the end), or for a PDF pages 1 to `last_page` of
    `page_count`, the last only in part when `partial`. The chat's notice says it in the
    reader's language (handlers/documents.py); `extent` in English for the model."""

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
