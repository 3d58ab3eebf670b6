"""Fixtures: the fake Telegram with relaxed flood limits, and a real `telegram.Bot` talking to it.
A module that needs another `fake` or `bot` defines its own, which takes precedence."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram

from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.telegram.client import bot_for


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(limits=FloodLimits.relaxed()) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with bot_for(fake) as client:
        yield client
