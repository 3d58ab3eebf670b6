"""Preparing model markdown so that telegramify-markdown's converter loses none of its text.

Owns `prepare`: the source rewritten (raw HTML escaped, LaTeX delimiters, `||`, narrow table
headers) with code left as written. Works on markdown text only, through the parser the converter
uses: it renders nothing, does not choose cuts (`bot.render.cuts`) and knows nothing of Telegram;
`bot.render.convert` drives it. It must not import anything of ours.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right

import pyromark
from pyromark.event import Event, Range
from telegramify_markdown.converter import STANDARD_OPTIONS

_LATEX = re.compile(rb"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_BLANK_LINE = re.compile(rb"\n\s*\n")
_DOUBLE_PIPE = re.compile(rb"\|(?=\|)")
_PIPE = re.compile(rb"(?<!\\)\|")
_LINE_ENDING = re.compile(r"\r\n?")
# Rounds of structural fixes in `_settle`; a block still needing one after them gets its HTML
# escaped whole.
_SETTLE_PASSES = 8
# Marks without which `prepare` has nothing to do, so it can skip parsing.
_PREPARE_HINTS = ("<", "|", "\\(", "\\[")

Span = tuple[int, int]
Edit = tuple[int, int, bytes]


def prepare(markdown: str) -> str:
    """Rewrite markdown so that the converter loses nothing of it; code stays as written.

    Raw HTML is escaped (the converter drops it); `\\(..\\)` and `\\[..\\]` become `$` math
    (the converter's own LaTeX pass rewrites code too); `||` is kept from turning into a
    spoiler; a table whose rows have more cells than its header gets a wider header (extra
    cells would be dropped).
    """
    markdown = _LINE_ENDING.sub("\n", markdown)
    if not any(hint in markdown for hint in _PREPARE_HINTS):
        return markdown
    # Every mark rewritten here is ASCII, so the work happens on the UTF-8 bytes the parser's
    # offsets count.
    data, events = _settle(markdown)
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
    for match in _LATEX.finditer(data):
        if _overlaps(tables, match.start(), match.end()):
            continue
        inline = match.group(1) is not None
        content = (match.group(1) if inline else match.group(2)).strip()
        if content and b"$" not in content and not _BLANK_LINE.search(content):
            fence = b"$" if inline else b"$$"
            edits.append((match.start(), match.end(), fence + content + fence))
    for match in _DOUBLE_PIPE.finditer(data):
        if not _overlaps(links, match.start(), match.end()):
            # An empty comment between the pipes: dropped by the converter, invisible to its
            # spoiler syntax, and still an empty cell between them in a table.
            edits.append((match.end(), match.end(), b"<!---->"))
    kept = [e for e in edits if not _overlaps(code, e[0], max(e[1], e[0] + 1))]
    return _apply(data, kept).decode("utf-8")


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
