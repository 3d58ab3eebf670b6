"""Fixtures: the fake Telegram as the bot sees it, and settings that point the bot at both fakes
(the fake upstream is `upstream`, from `tests/conftest.py`).

A module marked `pytest.mark.relaxed` (optionally with Settings overrides, e.g.
`relaxed(album_wait=0.3)`) gets Telegram's flood limits relaxed and edits every 20 ms: its tests
are about what is sent, not about pacing. Every other module runs under Telegram's strict limits
(or those of a `flood_limits(...)` marker) and the bot's default pacing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.e2e.harness import fast_settings, make_settings
from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.upstream import FakeUpstream
from tests.support import marker_kwargs


@pytest.fixture
async def telegram(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    if marker_kwargs(request, "relaxed") is not None:
        limits = FloodLimits.relaxed()
    else:
        limits = FloodLimits(**(marker_kwargs(request, "flood_limits") or {}))
    async with FakeTelegram(limits=limits) as fake:
        yield fake


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> Settings:
    relaxed = marker_kwargs(request, "relaxed")
    if relaxed is None:
        return make_settings(telegram, upstream, tmp_path / "bot.sqlite3")
    return fast_settings(telegram, upstream, tmp_path, **relaxed)
