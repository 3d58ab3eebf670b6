"""Fixtures every kind of test shares: the fakes, a real `telegram.Bot` and upstream client
talking to them, a clock moved by hand, a store on it, a conversation service, and an ffmpeg
whose decoding runs wait at a gate.

Markers adjust them for a module or a test (declared in pyproject.toml):
`flood_limits(**FloodLimits fields)` gives `fake` Telegram's limits (relaxed ones otherwise), and
`quotas(**Quotas fields)` gives `service` usage limits on `clock` (none otherwise).
The end-to-end tests add theirs in `tests/e2e/conftest.py`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram

from bot.config import Settings
from bot.conversation.limits import Quotas, UsageLimits
from bot.conversation.service import ConversationService
from bot.store import ChatStore
from bot.upstream.client import Timeouts, UpstreamClient
from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.telegram.client import bot_for
from tests.fakes.upstream import FakeUpstream
from tests.support import FakeClock, GatedFfmpeg, marker_kwargs
from tests.unit.upstream_answers import BASE, Handler, MakeClient


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    """The fake Telegram, with relaxed flood limits unless the test is marked `flood_limits`."""
    limits = marker_kwargs(request, "flood_limits")
    flood = FloodLimits.relaxed() if limits is None else FloodLimits(**limits)
    async with FakeTelegram(limits=flood) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with bot_for(fake) as client:
        yield client


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as server:
        yield server


@pytest.fixture
async def upstream_client(upstream: FakeUpstream) -> AsyncIterator[UpstreamClient]:
    """The bot's upstream client on the fake upstream: no retries, timeouts roomy enough for a
    loaded machine (tests about timeouts make their own client)."""
    client = UpstreamClient(
        upstream.base_url, timeouts=Timeouts(connect=2, first_token=5, idle=5), retries=0
    )
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Where the store's SQLite file goes (its folder does not exist yet)."""
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def store(database: Path, clock: FakeClock) -> AsyncIterator[ChatStore]:
    opened = await ChatStore.open(database, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def service(
    request: pytest.FixtureRequest,
    upstream: FakeUpstream,
    store: ChatStore,
    clock: FakeClock,
    database: Path,
) -> AsyncIterator[ConversationService]:
    """The conversation use case on `store` and the fake upstream, system prompt "Be brief.";
    a stall of 0.3 s ends a reply (the idle timeout)."""
    settings = Settings(
        telegram_bot_token="1:test",  # type: ignore[arg-type]
        gpt_api_base_url=upstream.base_url,
        database_path=database,
        system_prompt="Be brief.",
        upstream_retries=0,
    )
    quotas = marker_kwargs(request, "quotas")
    limits = None if quotas is None else UsageLimits(store, Quotas(**quotas), clock=clock)
    client = UpstreamClient(
        upstream.base_url, timeouts=Timeouts(first_token=2, idle=0.3), retries=0
    )
    conversations = ConversationService(store, client, settings, limits=limits)
    yield conversations
    await conversations.close()
    await client.aclose()


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Builds upstream clients on a scripted handler (tests/unit/upstream_answers.py), without
    pauses between retries; closes them after the test."""
    clients: list[UpstreamClient] = []

    def make(handler: Handler, **options: Any) -> UpstreamClient:
        options.setdefault("retry_backoff", 0.0)
        client = UpstreamClient(BASE, transport=httpx.MockTransport(handler), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def gated_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GatedFfmpeg:
    """An `ffmpeg` first on PATH whose decoding runs wait until the test opens the gate."""
    real = shutil.which("ffmpeg")
    assert real is not None, "the audio tests need ffmpeg"
    gate = GatedFfmpeg(tmp_path / "gated-ffmpeg", real)
    monkeypatch.setenv("PATH", f"{gate.folder}{os.pathsep}{os.environ['PATH']}")
    return gate
