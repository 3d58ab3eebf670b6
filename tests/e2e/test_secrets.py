"""The bot token and the API key never reach a log line (at DEBUG, with every library logging),
a chat message, what `python -m bot check` prints, or the database; the database is private to
the bot's user."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from bot.logs import MASK, secrets_of, setup_logging
from tests.e2e.chat import answer_to
from tests.e2e.harness import bot_env, make_settings, run_bot, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

API_KEY = "sk-test-very-secret-key"


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG through the bot's own set-up, by every logger."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "telegram")}
    stream = io.StringIO()
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


def read_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file())


async def test_the_token_and_key_appear_in_no_log_line_message_or_database_file(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path, captured_log: io.StringIO
) -> None:
    folder = tmp_path / "fresh" / "data"
    settings = make_settings(telegram, upstream, folder / "bot.sqlite3", gpt_api_key=API_KEY)
    setup_logging("DEBUG", secrets_of(settings), captured_log)
    # Upstream errors that echo the key back, and Telegram failures with tracebacks.
    upstream.script(
        ReplyScript("", fault=Fault.HTTP_403, error_message="Key {key} may not use this model"),
        ReplyScript("Some text", fault=Fault.ERROR_EVENT, error_message="bad key {key}"),
        ReplyScript("All good."),
    )
    # Past the outbox's retries: the handler fails and the error handler logs a traceback.
    telegram.drop_next("sendMessage", chat_id=10)
    telegram.fail_next(
        "sendMessage", error_code=500, description="Internal Server Error", times=4, chat_id=10
    )
    async with running_bot(settings):
        for count, text in enumerate(("one", "two", "three"), start=1):
            telegram.user_sends(10, text)
            await telegram.wait_until(partial(finished, telegram, count), timeout=20)
    log = captured_log.getvalue()
    shown = "\n".join(telegram.texts(10))
    stored = await asyncio.to_thread(read_bytes, folder)

    assert f"/bot{MASK}/getUpdates" in log  # DEBUG really was on: request URLs, token masked
    assert "Traceback" in log
    token, secret_half = telegram.token, telegram.token.partition(":")[2]
    for secret in (token, secret_half, API_KEY):
        assert secret not in log
        assert secret not in shown
        assert secret.encode() not in stored
    # The upstream's words stay readable, with the key masked.
    assert "Key *** may not use this model" in log
    assert "⚠️ The AI service reported an error: bad key ***" in shown
    assert (folder / "bot.sqlite3").stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700


def finished(telegram: FakeTelegram, replies: int) -> bool:
    texts = telegram.texts(10)
    done = [t for t in texts if "⚠️" in t or t.startswith("Sorry") or t == "All good."]
    return len(done) >= replies


async def test_a_key_echoed_in_a_200_error_body_of_a_spoken_reply_is_masked(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path, captured_log: io.StringIO
) -> None:
    # Spoken replies are asked for whole (not streamed): the error comes as a 200 JSON body.
    settings = make_settings(telegram, upstream, tmp_path / "bot.sqlite3", gpt_api_key=API_KEY)
    setup_logging("DEBUG", secrets_of(settings), captured_log)
    upstream.script(ReplyScript("", fault=Fault.ERROR_EVENT, error_message="bad key {key}"))
    async with running_bot(settings):
        await answer_to(telegram, 10, "/model gpt-4o-audio-preview")
        telegram.user_sends(10, "Say something")
        await telegram.wait_until(lambda: len(telegram.texts(10)) == 2)
    [request] = upstream.chat_requests()
    assert request.body["stream"] is False
    assert telegram.texts(10)[1] == "⚠️ The AI service reported an error: bad key ***"
    assert API_KEY not in captured_log.getvalue()


async def test_check_with_a_token_telegram_rejects_prints_no_part_of_it(tmp_path: Path) -> None:
    rejected = "654321:REJECTED-secret-half-of-the-token"
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        env = bot_env(telegram, upstream, tmp_path, TELEGRAM_BOT_TOKEN=rejected)
        process = await run_bot(env, "check")
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    printed, logged = stdout.decode(), stderr.decode()
    assert process.returncode == 1
    # PTB's InvalidToken quotes the token it was given; the line keeps the rest of its words.
    assert f"FAIL telegram: InvalidToken: The token `{MASK}` was rejected" in printed
    for secret in (rejected, rejected.partition(":")[2], "sk-test-secret-key"):
        assert secret not in printed
        assert secret not in logged
