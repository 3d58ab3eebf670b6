"""Who may change a chat's model and preferences.

Owns the rule: ADMIN_USER_IDS everywhere; in a private chat, its user; in a group, its
administrators as Telegram reports them (cached a few minutes per chat on an injected clock) and
whoever posts as the group itself (an anonymous admin). It decides; telling the user is the
handlers' job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from telegram import Bot, Chat, User
from telegram.error import TelegramError

from bot.types import Clock

log = logging.getLogger(__name__)


# Promotions and demotions are rare; a few minutes of staleness saves a call per settings change.
ADMINS_CACHE_SECONDS = 300.0
# Past this many cached groups, expired entries are dropped before adding another.
_MAX_CACHED_CHATS = 1_000


@dataclass(frozen=True, slots=True)
class _Cached:
    expires: float
    admin_ids: frozenset[int]


class Admins:
    """Answers "may this user change this chat's settings?"."""

    def __init__(
        self,
        bot: Bot,
        bot_admin_ids: frozenset[int],
        *,
        ttl: float = ADMINS_CACHE_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._bot = bot
        self._bot_admin_ids = bot_admin_ids
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[int, _Cached] = {}

    async def may_change(
        self, chat: Chat, user: User | None, *, sender_chat: Chat | None = None
    ) -> bool:
        """Whether `user` (or a message sent as `sender_chat`) may change `chat`'s settings."""
        if user is not None and user.id in self._bot_admin_ids:
            return True
        if chat.type == Chat.PRIVATE:
            return user is not None and user.id == chat.id
        if chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
            return False
        # Anonymous admins write as the group itself; only admins can do that.
        if sender_chat is not None and sender_chat.id == chat.id:
            return True
        return user is not None and user.id in await self.chat_admins(chat.id)

    async def chat_admins(self, chat_id: int) -> frozenset[int]:
        """The user ids of a group's administrators; empty (and not cached) if Telegram fails."""
        now = self._clock()
        cached = self._cache.get(chat_id)
        if cached is not None and now < cached.expires:
            return cached.admin_ids
        try:
            members = await self._bot.get_chat_administrators(chat_id)
        except TelegramError as exc:
            log.warning("chat %s: could not list the administrators: %s", chat_id, exc)
            return frozenset()
        admins = frozenset(member.user.id for member in members)
        if len(self._cache) >= _MAX_CACHED_CHATS:
            self._cache = {key: entry for key, entry in self._cache.items() if now < entry.expires}
        self._cache[chat_id] = _Cached(now + self._ttl, admins)
        return admins
