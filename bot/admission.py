"""Whether a turn may go on: one too long, or over its user's limits, is refused up front.

Refused turns are neither stored nor sent upstream. A turn already stored (Telegram redelivering
it after a restart) was admitted and counted the first time, so it is never refused again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.limits import UsageLimits, refusal_text, too_long_text
from bot.store import ChatKey, ChatStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a turn was refused."""

    notice: str | None  # None: the user was told a moment ago, stay silent


class Admission:
    """Checks each turn against the length limit and the per-user usage limits."""

    def __init__(self, store: ChatStore, settings: Settings, limits: UsageLimits) -> None:
        self._store = store
        self._settings = settings
        self._limits = limits

    async def refusal(
        self, key: ChatKey, text: str, *, user_id: int | None, telegram_message_id: int | None
    ) -> Refusal | None:
        """Why this turn may not go on, or None when it may."""
        if telegram_message_id is not None and await self._store.has_message(
            key, telegram_message_id
        ):
            return None  # redelivered after a restart: admitted and counted the first time
        limit = self._settings.max_message_chars
        if len(text) > limit:
            return Refusal(too_long_text(len(text), limit))
        over = await self._limits.admit(user_id)
        if over is None:
            return None
        log.info("user %s is over the %s limit until %.0f", user_id, over.kind, over.retry_at)
        return Refusal(refusal_text(over, self._limits.now()) if over.tell else None)
