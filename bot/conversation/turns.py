"""A turn's shapes: what the user said, how it arrives and waits, how it ended, who is told.

Owns values only (and `Waiter`, the watcher that hands an outcome back to an awaiting caller); the
order of a turn is service.py's. Imports nothing from Telegram.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.conversation.generation import Status
from bot.store import ChatKey, NotAgain, Received
from bot.types import AttachmentPart


@dataclass(frozen=True, slots=True)
class UserTurn:
    """What the user said, and where it came from."""

    text: str
    telegram_message_id: int | None = None
    user_id: int | None = None
    sender_name: str | None = None  # set in group chats, where the model must tell people apart
    # OpenAI content parts (image_url, input_audio) sent with this turn only, after `text`;
    # the history keeps `text` alone, which then says what was attached ("[photo 1280x720]").
    parts: tuple[AttachmentPart, ...] = ()
    # A model for this turn only (a vision or audio model), the chat's own choice unchanged.
    model: str | None = None
    # Called once when the turn ends, however it ends (the service does it): gives back what the
    # built turn holds, such as its audio's room in the budget of audio in flight.
    release: Callable[[], None] | None = None


# A turn that needs work before it exists (downloading a photo, waiting for an album). It is
# built once the chat's earlier turns are done, so a message sent after it cannot overtake it;
# it may raise a BotError instead (a file that can't be read), and then nothing is stored.
PendingTurn = Callable[[], Awaitable[UserTurn]]


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent a pending turn, known before it is built, and what the inbox keeps of it while
    it waits (its message first, then any joined to it)."""

    user_id: int | None
    telegram_message_id: int | None = None
    kept: tuple[Received, ...] = ()


@dataclass(frozen=True, slots=True)
class Arrival:
    """A turn as it arrives: a ready turn is a pending one that is already built."""

    origin: Origin
    build: PendingTurn
    ready: UserTurn | None = None  # known whole on arrival

    @classmethod
    def of(cls, key: ChatKey, turn: UserTurn | PendingTurn, origin: Origin | None) -> Arrival:
        if not isinstance(turn, UserTurn):
            return cls(origin or Origin(None), turn)
        ready = turn

        async def built() -> UserTurn:
            return ready

        kept: tuple[Received, ...] = ()
        if turn.telegram_message_id is not None:
            kept = (
                Received(key, turn.text, turn.telegram_message_id, turn.user_id, turn.sender_name),
            )
        return cls(Origin(turn.user_id, turn.telegram_message_id, kept), built, turn)


@dataclass(frozen=True, slots=True)
class AnswerAgain:
    """Asking for the chat's latest question to be answered again: /retry, or the question's
    text edited. The new answer replaces the earlier ones in the history the model sees."""

    # The message that asks (the /retry command, the edited question): its reply's Stop button.
    telegram_message_id: int | None
    user_id: int | None  # who asks; answering again counts as one message of theirs
    question: int | None = None  # an edit: only if the latest question is this Telegram message
    text: str | None = None  # an edit: the question's new text
    asked_by: int | None = None  # only if this user asked the latest question (None: anyone)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a turn ended: what was stored and shown."""

    text: str
    status: Status
    model: str
    notice: str | None = None
    duplicate: bool = False
    refused: bool = False  # too long, over a limit or a cap: nothing was stored or sent upstream
    # Answering again: how many earlier answers left the history, or why nothing was answered
    # (nothing shown: the caller says it, or not).
    replaced: int = 0
    not_again: NotAgain | None = None


class TurnWatcher(Protocol):
    """Told how a queued turn ended (the caller returned long before)."""

    async def answered(self, outcome: Outcome) -> None:
        """The turn ended: answered (fully or not), refused once built, or cut by a restart."""

    async def failed(self, error: Exception) -> None:
        """The turn could not be built or answered; `error` says why (a BotError says it to the
        user). Nothing of it is stored."""

    def dropped(self) -> None:
        """The turn never ran: the bot stopped at once. It stays in the inbox for next time."""


class Waiter:
    """A TurnWatcher that keeps how the turn ended for `reply`."""

    def __init__(self) -> None:
        self._ended: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    async def outcome(self) -> Outcome:
        return await self._ended

    async def answered(self, outcome: Outcome) -> None:
        self._ended.set_result(outcome)

    async def failed(self, error: Exception) -> None:
        self._ended.set_exception(error)

    def dropped(self) -> None:
        self._ended.cancel()
