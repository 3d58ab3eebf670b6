"""Per-user limits, quotas, the message length limit and /stats, through the real bot.

The limits run on the wall clock here (the unit tests drive an injected one): every scenario
finishes well inside a minute, and no assertion depends on what the time is.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript
from tests.support import run_sql

ALICE, BOB, ADMIN = 11, 12, 99
GROUP = -700
FAST_GROUP = 0.5  # seconds between a group's messages: well inside Telegram's 20 a minute here
RATE_REFUSAL = re.compile(
    r"⚠️ You've sent 2 messages within a minute, the most I answer\. "
    r"You can continue in (\d+ s|1 min) \(at \d\d:\d\d:\d\d UTC\)\."
)
DAILY_REFUSAL = re.compile(
    r"You can continue tomorrow at 00:00 UTC \(in (\d+ h )?\d+ min( \d+ s)?\)\."
)
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"
ASSISTANT_TOKENS = (
    "SELECT prompt_tokens, completion_tokens, usage_estimated FROM messages"
    " WHERE role = 'assistant' ORDER BY id"
)


def asked(upstream: FakeUpstream) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in upstream.chat_requests()]


async def test_the_message_past_the_rate_limit_is_told_when_to_continue_and_not_sent(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    settings = make_settings(telegram, upstream, database, rate_limit_per_minute=2)
    async with running_bot(settings):
        for n in (1, 2, 3):
            telegram.user_sends(ALICE, f"question {n}")
            await telegram.wait_until(lambda n=n: len(telegram.texts(ALICE)) == n)  # type: ignore[misc]
        telegram.user_sends(BOB, "my own minute")
        await telegram.wait_until(lambda: len(telegram.texts(BOB)) == 1)

    first, second, refusal = telegram.texts(ALICE)
    assert (first, second) == ("You said: question 1", "You said: question 2")
    assert RATE_REFUSAL.fullmatch(refusal), refusal
    assert asked(upstream) == ["question 1", "question 2", "my own minute"]
    stored = run_sql(database, "SELECT content FROM messages WHERE role = 'user' ORDER BY id")
    assert stored == [("question 1",), ("question 2",), ("my own minute",)]


async def test_a_burst_past_the_limit_gets_one_refusal_not_one_per_message(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "db.sqlite3", rate_limit_per_minute=2)
    async with running_bot(settings):
        for n in range(6):
            telegram.user_sends(ALICE, f"burst {n}")
        await telegram.wait_until(lambda: telegram.updates_confirmed >= 6)
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 3)
        await upstream.wait_until(lambda: len(upstream.chat_requests()) == 2)
        telegram.user_sends(ALICE, "/help")  # a last update, so the ones before are all handled
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 4)

    answers = telegram.texts(ALICE)[:3]
    assert sum(bool(RATE_REFUSAL.fullmatch(text)) for text in answers) == 1
    assert len(upstream.chat_requests()) == 2


async def test_quick_messages_past_the_daily_quota_are_counted_while_they_wait(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    settings = make_settings(telegram, upstream, database, daily_message_quota=1)
    async with running_bot(settings):
        for n in range(6):  # all in one batch of updates, before the first is answered
            telegram.user_sends(ALICE, f"quick {n}")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)
    # Every update is handled and every queued turn done once the bot has stopped.

    assert asked(upstream) == ["quick 0"]
    # The refusal comes at once, maybe before the answer; it is told once, the rest ignored.
    answered, refused = sorted(telegram.texts(ALICE), key=lambda text: text.startswith("⚠️"))
    assert answered == "You said: quick 0"
    assert refused.startswith("⚠️ You've used today's quota of 1 message.")
    stored = run_sql(database, "SELECT content FROM messages WHERE role = 'user'")
    assert stored == [("quick 0",)]
    assert run_sql(database, "SELECT count(*) FROM inbox") == [(0,)]


async def test_a_message_waiting_behind_the_reply_that_used_up_the_token_quota_is_refused(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    settings = make_settings(telegram, upstream, database, daily_token_quota=30)
    # 50 completion tokens by the fake's count, streamed slowly enough to send another meanwhile.
    upstream.script(ReplyScript("x" * 200, chunk_size=20, chunk_delay=0.2))
    async with running_bot(settings):
        telegram.user_sends(ALICE, "spend")
        await telegram.wait_until(lambda: len(telegram.bot_messages(ALICE)) == 1)
        telegram.user_sends(ALICE, "more")  # admitted: no tokens are used yet
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)

    # Its turn came once the first reply had used the quota: refused then, never sent upstream.
    assert telegram.texts(ALICE)[1].startswith("⚠️ You've used today's quota of 30 tokens.")
    assert asked(upstream) == ["spend"]
    stored = run_sql(database, "SELECT content FROM messages WHERE role = 'user'")
    assert stored == [("spend",)]


async def test_a_daily_message_quota_refuses_ask_in_a_group_until_midnight_utc(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram,
        upstream,
        tmp_path / "db.sqlite3",
        daily_message_quota=1,
        group_edit_interval=FAST_GROUP,
    )
    async with running_bot(settings):
        telegram.user_sends(GROUP, "/ask first", user_id=ALICE, chat_type="group")
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 1)
        asking = telegram.user_sends(GROUP, "/ask second", user_id=ALICE)
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 2)
        telegram.user_sends(GROUP, "/ask mine", user_id=BOB)
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 3)

    answer, refusal, bobs = telegram.bot_messages(GROUP)
    assert (answer.text, bobs.text) == ("You said: first", "You said: mine")
    assert refusal.text is not None
    assert refusal.text.startswith("⚠️ You've used today's quota of 1 message.")
    assert DAILY_REFUSAL.search(refusal.text), refusal.text
    assert refusal.reply_to_message_id == asking["message_id"]
    assert asked(upstream) == ["first", "mine"]


async def test_a_photo_past_the_daily_quota_is_refused_without_being_downloaded(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "db.sqlite3", daily_message_quota=1)
    async with running_bot(settings):
        telegram.user_sends(ALICE, "first")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 1)
        telegram.user_sends_photo(ALICE, PHOTO, 1280, 720, caption="and this?")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)

    assert telegram.texts(ALICE)[1].startswith("⚠️ You've used today's quota of 1 message.")
    assert telegram.calls_to("getFile") == []
    assert asked(upstream) == ["first"]


async def test_a_daily_token_quota_counts_the_upstreams_usage(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    settings = make_settings(telegram, upstream, database, daily_token_quota=30)
    upstream.script(ReplyScript("x" * 200))  # 50 completion tokens by the fake's count
    async with running_bot(settings):
        telegram.user_sends(ALICE, "spend")
        # A turn is checked on arrival: wait until the first reply's tokens are stored.
        await telegram.wait_until(lambda: bool(run_sql(database, ASSISTANT_TOKENS)))
        telegram.user_sends(ALICE, "more")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)

    assert telegram.texts(ALICE)[1].startswith("⚠️ You've used today's quota of 30 tokens.")
    assert asked(upstream) == ["spend"]
    assert run_sql(database, ASSISTANT_TOKENS) == [
        (5, 50, 0)
    ]  # the fake: system prompt and question, 20 chars


async def test_admins_are_not_limited(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram,
        upstream,
        tmp_path / "db.sqlite3",
        rate_limit_per_minute=1,
        daily_message_quota=1,
        admin_user_ids=frozenset({ADMIN}),
    )
    async with running_bot(settings):
        for n in (1, 2, 3):
            telegram.user_sends(ADMIN, f"admin {n}")
            await telegram.wait_until(lambda n=n: len(telegram.texts(ADMIN)) == n)  # type: ignore[misc]

    assert telegram.texts(ADMIN) == ["You said: admin 1", "You said: admin 2", "You said: admin 3"]


async def test_a_message_over_the_length_limit_is_explained_and_never_sent_or_stored(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    settings = make_settings(telegram, upstream, database, max_message_chars=20)
    async with running_bot(settings):
        telegram.user_sends(ALICE, "a" * 21)
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 1)
        telegram.user_sends(ALICE, "short enough")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)

    assert telegram.texts(ALICE) == [
        "⚠️ Your message is too long: 21 characters (with any message it replies to), "
        "and I take at most 20. Please shorten it or send it in parts.",
        "You said: short enough",
    ]
    assert asked(upstream) == ["short enough"]
    assert run_sql(database, "SELECT content FROM messages WHERE role = 'user'") == [
        ("short enough",)
    ]


async def test_tokens_are_estimated_from_characters_when_the_upstream_reports_none(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    settings = make_settings(telegram, upstream, database)
    upstream.script(ReplyScript("abcdefghi", usage=False))
    async with running_bot(settings):
        telegram.user_sends(ALICE, "12345678")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 1)
        # /stats reads beside the turns: a reply still being stored is not counted yet.
        await telegram.wait_until(lambda: run_sql(database, ASSISTANT_TOKENS) != [])
        telegram.user_sends(ALICE, "/stats")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)

    assert run_sql(database, ASSISTANT_TOKENS) == [
        (6, 3, 1)
    ]  # "You are a test." + "12345678" = 23 chars; 9 chars
    assert telegram.texts(ALICE)[1] == (
        "Your usage (days and months begin at 00:00 UTC):\n"
        "today: 1 message, 9 tokens\n"
        "this month: 1 message, 9 tokens\n"
        "all time: 1 message, 9 tokens\n"
        "Tokens of 1 reply are estimated from its length: "
        "the AI service did not report them."
    )


async def test_stats_shows_a_user_their_usage_and_limits_and_an_admin_the_top_users(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    settings = make_settings(
        telegram,
        upstream,
        database,
        daily_message_quota=10,
        daily_token_quota=1000,
        admin_user_ids=frozenset({ADMIN}),
    )
    upstream.script(ReplyScript("x" * 40), ReplyScript("y" * 400))
    async with running_bot(settings):
        telegram.user_sends(ALICE, "hello")  # 5 prompt tokens (20 chars), 10 completion
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 1)
        telegram.user_sends(BOB, "hi")  # 4 prompt tokens (17 chars), 100 completion
        await telegram.wait_until(lambda: len(telegram.texts(BOB)) == 1)
        # /stats reads beside the turns: a reply still being stored is not counted yet.
        await telegram.wait_until(lambda: len(run_sql(database, ASSISTANT_TOKENS)) == 2)
        telegram.user_sends(ALICE, "/stats")
        await telegram.wait_until(lambda: len(telegram.texts(ALICE)) == 2)
        telegram.user_sends(ADMIN, "/stats")
        await telegram.wait_until(lambda: len(telegram.texts(ADMIN)) == 1)
        telegram.user_sends(GROUP, "/stats", user_id=ADMIN, chat_type="group")
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 1)

    assert telegram.texts(ALICE)[1] == (
        "Your usage (days and months begin at 00:00 UTC):\n"
        "today: 1 message, 15 tokens\n"
        "this month: 1 message, 15 tokens\n"
        "all time: 1 message, 15 tokens\n"
        "Your limits: 10 messages a day (9 left today); 1,000 tokens a day (985 left today)."
    )
    own = (
        "Your usage (days and months begin at 00:00 UTC):\n"
        "today: 0 messages, 0 tokens\n"
        "this month: 0 messages, 0 tokens\n"
        "all time: 0 messages, 0 tokens\n"
        "You are an admin: no limits apply to you."
    )
    assert telegram.texts(ADMIN) == [
        f"{own}\n\nTop users this month, by tokens:\n"
        f"1. user {BOB}: 1 message, 104 tokens\n"
        f"2. user {ALICE}: 1 message, 15 tokens"
    ]
    assert telegram.texts(GROUP) == [own]  # the group doesn't see everyone's usage


async def test_stats_is_in_the_command_menus_of_private_chats_and_groups(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running_bot(make_settings(telegram, upstream, tmp_path / "db.sqlite3")):
        pass

    private = telegram.commands_for({"type": "all_private_chats"})
    groups = telegram.commands_for({"type": "all_group_chats"})
    assert "stats" in [c["command"] for c in private]
    assert "stats" in [c["command"] for c in groups]
