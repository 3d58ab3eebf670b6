"""Choosing where a piece of a long markdown source ends, and what the next piece reopens.

Owns the cut: a block, then line, then sentence, then word boundary, then a hard cut that keeps
surrogate pairs and, as far as it can, grapheme clusters whole; and what the next piece starts
with: the fence a cut inside a fenced code block carries, or the escape that keeps the rest of a
line cut in two from reading as a fence or a link definition. Choosing a cut costs time linear in
the window searched. Works on markdown text only, through the parser
the converter uses: it renders nothing, rewrites nothing (`bot.render.prepare`) and knows nothing
of Telegram; `bot.render.convert` drives it. It must not import anything of ours.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

import pyromark
from telegramify_markdown.converter import STANDARD_OPTIONS

# Below these shares of the window a boundary of that class is not worth a half-empty message:
# a block or line boundary may leave three quarters of it empty (so a code block stays whole in
# the next message, a heading stays with its underline), a sentence or word boundary only half.
_LINE_FILL = 0.25
_WORD_FILL = 0.5
# A cluster longer than this is not worth searching further back for its start.
_MAX_CLUSTER = 32

_BLANK_LINES = re.compile(r"(?:[ \t\f\v\r]*\n)*")
_WHITESPACE = re.compile(r"\s*")
_SPACES = re.compile(r"[ \t]*")
_PARAGRAPH = re.compile(r"\n[ \t\f\v\r]*\n")
# Sentence ends: Latin punctuation before a space (closing quotes, brackets, emphasis allowed),
# or an ideographic full stop, exclamation or question mark, which needs no space.
_SENTENCE = re.compile("[.!?\u2026][\"')\\]*_\u201d\u2019]*[ \t]+|[\u3002\uff01\uff1f]")
# A line that would lose its meaning at the start of a piece: a setext heading underline or a
# table delimiter row belongs to the line above it.
_UNDERLINE = re.compile(r"[ \t]*[-=|:][-=|: \t]*(?:\n|$)")
# A line that introduces what follows (a heading, "like this:") should not end a message.
_LEAD_IN = re.compile(r" {0,3}#{1,6}(?:[ \t].*)?|.*:[ \t]*")
_FENCE_HINT = ("```", "~~~")
# What starts a line that shows less than it says: a code fence (not its language) or a link
# reference definition (nothing).
_HIDDEN_AT_LINE_START = re.compile(r"`{3}|~{3}|\[[^\]\n]*\]:")
_ZWJ = "\u200d"


@dataclass(frozen=True, slots=True)
class Cut:
    """A chosen end of a piece: `end` indexes the source; `carry` starts the next piece: the
    fence reopening a split code block, or an escape keeping a line cut in two one of text."""

    end: int
    carry: str


def skip_blank_lines(source: str, start: int) -> int:
    """Index of the first line after `start` that holds more than whitespace.

    Only whole blank lines go: the indentation of the first real line still means something
    (an indented code block stays one).
    """
    match = _BLANK_LINES.match(source, start)
    return match.end() if match else start


def skip_whitespace(source: str, start: int) -> int:
    """Index of the first character at or after `start` that is not whitespace, or the end."""
    match = _WHITESPACE.match(source, start)
    return match.end() if match else start


def only_whitespace_after(source: str, start: int) -> bool:
    """Whether nothing but whitespace follows `start`."""
    return skip_whitespace(source, start) == len(source)


def index_at_units(source: str, start: int, units: int) -> int:
    """The largest `i` with `source[start:i]` at most `units` UTF-16 code units long."""
    end = min(len(source), start + max(units, 0))
    if source[start:end].isascii():
        return end
    # Every code point is one or two units: dropping the excess in code points always lands
    # inside, and adding half the slack never leaves it.
    end -= max(_units(source[start:end]) - units, 0)
    while (slack := units - _units(source[start:end])) > 0 and end < len(source):
        if slack == 1:
            return end + 1 if ord(source[end]) <= 0xFFFF else end
        end = min(len(source), end + slack // 2)
    return end


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def choose_cut(source: str, body: int, limit_index: int, carry: str) -> Cut:
    """Where the piece starting at `body` should end, at or before `limit_index`.

    `carry` is the markdown the piece is prefixed with; the window is parsed with it so that a
    code block reopened by the previous piece is still known to be one.
    """
    fences = _Fences(source, body, limit_index, carry)
    leads_in = _LeadIns(source)
    span = limit_index - body
    line_floor = body + max(1, int(span * _LINE_FILL))
    word_floor = body + max(1, int(span * _WORD_FILL))
    found = (
        _last_block_boundary(source, line_floor, limit_index, fences, leads_in)
        or _last_line_start(source, line_floor, limit_index, leads_in)
        or _last_match(_SENTENCE, source, word_floor, limit_index)
        or _last_word_start(source, word_floor, limit_index)
    )
    if not found:
        # No boundary in the fuller part of the window: any boundary beats cutting a word.
        floor = body + 1
        found = max(
            _last_block_boundary(source, floor, limit_index, fences, None),
            _last_line_start(source, floor, limit_index, None),
            _last_match(_SENTENCE, source, floor, limit_index),
            _last_word_start(source, floor, limit_index),
        )
    end = found or hard_cut(source, body, limit_index)
    carry = fences.carry_at(end)
    if not carry and source[end - 1] != "\n" and _HIDDEN_AT_LINE_START.match(source, end):
        # Cut inside a line: the next piece starts a line of its own, where this would read as
        # a fence (its language is not shown) or a link definition (not shown at all).
        carry = "\\"
    return Cut(end, carry)


def hard_cut(source: str, body: int, index: int) -> int:
    """`index`, moved back to a grapheme cluster boundary when one is near; always > `body`."""
    floor = max(body + 1, index - _MAX_CLUSTER)
    cut = index
    while cut > floor and not _is_cluster_boundary(source, cut, body):
        cut -= 1
    if _is_cluster_boundary(source, cut, body):
        return cut
    return max(index, body + 1)


def _is_cluster_boundary(text: str, index: int, start: int) -> bool:
    """Approximates UAX #29: no cut before a mark, joiner, modifier or tag, none after a joiner,
    none inside a regional-indicator pair (a flag), none inside CRLF.

    Flags pair from `start`, a cluster boundary (the piece's start): counting from there
    rather than from the run's start keeps a cut linear in the piece.
    """
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == _ZWJ or (before == "\r" and after == "\n"):
        return False
    code = ord(after)
    if (
        after == _ZWJ
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or unicodedata.category(after)[0] == "M"
    ):
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - run - 1 >= start and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0
    return True


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _last_block_boundary(
    source: str, floor: int, ceiling: int, fences: _Fences, leads_in: _LeadIns | None
) -> int:
    """The last cut in [floor, ceiling] after a blank line outside code or next to a fenced
    code block; with `leads_in`, not right after a heading or a line ending with a colon."""
    candidates = [
        match.end()
        for match in _PARAGRAPH.finditer(source, max(floor - 2, 0), ceiling)
        if match.end() >= floor and not fences.carry_at(match.end())
    ]
    candidates += [edge for edge in fences.block_edges if floor <= edge <= ceiling]
    for cut in sorted(candidates, reverse=True):
        if leads_in is None or not leads_in(cut):
            return cut
    return 0


def _last_line_start(source: str, floor: int, ceiling: int, leads_in: _LeadIns | None) -> int:
    """The last line start in [floor, ceiling] that is no underline; with `leads_in`, not
    right after a heading or a line ending with a colon."""
    newline = source.rfind("\n", floor - 1, ceiling)
    while newline >= floor - 1 and newline >= 0:
        cut = newline + 1
        if not _UNDERLINE.match(source, cut) and (leads_in is None or not leads_in(cut)):
            return cut
        newline = source.rfind("\n", floor - 1, newline)
    return 0


class _LeadIns:
    """Whether the last non-blank line before a cut introduces what comes after it.

    Every cut in a stretch of blank lines has the same answer: the stretch is walked once and
    remembered, so asking for each cut of a window, in either order, costs one pass over it.
    """

    __slots__ = ("_answer", "_high", "_low", "_source")

    def __init__(self, source: str) -> None:
        self._source = source
        self._low = self._high = -1  # the cuts in [low, high] all follow the line ending at low
        self._answer = False

    def __call__(self, cut: int) -> bool:
        if self._low <= cut <= self._high:
            return self._answer
        source = self._source
        end = cut
        while end > 0 and source[end - 1] in " \t\r\n":
            end -= 1
            if end == self._high:
                self._high = cut
                return self._answer
        self._low, self._high = end, cut
        line_start = source.rfind("\n", 0, end) + 1
        self._answer = _LEAD_IN.fullmatch(source, line_start, end) is not None
        return self._answer


def _last_match(pattern: re.Pattern[str], source: str, floor: int, ceiling: int) -> int:
    best = 0
    for match in pattern.finditer(source, floor, ceiling):
        best = match.end()
    return best


def _last_word_start(source: str, floor: int, ceiling: int) -> int:
    space = max(source.rfind(" ", floor - 1, ceiling), source.rfind("\t", floor - 1, ceiling))
    if space < max(floor - 1, 0):
        return 0
    # The whole run of spaces stays with the piece that ends: a next piece starting with four
    # spaces would read as indented code.
    run = _SPACES.match(source, space)
    return run.end() if run else space + 1


class _Fences:
    """The fenced code blocks of one window, in source indices, and the fence reopening each."""

    __slots__ = ("_carries", "_contents", "_ends", "block_edges")

    def __init__(self, source: str, body: int, limit_index: int, carry: str) -> None:
        self._contents: list[int] = []
        self._ends: list[int] = []
        self._carries: list[str] = []
        self.block_edges: list[int] = []
        window = carry + source[body:limit_index]
        if not any(hint in window for hint in _FENCE_HINT):
            return
        offsets = _ByteOffsets(window)
        shift = body - len(carry)
        for event, span in pyromark.events_with_range(window, options=STANDARD_OPTIONS):
            if not (isinstance(event, dict) and "Start" in event):
                continue
            tag = event["Start"]
            # Indented code keeps its indentation across a cut, so it has nothing to carry.
            if not (isinstance(tag, dict) and isinstance(tag.get("CodeBlock"), dict)):
                continue
            fence_at = offsets.index(span["start"])
            block_end = offsets.index(span["end"])
            line_start = window.rfind("\n", 0, fence_at) + 1
            line_end = window.find("\n", fence_at)
            if line_end == -1 or line_end >= block_end:
                continue  # nothing but the fence line yet
            fence = window[fence_at:line_end]
            prefix = "".join(c if c in "> \t" else " " for c in window[line_start:fence_at])
            closed = block_end < len(window) or _closes(fence, window, block_end)
            self._contents.append(max(line_end + 1 + shift, body))
            self._ends.append(block_end + shift if closed else len(source) + 1)
            self._carries.append(prefix + fence.rstrip() + "\n")
            top_level = not prefix.strip()
            if top_level and line_start >= len(carry):
                self.block_edges.append(line_start + shift)
            if top_level and closed and window.startswith("\n", block_end):
                self.block_edges.append(block_end + 1 + shift)

    def carry_at(self, cut: int) -> str:
        """The fence that reopens the code block `cut` falls inside, or ""."""
        i = bisect_right(self._contents, cut) - 1
        if i >= 0 and cut < self._ends[i]:
            return self._carries[i]
        return ""


def _closes(fence: str, window: str, block_end: int) -> bool:
    """Whether the block's last line is a fence closing `fence` (a block cut off by the end of
    the window looks the same to the parser as one that closed there)."""
    last_line = window[window.rfind("\n", 0, block_end) + 1 : block_end].lstrip(" \t>")
    opening = fence.lstrip(" \t")
    marker = opening[0]
    width = len(opening) - len(opening.lstrip(marker))
    closing = last_line.rstrip()
    return len(closing) >= width and closing == marker * len(closing)


class _ByteOffsets:
    """Translates pyromark's UTF-8 byte offsets in a string into indices of that string."""

    __slots__ = ("_byte", "_encoded", "_index")

    def __init__(self, text: str) -> None:
        self._encoded = None if text.isascii() else text.encode("utf-8")
        # The last offset asked for and its index: offsets asked in order cost one pass.
        self._byte = self._index = 0

    def index(self, byte_offset: int) -> int:
        if self._encoded is None:
            return byte_offset
        if byte_offset < self._byte:
            self._byte = self._index = 0
        self._index += len(self._encoded[self._byte : byte_offset].decode("utf-8", "ignore"))
        self._byte = byte_offset
        return self._index
