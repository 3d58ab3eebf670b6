"""Preparing model markdown so that telegramify-markdown's converter loses none of its text.

Owns `prepare`: the source rewritten (raw HTML escaped, LaTeX delimiters, `||`, narrow table
headers, tables that would have far more cells than characters left as text) with code left as
written, in time linear in the source. Works on markdown text only, through the parser the
converter uses: it renders nothing, does not choose cuts (`bot.render.cuts`) and knows nothing of
Telegram; `bot.render.convert` drives it. It must not import anything of ours.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right

import pyromark
from pyromark.event import Event, Range
from telegramify_markdown.converter import STANDARD_OPTIONS

# LaTeX delimiters: `\(` opens inline math up to the next `\)`, `\[` display math up to `\]`.
_LATEX_OPENING = re.compile(rb"\\[(\[]")
_LATEX_CLOSING = {b"(": re.compile(rb"\\\)"), b"[": re.compile(rb"\\\]")}
_BLANK_LINE = re.compile(rb"\n\s*\n")
_DOUBLE_PIPE = re.compile(rb"\|(?=\|)")
_PIPE = re.compile(rb"(?<!\\)\|")
_LINE_ENDING = re.compile(r"\r\n?")
# A line that may be a table's delimiter row (`|---|:-:|`), after quote markers and indentation.
_DELIMITER_ROW = re.compile(rb"^[ \t>]*[-|:][-|: \t]*$", re.MULTILINE)
# The blank line (in a quote or not) that ends a table at the latest.
_BLANK_OR_END = re.compile(rb"\n[ \t>]*(?:\n|\Z)")
# The parser gives each row of a table as many cells as its header, and `_settle` widens the
# header to its widest row: a table whose lines times its widest line would make more cells than
# its bytes (plus a few) stays text, else one wide row over many short ones would cost time
# quadratic in its length. A table whose rows fill its columns has a cell per three bytes.
_TABLE_CELLS_PER_BYTE = 1
_TABLE_CELLS_SLACK = 256
# Rounds of structural fixes in `_settle`; a block still needing one after them gets its HTML
# escaped whole.
_SETTLE_PASSES = 8
# Marks without which `prepare` has nothing to do, so it can skip parsing.
_PREPARE_HINTS = ("<", "|", "\\(", "\\[")

_CODE_EVENTS = ("Code", "InlineMath", "DisplayMath")

Span = tuple[int, int]
Edit = tuple[int, int, bytes]


def prepare(markdown: str) -> str:
    """Rewrite markdown so that the converter loses nothing of it; code stays as written.

    Raw HTML is escaped (the converter drops it); `\\(..\\)` and `\\[..\\]` become `$` math
    (the converter's own LaTeX pass rewrites code too); `||` is kept from turning into a
    spoiler; a table whose rows have more cells than its header gets a wider header (extra
    cells would be dropped), and a table that would then have far more cells than characters
    stays text (the parser would fill every row as wide as the widest).
    """
    markdown = _LINE_ENDING.sub("\n", markdown)
    if not any(hint in markdown for hint in _PREPARE_HINTS):
        return markdown
    # Every mark rewritten here is ASCII, so the work happens on the UTF-8 bytes the parser's
    # offsets count.
    data, events = _settle(_without_oversized_tables(markdown))
    code: list[Span] = []
    links: list[Span] = []
    tables: list[Span] = []
    edits: list[Edit] = []
    for event, span in events:
        if not isinstance(event, dict) or "Text" in event:
            continue
        start, end = span["start"], span["end"]
        kind = _started(event)
        is_math = "InlineMath" in event or "DisplayMath" in event
        if is_math and _overlaps(tables, start, end):
            # The converter writes math in a table cell ahead of the table: show it as text.
            edits += [(i, i + 1, b"\\$") for i in range(start, end) if data[i] == ord("$")]
        elif is_math or kind == "CodeBlock" or "Code" in event:
            code.append((start, end))
        elif kind == "Table":
            tables.append((start, end))
        elif kind in ("Link", "Image") and (not links or start >= links[-1][1]):
            links.append((start, end))
        elif kind == "HtmlBlock" or "InlineHtml" in event:
            edits += [(i, i + 1, b"\\<") for i in range(start, end) if data[i] == ord("<")]
    for start, end, inline in _latex_spans(data):
        if _overlaps(tables, start, end):
            continue
        content = data[start + 2 : end - 2].strip()
        if content and b"$" not in content and not _BLANK_LINE.search(content):
            fence = b"$" if inline else b"$$"
            edits.append((start, end, fence + content + fence))
    for match in _DOUBLE_PIPE.finditer(data):
        if not _overlaps(links, match.start(), match.end()):
            # An empty comment between the pipes: dropped by the converter, invisible to its
            # spoiler syntax, and still an empty cell between them in a table.
            edits.append((match.end(), match.end(), b"<!---->"))
    kept = [e for e in edits if not _overlaps(code, e[0], max(e[1], e[0] + 1))]
    return _apply(data, kept).decode("utf-8")


def _latex_spans(data: bytes) -> list[tuple[int, int, bool]]:
    """Each `\\(..\\)` (inline, True) and `\\[..\\]` (display, False) in `data`, left to right.

    The first opening from which its closing follows after at least one byte of content, up to
    that closing; then the same after it. An opening never closed is passed over without looking
    for its closing again: every closing's position is found once, up front.
    """
    closings = {
        kind: [match.start() for match in pattern.finditer(data)]
        for kind, pattern in _LATEX_CLOSING.items()
    }
    spans: list[tuple[int, int, bool]] = []
    done = 0
    for opening in _LATEX_OPENING.finditer(data):
        start = opening.start()
        if start < done:
            continue
        kind = data[start + 1 : start + 2]
        found = closings[kind]
        i = bisect_left(found, start + 3)
        if i < len(found):
            done = found[i] + 2
            spans.append((start, done, kind == b"("))
    return spans


def _without_oversized_tables(markdown: str) -> str:
    """`markdown` with the tables that would have too many cells left as text.

    A region from the line before a possible delimiter row to the next blank line holds every
    table that row could start or belong to; where its lines times its widest line exceed the
    budget, every possible delimiter row in it loses its first pipe to an escape (shown as the
    pipe), so no table forms there. Rows inside code stay as written.
    """
    if "|" not in markdown or "-" not in markdown:
        return markdown
    data = markdown.encode("utf-8")
    escapes: list[int] = []
    done = 0
    for row in _DELIMITER_ROW.finditer(data):
        if row.start() < done or not _may_delimit(row.group()):
            continue
        start = data.rfind(b"\n", 0, max(row.start() - 1, 0)) + 1
        blank = _BLANK_OR_END.search(data, row.end())
        done = blank.start() if blank else len(data)
        budget = _TABLE_CELLS_PER_BYTE * (done - start) + _TABLE_CELLS_SLACK
        lines = data[start:done].split(b"\n")
        # Each line's pipes plus one is at least its cells: most tables fit even so.
        if len(lines) * (max(line.count(b"|") for line in lines) + 1) <= budget:
            continue
        if len(lines) * max(_cells(line) for line in lines) > budget:
            escapes += [
                data.index(b"|", other.start())
                for other in _DELIMITER_ROW.finditer(data, row.start(), done)
                if _may_delimit(other.group())
            ]
    if not escapes:
        return markdown
    code = _code_spans(markdown)
    edits = [(i, i, b"\\") for i in escapes if not _overlaps(code, i, i + 1)]
    return _apply(data, edits).decode("utf-8")


def _may_delimit(line: bytes) -> bool:
    return b"|" in line and b"-" in line


def _code_spans(markdown: str) -> list[Span]:
    """Where the parser, without tables, sees code: code blocks, code spans and math."""
    options = STANDARD_OPTIONS & ~pyromark.Options.ENABLE_TABLES
    spans: list[Span] = []
    for event, span in pyromark.events_with_range(markdown, options=options):
        if not isinstance(event, dict):
            continue
        if _started(event) == "CodeBlock" or any(k in event for k in _CODE_EVENTS):
            spans.append((span["start"], span["end"]))
    return spans


def _settle(markdown: str) -> tuple[bytes, tuple[tuple[Event, Range], ...]]:
    """The markdown with its block structure fixed up, and its events.

    The `<` opening each HTML block is escaped (the converter drops HTML blocks) and tables get
    as many header cells as their widest row. Each fix changes what the lines after it are (a
    paragraph, a table, cells the parser had dropped), so this repeats until none is needed.
    """
    data = markdown.encode("utf-8")
    for _ in range(_SETTLE_PASSES):
        events = tuple(pyromark.events_with_range(markdown, options=STANDARD_OPTIONS))
        edits: list[Edit] = []
        for event, span in events:
            kind = _started(event)
            if kind == "HtmlBlock" and (start := data.find(b"<", span["start"])) >= 0:
                edits.append((start, start + 1, b"\\<"))
            elif kind == "Table":
                edits += _widen_table(data, span["start"], span["end"])
        if not edits:
            break
        data = _apply(data, edits)
        markdown = data.decode("utf-8")
    return data, events


def _started(event: Event) -> str:
    """What `event` starts ("Paragraph", "CodeBlock", "Table", ...), or "" if it starts nothing."""
    if not (isinstance(event, dict) and "Start" in event):
        return ""
    tag = event["Start"]
    return tag if isinstance(tag, str) else next(iter(tag), "")


def _widen_table(data: bytes, start: int, end: int) -> list[Edit]:
    """Empty header cells for a table whose widest row has more cells than its header."""
    lines = data[start:end].split(b"\n")
    extra = max(_cells(line) for line in lines) - _cells(lines[0])
    if extra <= 0 or len(lines) < 2:
        return []
    header_end = start + len(lines[0])
    rule_end = header_end + 1 + len(lines[1])
    return [
        (header_end, header_end, _more_cells(lines[0], extra, b" ")),
        (rule_end, rule_end, _more_cells(lines[1], extra, b"---")),
    ]


def _cells(line: bytes) -> int:
    row = line.strip().lstrip(b">").strip()
    closing = len(row) > 1 and row.endswith(b"|")
    return len(_PIPE.findall(row)) + 1 - row.startswith(b"|") - closing


def _more_cells(line: bytes, extra: int, cell: bytes) -> bytes:
    # Without a closing pipe the first added pipe only closes the row.
    opening = b"" if line.rstrip().endswith(b"|") else b"|"
    return opening + (cell + b"|") * extra


def _overlaps(spans: list[Span], start: int, end: int) -> bool:
    """Whether [start, end) meets one of `spans` (sorted, not overlapping each other)."""
    i = bisect_right(spans, (start, sys.maxsize))
    return (i > 0 and spans[i - 1][1] > start) or (i < len(spans) and spans[i][0] < end)


def _apply(data: bytes, edits: list[Edit]) -> bytes:
    parts: list[bytes] = []
    done = 0
    for start, end, replacement in sorted(edits):
        if start < done:
            continue  # overlaps an edit already made
        parts += (data[done:start], replacement)
        done = end
    parts.append(data[done:])
    return b"".join(parts)
