"""telegramify-markdown's conversion with its super-linear steps replaced.

Owns `convert`: markdown -> (text, the converter's entities), the library's own conversion except
where it could cost more than linear time or write more than a fixed multiple of its source:

- the text buffer counts its trailing newlines as it is written (the library walks back over
  the parts written for each count, and each empty code block writes an empty one);
- the open entities are found by type in constant time (the library searches its whole stack
  for the type, and `[link]()` closes a type that is not open);
- list items deeper than `MAX_LIST_DEPTH` are indented as deep as that level (the library
  indents each level further, so `1. 1. 1. …` wrote text quadratic in its length);
- a table whose alignment would be mostly padding is written unaligned (one long cell pads
  every row to its width).

Everything else is the library's, unchanged. It converts markdown already prepared
(`bot.render.prepare`); the entities it returns are the library's, before `bot.render.entities`
fits them to Telegram's rules. The subclass relies on internals of the pinned telegramify-markdown
(1.4.1): the tests comparing it with the library (test_render.py, test_render_properties.py)
fail if they change. It must not import anything of ours.
"""

from __future__ import annotations

from typing import Any

from telegramify_markdown import RenderConfig
from telegramify_markdown import converter as library
from telegramify_markdown.entity import MessageEntity, utf16_len

# Deeper list items are indented like this level: a level costs two spaces per item written.
MAX_LIST_DEPTH = 6
# A table is aligned unless that takes more than this multiple of its unaligned text, plus a
# little: padding is the only part of a table's text that its source does not pay for. A long
# header over short values (nine times its text aligned) stays aligned.
_TABLE_ALIGNMENT_COST = 10
_TABLE_ALIGNMENT_SLACK = 64


def convert(markdown: str, config: RenderConfig) -> tuple[str, list[MessageEntity]]:
    """Plain text and the converter's entities for `markdown` (no LaTeX pass: the source was
    prepared), as `telegramify_markdown.convert(markdown, latex_escape=False, config=config)`."""
    text, events = library._parse(markdown, library.STANDARD_OPTIONS, latex_escape=False)
    plain_text, entities, _ = _LinearWalker(config, text).walk(events)
    return plain_text, entities


class _LinearBuffer(library._TextBuffer):
    """The library's text buffer, keeping the count of trailing newlines after each part."""

    __slots__ = ("_newlines",)

    def __init__(self) -> None:
        super().__init__()
        self._newlines: list[int] = []

    def write(self, text: str) -> None:
        if text and text[-1] != "\n":
            self._newlines.append(0)
        else:
            before = self._newlines[-1] if self._newlines else 0
            kept = text.rstrip("\n")
            self._newlines.append(before + len(text) if not kept else len(text) - len(kept))
        # The library's write, inline: it runs for every piece of text written.
        self._parts.append(text)
        self._utf16_offset += utf16_len(text)
        self._py_offset += len(text)

    def trailing_newline_count(self) -> int:
        return self._newlines[-1] if self._newlines else 0

    def pop_last(self) -> str:
        if self._newlines:
            self._newlines.pop()
        return super().pop_last()


class _LinearWalker(library.EventWalker):
    """The library's event walker; see the module docstring for what differs."""

    def __init__(self, config: RenderConfig, source_markdown: str) -> None:
        super().__init__(config, source_markdown)
        self._buf = _LinearBuffer()
        # Open entities in the order they opened; None where one closed out of order.
        self._open: list[library._EntityScope | None] = []
        # For each type, where its open entities are in `_open`, innermost last.
        self._open_of_type: dict[str, list[int]] = {}

    # -- entities: the library's stack semantics, found by type in constant time -------------

    def _push_entity(self, entity_type: str, **kwargs: Any) -> None:
        scope = library._EntityScope(
            entity_type=entity_type, start_offset=self._buf.utf16_offset, **kwargs
        )
        self._open_of_type.setdefault(entity_type, []).append(len(self._open))
        self._open.append(scope)

    def _pop_entity(self, entity_type: str) -> None:
        """Close the innermost open entity of this type, if any (the library's search)."""
        positions = self._open_of_type.get(entity_type)
        if not positions:
            return
        position = positions.pop()
        scope = self._open[position]
        self._open[position] = None
        self._drop_closed()
        if scope is not None:
            self._finalize_entity(scope)

    def _pop_entity_any(self) -> None:
        """Close the innermost open entity, whatever its type."""
        scope = self._open.pop() if self._open else None
        if scope is None:
            return
        self._open_of_type[scope.entity_type].pop()
        self._drop_closed()
        self._finalize_entity(scope)

    def _drop_closed(self) -> None:
        while self._open and self._open[-1] is None:
            self._open.pop()

    # -- lists: the library's item, indented at most MAX_LIST_DEPTH levels -------------------

    def _on_start_item(self) -> None:
        depth = min(len(self._list_stack), MAX_LIST_DEPTH)
        indent = "  " * (depth - 1) if depth > 1 else ""
        current_list = self._list_stack[-1] if self._list_stack else None
        # A nested list's first item starts a line of its own.
        if self._buf.py_offset > 0 and self._buf.trailing_newline_count() == 0:
            self._buf.write("\n")
        self._item_indent = indent
        symbols = self._config.markdown_symbol
        if current_list is not None:
            self._buf.write(f"{indent}{current_list}{symbols.ordered_list_suffix} ")
            self._list_stack[-1] = current_list + 1
        else:
            self._buf.write(f"{indent}{symbols.unordered_list_item} ")

    # -- tables: aligned unless the alignment is mostly padding -------------------------------

    def _format_table(self, rows: list[list[str]]) -> str:
        # The parser gives every row as many cells as the header: the padding cells at a row's
        # end are not the source's.
        written = [_without_empty_tail(row) for row in rows]
        unaligned = sum(len(cell) + 3 for row in written for cell in row) + len(rows)
        columns = max((len(row) for row in rows), default=0)
        widths = [0] * columns
        for row in rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        aligned = (len(rows) + 1) * (sum(widths) + 3 * columns)
        if aligned <= _TABLE_ALIGNMENT_COST * unaligned + _TABLE_ALIGNMENT_SLACK:
            result: str = super()._format_table(rows)
            return result
        return "\n".join(" | ".join(row) for row in written)


def _without_empty_tail(row: list[str]) -> list[str]:
    end = len(row)
    while end > 1 and not row[end - 1]:
        end -= 1
    return row[:end]
