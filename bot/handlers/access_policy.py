"""Who may use the bot: the allowlists and admins from the settings, and refusal pacing.

Owns the decision only (pure, injected clock): bot admins always pass; with both allowlists empty
everyone passes; otherwise a user passes when they are in ALLOWED_USER_IDS or write in a chat in
ALLOWED_CHAT_IDS. handlers/access.py applies it before any other handler runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.i18n import _

REFUSAL_INTERVAL = 60.0  # tell a refused user at most once a minute; stay silent otherwise


class AccessPolicy:
    """Allowlist decisions and how often a refused user is told so."""

    def __init__(
        self,
        *,
        allowed_users: frozenset[int],
        allowed_chats: frozenset[int],
        admins: frozenset[int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = allowed_users
        self._chats = allowed_chats
        self._admins = admins
        self._clock = clock
        self._told: dict[int, float] = {}

    @property
    def open(self) -> bool:
        """Whether everyone may use the bot."""
        return not self._users and not self._chats

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """Whether this user, writing in this chat, may use the bot."""
        if self.open or (user_id is not None and user_id in self._admins):
            return True
        return (user_id is not None and user_id in self._users) or (
            chat_id is not None and chat_id in self._chats
        )

    def should_tell(self, user_id: int) -> bool:
        """Whether to tell this refused user now (and remember that we did)."""
        now = self._clock()
        if now - self._told.get(user_id, -REFUSAL_INTERVAL) < REFUSAL_INTERVAL:
            return False
        self._told[user_id] = now
        if len(self._told) > 10_000:  # forget the oldest half rather than grow without bound
            for stale in sorted(self._told, key=self._told.__getitem__)[:5_000]:
                del self._told[stale]
        return True


def not_allowed_text(user_id: int) -> str:
    """What a refused user reads: why, and the id the operator needs."""
    return _(
        "Sorry, you are not allowed to use this bot. "
        "Your user id is {user_id}; ask the bot's operator to add it to ALLOWED_USER_IDS."
    ).format(user_id=user_id)
