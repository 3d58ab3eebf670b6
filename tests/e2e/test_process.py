"""`python -m bot` as operators run it: a real subprocess against the fakes."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from aiohttp import web

from tests.e2e.harness import bot_env, run_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream


async def test_the_bot_process_answers_stops_on_sigterm_and_never_logs_secrets(
    tmp_path: Path,
) -> None:
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        env = bot_env(telegram, upstream, tmp_path)
        process = await run_bot(env)
        try:
            telegram.user_sends(10, "hello")
            await telegram.wait_until(
                lambda: telegram.texts(10) == ["You said: hello"],
                timeout=30,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "getUpdates" in log  # DEBUG logging really was on
    assert telegram.token not in log
    assert telegram.token.split(":")[1] not in log
    assert "sk-test-secret-key" not in log
    assert (tmp_path / "data" / "bot.sqlite3").stat().st_mode & 0o777 == 0o600


async def test_a_missing_token_stops_startup_with_a_message_naming_the_variable(
    tmp_path: Path,
) -> None:
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        env = bot_env(telegram, upstream, tmp_path)
    del env["TELEGRAM_BOT_TOKEN"]
    (tmp_path / "data").mkdir()
    process = await run_bot(env)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is required" in stderr.decode()


async def test_check_reports_each_part_of_the_setup_on_its_own_line(tmp_path: Path) -> None:
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        env = bot_env(telegram, upstream, tmp_path)
        process = await run_bot(env, "check")
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    lines = stdout.decode().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   telegram",
        "ok   upstream",
        "ok   ffmpeg",
        "ok   database",
        "ok   webhook",
    ], stderr.decode()
    assert lines[-1] == "ok   webhook: WEBHOOK_URL not set: the bot polls with getUpdates"
    assert process.returncode == 0
    assert telegram.token not in (stdout + stderr).decode()


async def test_check_fails_when_the_upstream_is_unreachable(tmp_path: Path) -> None:
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        env = bot_env(telegram, upstream, tmp_path)
        env["GPT_API_BASE_URL"] = "http://127.0.0.1:9"
        env["UPSTREAM_RETRIES"] = "0"
        process = await run_bot(env, "check")
        stdout, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert "FAIL upstream: upstream unreachable" in stdout.decode()


async def test_check_fails_when_ffmpeg_is_not_on_the_path(tmp_path: Path) -> None:
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        env = bot_env(telegram, upstream, tmp_path)
        env["PATH"] = str(tmp_path)  # holds no ffmpeg; the interpreter is named by its full path
        process = await run_bot(env, "check")
        stdout, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert "FAIL ffmpeg: FileNotFoundError: ffmpeg not found on PATH" in stdout.decode()


async def test_check_fails_with_a_line_when_default_model_is_not_among_the_upstreams(
    tmp_path: Path,
) -> None:
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        env = bot_env(telegram, upstream, tmp_path, DEFAULT_MODEL="gpt-nonexistent")
        process = await run_bot(env, "check")
        stdout, _ = await asyncio.wait_for(process.communicate(), 30)
    lines = stdout.decode().splitlines()
    assert process.returncode == 1
    assert f"FAIL upstream: {len(upstream.models)} models listed; DEFAULT_MODEL" in lines[1]
    assert "'gpt-nonexistent' is not among them" in lines[1]
    assert [line[:4] for line in lines] == ["ok  ", "FAIL", "ok  ", "ok  ", "ok  "]


async def test_check_reads_a_200_it_did_not_expect_as_a_failing_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    # A "Telegram" that answers every method 200 with a body that is no Bot API answer.
    async def odd(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": {"hello": request.path}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", odd)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with FakeTelegram() as telegram, FakeUpstream() as upstream:
            env = bot_env(telegram, upstream, tmp_path, TELEGRAM_API_URL=f"http://127.0.0.1:{port}")
            process = await run_bot(env, "check")
            stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        await runner.cleanup()
    lines = stdout.decode().splitlines()
    assert process.returncode == 1
    assert lines[0].startswith("FAIL telegram: unexpected answer (")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "ok   upstream",
        "ok   ffmpeg",
        "ok   database",
        "FAIL webhook",
    ]
    assert "Traceback" not in (stdout + stderr).decode()
    assert telegram.token.split(":")[1] not in (stdout + stderr).decode()
