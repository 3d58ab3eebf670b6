"""The voice settings: DEFAULT_VOICE must be one of the six voices, caps must be sane."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from bot.conversation.preferences import VOICES
from tests.support import settings_from


def test_the_voice_defaults_are_alloy_ten_megabytes_and_five_minutes() -> None:
    defaults = settings_from()
    assert (defaults.default_voice, defaults.voice_max_bytes, defaults.voice_max_seconds) == (
        "alloy",
        10 * 1024 * 1024,
        300,
    )


def test_two_conversions_at_once_of_at_most_30_seconds_each_by_default() -> None:
    defaults = settings_from()
    assert (defaults.voice_concurrency, defaults.voice_convert_timeout) == (2, 30.0)


def test_every_voice_a_chat_may_choose_may_be_the_default() -> None:
    defaults = [settings_from(default_voice=voice.upper()).default_voice for voice in VOICES]
    assert defaults == list(VOICES)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("default_voice", "robot", "DEFAULT_VOICE: Input should be 'alloy', 'echo'"),
        ("voice_max_bytes", 21 * 1024 * 1024, "VOICE_MAX_BYTES: Input should be less than"),
        ("voice_max_seconds", 0, "VOICE_MAX_SECONDS: Input should be greater than 0"),
        ("voice_concurrency", 0, "VOICE_CONCURRENCY: Input should be greater than or equal to 1"),
        ("voice_convert_timeout", 0, "VOICE_CONVERT_TIMEOUT: Input should be greater than 0"),
    ],
)
def test_bad_voice_settings_name_the_variable(name: str, value: object, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(**{name: value})
    assert str(caught.value).startswith(problem)
