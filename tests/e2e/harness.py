"""Runs the real bot Application in-process against the fake Telegram and the fake upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.config import Settings
from bot.handlers.context import BotApplication
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream


def make_settings(
    telegram: FakeTelegram, upstream: FakeUpstream, database: Path, **overrides: Any
) -> Settings:
    """Settings pointing the bot at the fakes; `overrides` use Settings field names."""
    values: dict[str, Any] = {
        "telegram_bot_token": telegram.token,
        "telegram_api_url": telegram.api_root,
        "gpt_api_base_url": upstream.base_url,
        "database_path": database,
        "system_prompt": "You are a test.",
        "upstream_retries": 0,
        "upstream_first_token_timeout": 5.0,
        "upstream_idle_timeout": 2.0,
        "typing_interval": 4.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def fast_settings(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path, **overrides: Any
) -> Settings:
    """`make_settings` with edits every 20 ms, for tests about what is sent rather than when."""
    paced = {"private_edit_interval": 0.02, "group_edit_interval": 0.02}
    return make_settings(telegram, upstream, tmp_path / "bot.sqlite3", **(paced | overrides))


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[BotApplication]:
    """The bot, polling, for the duration of the block; shut down as `run_polling` would."""
    application = build_application(settings)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(timeout=1, poll_interval=0.0)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        await application.shutdown()
