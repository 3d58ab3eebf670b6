"""Fixtures: both fakes on 127.0.0.1, and settings that point the bot at them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.e2e.harness import make_settings
from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(limits=FloodLimits()) as fake:
        yield fake


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def settings(telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path) -> Settings:
    return make_settings(telegram, upstream, tmp_path / "bot.sqlite3")
