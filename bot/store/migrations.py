"""The migrations runner: reads `migrations/NNNN_name.sql` and applies those not yet applied.

The schema itself lives only in those files. Each file runs in its own transaction together with
its version stamp (`PRAGMA user_version`), so a failed file leaves the database as it was.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.store.connection import rollback, user_version
from bot.store.records import StoreError

# The repository's migrations/ folder; the bot runs from a checkout (or a copy of one in Docker).
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Statements that would end or nest the transaction the runner wraps around each file.
_TRANSACTION_KEYWORDS = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK"})


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file, read and split into statements."""

    number: int
    path: Path
    statements: tuple[str, ...]


class MigrationError(StoreError):
    """The migrations folder is malformed or a migration failed (and was rolled back)."""


def load_migrations(migrations_dir: Path) -> list[Migration]:
    """Read `NNNN_name.sql` files, refusing gaps, duplicates, odd names and transaction control.

    Blocking (reads files): call it in a thread from async code.
    """
    if not migrations_dir.is_dir():
        raise MigrationError(f"migrations folder {migrations_dir} does not exist")
    by_number: dict[int, Path] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration {path.name}: name must look like 0001_initial.sql")
        number = int(match.group(1))
        if number in by_number:
            raise MigrationError(
                f"migrations {by_number[number].name} and {path.name} share number {number:04d}"
            )
        by_number[number] = path
    if not by_number:
        raise MigrationError(f"no migrations (NNNN_name.sql) in {migrations_dir}")
    migrations = []
    for expected, number in enumerate(sorted(by_number), start=1):
        path = by_number[number]
        if number != expected:
            raise MigrationError(
                f"migration {path.name}: numbers must run from 0001 without gaps,"
                f" expected {expected:04d}"
            )
        statements = split_statements(path.read_text(encoding="utf-8"))
        for statement in statements:
            if _first_keyword(statement) in _TRANSACTION_KEYWORDS:
                raise MigrationError(
                    f"migration {path.name}: must not control transactions"
                    f" ({_first_keyword(statement)}); the runner wraps each file in one"
                )
        migrations.append(Migration(number, path, tuple(statements)))
    return migrations


def split_statements(script: str) -> list[str]:
    """Split an SQL script into single statements, honouring strings, comments and triggers."""
    statements = []
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            statements.append(script[start : index + 1])
            start = index + 1
    statements.append(script[start:])  # a last statement may omit its semicolon
    return [s.strip() for s in statements if _first_keyword(s)]


async def migrate(db: aiosqlite.Connection, migrations: Sequence[Migration]) -> None:
    """Apply, each in its own transaction with its version stamp, the migrations not yet applied."""
    latest = migrations[-1]
    current = await user_version(db)
    if current > latest.number:
        raise MigrationError(
            f"database schema version {current} is newer than the newest migration here"
            f" ({latest.path.name}); refusing to run older code on it"
        )
    for migration in migrations[current:]:
        try:
            await db.execute("BEGIN IMMEDIATE")  # inside: cancelled, it still runs; roll it back
            # Another process may have applied it while we waited for the write lock.
            if await user_version(db) >= migration.number:
                await db.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                await db.execute(statement)
            # The number comes from a file name matched by \d{4}; PRAGMA takes no parameters.
            await db.execute(f"PRAGMA user_version = {migration.number:d}")
            await db.execute("COMMIT")
        except sqlite3.Error as exc:
            await rollback(db)
            raise MigrationError(
                f"migration {migration.path.name} failed and was rolled back: {exc}"
            ) from exc
        except BaseException:
            await rollback(db)
            raise


def _first_keyword(statement: str) -> str:
    """The statement's first word, upper-cased, past any comments; "" for comments only."""
    text = statement
    while True:
        text = text.lstrip()
        if text.startswith("--"):
            newline = text.find("\n")
            text = "" if newline < 0 else text[newline + 1 :]
        elif text.startswith("/*"):
            end = text.find("*/")
            text = "" if end < 0 else text[end + 2 :]
        else:
            break
    match = re.match(r"[A-Za-z]+", text)
    return match.group(0).upper() if match else ""
