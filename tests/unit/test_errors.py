"""What users read for each upstream failure: short, specific, with waits in words."""

from __future__ import annotations

import pytest

from bot.errors import UpstreamHTTPError, UpstreamReportedError, in_words, shown


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0.2, "in 1 s"), (20, "in 20 s"), (89, "in 89 s"), (120, "in 2 min"), (7200, "in about 2 h")],
)
def test_waits_are_said_the_way_people_say_them(seconds: float, words: str) -> None:
    assert in_words(seconds) == words


def test_a_rate_limit_without_retry_after_says_in_a_moment() -> None:
    assert UpstreamHTTPError(429, "slow down").user_message == (
        "The AI service is rate-limiting requests. Please try again in a moment."
    )


def test_long_upstream_text_is_cut_for_the_chat() -> None:
    message = UpstreamReportedError("x" * 500).user_message
    assert message == "The AI service reported an error: " + "x" * 199 + "…"


def test_whitespace_in_upstream_text_is_collapsed() -> None:
    assert shown("line one\n\n  line two") == "line one line two"
