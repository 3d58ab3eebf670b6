"""Servers other than the seed, through the real Application: the fake upstream in the wording of
OpenAI, DeepSeek, OpenRouter, Ollama, vLLM, LM Studio, LiteLLM, llama.cpp and SGLang
(tests/fakes/upstream/providers.py).

A model that refuses a parameter, a conversation longer than the model's context, a server that
refuses `stream_options` or needs alternating roles: the user gets an answer and never sees the
refusal. Replies the model cut short or filtered say so; statuses other servers use are retried
before the first words; /about on a server without one shows what the bot knows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, get_args

import pytest

from tests.e2e.chat import answer_to, button_data, last_text, press
from tests.e2e.harness import fast_settings, running_bot
from tests.e2e.stored import Stored, stored_messages
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import DEFAULT_MODELS, FakeUpstream, Fault, Provider, ReplyScript
from tests.fakes.upstream.providers import OverflowWording, RefusalWording, StreamOptions
from tests.support import query

pytestmark = pytest.mark.relaxed

CHAT = 10
REASONING = "gpt-5"  # the model these tests make refuse parameters
MODELS = (*DEFAULT_MODELS, REASONING)
ANSWER = "The answer is forty-two."


@asynccontextmanager
async def serving(**provider: Any) -> AsyncIterator[FakeUpstream]:
    """The fake upstream, listing REASONING too, behaving as `provider` says."""
    async with FakeUpstream(models=MODELS, provider=Provider(**provider)) as server:
        yield server


async def said(telegram: FakeTelegram, text: str) -> None:
    """Send `text` and wait for the fake's echo of it (however many requests that took)."""
    telegram.user_sends(CHAT, text)
    await telegram.wait_until(lambda: last_text(telegram, CHAT) == f"You said: {text}")


def notices(telegram: FakeTelegram) -> list[str]:
    return [text for text in telegram.texts(CHAT) if "⚠️" in text]


# --- parameters a model refuses ------------------------------------------------------------------


@pytest.mark.parametrize("wording", ["openai", "litellm", "openrouter"])
async def test_a_model_that_refuses_temperature_is_answered_without_it_and_settings_say_so(
    telegram: FakeTelegram, tmp_path: Path, wording: RefusalWording
) -> None:
    refused = {REASONING: frozenset({"temperature"})}
    async with serving(refuses=refused, refusal_wording=wording) as upstream:
        settings = fast_settings(telegram, upstream, tmp_path, default_model=REASONING)
        async with running_bot(settings):
            await answer_to(telegram, CHAT, "/settings temperature 0.7")
            await said(telegram, "hello")
            await said(telegram, "and again")
            overview = await answer_to(telegram, CHAT, "/settings")
            panel = telegram.bot_messages(CHAT)[-1]
            labels = list(button_data(panel))
            await press(telegram, CHAT, panel, "s:o:temperature")
            await telegram.wait_until(lambda: "Not used" in (panel.text or ""))
    sent = [r.body for r in upstream.chat_requests()]
    assert [body.get("temperature") for body in sent] == [0.7, None, None]
    assert [body["messages"][-1]["content"] for body in sent] == ["hello", "hello", "and again"]
    assert "• temperature: 0.7 — not used by this model" in overview.splitlines()
    assert "• top_p: default (the AI service decides)" in overview.splitlines()
    assert labels[:2] == ["temperature (not used)", "top_p"]
    assert (
        "Not used by this model: gpt-5 refused temperature, so the bot leaves it out of its "
        "requests. The value is kept for other models."
    ) in (panel.text or "")
    assert notices(telegram) == []


@pytest.mark.parametrize("wording", ["openai", "litellm", "openrouter"])
async def test_a_model_that_refuses_reasoning_effort_is_answered_without_it_and_settings_say_so(
    telegram: FakeTelegram, tmp_path: Path, wording: RefusalWording
) -> None:
    # OpenAI's gpt-4o says "Unrecognized request argument supplied: reasoning_effort" (no param);
    # LiteLLM lists it among the parameters it does not support; OpenRouter wraps OpenAI's.
    refused = {REASONING: frozenset({"reasoning_effort"})}
    async with serving(refuses=refused, refusal_wording=wording) as upstream:
        settings = fast_settings(telegram, upstream, tmp_path, default_model=REASONING)
        async with running_bot(settings):
            confirmed = await answer_to(telegram, CHAT, "/settings reasoning_effort high")
            await said(telegram, "hello")
            await said(telegram, "and again")
            overview = await answer_to(telegram, CHAT, "/settings")
            panel = telegram.bot_messages(CHAT)[-1]
            labels = list(button_data(panel))
            await press(telegram, CHAT, panel, "s:o:reasoning_effort")
            await telegram.wait_until(lambda: "Not used" in (panel.text or ""))
            changed = await answer_to(telegram, CHAT, "/settings effort low")
    sent = [r.body for r in upstream.chat_requests()]
    assert [body.get("reasoning_effort") for body in sent] == ["high", None, None]
    assert all("reasoning_effort" not in body for body in sent[1:])
    assert [body["messages"][-1]["content"] for body in sent] == ["hello", "hello", "and again"]
    assert confirmed == "reasoning_effort set to high."
    assert "• reasoning_effort: high — not used by this model" in overview.splitlines()
    assert "reasoning_effort (not used)" in labels
    assert "temperature" in labels
    assert (
        "Not used by this model: gpt-5 refused reasoning_effort, so the bot leaves it out of its "
        "requests. The value is kept for other models."
    ) in (panel.text or "")
    assert changed == (
        "reasoning_effort set to low. This chat's model does not use it, so it applies only to "
        "other models."
    )
    assert notices(telegram) == []
    assert telegram.texts(CHAT)[1:3] == ["You said: hello", "You said: and again"]


REFUSAL_WORDINGS: list[Any] = [
    pytest.param("openai", 4, id="openai-one-at-a-time"),
    pytest.param("litellm", 2, id="litellm-all-at-once"),
    pytest.param("openrouter", 4, id="openrouter-wrapped-in-metadata-raw"),
]


@pytest.mark.parametrize(("wording", "requests"), REFUSAL_WORDINGS)
async def test_refused_sampling_parameters_are_dropped_in_each_servers_wording(
    telegram: FakeTelegram, tmp_path: Path, wording: RefusalWording, requests: int
) -> None:
    refused = frozenset({"top_p", "presence_penalty", "frequency_penalty"})
    async with serving(refuses={REASONING: refused}, refusal_wording=wording) as upstream:
        settings = fast_settings(telegram, upstream, tmp_path, default_model=REASONING)
        async with running_bot(settings):
            for name in ("top_p 0.5", "presence_penalty 1", "frequency_penalty 1"):
                await answer_to(telegram, CHAT, f"/settings {name}")
            await said(telegram, "hello")
    sent = [r.body for r in upstream.chat_requests()]
    assert len(sent) == requests
    assert refused & set(sent[0]) == refused
    assert refused & set(sent[-1]) == set()
    assert notices(telegram) == []


@pytest.mark.parametrize(
    ("wording", "field"),
    [("openai", "max_completion_tokens"), ("litellm", None)],
    ids=["openai-asks-for-max-completion-tokens", "litellm-just-refuses"],
)
async def test_a_refused_max_tokens_is_renamed_only_when_the_server_asks(
    telegram: FakeTelegram, tmp_path: Path, wording: RefusalWording, field: str | None
) -> None:
    async with serving(
        refuses={REASONING: frozenset({"max_tokens"})}, refusal_wording=wording
    ) as upstream:
        settings = fast_settings(
            telegram, upstream, tmp_path, default_model=REASONING, max_reply_tokens=50
        )
        async with running_bot(settings):
            await said(telegram, "hello")
            await said(telegram, "more")
    first, second, third = (r.body for r in upstream.chat_requests())
    assert first["max_tokens"] == 50
    for later in (second, third):
        assert "max_tokens" not in later
        assert later.get("max_completion_tokens") == (50 if field else None)


async def test_only_the_refusing_model_goes_without_the_parameter(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with serving(refuses={REASONING: frozenset({"temperature"})}) as upstream:
        settings = fast_settings(telegram, upstream, tmp_path, default_model=REASONING)
        async with running_bot(settings):
            await answer_to(telegram, CHAT, "/settings temperature 0.7")
            await said(telegram, "hello")
            await answer_to(telegram, CHAT, "/model gpt-4o")
            await said(telegram, "and you?")
            overview = await answer_to(telegram, CHAT, "/settings")
    assert [r.body.get("temperature") for r in upstream.chat_requests()] == [0.7, None, 0.7]
    assert "• temperature: 0.7" in overview.splitlines()


# --- context overflow ----------------------------------------------------------------------------

OVERFLOW_WORDINGS = list(get_args(OverflowWording))  # every wording the fake knows
QUESTION = "q" * 150  # with its echo, 310 characters of history per exchange


@pytest.mark.parametrize("wording", OVERFLOW_WORDINGS)
async def test_a_conversation_over_the_context_is_answered_with_less_history(
    telegram: FakeTelegram, tmp_path: Path, wording: OverflowWording
) -> None:
    # 200 tokens: three exchanges fit (790 characters with the system prompt), a fourth not.
    async with (
        serving(context_limit=200, overflow_wording=wording) as upstream,
        running_bot(fast_settings(telegram, upstream, tmp_path)),
    ):
        for number in range(1, 4):
            await said(telegram, f"{number}{QUESTION}")
        telegram.user_sends(CHAT, f"4{QUESTION}")
        await telegram.wait_until(lambda: "⚠️" in last_text(telegram, CHAT))
    sent = [[m["content"][:1] for m in r.body["messages"][1:]] for r in upstream.chat_requests()]
    assert sent[3:] == [
        ["1", "Y", "2", "Y", "3", "Y", "4"],  # refused: 276 tokens
        ["3", "Y", "4"],  # half the history's characters
    ]
    assert telegram.texts(CHAT)[-1] == (
        f"You said: 4{QUESTION}\n\n⚠️ This conversation is longer than the model can read at "
        "once, so its oldest messages were left out of this answer. /new starts a fresh "
        "conversation."
    )


async def test_retry_of_a_question_over_the_context_is_answered_with_less_history(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    # /retry goes through the same overflow loop as a new question.
    shortened = (
        f"You said: 4{QUESTION}\n\n⚠️ This conversation is longer than the model can read at "
        "once, so its oldest messages were left out of this answer. /new starts a fresh "
        "conversation."
    )
    async with (
        serving(context_limit=200) as upstream,
        running_bot(fast_settings(telegram, upstream, tmp_path)),
    ):
        for number in range(1, 4):
            await said(telegram, f"{number}{QUESTION}")
        telegram.user_sends(CHAT, f"4{QUESTION}")
        await telegram.wait_until(lambda: last_text(telegram, CHAT) == shortened)
        telegram.user_sends(CHAT, "/retry")
        await telegram.wait_until(lambda: telegram.texts(CHAT)[-2:] == [shortened, shortened])
    sent = [[m["content"][:1] for m in r.body["messages"][1:]] for r in upstream.chat_requests()]
    assert sent[5:] == [
        ["1", "Y", "2", "Y", "3", "Y", "4"],  # the retried question, its answer left out: refused
        ["3", "Y", "4"],
    ]
    assert notices(telegram) == [shortened, shortened]


async def test_a_message_too_long_on_its_own_is_refused_plainly_after_every_shorter_window(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with serving(context_limit=200, overflow_wording="vllm") as upstream:
        database = tmp_path / "bot.sqlite3"
        async with running_bot(fast_settings(telegram, upstream, tmp_path)):
            await said(telegram, f"1{QUESTION}")
            telegram.user_sends(CHAT, "x" * 900)
            await telegram.wait_until(lambda: "⚠️" in last_text(telegram, CHAT))
    windows = [len(r.body["messages"]) for r in upstream.chat_requests()]
    assert windows == [2, 4, 2]  # the first exchange; then with it, then the message alone
    assert last_text(telegram, CHAT) == (
        "⚠️ Your message is too long for this model: even without the earlier conversation "
        "it is more than the model can read at once. Please send a shorter message, or choose "
        "a model with a larger context with /model."
    )
    assert [s.role for s in await stored_messages(database, CHAT)] == ["user", "assistant", "user"]


# --- usage in streams ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["unknown_parameter", "extra_forbidden"])
async def test_a_server_refusing_stream_options_is_asked_without_them_from_then_on(
    telegram: FakeTelegram, tmp_path: Path, mode: StreamOptions
) -> None:
    async with serving(stream_options=mode) as upstream:
        database = tmp_path / "bot.sqlite3"
        async with running_bot(fast_settings(telegram, upstream, tmp_path)):
            await said(telegram, "hello")
            await said(telegram, "again")
    asked = ["stream_options" in r.body for r in upstream.chat_requests()]
    assert asked == [True, False, False]
    rows = await query(database, "SELECT usage_estimated FROM messages WHERE role = 'assistant'")
    assert rows == [(1,), (1,)]  # no usage without stream_options: estimated
    assert notices(telegram) == []


@pytest.mark.parametrize("mode", ["honour", "ignore"], ids=["openai", "openrouter"])
async def test_usage_reported_in_the_stream_is_stored_as_reported(
    telegram: FakeTelegram, tmp_path: Path, mode: StreamOptions
) -> None:
    async with serving(stream_options=mode) as upstream:
        upstream.script(ReplyScript(ANSWER, usage=True))
        database = tmp_path / "bot.sqlite3"
        async with running_bot(fast_settings(telegram, upstream, tmp_path)):
            telegram.user_sends(CHAT, "hello")
            await telegram.wait_until(lambda: telegram.texts(CHAT) == [ANSWER])
            stats = await answer_to(telegram, CHAT, "/stats")
    rows = await query(
        database,
        "SELECT prompt_tokens, completion_tokens, usage_estimated FROM messages"
        " WHERE role = 'assistant'",
    )
    # The fake counts four characters to a token: "You are a test." + "hello" = 20 -> 5;
    # 24 characters of answer -> 6 (an estimate from the text would say the same, so the flag
    # is what tells them apart).
    assert rows == [(5, 6, 0)]
    assert "estimated" not in stats


# --- replies the model cut or filtered -----------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "notice"),
    [
        ("length", "The reply was cut off: it reached the length limit for one reply."),
        ("content_filter", "The AI service's content filter stopped this reply here."),
        ("error", "The AI service ended this reply with an error."),
    ],
)
async def test_a_reply_the_model_did_not_finish_says_why_and_is_stored_as_interrupted(
    telegram: FakeTelegram, tmp_path: Path, reason: str, notice: str
) -> None:
    async with serving() as upstream:
        upstream.script(ReplyScript(ANSWER, finish_reason=reason))
        database = tmp_path / "bot.sqlite3"
        async with running_bot(fast_settings(telegram, upstream, tmp_path)):
            telegram.user_sends(CHAT, "question")
            await telegram.wait_until(lambda: "⚠️" in last_text(telegram, CHAT))
    assert telegram.texts(CHAT) == [f"{ANSWER}\n\n⚠️ {notice}"]
    assert (await stored_messages(database, CHAT))[-1] == Stored("assistant", ANSWER, "interrupted")


# --- alternating roles ---------------------------------------------------------------------------


async def test_a_turn_left_unanswered_does_not_break_a_template_that_needs_alternating_roles(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with serving(strict_roles=True) as upstream:
        upstream.script(ReplyScript("", fault=Fault.HTTP_401))
        async with running_bot(fast_settings(telegram, upstream, tmp_path)):
            telegram.user_sends(CHAT, "first")
            await telegram.wait_until(lambda: "⚠️" in last_text(telegram, CHAT))
            await said(telegram, "second")
            await said(telegram, "third")
    roles = [[m["role"] for m in r.body["messages"]] for r in upstream.chat_requests()]
    assert roles == [
        ["system", "user"],
        ["system", "user"],  # "first" got no answer: left out
        ["system", "user", "assistant", "user"],
    ]


# --- statuses before the first words -------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Fault.HTTP_408, Fault.HTTP_500, Fault.HTTP_502, Fault.HTTP_529, Fault.CUT_MID_STREAM],
    ids=["408", "500", "502-html", "529-anthropic-overloaded", "cut-before-first-token"],
)
async def test_a_failure_before_the_first_words_is_retried_and_the_answer_arrives(
    telegram: FakeTelegram, tmp_path: Path, fault: Fault
) -> None:
    async with serving() as upstream:
        upstream.script(ReplyScript(ANSWER, fault=fault, after_chunks=0), ReplyScript(ANSWER))
        settings = fast_settings(
            telegram, upstream, tmp_path, upstream_retries=1, upstream_retry_backoff=0.05
        )
        async with running_bot(settings):
            telegram.user_sends(CHAT, "question")
            await telegram.wait_until(lambda: telegram.texts(CHAT) == [ANSWER])
    assert len(upstream.chat_requests()) == 2


@pytest.mark.parametrize(
    ("fault", "should_retry", "notice", "requests"),
    [
        pytest.param(
            Fault.HTTP_503,
            False,
            "The AI service is overloaded or unavailable right now (503). Please try again in a "
            "minute.",
            1,
            id="503-x-should-retry-false",
        ),
        pytest.param(
            Fault.HTTP_529,
            None,
            "The AI service is overloaded or unavailable right now (529). Please try again in a "
            "minute.",
            2,
            id="529-retried-then-explained",
        ),
        pytest.param(
            Fault.HTTP_408,
            None,
            "The AI service timed out (408). Please try again.",
            2,
            id="408-retried-then-explained",
        ),
    ],
)
async def test_a_status_that_persists_is_explained_in_its_own_words(
    telegram: FakeTelegram,
    tmp_path: Path,
    fault: Fault,
    should_retry: bool | None,
    notice: str,
    requests: int,
) -> None:
    async with serving() as upstream:
        script = ReplyScript(ANSWER, fault=fault, should_retry=should_retry)
        upstream.script(script, script)
        settings = fast_settings(
            telegram, upstream, tmp_path, upstream_retries=1, upstream_retry_backoff=0.05
        )
        async with running_bot(settings):
            telegram.user_sends(CHAT, "question")
            await telegram.wait_until(lambda: "⚠️" in last_text(telegram, CHAT))
    assert telegram.texts(CHAT) == [f"⚠️ {notice}"]
    assert len(upstream.chat_requests()) == requests


async def test_a_frame_with_empty_choices_and_no_usage_is_skipped(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with serving() as upstream:
        upstream.script(ReplyScript(ANSWER, fault=Fault.EMPTY_CHOICES, after_chunks=2))
        async with running_bot(fast_settings(telegram, upstream, tmp_path)):
            telegram.user_sends(CHAT, "question")
            await telegram.wait_until(lambda: telegram.texts(CHAT) == [ANSWER])
    assert telegram.texts(CHAT) == [ANSWER]  # the frame without choices added nothing


# --- /about on a server without one --------------------------------------------------------------


async def test_about_on_a_server_without_an_about_page_shows_what_the_bot_knows(
    telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        FakeUpstream(about=None) as upstream,
        running_bot(fast_settings(telegram, upstream, tmp_path)),
    ):
        await answer_to(telegram, CHAT, "/model gpt-4o")
        with caplog.at_level(logging.INFO):
            first = await answer_to(telegram, CHAT, "/about")
            second = await answer_to(telegram, CHAT, "/about")
    assert first == second
    assert first.splitlines()[1:] == [
        "",
        "This AI service has no about page. What the bot knows of it:",
        f"• address: {upstream.base_url}",
        "• models: 12 chat models",
        "• this chat's model: gpt-4o",
    ]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
