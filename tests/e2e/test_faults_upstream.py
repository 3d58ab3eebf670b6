"""Upstream faults through the real Application: what the user reads, what the database keeps.

Every fault gets a specific, readable notice (never a traceback, never silence). Text already
streamed stays on screen with the notice under it and is stored as an interrupted reply; a
fault before the first words leaves the user's message stored and no reply row.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import free_port, make_settings, running_bot
from tests.e2e.stored import Stored, stored_messages
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

ANSWER = "The answer is forty-two."
FIRST_TWO_CHUNKS = "The answ"  # the fake streams 4 characters a chunk


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A local port whose accept queue is full: new connections hang until the client gives up."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
            yield port
        finally:
            for filler in fillers:
                filler.close()


async def ask_once(
    telegram: FakeTelegram, upstream: FakeUpstream, database: Path, **overrides: Any
) -> tuple[list[str], list[Stored], int]:
    """Send one question; return the bot's messages once a notice shows, the stored rows and
    the question's Telegram message id."""
    settings = make_settings(telegram, upstream, database, **overrides)
    async with running_bot(settings):
        question = telegram.user_sends(10, "question")
        await telegram.wait_until(
            lambda: any("⚠️" in (m.text or "") for m in telegram.bot_messages(10)), timeout=20
        )
    texts = telegram.texts(10)
    return texts, await stored_messages(database, 10), int(question["message_id"])


BEFORE_ANY_TEXT = [
    pytest.param(
        Fault.HTTP_401,
        "The AI service refused the bot's credentials. Please tell the bot's operator.",
        id="401",
    ),
    pytest.param(
        Fault.HTTP_403,
        "The AI service denied access (Country, region, or territory not supported.). "
        "Please tell the bot's operator.",
        id="403",
    ),
    pytest.param(
        Fault.HTTP_404,
        "The AI service does not know this model or endpoint "
        "(The model `gpt-4o-mini` does not exist or you do not have access to it.).",
        id="404",
    ),
    pytest.param(
        Fault.HTTP_500,
        "The AI service had an internal error (500). Please try again.",
        id="500",
    ),
    pytest.param(
        Fault.HTTP_503,
        "The AI service is overloaded or unavailable right now (503). Please try again in a "
        "minute.",
        id="503",
    ),
    pytest.param(
        Fault.HTML_PAGE,
        "The AI service sent a reply the bot could not read (an HTML page instead of a reply).",
        id="html-page-instead-of-sse",
    ),
]


@pytest.mark.parametrize(("fault", "notice"), BEFORE_ANY_TEXT)
async def test_an_http_fault_before_any_text_is_explained_and_only_the_question_is_stored(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path, fault: Fault, notice: str
) -> None:
    upstream.script(ReplyScript(ANSWER, fault=fault))
    database = tmp_path / "bot.sqlite3"
    texts, stored, question = await ask_once(telegram, upstream, database)
    assert texts == [f"⚠️ {notice}"]
    assert stored == [Stored("user", "question", "complete", question)]


async def test_a_rate_limit_says_when_to_try_again(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(ANSWER, fault=Fault.HTTP_429, retry_after=120))
    database = tmp_path / "bot.sqlite3"
    texts, stored, question = await ask_once(telegram, upstream, database, upstream_retries=2)
    assert texts == ["⚠️ The AI service is rate-limiting requests. Please try again in 2 min."]
    assert stored == [Stored("user", "question", "complete", question)]
    # 120 s is longer than anyone waits in front of "typing…": no retry was made.
    assert len(upstream.chat_requests()) == 1


async def test_a_short_retry_after_is_waited_out_and_the_answer_arrives(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript("", fault=Fault.HTTP_429, retry_after=1), ReplyScript(ANSWER))
    database = tmp_path / "bot.sqlite3"
    settings = make_settings(telegram, upstream, database, upstream_retries=1)
    async with running_bot(settings):
        question = telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == [ANSWER], timeout=20)
    first, second = upstream.chat_requests()
    assert second.at - first.at >= 0.9  # Retry-After: 1 was honoured
    assert await stored_messages(database, 10) == [
        Stored("user", "question", "complete", int(question["message_id"])),
        Stored("assistant", ANSWER, "complete"),
    ]


async def test_server_errors_before_the_first_token_are_retried_with_backoff(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(
        ReplyScript("", fault=Fault.HTTP_503),
        ReplyScript("", fault=Fault.HTTP_503),
        ReplyScript(ANSWER),
    )
    database = tmp_path / "bot.sqlite3"
    settings = make_settings(
        telegram, upstream, database, upstream_retries=2, upstream_retry_backoff=0.2
    )
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == [ANSWER], timeout=20)
    times = [r.at for r in upstream.chat_requests()]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.2 - 0.01  # backoff, then doubled
    assert times[2] - times[1] >= 0.4 - 0.01
    assert [s.status for s in await stored_messages(database, 10)] == ["complete", "complete"]


async def test_a_fault_after_the_first_token_is_never_retried(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(ANSWER, fault=Fault.CUT_MID_STREAM), ReplyScript("again"))
    database = tmp_path / "bot.sqlite3"
    texts, stored, _ = await ask_once(telegram, upstream, database, upstream_retries=2)
    assert texts == [
        f"{FIRST_TWO_CHUNKS}\n\n⚠️ The AI service sent a reply the bot could not read (stream cut)."
    ]
    assert len(upstream.chat_requests()) == 1
    assert stored[-1] == Stored("assistant", FIRST_TWO_CHUNKS, "interrupted")


MID_STREAM = [
    pytest.param(
        Fault.STALL_MID_STREAM,
        FIRST_TWO_CHUNKS,
        "The AI service stopped sending for 0.5 s, so the reply was cut.",
        id="timeout-between-chunks",
    ),
    pytest.param(
        Fault.CUT_MID_STREAM,
        FIRST_TWO_CHUNKS,
        "The AI service sent a reply the bot could not read (stream cut).",
        id="connection-cut",
    ),
    pytest.param(
        Fault.MALFORMED_JSON,
        FIRST_TWO_CHUNKS,
        "The AI service sent a reply the bot could not read (malformed JSON in stream).",
        id="malformed-json",
    ),
    pytest.param(
        Fault.ERROR_EVENT,
        FIRST_TWO_CHUNKS,
        "The AI service reported an error: "
        "The server had an error while processing your request. Sorry about that!",
        id="error-object-in-stream",
    ),
    pytest.param(
        Fault.NO_DONE,
        ANSWER,
        "The AI service sent a reply the bot could not read (stream ended early).",
        id="no-done",
    ),
]


@pytest.mark.parametrize(("fault", "kept", "notice"), MID_STREAM)
async def test_a_fault_mid_stream_keeps_the_text_marked_and_stores_it_as_interrupted(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    tmp_path: Path,
    fault: Fault,
    kept: str,
    notice: str,
) -> None:
    upstream.script(ReplyScript(ANSWER, fault=fault, after_chunks=2, chunk_delay=0.05))
    database = tmp_path / "bot.sqlite3"
    texts, stored, question = await ask_once(
        telegram, upstream, database, upstream_idle_timeout=0.5
    )
    assert texts == [f"{kept}\n\n⚠️ {notice}"]
    assert stored == [
        Stored("user", "question", "complete", question),
        Stored("assistant", kept, "interrupted"),
    ]


async def test_no_first_token_in_time_is_explained(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(ANSWER, fault=Fault.HANG_BEFORE_FIRST_TOKEN))
    database = tmp_path / "bot.sqlite3"
    texts, stored, question = await ask_once(
        telegram, upstream, database, upstream_first_token_timeout=0.5
    )
    assert texts == ["⚠️ The AI service did not start answering within 0.5 s. Please try again."]
    assert stored == [Stored("user", "question", "complete", question)]


async def test_a_refused_connection_is_explained(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    texts, stored, question = await ask_once(
        telegram, upstream, database, gpt_api_base_url=f"http://127.0.0.1:{free_port()}"
    )
    assert texts == ["⚠️ The AI service can't be reached right now. Please try again in a minute."]
    assert stored == [Stored("user", "question", "complete", question)]


async def test_an_unresolvable_host_name_is_explained_as_dns(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    texts, stored, question = await ask_once(
        telegram, upstream, database, gpt_api_base_url="http://nonexistent.invalid"
    )
    assert texts == [
        "⚠️ The AI service's address can't be found (DNS). Please try again later; "
        "if it keeps happening, tell the bot's operator."
    ]
    assert stored == [Stored("user", "question", "complete", question)]


async def test_a_connect_timeout_is_explained(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    with unanswered_port() as port:
        texts, stored, question = await ask_once(
            telegram,
            upstream,
            database,
            gpt_api_base_url=f"http://127.0.0.1:{port}",
            upstream_connect_timeout=0.5,
        )
    assert texts == ["⚠️ The AI service did not accept the connection in time. Please try again."]
    assert stored == [Stored("user", "question", "complete", question)]
