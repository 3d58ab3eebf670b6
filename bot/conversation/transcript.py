"""A conversation as a Markdown document (/export): a title, the model, dates, then every turn
with its author, oldest first.

Owns the document's shape and its size: at most `max_bytes` of UTF-8, cut at a message boundary
(or inside the one message that alone passes it) with a line saying so. Attachments appear as
the markers the history keeps ("[photo 1280x720]"); the model's reasoning, where it is kept,
collapsed in a `<details>` block. The document's own words (headings, authors, notes) are in
its reader's language (bot/i18n.py: the thread runs in the update's context). Pure: the store
reads, the handler sends; the handler runs this in a thread, since an export may be megabytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.i18n import N_, _, ngettext, number
from bot.store import Export, StoredConversation, StoredMessage

TITLE_CHARS = 60  # characters of the first question that make a conversation's title
_SPACE = re.compile(r"\s+")
# The document is read by the person who asked for it: its words are in their language (the
# handler's thread runs in the update's context, bot/i18n.py); Markdown marks stay outside.
# Translators: closes an export cut at its size limit; {size} is a size such as "10 MB".
CUT_NOTE = N_(
    "The export ends here: it reached the size limit of {size}. Older messages are not in it."
)
STATUS_NOTES = {
    "interrupted": N_("(This answer was cut short.)"),
    "stopped": N_("(This answer was stopped.)"),
}


@dataclass(frozen=True, slots=True)
class Transcript:
    """The document, and whether everything asked for is in it."""

    text: str
    complete: bool


def title_of(first_question: str, limit: int = TITLE_CHARS) -> str:
    """A conversation's title: its first question on one line, cut at a word near `limit`."""
    line = _SPACE.sub(" ", first_question).strip()
    if not line:
        return _("(no question yet)")
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def moment(when: float) -> str:
    """A time as the export and /history show it: "2026-03-14 21:40 UTC"."""
    return f"{datetime.fromtimestamp(when, UTC):%Y-%m-%d %H:%M} UTC"


def transcript(
    export: Export,
    *,
    group: bool,
    max_bytes: int,
    exported_at: float,
    default_model: str,
) -> Transcript:
    """The Markdown document of `export`: in groups each question is headed with its sender's
    name, in private chats with "You". At most `max_bytes` bytes of UTF-8."""
    cut_note = "*" + _(CUT_NOTE).format(size=size_text(max_bytes)) + "*"
    writer = _Writer(max_bytes, len(cut_note.encode()) + 1)
    many = len(export.conversations) > 1
    # Translators: a line of an exported conversation; {moment} is a date and time (UTC).
    exported = _("Exported {moment}.").format(moment=moment(exported_at))
    if many:
        # Translators: the title of an export of several conversations; {count} counts them.
        heading = _("Conversations ({count})").format(count=number(len(export.conversations)))
        writer.add(f"# {heading}\n\n{exported}\n")
    for conversation in export.conversations:
        if not writer.add(_heading(conversation, "##" if many else "#", default_model)):
            break
        if not many:
            writer.add(f"{exported}\n")
        for message in conversation.messages:
            if not writer.add(_message(message, group)):
                break
        if writer.full:
            break
    complete = export.complete and not writer.full
    if not complete:
        writer.close(cut_note)
    return Transcript(writer.text(), complete)


def size_text(size: int) -> str:
    """Bytes as people read them: "10 MB", "500 KB", "900 bytes"."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:g} MB"
    if size >= 1_000:
        return f"{size / 1_000:g} KB"
    return f"{size} bytes"


def _heading(conversation: StoredConversation, level: str, default_model: str) -> str:
    summary = conversation.summary
    models = list(
        dict.fromkeys(m.model for m in conversation.messages if m.role == "assistant" and m.model)
    )
    count = number(summary.turns)
    if summary.current:
        # Translators: a turn is a question and its answer.
        turns = ngettext(
            "{count} turn (the current conversation)",
            "{count} turns (the current conversation)",
            summary.turns,
        ).format(count=count)
    else:
        turns = ngettext("{count} turn", "{count} turns", summary.turns).format(count=count)
    lines = [
        f"{level} {title_of(summary.first_question)}",
        "",
        # Translators: lines of an exported conversation's heading; {models} are model ids,
        # {moment} a date and time (UTC).
        "- " + _("Model: {models}").format(models=", ".join(models) or default_model),
        "- " + _("Started: {moment}").format(moment=moment(summary.started_at)),
        "- " + _("Last message: {moment}").format(moment=moment(summary.last_message_at)),
        f"- {turns}",
    ]
    return "\n".join(lines) + "\n"


def _message(message: StoredMessage, group: bool) -> str:
    if message.role == "user":
        # Translators: the author of a question in an export: a group member without a name.
        someone = message.sender_name or _("Someone")
        # Translators: the author of a question in an export of a private chat (its reader).
        author = someone if group else _("You")
    elif message.model:
        # Translators: the author of an answer in an export; {model} is a model id.
        author = _("Assistant ({model})").format(model=message.model)
    else:
        author = _("Assistant")
    parts = [f"---\n\n**{author}** · {moment(message.created_at)}\n"]
    if message.reasoning:
        # Translators: the heading of the model's reasoning (collapsed) in an export.
        summary = _("Reasoning")
        reasoning = message.reasoning.strip()
        parts.append(f"<details><summary>{summary}</summary>\n\n{reasoning}\n\n</details>\n")
    parts.append(message.content.rstrip() + "\n")
    if (note := STATUS_NOTES.get(message.status)) is not None and message.role == "assistant":
        parts.append(f"*{_(note)}*\n")
    return "\n".join(parts)


class _Writer:
    """Pieces of the document up to a byte budget, with room kept for the closing note."""

    _ROOM = 200  # bytes kept for the note that says the export was cut (at least)

    def __init__(self, max_bytes: int, note_bytes: int = 0) -> None:
        self._budget = max(0, max_bytes - max(self._ROOM, note_bytes))
        self._max = max_bytes
        self._pieces: list[str] = []
        self._used = 0
        self.full = False

    def add(self, piece: str) -> bool:
        """Add `piece` (and a blank line after it); False once the budget is used up (the part
        that fits, cut at a character, is added)."""
        if self.full:
            return False
        piece += "\n"
        size = len(piece.encode())
        if self._used + size <= self._budget:
            self._pieces.append(piece)
            self._used += size
            return True
        room = self._budget - self._used
        cut = piece.encode()[:room].decode(errors="ignore")
        if cut.strip():
            self._pieces.append(cut.rstrip() + "…\n\n")
        self.full = True
        return False

    def close(self, note: str) -> None:
        self._pieces.append(note + "\n")

    def text(self) -> str:
        text = "".join(self._pieces)
        return text.encode()[: self._max].decode(errors="ignore")
