"""History retention: deleting the messages of conversations idle for a while, a batch at a time,
and giving the space they took back to the file system.

A conversation is idle when its newest message (or, with none, its start) is older than the
cutoff. Its messages are deleted oldest first, their usage added to `usage_archive` in the same
transaction (so /stats and the quotas still count them, usage.py); a conversation left empty is
deleted too, and a chat whose current conversation it was starts a new one with its next message.
Chats' settings and the inbox are never touched.

A pass must not stall the chats: idle conversations are looked for on the read connection, a
page of ids at a time, and each write transaction deletes at most `batch` messages of one such
page, in a handful of statements, before it lets go of the writer, so other chats' reads and
writes go in between, and after each one the pass rests (REST_PER_WORK). A batch never runs
while a /stats aggregate does (`_background`, connection.py). Each transaction
checks again that its conversations are still idle: one that got a message since it was found
keeps its history. Freed pages then go back to the file system a step at a time
(`PRAGMA incremental_vacuum`), when the file has incremental auto-vacuum (every database this
code created; connection.py).
"""

from __future__ import annotations

import asyncio
import time

from bot.store.connection import StoreBase, incremental_vacuum, pragma
from bot.store.records import Forgotten

# Messages deleted per transaction; see bench/store_bench.py for what one batch costs the writer.
DELETE_BATCH = 100
# Pages given back per step of `PRAGMA incremental_vacuum` (4 KB each).
VACUUM_STEP = 64
# Conversations looked at together: a page of the search, and the range one batch works through.
_SEARCH_PAGE = 256
# After each batch or vacuum step the pass rests this many times as long as the step took, so it
# takes at most a fifth of the writer's time however long it runs: retention is never urgent.
REST_PER_WORK = 4.0

# Whether conversation `c` is idle: its newest message (or its start, with none) before `?`.
_IDLE = """
    COALESCE((
        SELECT created_at FROM messages INDEXED BY messages_context
        WHERE conversation_id = c.id ORDER BY id DESC LIMIT 1
    ), c.started_at) < ?
"""
# A page of conversations after an id: each one's id and whether it is idle.
_CONVERSATIONS_PAGE = f"""
    SELECT c.id, {_IDLE} FROM conversations AS c WHERE c.id > ? ORDER BY c.id LIMIT ?
"""
# The oldest `batch` messages of the conversations with ids in (?, ?] that are idle (checked again
# inside the transaction: a message may have come in since the search).
_BATCH = f"""
    SELECT m.id FROM conversations AS c
    JOIN messages AS m INDEXED BY messages_context ON m.conversation_id = c.id
    WHERE c.id > ? AND c.id <= ? AND {_IDLE}
    ORDER BY c.id, m.id
    LIMIT ?
"""
_ARCHIVE_USAGE = f"""
    INSERT INTO usage_archive (user_id, month, messages, prompt_tokens, completion_tokens,
                               estimated_replies)
    SELECT user_id, CAST(strftime('%s', created_at, 'unixepoch', 'start of month') AS REAL),
           SUM(role = 'user'), COALESCE(SUM(prompt_tokens), 0),
           COALESCE(SUM(completion_tokens), 0), SUM(usage_estimated)
    FROM messages
    WHERE id IN ({_BATCH}) AND user_id IS NOT NULL
    GROUP BY 1, 2
    ON CONFLICT (user_id, month) DO UPDATE SET
        messages = messages + excluded.messages,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        estimated_replies = estimated_replies + excluded.estimated_replies
"""
_DELETE_MESSAGES = f"DELETE FROM messages WHERE id IN ({_BATCH})"
# Idle conversations of the range left without messages (a conversation started before the
# cutoff and without messages is idle).
_DELETE_EMPTIED = """
    DELETE FROM conversations AS c
    WHERE c.id > ? AND c.id <= ? AND c.started_at < ?
      AND NOT EXISTS (
          SELECT 1 FROM messages INDEXED BY messages_context WHERE conversation_id = c.id
      )
"""


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
            async with self._background:
                page = list(
                    await self._reader.execute_fetchall(
                        _CONVERSATIONS_PAGE, (cutoff, after, _SEARCH_PAGE)
                    )
                )
            if not page:
                break
            first, last = after, int(page[-1][0])
            after = last
            if not any(idle for _, idle in page):
                continue
            while True:
                deleted, emptied, worked = await self._forget_batch(first, last, cutoff, batch)
                await self._rest_after(worked)
                messages += deleted
                conversations += emptied
                if deleted < batch:  # nothing idle is left in this range
                    break
        return Forgotten(messages, conversations, await self._give_back_space())

    async def _forget_batch(
        self, first: int, last: int, cutoff: float, batch: int
    ) -> tuple[int, int, float]:
        """One transaction: delete the oldest `batch` messages of the idle conversations with
        ids in (first, last], and those conversations once empty; how many of each went, and
        the seconds the writer was held."""
        selection = (first, last, cutoff, batch)
        async with self._background:
            started = time.monotonic()  # not counting the wait for a /stats read to finish
            async with self._transaction():
                await self._db.execute(_ARCHIVE_USAGE, selection)
                async with self._db.execute(_DELETE_MESSAGES, selection) as cursor:
                    deleted = cursor.rowcount
                async with self._db.execute(_DELETE_EMPTIED, (first, last, cutoff)) as cursor:
                    emptied = cursor.rowcount
            return deleted, emptied, time.monotonic() - started

    async def _give_back_space(self) -> int:
        """Shrink the file by the pages deleted rows freed, a step at a time; the pages freed
        (0 when the file has no incremental auto-vacuum: its free pages are reused instead)."""
        freed = 0
        while True:
            async with self._lock:
                started = time.monotonic()
                if not await incremental_vacuum(self._db):
                    return 0
                free = int(await pragma(self._db, "freelist_count"))
                if free == 0:
                    return freed
                step = min(free, VACUUM_STEP)
                # executescript steps the pragma to its end; execute() would free one page.
                await self._db.executescript(f"PRAGMA incremental_vacuum({step:d});")
                freed += step
                worked = time.monotonic() - started
            await self._rest_after(worked)

    async def _rest_after(self, worked: float) -> None:
        """Copy the step's pages out of the WAL, on the checkpointer's thread (at the pass's
        pace the WAL would otherwise fill within seconds, and the commit that fills it would
        copy it all, holding the writer), then let the chats have the writer for
        `REST_PER_WORK` times the `worked` seconds the step held it (wall-clock time, whatever
        clock the store stamps rows with)."""
        await self._checkpointer.checkpoint()
        await asyncio.sleep(worked * REST_PER_WORK)
