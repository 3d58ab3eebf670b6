"""The settings that bound growth: HISTORY_RETENTION_DAYS and MAX_REPLY_TOKENS."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from tests.support import settings_from


def test_by_default_history_is_kept_forever_and_replies_have_no_token_limit() -> None:
    defaults = settings_from()
    assert (defaults.history_retention_days, defaults.max_reply_tokens) == (0, None)


def test_an_empty_max_reply_tokens_means_unset_as_in_env_example() -> None:
    assert settings_from(max_reply_tokens="").max_reply_tokens is None
    assert settings_from(max_reply_tokens=" 512 ").max_reply_tokens == 512


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("history_retention_days", -1, "HISTORY_RETENTION_DAYS: Input should be greater than"),
        ("history_retention_days", "a week", "HISTORY_RETENTION_DAYS: Input should be a valid"),
        ("max_reply_tokens", 0, "MAX_REPLY_TOKENS: Input should be greater than or equal to 1"),
        ("max_reply_tokens", "lots", "MAX_REPLY_TOKENS: Input should be a valid integer"),
    ],
)
def test_bad_growth_settings_name_the_variable(name: str, value: object, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(**{name: value})
    assert str(caught.value).startswith(problem)
