"""Fixtures: both fakes on 127.0.0.1, and settings that point the bot at them.

A module marked `pytest.mark.relaxed` (optionally with Settings overrides, e.g.
`relaxed(album_wait=0.3)`) gets Telegram's flood limits relaxed and edits every 20 ms: its tests
are about what is sent, not about pacing. Every other module runs under Telegram's strict limits
and the bot's default pacing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.e2e.harness import fast_settings, make_settings
from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.upstream import FakeUpstream


def _relaxed(request: pytest.FixtureRequest) -> pytest.Mark | None:
    node: pytest.Item = request.node
    return node.get_closest_marker("relaxed")


@pytest.fixture
async def telegram(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    limits = FloodLimits.relaxed() if _relaxed(request) else FloodLimits()
    async with FakeTelegram(limits=limits) as fake:
        yield fake


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> Settings:
    relaxed = _relaxed(request)
    if relaxed is None:
        return make_settings(telegram, upstream, tmp_path / "bot.sqlite3")
    return fast_settings(telegram, upstream, tmp_path, **relaxed.kwargs)
