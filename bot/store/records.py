"""The store's records: the plain values it takes and hands back, and the error it raises.

Nothing here touches the database; every other module of the store, and its callers, share these.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "assistant"]
ReplyStatus = Literal["complete", "interrupted", "stopped"]
# What a waiting message is: its text alone, or an attachment to fetch again by its file id.
InboxKind = Literal["text", "photo", "document", "audio"]
# Why the latest question can't be answered again: the current conversation has none; the
# message named is not it (an older one was edited); someone else asked it.
NotAgain = Literal["no question", "not latest", "not asker"]


@dataclass(frozen=True, slots=True)
class ChatKey:
    """One conversation place: a chat, or one forum topic of it (thread_id 0 = no topic)."""

    chat_id: int
    thread_id: int = 0


@dataclass(frozen=True, slots=True)
class ChatPreferences:
    """A chat's own choices; None means "use the bot's default"."""

    model: str | None = None
    voice: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    system_prompt: str | None = None
    show_reasoning: str | None = None  # collapsed, hidden or full
    reasoning_effort: str | None = None  # low, medium or high; None sends none


@dataclass(frozen=True, slots=True)
class Turn:
    """One stored message of the context window, as the upstream will see it."""

    role: Role
    content: str
    sender_name: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """A user message in the inbox: received from Telegram, its turn not yet started.

    A text keeps its text in `content`. A photo, document or audio message keeps its caption
    there, and in `attachment` the JSON its handler needs to build the turn again (file ids and
    the like; the store never reads it). `joined_to` names the message whose turn this one
    belongs to (an album's first photo): the two leave the inbox together.
    """

    key: ChatKey
    content: str
    telegram_message_id: int
    user_id: int | None = None
    sender_name: str | None = None
    kind: InboxKind = "text"
    attachment: str | None = None
    joined_to: int | None = None


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Messages a user sent, and the tokens spent answering them."""

    messages: int
    prompt_tokens: int
    completion_tokens: int
    # Replies whose tokens were estimated from characters because the upstream sent no usage.
    estimated_replies: int = 0

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What one retention pass deleted, and the pages the file gave back."""

    messages: int
    conversations: int
    pages: int


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One conversation of a chat, as /history lists it."""

    id: int
    # The start of its first question (at most FIRST_QUESTION_CHARS characters; "" for none).
    first_question: str
    started_at: float
    last_message_at: float
    turns: int  # questions asked in it
    current: bool  # the chat's current conversation, whose turns go upstream


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """A page of a chat's conversations that have messages, most recently active first."""

    conversations: tuple[ConversationSummary, ...]
    total: int  # conversations with messages, on every page
    current_is_empty: bool  # the chat's current conversation has no message yet (or none exists)


@dataclass(frozen=True, slots=True)
class LatestQuestion:
    """The chat's latest question, about to be answered again: its text (edited, if it was)
    and how many answers to it left the history."""

    text: str
    replaced: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message of a conversation as an export shows it."""

    role: Role
    content: str
    sender_name: str | None
    model: str | None
    status: ReplyStatus
    created_at: float
    # The model's reasoning, where it is kept; shown collapsed.
    reasoning: str | None = None


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """A conversation and its messages, oldest first, as far as an export took them."""

    summary: ConversationSummary
    messages: tuple[StoredMessage, ...]


@dataclass(frozen=True, slots=True)
class Export:
    """The conversations an export holds, most recently active first."""

    conversations: tuple[StoredConversation, ...]
    complete: bool  # False: the size limit was reached; what is missing was not read


@dataclass(frozen=True, slots=True)
class ChatForgotten:
    """What /forget deleted of one chat (or forum topic)."""

    conversations: int
    messages: int
    settings: bool  # the chat had settings of its own (a model, a voice, a system prompt, ...)
    waiting: int  # messages kept in the inbox that no turn will answer any more


@dataclass(frozen=True, slots=True)
class StorePragmas:
    """The connection settings in force, as SQLite reports them (for `check` and tests)."""

    journal_mode: str
    foreign_keys: bool
    synchronous: int
    busy_timeout_ms: int


class StoreError(Exception):
    """The database cannot be used as this code expects."""


# What a failing store raises: its own StoreError, or SQLite's (disk full, database locked, I/O),
# for callers that must carry on when a write fails.
STORE_ERRORS: tuple[type[Exception], ...] = (StoreError, sqlite3.Error)
