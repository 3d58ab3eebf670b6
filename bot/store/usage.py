"""Usage queries: what one user spent, and who spent the most, since a time.

Usage is counted from `messages` plus `usage_archive`, which keeps the counts of messages that
were deleted, per user and UTC period: history retention (retention.py) archives idle history by
month; /forget (forget.py) and an answer replaced by answering its question again (history.py)
archive by day, since that may be today's. An answer asked for again also counts as one message
of whoever asked (`COUNT_MESSAGE_BY_DAY`). An archived period counts when it begins at or after
`since`; the bot asks only from the start of a UTC day or month, and retention archives no day
while it is today, so its answers are exact.

`usage` serves the per-turn limits and runs on the writer connection (a handful of index rows).
The /stats reads (`usage_report`, `top_users`) run on the read connection: the month's top users
aggregate every message of the month, and no chat's turn may wait behind that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import aiosqlite

from bot.store.connection import StoreBase, fetchone
from bot.store.records import UsageTotals

# Adds the usage of the messages `{selection}` picks (the rest of a statement on `messages`) to
# their senders' and askers' rows for the UTC day they were written on.
ARCHIVE_BY_DAY = """
    INSERT INTO usage_archive (user_id, month, messages, prompt_tokens, completion_tokens,
                               estimated_replies)
    SELECT user_id, CAST(strftime('%s', created_at, 'unixepoch', 'start of day') AS REAL),
           SUM(role = 'user'), COALESCE(SUM(prompt_tokens), 0),
           COALESCE(SUM(completion_tokens), 0), SUM(usage_estimated)
    FROM messages {selection} AND user_id IS NOT NULL
    GROUP BY 1, 2
    ON CONFLICT (user_id, month) DO UPDATE SET
        messages = messages + excluded.messages,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        estimated_replies = estimated_replies + excluded.estimated_replies
"""
# One message of user ? on the UTC day of the unix time ? (an answer asked for again).
COUNT_MESSAGE_BY_DAY = """
    INSERT INTO usage_archive (user_id, month, messages, prompt_tokens, completion_tokens,
                               estimated_replies)
    VALUES (?, CAST(strftime('%s', ?, 'unixepoch', 'start of day') AS REAL), 1, 0, 0, 0)
    ON CONFLICT (user_id, month) DO UPDATE SET messages = messages + 1
"""
_USAGE = """
    SELECT COALESCE(SUM(sent), 0), COALESCE(SUM(prompt), 0), COALESCE(SUM(completion), 0),
           COALESCE(SUM(estimated), 0)
    FROM (
        SELECT SUM(role = 'user') AS sent, SUM(prompt_tokens) AS prompt,
               SUM(completion_tokens) AS completion, SUM(usage_estimated) AS estimated
        FROM messages
        WHERE user_id = ? AND created_at >= ?
        UNION ALL
        SELECT SUM(messages), SUM(prompt_tokens), SUM(completion_tokens), SUM(estimated_replies)
        FROM usage_archive
        WHERE user_id = ? AND month >= ?
    )
"""
# {order} is one of _TOP_USERS_ORDER's values, never user input.
# The inner columns are named apart from the outer ones: ORDER BY's `prompt + completion` must
# mean the sums, and SQLite resolves a name in an expression to a FROM column before an alias.
_TOP_USERS = """
    SELECT user_id, SUM(n_sent) AS sent, SUM(n_prompt) AS prompt,
           SUM(n_completion) AS completion, SUM(n_estimated)
    FROM (
        SELECT user_id, SUM(role = 'user') AS n_sent, COALESCE(SUM(prompt_tokens), 0) AS n_prompt,
               COALESCE(SUM(completion_tokens), 0) AS n_completion,
               SUM(usage_estimated) AS n_estimated
        FROM messages INDEXED BY messages_period
        WHERE created_at >= ? AND user_id IS NOT NULL
        GROUP BY user_id
        UNION ALL
        SELECT user_id, messages, prompt_tokens, completion_tokens, estimated_replies
        FROM usage_archive INDEXED BY usage_archive_month
        WHERE month >= ?
    )
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
            return await _usage(self._db, user_id, since)

    async def usage_report(
        self, user_id: int, *, since: Sequence[float | None]
    ) -> list[UsageTotals]:
        """`usage` since each of several times (None: ever), for /stats: read beside the
        writer, so a user with a long history never holds up the chats' turns."""
        async with self._background:
            return [await _usage(self._reader, user_id, start) for start in since]

    async def top_users(
        self,
        *,
        since: float | None,
        limit: int = 10,
        by: Literal["messages", "tokens"] = "messages",
    ) -> list[tuple[int, UsageTotals]]:
        """The users who sent the most messages (`by="tokens"`: spent the most tokens) since a
        unix time; ties go to the other measure, then to the lower id. Read beside the writer:
        it aggregates every message since `since`."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        sql = _TOP_USERS.format(order=_TOP_USERS_ORDER[by])
        start = _since(since)
        async with self._background:
            rows: Iterable[aiosqlite.Row] = await self._reader.execute_fetchall(
                sql, (start, start, limit)
            )
        return [
            (int(user_id), UsageTotals(int(sent), int(prompt), int(completion), int(estimated)))
            for user_id, sent, prompt, completion, estimated in rows
        ]


async def _usage(db: aiosqlite.Connection, user_id: int, since: float | None) -> UsageTotals:
    start = _since(since)
    row = await fetchone(db, _USAGE, (user_id, start, user_id, start))
    assert row is not None  # an aggregate always yields one row
    return UsageTotals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _since(since: float | None) -> float:
    return -math.inf if since is None else since
