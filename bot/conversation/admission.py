"""Whether a turn may go on: one too long, or over its user's limits, is refused up front.

Owns the refusal and its words; refused turns are neither stored nor sent upstream. A turn is
admitted when it arrives — counted against its user's limits then, while it waits too (a
`Reservation`) — and looked at once more when its turn comes: its length, if it could only be
built then (a file), and the daily token quota, which the replies before it may have used up.
Whether a message is a redelivery (admitted the first time) is the service's business. Must not
show anything: the service hands the refusal to the sink.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.conversation.limits import (
    LimitReached,
    Reservation,
    UsageLimits,
    limit_reached_text,
    too_long_text,
)
from bot.i18n import ngettext, number

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TurnRefusal:
    """Why a turn was refused."""

    notice: str | None  # None: the user was told a moment ago, stay silent


class Admission:
    """Checks each turn against the length limit and the per-user usage limits."""

    def __init__(self, settings: Settings, limits: UsageLimits) -> None:
        self._settings = settings
        self._limits = limits

    async def admit(self, text: str | None, *, user_id: int | None) -> Reservation | TurnRefusal:
        """The room this turn holds under its user's limits, or why it may not go on. `text` is
        None for a turn built only when its turn comes (a photo, a file): its length is
        checked then (`refusal_once_built`)."""
        if text is not None and (refusal := self.too_long(text)) is not None:
            return refusal
        admitted = await self._limits.reserve(user_id)
        if isinstance(admitted, LimitReached):
            return self._refusal(user_id, admitted)
        return admitted

    def hold(self, user_id: int | None) -> Reservation:
        """Count a turn admitted before a restart, without checking it again."""
        return self._limits.hold(user_id)

    async def refusal_once_built(
        self, text: str | None, reservation: Reservation
    ) -> TurnRefusal | None:
        """Why a turn admitted earlier may not start now that it is built and its turn has come
        (`text` when it was built only now), or None. The caller releases the reservation."""
        if text is not None and (refusal := self.too_long(text)) is not None:
            return refusal
        over = await self._limits.recheck(reservation)
        return None if over is None else self._refusal(reservation.user_id, over)

    def too_long(self, text: str) -> TurnRefusal | None:
        limit = self._settings.max_message_chars
        return TurnRefusal(too_long_text(len(text), limit)) if len(text) > limit else None

    def settle(self, reservation: Reservation) -> None:
        """The turn is stored; the database counts it from now on."""
        self._limits.settle(reservation)

    def release(self, reservation: Reservation | None) -> None:
        """The turn will never run; give its room back (harmless once settled)."""
        if reservation is not None:
            self._limits.release(reservation)

    def _refusal(self, user_id: int | None, over: LimitReached) -> TurnRefusal:
        log.info("user %s is over the %s limit until %.0f", user_id, over.kind, over.retry_at)
        return TurnRefusal(limit_reached_text(over, self._limits.now()) if over.tell else None)


def user_backlog_text(waiting: int) -> str:
    """What a user reads who has MAX_QUEUED_PER_USER messages waiting already."""
    return ngettext(
        "You have {count} message waiting for my answer. I'm not taking new ones until "
        "I've answered it; please send this again then.",
        "You have {count} messages waiting for my answer. I'm not taking new ones until "
        "I've answered those; please send this again then.",
        waiting,
    ).format(count=number(waiting))


def chat_backlog_text(waiting: int) -> str:
    """What a user reads in a chat that has MAX_QUEUED_PER_CHAT messages waiting already."""
    return ngettext(
        "{count} message in this chat is waiting for my answer. I'm not taking new ones until "
        "I've answered it; please send this again then.",
        "{count} messages in this chat are waiting for my answer. I'm not taking new ones until "
        "I've answered those; please send this again then.",
        waiting,
    ).format(count=number(waiting))
