"""The store's SQLite connections: opening them safely, their pragmas, and holding the writer.

One aiosqlite connection (one worker thread), the writer, serves every write and every read a
turn makes. A lock is held for each whole operation on it, so the statements of one coroutine's
transaction never interleave with another's on that shared connection; writes that span several
statements run inside BEGIN IMMEDIATE ... COMMIT (`StoreBase._transaction`). When several wait,
the lock goes to the one whose work began first (writer_lock.py). Every statement is a trip to
the connection's thread and back, and under load those trips are what a turn waits for: an
operation makes as few as it can (`fetchone` is one; inserts say their row id with RETURNING).

A second connection, the reader (read-only: `query_only`), runs the heavy reads that no turn
waits for — /stats aggregates, retention's search for idle conversations — on its own thread.
In WAL mode it reads beside the writer without blocking it or being blocked, so a slow aggregate
never holds the writer's lock. Nothing writes through it. Work beside the turns (these reads,
retention's batches) takes turns with itself under a second lock, `_background`, never the
turns' one.

A third, the `Checkpointer`, copies the WAL into the database file every second on its own
thread. SQLite would otherwise do it inside whichever commit fills the WAL (1,000 pages), and at a
million messages that takes 100-200 ms, with every chat's turn waiting; the writer's own
automatic checkpoint stays only as a backstop, at ten times the size.

New databases are created with incremental auto-vacuum, so space freed by deleted history can be
given back to the file system (`PRAGMA incremental_vacuum`, retention.py). The writer runs with
`PRAGMA secure_delete`: what is deleted or overwritten is overwritten with zeros in the file, not
left in free space, so a forgotten chat's text (forget.py) can't be read back from it.

The database file is created with mode 0600 (its -wal and -shm files inherit that mode from
SQLite), and its folder, when this creates it, 0700. An existing file or folder keeps its mode:
the operator may have chosen it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.records import StoreError, StorePragmas
from bot.store.writer_lock import OldestFirstLock
from bot.types import Clock

BUSY_TIMEOUT_MS = 5_000
INCREMENTAL = 2  # PRAGMA auto_vacuum's value for incremental
CHECKPOINT_INTERVAL = 1.0  # seconds between the checkpointer's copies of the WAL
# WAL pages after which a commit checkpoints by itself: only if the checkpointer fell behind.
WRITER_CHECKPOINT_PAGES = 10_000


class StoreBase:
    """The connection, the clock and the lock every part of the store works through."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        clock: Clock,
        reader: aiosqlite.Connection,
        checkpointer: Checkpointer,
    ) -> None:
        self._db = db
        self._clock = clock
        self._lock = OldestFirstLock()  # handed to the oldest work first: see writer_lock.py
        self._reader = reader  # read-only, never under `_lock`: see the module's docstring
        # Held for each piece of work done beside the turns — a read on the reader, a retention
        # batch on the writer — so that such work never overlaps: on a small machine two of
        # them at once would take the CPU the turns need (a /stats aggregate holds a core for
        # half a second; a retention batch made slow holds the writer).
        self._background = asyncio.Lock()
        self._checkpointer = checkpointer
        self._closed = False

    async def close(self) -> None:
        """Close the connections; the store cannot be used afterwards. Closing twice is harmless."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            await self._checkpointer.close()
            await self._reader.close()
            with contextlib.suppress(sqlite3.Error):
                # Recommended before closing a long-lived connection: refreshes planner statistics.
                await self._db.execute("PRAGMA optimize")
            await self._db.close()

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self._lock:
            return await user_version(self._db)

    async def pragmas(self) -> StorePragmas:
        """The connection settings SQLite reports as in force."""
        async with self._lock:
            journal_mode = await pragma(self._db, "journal_mode")
            foreign_keys = await pragma(self._db, "foreign_keys")
            synchronous = await pragma(self._db, "synchronous")
            busy_timeout = await pragma(self._db, "busy_timeout")
        return StorePragmas(
            str(journal_mode), bool(foreign_keys), int(synchronous), int(busy_timeout)
        )

    async def integrity_ok(self) -> bool:
        """Whether SQLite finds the file sound and no row breaks a foreign key."""
        async with self._lock:
            integrity = await self._db.execute_fetchall("PRAGMA integrity_check")
            broken_keys = await self._db.execute_fetchall("PRAGMA foreign_key_check")
        return [tuple(row) for row in integrity] == [("ok",)] and not list(broken_keys)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[float]:
        """Hold the connection for one write transaction; yields the time to stamp rows with."""
        async with self._lock:
            try:
                # Inside the try: a task cancelled while it waits for BEGIN has still queued it
                # on the connection's thread, so it must be rolled back like any other failure
                # (rolling back with no transaction open is harmless).
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._clock()
                await self._db.execute("COMMIT")
            except BaseException:
                await rollback(self._db)
                raise


class Checkpointer:
    """Copies the WAL into the database file every `interval` seconds, on a connection and a
    thread of its own, so that no turn's commit has to (see the module's docstring).

    PASSIVE: it waits for nobody and nobody waits for it; frames a reader still needs are copied
    at a later round. A failed round is left to the next one (and, meanwhile, to the writer's
    backstop).
    """

    def __init__(self, db: aiosqlite.Connection, interval: float = CHECKPOINT_INTERVAL) -> None:
        self._db = db
        self._interval = interval
        self._task = asyncio.create_task(self._run(), name="store-checkpointer")

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._db.close()

    async def checkpoint(self) -> None:
        """Copy the WAL now (after a burst of writes, such as a retention batch)."""
        with contextlib.suppress(sqlite3.Error):
            await self._db.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")

    async def truncate(self) -> bool:
        """Copy the whole WAL into the file and truncate it to nothing (SQLite waits, up to the
        busy timeout, for readers of older snapshots and a write in progress); whether it was."""
        try:
            row = await fetchone(self._db, "PRAGMA wal_checkpoint(TRUNCATE)", ())
        except sqlite3.Error:
            return False
        return row is not None and row[0] == 0

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.checkpoint()


def create_private_file(path: Path) -> None:
    """Create the folder (mode 0700) and an empty database file (0600) readable only by us,
    before SQLite opens it; an existing folder keeps its mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


async def configure(db: aiosqlite.Connection, path: Path) -> None:
    """Set the pragmas every connection runs with, refusing an SQLite that cannot honour them."""
    # busy_timeout first, so that switching to WAL waits for another process instead of failing.
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    # Takes effect only on a new, empty file (before WAL writes its header); an existing one
    # keeps its mode until a VACUUM (`convert_to_incremental_vacuum`).
    await db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    journal_mode = await pragma(db, "journal_mode = WAL")
    if str(journal_mode).lower() != "wal":
        raise StoreError(f"{path}: SQLite refused WAL journal mode (got {journal_mode!r})")
    await db.execute("PRAGMA foreign_keys = ON")
    if await pragma(db, "foreign_keys") != 1:
        raise StoreError("this SQLite build does not enforce foreign keys")
    await db.execute("PRAGMA synchronous = FULL")
    await db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES:d}")
    # Per connection; only this one (the writer) deletes. It costs writing the zeros of pages
    # a deletion empties; see README "History and disk space" for what it adds.
    await db.execute("PRAGMA secure_delete = ON")
    if await pragma(db, "secure_delete") != 1:
        raise StoreError("this SQLite build can't overwrite deleted content (secure_delete)")


async def configure_reader(db: aiosqlite.Connection) -> None:
    """Make a connection a read-only one (the reader, the checkpointer) of a database the writer
    has configured. A checkpoint is allowed on it: it changes no content."""
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    await db.execute("PRAGMA query_only = ON")


async def incremental_vacuum(db: aiosqlite.Connection) -> bool:
    """Whether the file gives freed pages back on `PRAGMA incremental_vacuum`."""
    return int(await pragma(db, "auto_vacuum")) == INCREMENTAL


async def convert_to_incremental_vacuum(db: aiosqlite.Connection) -> None:
    """Rewrite a database made without incremental auto-vacuum so that it has it.

    VACUUM copies the whole file: as long as the database is big, and it needs that much free
    disk space. Only at start-up, before anything else uses the connection.
    """
    await db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    await db.execute("VACUUM")


async def rollback(db: aiosqlite.Connection) -> None:
    """Undo the open transaction, if the error that ended it left one open."""
    # Some errors (disk full, I/O) end the transaction themselves; then there is nothing to undo.
    with contextlib.suppress(sqlite3.OperationalError):
        await db.execute("ROLLBACK")


async def fetchone(
    db: aiosqlite.Connection, sql: str, parameters: Iterable[object]
) -> sqlite3.Row | None:
    """The row a single-row statement yields, or None.

    One trip to the connection's thread (`execute` + `fetchone` + closing the cursor are three,
    each a wake-up of that thread and of the event loop): every statement is written for at most
    one row, so reading them all reads that one.
    """
    rows = await db.execute_fetchall(sql, parameters)
    return next(iter(rows), None)


async def pragma(db: aiosqlite.Connection, statement: str) -> Any:
    """The value a `PRAGMA statement` reports."""
    row = await fetchone(db, f"PRAGMA {statement}", ())
    return None if row is None else row[0]


async def user_version(db: aiosqlite.Connection) -> int:
    """The schema version stamp: the number of the last migration applied."""
    return int(await pragma(db, "user_version"))
