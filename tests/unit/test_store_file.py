"""ChatStore's file on disk: opening it (its mode, the connection's pragmas), the numbered
migrations and how a broken set is refused, the integrity check, many writers at once."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import aiosqlite
import pytest

from bot.store import (
    DEFAULT_MIGRATIONS_DIR,
    ChatKey,
    ChatStore,
    Checkpointer,
    MigrationError,
    StorePragmas,
    split_statements,
)
from tests.support import query

ALICE = 101
PRIVATE = ChatKey(ALICE)
GROUP = ChatKey(-500)


def create_file(path: Path, mode: int) -> None:
    path.parent.mkdir(parents=True)
    path.touch()
    path.chmod(mode)


async def file_mode(path: Path) -> int:
    status = await asyncio.to_thread(path.stat)
    return stat.S_IMODE(status.st_mode)


def write_migrations(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


# Opening and migrations


async def test_open_creates_the_folder_and_a_file_only_the_owner_can_read(database: Path) -> None:
    store = await ChatStore.open(database)
    await store.close()

    assert await file_mode(database) == 0o600


async def test_open_leaves_the_mode_of_an_existing_file_alone(database: Path) -> None:
    await asyncio.to_thread(create_file, database, 0o640)

    store = await ChatStore.open(database)
    await store.close()

    assert await file_mode(database) == 0o640


async def test_connection_uses_wal_foreign_keys_full_sync_and_a_busy_timeout(
    store: ChatStore,
) -> None:
    # synchronous=FULL (2): every commit reaches the disk before it returns, so a power loss
    # cannot take back a message the bot has already confirmed to Telegram.
    assert await store.pragmas() == StorePragmas(
        journal_mode="wal", foreign_keys=True, synchronous=2, busy_timeout_ms=5_000
    )


async def test_turns_commits_leave_copying_the_wal_to_the_checkpointer(
    store: ChatStore, database: Path
) -> None:
    # SQLite's own checkpoint would run inside the commit that brings the WAL to 1,000 pages,
    # holding every chat's turn while it copies them into the file.
    store._checkpointer._task.cancel()  # the periodic round: this test says when one runs
    for number in range(800):  # 3.2 MB of text; several thousand pages through the WAL
        await store.add_user_message(
            PRIVATE, f"{number} " + "x" * 4_000, telegram_message_id=None, user_id=ALICE
        )
    size_before = (await asyncio.to_thread(database.stat)).st_size

    await store._checkpointer.checkpoint()

    assert size_before < 1_000_000
    assert (await asyncio.to_thread(database.stat)).st_size > 3_200_000


async def test_the_checkpointer_copies_the_wal_into_the_file_every_interval(
    store: ChatStore, database: Path
) -> None:
    store._checkpointer._task.cancel()  # the store's own round, every second, stands aside
    for number in range(300):
        await store.add_user_message(
            PRIVATE, f"{number} " + "x" * 4_000, telegram_message_id=None, user_id=ALICE
        )
    checkpointer = Checkpointer(await aiosqlite.connect(database), interval=0.01)
    try:
        for _ in range(500):  # up to 5 s
            size = (await asyncio.to_thread(database.stat)).st_size
            if size > 1_200_000:
                break
            await asyncio.sleep(0.01)
    finally:
        await checkpointer.close()
    assert size > 1_200_000, "the WAL was not copied into the file within 5 s"


async def test_schema_version_is_the_highest_migration_number(store: ChatStore) -> None:
    highest = max(int(path.name[:4]) for path in DEFAULT_MIGRATIONS_DIR.glob("*.sql"))

    assert await store.schema_version() == highest


async def test_opening_twice_applies_migrations_once(database: Path) -> None:
    first = await ChatStore.open(database)
    version = await first.schema_version()
    await first.close()

    second = await ChatStore.open(database)
    try:
        assert await second.schema_version() == version
        assert await second.integrity_ok() is True
    finally:
        await second.close()


async def test_a_new_migration_is_applied_on_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    folder = write_migrations(tmp_path / "m", {"0001_one.sql": "CREATE TABLE one (x INTEGER);"})
    store = await ChatStore.open(path, migrations_dir=folder)
    await store.close()
    write_migrations(folder, {"0002_two.sql": "CREATE TABLE two (y INTEGER);"})

    store = await ChatStore.open(path, migrations_dir=folder)
    await store.close()

    assert await query(path, "PRAGMA user_version") == [(2,)]
    assert await query(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [
        ("one",),
        ("two",),
    ]


async def test_a_failing_migration_rolls_back_entirely_and_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    folder = write_migrations(
        tmp_path / "m",
        {
            "0001_one.sql": "CREATE TABLE one (x INTEGER);",
            "0002_broken.sql": "CREATE TABLE two (y INTEGER);\nINSERT INTO missing VALUES (1);",
        },
    )

    with pytest.raises(MigrationError, match=r"0002_broken\.sql .*no such table: missing"):
        await ChatStore.open(path, migrations_dir=folder)

    assert await query(path, "PRAGMA user_version") == [(1,)]
    assert await query(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("one",)]


async def test_a_gap_in_migration_numbers_is_refused_before_touching_the_database(
    tmp_path: Path,
) -> None:
    folder = write_migrations(
        tmp_path / "m",
        {"0001_one.sql": "CREATE TABLE one (x INTEGER);", "0003_three.sql": "SELECT 1;"},
    )

    with pytest.raises(MigrationError, match=r"0003_three\.sql.*expected 0002"):
        await ChatStore.open(tmp_path / "bot.sqlite3", migrations_dir=folder)

    assert (tmp_path / "bot.sqlite3").exists() is False


async def test_a_duplicate_migration_number_is_refused(tmp_path: Path) -> None:
    folder = write_migrations(
        tmp_path / "m", {"0001_one.sql": "SELECT 1;", "0001_again.sql": "SELECT 2;"}
    )

    with pytest.raises(MigrationError, match=r"0001_again\.sql and 0001_one\.sql share number"):
        await ChatStore.open(tmp_path / "bot.sqlite3", migrations_dir=folder)


async def test_a_migration_that_commits_by_itself_is_refused(tmp_path: Path) -> None:
    folder = write_migrations(
        tmp_path / "m", {"0001_one.sql": "CREATE TABLE one (x INTEGER);\n-- done\nCOMMIT;"}
    )

    with pytest.raises(MigrationError, match=r"0001_one\.sql: must not control transactions"):
        await ChatStore.open(tmp_path / "bot.sqlite3", migrations_dir=folder)


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    newer = write_migrations(
        tmp_path / "newer", {"0001_one.sql": "SELECT 1;", "0002_two.sql": "SELECT 2;"}
    )
    older = write_migrations(tmp_path / "older", {"0001_one.sql": "SELECT 1;"})
    store = await ChatStore.open(path, migrations_dir=newer)
    await store.close()

    with pytest.raises(MigrationError, match="schema version 2 is newer"):
        await ChatStore.open(path, migrations_dir=older)


def test_split_statements_respects_strings_comments_and_triggers() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE t (x TEXT DEFAULT 'a;b');
        CREATE TRIGGER t_insert AFTER INSERT ON t BEGIN
            UPDATE t SET x = 'c;d';
        END;
        /* trailing; comment */
        SELECT 1
    """

    assert [" ".join(s.split()) for s in split_statements(script)] == [
        "-- a comment; with a semicolon CREATE TABLE t (x TEXT DEFAULT 'a;b');",
        "CREATE TRIGGER t_insert AFTER INSERT ON t BEGIN UPDATE t SET x = 'c;d'; END;",
        "/* trailing; comment */ SELECT 1",
    ]


# Health and concurrency


async def test_integrity_ok_is_true_for_a_sound_database(store: ChatStore) -> None:
    await store.add_user_message(PRIVATE, "hello", telegram_message_id=None, user_id=ALICE)

    assert await store.integrity_ok() is True


async def test_integrity_ok_is_false_when_a_row_breaks_a_foreign_key(
    store: ChatStore, database: Path
) -> None:
    # A plain sqlite3 connection does not enforce foreign keys, like a careless manual edit.
    await query(
        database, "INSERT INTO conversations (chat_id, thread_id, started_at) VALUES (9, 0, 0)"
    )

    assert await store.integrity_ok() is False


async def test_concurrent_user_messages_from_many_tasks_are_all_stored(
    store: ChatStore, database: Path
) -> None:
    async def send(number: int) -> int | None:
        return await store.add_user_message(
            GROUP, f"m{number}", telegram_message_id=number, user_id=number
        )

    stored = await asyncio.gather(*(send(number) for number in range(50)))

    turns = await store.recent_turns(GROUP, char_budget=100_000)
    assert None not in stored
    assert sorted(turn.content for turn in turns) == sorted(f"m{n}" for n in range(50))
    assert await query(database, "SELECT COUNT(*) FROM conversations") == [(1,)]


async def test_a_write_cancelled_while_beginning_its_transaction_leaves_none_open(
    store: ChatStore, database: Path
) -> None:
    # The task is cancelled while it waits for BEGIN IMMEDIATE: the statement still runs on the
    # connection's thread, so without a rollback the shared connection would stay inside a
    # transaction and every later write would fail ("cannot start a transaction within a
    # transaction") or hold SQLite's write lock for good.
    write = asyncio.create_task(
        store.add_user_message(PRIVATE, "cancelled", telegram_message_id=1, user_id=ALICE)
    )
    await asyncio.sleep(0)  # the task takes the lock and waits for BEGIN IMMEDIATE
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write

    await store.add_user_message(PRIVATE, "next", telegram_message_id=2, user_id=ALICE)

    # A second connection sees the next message committed, and can write itself.
    assert await query(database, "SELECT content FROM messages") == [("next",)]
    await query(database, "UPDATE chats SET model = 'gpt-4o'")
    assert (await store.preferences(PRIVATE)).model == "gpt-4o"
