"""Where message drafts may be used (STREAM_MODE=draft), learnt from Telegram's refusals.

Owns the memory of refusals only: a server that refuses drafts turns them off for the whole bot, a
chat that refuses them for itself (the latest MAX_REFUSED_CHATS); kept in memory, so a restart
tries again. What counts as which refusal is telegram_errors.py's; the reply that met it goes on
with edits (draft_reply.py).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from telegram.error import TelegramError

from bot.delivery.telegram_errors import DraftRefusal

log = logging.getLogger(__name__)

MAX_REFUSED_CHATS = 10_000  # chats remembered as refusing drafts, the latest first


class DraftSupport:
    """Where drafts may be used, learnt from Telegram's refusals and kept in memory (a restart
    tries again): a server that refuses them (no such method, no empty draft) turns them off
    for the whole bot, a chat that refuses them for itself (the latest MAX_REFUSED_CHATS)."""

    def __init__(self, *, max_chats: int = MAX_REFUSED_CHATS) -> None:
        self._server_refuses = False
        self._chats: OrderedDict[int, None] = OrderedDict()
        self._max_chats = max_chats

    def usable(self, chat_id: int) -> bool:
        """Whether a reply in `chat_id` should stream as a draft."""
        return not self._server_refuses and chat_id not in self._chats

    def refused(self, chat_id: int, refusal: DraftRefusal | None, exc: TelegramError) -> None:
        """Telegram refused a draft in `chat_id` for this reason; logged once per chat (or,
        for the server, once). None: for a reason not known to last (a draft the chat did not
        take), only the reply that met it goes on with edits."""
        if refusal is None:
            log.warning(
                "chat %s: Telegram refused a message draft (%s); this reply goes on with edits",
                chat_id,
                exc.message,
            )
            return
        if refusal is DraftRefusal.SERVER:
            if not self._server_refuses:
                log.warning(
                    "the Bot API server refuses message drafts (%s): replies stream with edits",
                    exc.message,
                )
            self._server_refuses = True
            return
        if chat_id not in self._chats:
            log.warning(
                "chat %s refuses message drafts (%s): its replies stream with edits",
                chat_id,
                exc.message,
            )
        self._chats[chat_id] = None
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)
