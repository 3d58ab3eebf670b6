"""History retention: deleting the messages of conversations idle for a while, a batch at a time,
and giving the space they took back to the file system.

A conversation is idle when its newest message (or, with none, its start) is older than the
cutoff. Its messages are deleted oldest first, their usage added to `usage_archive` in the same
transaction (so /stats and the quotas still count them, usage.py); a conversation left empty is
deleted too, and a chat whose current conversation it was starts a new one with its next message.
Chats' settings and the inbox are never touched.

A pass must not stall the chats: idle conversations are looked for on the read connection, a
page at a time, and each write transaction deletes at most `batch` messages of at most
`_CONVERSATIONS_PER_BATCH` conversations before it lets go of the writer, so other chats' reads
and writes go in between. Each transaction checks again that its conversations are still idle:
one that got a message since it was found keeps its history. Freed pages then go back to the
file system a step at a time (`PRAGMA incremental_vacuum`), when the file has incremental
auto-vacuum (every database this code created; connection.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.connection import StoreBase, fetchone, incremental_vacuum, pragma
from bot.store.records import Forgotten

# Messages deleted per transaction; see bench/store_bench.py for what one batch costs the writer.
DELETE_BATCH = 200
# Pages given back per step of `PRAGMA incremental_vacuum` (4 KB each).
VACUUM_STEP = 128
# Conversations looked at per page of the search for idle ones.
_SEARCH_PAGE = 256
_CONVERSATIONS_PER_BATCH = 32

# A page of conversations after an id, with their start and the time of their newest message.
_CONVERSATIONS_PAGE = """
    WITH page AS (SELECT id, started_at FROM conversations WHERE id > ? ORDER BY id LIMIT ?)
    SELECT id, COALESCE((
        SELECT created_at FROM messages INDEXED BY messages_context
        WHERE conversation_id = page.id ORDER BY id DESC LIMIT 1
    ), started_at)
    FROM page
"""
_LAST_ACTIVITY = """
    SELECT COALESCE((
        SELECT created_at FROM messages INDEXED BY messages_context
        WHERE conversation_id = conversations.id ORDER BY id DESC LIMIT 1
    ), started_at)
    FROM conversations WHERE id = ?
"""
# The oldest `?` messages of a conversation: what one batch deletes.
_OLDEST = """
    SELECT id FROM messages INDEXED BY messages_context
    WHERE conversation_id = ? ORDER BY id LIMIT ?
"""
_ARCHIVE_USAGE = f"""
    INSERT INTO usage_archive (user_id, month, messages, prompt_tokens, completion_tokens,
                               estimated_replies)
    SELECT user_id, CAST(strftime('%s', created_at, 'unixepoch', 'start of month') AS REAL),
           SUM(role = 'user'), COALESCE(SUM(prompt_tokens), 0),
           COALESCE(SUM(completion_tokens), 0), SUM(usage_estimated)
    FROM messages
    WHERE id IN ({_OLDEST}) AND user_id IS NOT NULL
    GROUP BY 1, 2
    ON CONFLICT (user_id, month) DO UPDATE SET
        messages = messages + excluded.messages,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        estimated_replies = estimated_replies + excluded.estimated_replies
"""
_DELETE_MESSAGES = f"DELETE FROM messages WHERE id IN ({_OLDEST})"
_DELETE_CONVERSATION = "DELETE FROM conversations WHERE id = ?"


class RetentionStore(StoreBase):
    """Forgetting idle conversations' history (HISTORY_RETENTION_DAYS)."""

    async def forget_idle_history(self, *, idle_for: float, batch: int = DELETE_BATCH) -> Forgotten:
        """Delete the messages of every conversation idle for `idle_for` seconds, a batch of at
        most `batch` messages per transaction, then give the freed space back."""
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        cutoff = self._clock() - idle_for
        messages = conversations = 0
        after = 0
        while True:
            page = list(
                await self._reader.execute_fetchall(_CONVERSATIONS_PAGE, (after, _SEARCH_PAGE))
            )
            if not page:
                break
            after = int(page[-1][0])
            idle = [int(conversation_id) for conversation_id, last in page if last < cutoff]
            while idle:
                deleted, emptied, idle = await self._forget_batch(idle, cutoff, batch)
                messages += deleted
                conversations += emptied
        return Forgotten(messages, conversations, await self._give_back_space())

    async def _forget_batch(
        self, idle: Sequence[int], cutoff: float, batch: int
    ) -> tuple[int, int, list[int]]:
        """One transaction: delete up to `batch` messages of the first idle conversations (those
        emptied with them); the messages and conversations deleted, and the ones left to do."""
        deleted = emptied = 0
        left = list(idle)
        async with self._transaction():
            for _ in range(_CONVERSATIONS_PER_BATCH):
                if not left or deleted == batch:
                    break
                conversation_id = left[0]
                row = await fetchone(self._db, _LAST_ACTIVITY, (conversation_id,))
                if row is None or row[0] >= cutoff:  # gone, or a message came in since
                    left.pop(0)
                    continue
                room = batch - deleted
                await self._db.execute(_ARCHIVE_USAGE, (conversation_id, room))
                async with self._db.execute(_DELETE_MESSAGES, (conversation_id, room)) as cursor:
                    deleted += cursor.rowcount
                if deleted < batch:  # fewer than it could take: nothing of it is left
                    await self._db.execute(_DELETE_CONVERSATION, (conversation_id,))
                    emptied += 1
                    left.pop(0)
        return deleted, emptied, left

    async def _give_back_space(self) -> int:
        """Shrink the file by the pages deleted rows freed, a step at a time; the pages freed
        (0 when the file has no incremental auto-vacuum: its free pages are reused instead)."""
        freed = 0
        while True:
            async with self._lock:
                if not await incremental_vacuum(self._db):
                    return 0
                free = int(await pragma(self._db, "freelist_count"))
                if free == 0:
                    return freed
                step = min(free, VACUUM_STEP)
                # executescript steps the pragma to its end; execute() would free one page.
                await self._db.executescript(f"PRAGMA incremental_vacuum({step:d});")
                freed += step
