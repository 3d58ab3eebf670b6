"""Usage queries over `messages`: what one user spent, and who spent the most, since a time."""

from __future__ import annotations

import math
from typing import Literal

from bot.store.connection import StoreBase, fetchone
from bot.store.records import UsageTotals

_USAGE = """
    SELECT COALESCE(SUM(role = 'user'), 0), COALESCE(SUM(prompt_tokens), 0),
           COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(usage_estimated), 0)
    FROM messages
    WHERE user_id = ? AND created_at >= ?
"""
# {order} is one of _TOP_USERS_ORDER's values, never user input.
_TOP_USERS = """
    SELECT user_id, SUM(role = 'user') AS sent, COALESCE(SUM(prompt_tokens), 0) AS prompt,
           COALESCE(SUM(completion_tokens), 0) AS completion, SUM(usage_estimated)
    FROM messages INDEXED BY messages_period
    WHERE created_at >= ? AND user_id IS NOT NULL
    GROUP BY user_id
    ORDER BY {order}, user_id
    LIMIT ?
"""
_TOP_USERS_ORDER = {
    "messages": "sent DESC, prompt + completion DESC",
    "tokens": "prompt + completion DESC, sent DESC",
}


class UsageStore(StoreBase):
    """Counting messages and tokens per user (for limits and /stats)."""

    async def usage(self, user_id: int, *, since: float | None = None) -> UsageTotals:
        """A user's messages and the tokens of the replies to them, since a unix time."""
        async with self._lock:
            row = await fetchone(self._db, _USAGE, (user_id, _since(since)))
        assert row is not None  # an aggregate always yields one row
        return UsageTotals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    async def top_users(
        self,
        *,
        since: float | None,
        limit: int = 10,
        by: Literal["messages", "tokens"] = "messages",
    ) -> list[tuple[int, UsageTotals]]:
        """The users who sent the most messages (`by="tokens"`: spent the most tokens) since a
        unix time; ties go to the other measure, then to the lower id."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        sql = _TOP_USERS.format(order=_TOP_USERS_ORDER[by])
        async with self._lock:
            rows = await self._db.execute_fetchall(sql, (_since(since), limit))
        return [
            (int(user_id), UsageTotals(int(sent), int(prompt), int(completion), int(estimated)))
            for user_id, sent, prompt, completion, estimated in rows
        ]


def _since(since: float | None) -> float:
    return -math.inf if since is None else since
