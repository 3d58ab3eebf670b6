"""The `chats` table: one row per chat or forum topic, holding that chat's own settings.

A row is created the first time something is stored for the chat; reading the settings of a chat
never seen creates nothing.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.store.connection import StoreBase, fetchone
from bot.store.records import ChatKey, ChatPreferences

_SETTING_NAMES = tuple(field.name for field in dataclasses.fields(ChatPreferences))
_FLOAT_SETTINGS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})

_INSERT_CHAT = """
    INSERT INTO chats (chat_id, thread_id, created_at, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
_SELECT_SETTINGS = """
    SELECT model, voice, temperature, top_p, presence_penalty, frequency_penalty, system_prompt,
           show_reasoning, reasoning_effort
    FROM chats WHERE chat_id = ? AND thread_id = ?
"""
_UPDATE_SETTINGS = """
    UPDATE chats
    SET model = ?, voice = ?, temperature = ?, top_p = ?, presence_penalty = ?,
        frequency_penalty = ?, system_prompt = ?, show_reasoning = ?, reasoning_effort = ?,
        updated_at = ?
    WHERE chat_id = ? AND thread_id = ?
"""


class ChatSettingsStore(StoreBase):
    """Reading and changing a chat's settings."""

    async def preferences(self, key: ChatKey) -> ChatPreferences:
        """The chat's settings; all defaults for a chat never seen (no row is created)."""
        async with self._lock:
            row = await preferences_row(self._db, key)
        return ChatPreferences() if row is None else ChatPreferences(*row)

    async def update_preferences(self, key: ChatKey, **changes: object) -> ChatPreferences:
        """Change some settings (None resets one to the default) and return them all."""
        checked: dict[str, Any] = {
            name: _checked_preference(name, value) for name, value in changes.items()
        }
        async with self._transaction() as now:
            await ensure_chat(self._db, key, now)
            row = await preferences_row(self._db, key)
            assert row is not None  # ensure_chat just made sure of it
            updated = dataclasses.replace(ChatPreferences(*row), **checked)
            values = [getattr(updated, name) for name in _SETTING_NAMES]
            await write_preferences(self._db, key, values, now)
        return updated


async def ensure_chat(db: aiosqlite.Connection, key: ChatKey, now: float) -> None:
    """Create the chat's row, with default settings, unless it exists."""
    await db.execute(_INSERT_CHAT, (key.chat_id, key.thread_id, now, now))


async def preferences_row(db: aiosqlite.Connection, key: ChatKey) -> sqlite3.Row | None:
    """The chat's settings as stored, in ChatPreferences' field order; None for no row."""
    return await fetchone(db, _SELECT_SETTINGS, (key.chat_id, key.thread_id))


async def write_preferences(
    db: aiosqlite.Connection, key: ChatKey, values: Sequence[object], now: float
) -> None:
    """Store all settings of an existing chat row, in ChatPreferences' field order."""
    await db.execute(_UPDATE_SETTINGS, (*values, now, key.chat_id, key.thread_id))


def _checked_preference(name: str, value: object) -> object:
    """The value to store for a setting, or ValueError/TypeError naming what is wrong."""
    if name not in _SETTING_NAMES:
        raise ValueError(f"unknown chat setting {name!r}; known: {', '.join(_SETTING_NAMES)}")
    if value is None:
        return None
    if name in _FLOAT_SETTINGS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"chat setting {name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"chat setting {name} must be finite, got {value}")
        return float(value)
    if not isinstance(value, str):
        raise TypeError(f"chat setting {name} must be a string, got {type(value).__name__}")
    return value
