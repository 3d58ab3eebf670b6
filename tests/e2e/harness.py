"""Runs the real bot against the fake Telegram and the fake upstream: its Application in this
process (`running_bot`), or `python -m bot` as operators run it (`bot_env`, `run_bot`)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.config import Settings
from bot.handlers.context import BotApplication
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parents[2]
PIPED_OUTPUT_LIMIT = 64 * 1024 * 1024  # bytes of a piped bot's output held until it is read


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


def bot_env(
    telegram: FakeTelegram, upstream: FakeUpstream, folder: Path, **variables: str
) -> dict[str, str]:
    """The environment of `python -m bot` against the fakes, with its database in `folder/data`,
    an API key to keep secret and DEBUG logging, then `variables`. Nothing TELEGRAM_* or GPT_*
    comes from this process's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "GPT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.api_root,
        GPT_API_BASE_URL=upstream.base_url,
        GPT_API_KEY="sk-test-secret-key",
        DATABASE_PATH=str(folder / "data" / "bot.sqlite3"),
        LOG_LEVEL="DEBUG",
    )
    env.update(variables)
    return env


async def run_bot(
    env: dict[str, str], *args: str, log: Path | None = None
) -> asyncio.subprocess.Process:
    """`python -m bot *args`, its output piped, or written to `log` for a bot that runs on while
    nobody reads it (a full pipe would freeze it). It runs in the folder above its database,
    outside the repository, so a developer's .env can't leak into the test."""
    command = (sys.executable, "-m", "bot", *args)
    folder = Path(env["DATABASE_PATH"]).parent.parent
    if log is None:
        pipe = asyncio.subprocess.PIPE
        # The output is read as it comes, up to `limit` unread: a DEBUG start-up (a menu per
        # language) outgrows the default 128 KB, and a bot blocked writing a log line answers
        # nothing.
        return await asyncio.create_subprocess_exec(
            *command, cwd=folder, env=env, stdout=pipe, stderr=pipe, limit=PIPED_OUTPUT_LIMIT
        )
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            *command, cwd=folder, env=env, stdout=output, stderr=output
        )


def free_port() -> int:
    """A local port nobody listens on: free for a server, refused at once for a client."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
