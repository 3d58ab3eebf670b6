"""Whether a turn may go on: one too long, or over its user's limits, is refused up front.

Owns the refusal and its words; refused turns are neither stored nor sent upstream. A turn already
stored (Telegram redelivering it after a restart) was admitted the first time and is never refused
again. Must not show anything: the service hands the refusal to the sink.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.conversation.limits import UsageLimits, limit_reached_text, too_long_text
from bot.store import ChatKey, ChatStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TurnRefusal:
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
    ) -> TurnRefusal | None:
        """Why this turn may not go on, or None when it may (and then it is counted)."""
        if await self._redelivered(key, telegram_message_id):
            return None
        limit = self._settings.max_message_chars
        if len(text) > limit:
            return TurnRefusal(too_long_text(len(text), limit))
        return await self._over_limits(user_id, count=True)

    async def early_refusal(
        self, key: ChatKey, *, user_id: int | None, telegram_message_id: int | None
    ) -> TurnRefusal | None:
        """Why a turn still to be built (a photo to download) would be refused by the user's
        limits as they stand, or None; counts nothing, since the turn may never exist."""
        if not self._limits.limits(user_id) or await self._redelivered(key, telegram_message_id):
            return None  # with no limits (the default), no look in the database either
        return await self._over_limits(user_id, count=False)

    async def _redelivered(self, key: ChatKey, telegram_message_id: int | None) -> bool:
        # Redelivered after a restart: admitted and counted the first time.
        return telegram_message_id is not None and await self._store.has_message(
            key, telegram_message_id
        )

    async def _over_limits(self, user_id: int | None, *, count: bool) -> TurnRefusal | None:
        over = await self._limits.admit(user_id, count=count)
        if over is None:
            return None
        log.info("user %s is over the %s limit until %.0f", user_id, over.kind, over.retry_at)
        return TurnRefusal(limit_reached_text(over, self._limits.now()) if over.tell else None)
