"""The real `python -m bot` process killed mid-reply (SIGKILL) or stopped (SIGTERM).

SIGKILL: nothing the bot got from Telegram is lost or doubled after a restart — the database is
sound, every delivered user message is stored once (updates the bot never confirmed come again
and are recognised), each is answered at most once, and the bot answers new messages.
SIGTERM: replies in progress end at once with what they have, marked, stored; messages queued
behind them are told to send again; the process exits.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from tests.e2e.chat import has_stop_button
from tests.e2e.harness import bot_env, run_bot
from tests.e2e.stored import Stored, integrity_check, stored_messages, waiting_in_inbox
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript, make_wav

LONG = " ".join(f"word{i}" for i in range(80))  # about 8 s at 4 characters every 0.1 s
SLOW = ReplyScript(LONG, chunk_size=4, chunk_delay=0.1)
EXIT_WITHIN = 10.0  # seconds; generous for a loaded machine, far below a reply's length
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"


async def start_bot(
    telegram: FakeTelegram, upstream: FakeUpstream, folder: Path, run: int
) -> asyncio.subprocess.Process:
    env = bot_env(telegram, upstream, folder, UPSTREAM_RETRIES="0", LOG_LEVEL="INFO")
    return await run_bot(env, log=folder / f"bot-{run}.log")


def confirmed(telegram: FakeTelegram, update_id: int) -> bool:
    """Whether the bot confirmed the update (asked for updates past it): Telegram forgets it."""
    return telegram.updates_confirmed >= update_id


async def test_sigkill_mid_reply_loses_and_doubles_nothing_after_a_restart(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        upstream.script(SLOW, SLOW)
        first_run = await start_bot(telegram, upstream, tmp_path, 1)
        try:
            telegram.user_sends(10, "first")
            await telegram.wait_until(lambda: has_stop_button(telegram, 10), timeout=30)
            # Delivered and confirmed while "first" is being answered: it waits its turn.
            telegram.user_sends(10, "second")
            second = telegram.last_update_id
            await telegram.wait_until(lambda: confirmed(telegram, second))
            # Delivered but never confirmed: Telegram sends it again after the restart.
            telegram.hang_next("getUpdates")
            telegram.user_sends(20, "hello")
            await telegram.wait_until(lambda: len(telegram.bot_messages(20)) == 1, timeout=30)
        finally:
            first_run.kill()
            await first_run.wait()
        assert first_run.returncode == -signal.SIGKILL
        killed_live = telegram.bot_messages(10)[0]

        second_run = await start_bot(telegram, upstream, tmp_path, 2)
        try:
            telegram.user_sends(30, "new")
            await telegram.wait_until(
                lambda: (
                    telegram.texts(30) == ["You said: new"]
                    and "You said: hello" in telegram.texts(20)
                    and "You said: second" in telegram.texts(10)
                ),
                timeout=30,
            )
            # The Stop button of the reply the kill cut off belongs to no reply any more.
            telegram.press_button(10, killed_live.message_id, "stop:1")
            await telegram.wait_until(lambda: bool(telegram.calls_to("answerCallbackQuery")))
        finally:
            second_run.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second_run.wait(), EXIT_WITHIN)

    assert second_run.returncode == 0
    assert await integrity_check(database) == ["ok"]
    rows = [
        *await stored_messages(database, 10),
        *await stored_messages(database, 20),
        *await stored_messages(database, 30),
    ]
    users = Counter(r.content for r in rows if r.role == "user")
    assert users == {"first": 1, "second": 1, "hello": 1, "new": 1}
    answers = [r.content for r in rows if r.role == "assistant"]
    assert sorted(answers) == ["You said: hello", "You said: new", "You said: second"]
    assert telegram.texts(20).count("You said: hello") == 1
    assert telegram.calls_to("answerCallbackQuery")[0].params["text"] == (
        "This reply has already finished."
    )


async def test_sigterm_finishes_replies_in_progress_with_what_they_have_and_exits(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        upstream.script(SLOW)
        process = await start_bot(telegram, upstream, tmp_path, 1)
        try:
            telegram.user_sends(10, "first")
            await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1, timeout=30)
            telegram.user_sends(10, "second")
            second = telegram.last_update_id
            await telegram.wait_until(lambda: confirmed(telegram, second))
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), EXIT_WITHIN)
        assert process.returncode == 0
        shown = telegram.texts(10)
    cut = "\n\n⚠️ The bot restarted, so this reply was cut short. Please ask again."
    assert shown[0].endswith(cut)
    partial = shown[0].removesuffix(cut)
    assert LONG.startswith(partial)
    assert shown[1:] == ["⚠️ The bot is restarting and could not answer this. Please send it again."]
    # The queued message was never answered: told to send it again, it is neither kept for the
    # next start (that would answer it twice) nor stored (it would count against the quotas).
    assert await stored_messages(database, 10) == [
        Stored("user", "first", "complete", 1),
        Stored("assistant", partial, "interrupted"),
    ]
    assert await waiting_in_inbox(database) == []


async def test_sigkill_loses_no_photo_file_audio_or_album_waiting_behind_a_reply(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        upstream.script(ReplyScript(LONG, fault=Fault.STALL_MID_STREAM))
        first_run = await start_bot(telegram, upstream, tmp_path, 1)
        try:
            telegram.user_sends(10, "first")
            await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1, timeout=30)
            # All confirmed while "first" is being answered: Telegram won't send them again.
            telegram.user_sends_photo(10, PHOTO, 1280, 720, caption="what is this?")
            telegram.user_sends_document(10, b"x = 1\n", "a.py", "text/x-python", caption="and?")
            wav = make_wav(2.0)
            telegram.user_sends_audio(10, wav, duration=2, caption="hear this")
            telegram.user_sends_photo(10, PHOTO, 640, 480, media_group_id="album")
            telegram.user_sends_photo(10, PHOTO[::-1], 800, 600, media_group_id="album")
            telegram.user_sends(10, "and a question")
            last = telegram.last_update_id
            await telegram.wait_until(lambda: confirmed(telegram, last))
            # Kept in the inbox: five turns, the album's second photo joined to its first.
            await wait_for_rows(database, 6)
        finally:
            first_run.kill()
            await first_run.wait()
        assert await waiting_in_inbox(database) == [
            (10, 3, "photo"),
            (10, 4, "document"),
            (10, 5, "audio"),
            (10, 6, "photo"),
            (10, 8, "text"),
            (10, 7, "photo"),
        ]

        second_run = await start_bot(telegram, upstream, tmp_path, 2)
        try:
            await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 6, timeout=30)
        finally:
            second_run.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second_run.wait(), EXIT_WITHIN)

    assert second_run.returncode == 0
    asked = [r.body["messages"][-1]["content"] for r in upstream.chat_requests()[1:]]
    texts = [part if isinstance(part, str) else part[0]["text"] for part in asked]
    assert texts == [
        "[photo 1280x720]\nwhat is this?",
        "[document a.py, 6 B]\n```py\nx = 1\n```\n\nand?",
        "[audio file, 2 s] hear this",
        "[photo 640x480] [photo 800x600]",
        "and a question",
    ]
    # Downloaded again by their file ids: the image and audio parts are there.
    assert [len(part) for part in asked if not isinstance(part, str)] == [2, 2, 3]
    assert [part["type"] for part in asked[2][1:]] == ["input_audio"]
    assert await waiting_in_inbox(database) == []
    users = [r.content for r in await stored_messages(database, 10) if r.role == "user"]
    assert users == ["first", *texts]


async def wait_for_rows(database: Path, count: int) -> None:
    """Wait until the bot's inbox keeps `count` messages (read through a second connection)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while len(await waiting_in_inbox(database)) < count:
        assert loop.time() < deadline, await waiting_in_inbox(database)
        await asyncio.sleep(0.1)
