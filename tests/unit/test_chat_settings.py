"""Chat settings as users type them: names, ranges, resets and the errors that explain them."""

from __future__ import annotations

import pytest

from bot.conversation.preferences import (
    PREFERENCES,
    SYSTEM_PROMPT_LIMIT,
    PreferenceError,
    Value,
    find_preference,
    format_value,
    parse,
    parse_system_prompt,
    same_value,
)
from bot.store import ChatPreferences

TEMPERATURE = PREFERENCES["temperature"]


def error_of(name: str, text: str) -> str:
    with pytest.raises(PreferenceError) as caught:
        parse(PREFERENCES[name], text)
    return str(caught.value)


def test_every_setting_is_a_field_of_the_stored_chat_settings() -> None:
    assert set(PREFERENCES) <= set(ChatPreferences.__dataclass_fields__)
    assert list(PREFERENCES) == [
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "voice",
        "system_prompt",
        "show_reasoning",
        "reasoning_effort",
    ]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("temperature", "0.7", 0.7),
        ("temperature", "0", 0.0),
        ("temperature", "2", 2.0),
        ("temperature", "0,7", 0.7),
        ("temperature", " .5 ", 0.5),
        ("top_p", "1", 1.0),
        ("top_p", "0.05", 0.05),
        ("presence_penalty", "-2", -2.0),
        ("presence_penalty", "-0", 0.0),
        ("frequency_penalty", "+1.5", 1.5),
        ("voice", "Nova", "nova"),
        ("show_reasoning", "Hidden", "hidden"),
        ("show_reasoning", "full", "full"),
        ("reasoning_effort", " HIGH ", "high"),
    ],
)
def test_values_within_the_api_ranges_are_accepted(name: str, text: str, expected: Value) -> None:
    assert parse(PREFERENCES[name], text) == expected


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("temperature", "2.01"),
        ("temperature", "-0.1"),
        ("top_p", "1.5"),
        ("presence_penalty", "-2.5"),
        ("frequency_penalty", "3"),
    ],
)
def test_values_outside_the_api_ranges_are_refused(name: str, text: str) -> None:
    with pytest.raises(PreferenceError):
        parse(PREFERENCES[name], text)


@pytest.mark.parametrize("text", ["warm", "nan", "inf", "1e1", "0x1", "1_0", "0.5.1", ""])
def test_text_that_is_not_a_plain_number_is_refused(text: str) -> None:
    with pytest.raises(PreferenceError):
        parse(TEMPERATURE, text)


def test_a_refused_number_names_the_allowed_range() -> None:
    assert error_of("temperature", "3") == (
        "temperature must be a number from 0 to 2 (or “default”); “3” is not."
    )
    assert error_of("top_p", "2") == (
        "top_p must be a number from 0 to 1 (or “default”); “2” is not."
    )
    assert error_of("presence_penalty", "9") == (
        "presence_penalty must be a number from -2 to 2 (or “default”); “9” is not."
    )


def test_a_long_refused_value_is_shortened_in_the_error() -> None:
    assert error_of("temperature", "x" * 100).endswith("“xxxxxxxxxxxxxxxxxxx…” is not.")


def test_reasoning_settings_refuse_other_values_naming_theirs() -> None:
    assert error_of("show_reasoning", "folded") == (
        "reasoning must be one of collapsed, hidden, full (or “default”); “folded” is not."
    )
    assert error_of("reasoning_effort", "max") == (
        "reasoning_effort must be one of low, medium, high (or “default”); “max” is not."
    )


def test_an_unknown_voice_is_refused_with_the_voices() -> None:
    assert error_of("voice", "robot") == (
        "voice must be one of alloy, echo, fable, onyx, nova, shimmer (or “default”);"
        " “robot” is not."
    )


@pytest.mark.parametrize("word", ["default", "reset", "Default", " RESET "])
@pytest.mark.parametrize("name", list(PREFERENCES))
def test_default_or_reset_puts_any_setting_back_to_the_default(name: str, word: str) -> None:
    assert parse(PREFERENCES[name], word) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("temperature", "temperature"),
        ("Temperature", "temperature"),
        ("temp", "temperature"),
        ("top-p", "top_p"),
        ("presence", "presence_penalty"),
        ("frequency-penalty", "frequency_penalty"),
        ("system", "system_prompt"),
        ("voice", "voice"),
        ("reasoning", "show_reasoning"),
        ("show-reasoning", "show_reasoning"),
        ("reasoning_effort", "reasoning_effort"),
        ("effort", "reasoning_effort"),
    ],
)
def test_settings_are_found_by_name_case_dashes_or_short_name(typed: str, expected: str) -> None:
    assert find_preference(typed).name == expected


def test_an_unknown_setting_lists_the_settings() -> None:
    with pytest.raises(PreferenceError) as caught:
        find_preference("colour")
    assert str(caught.value) == (
        "There is no setting “colour”. Settings: temperature, top_p, presence_penalty,"
        " frequency_penalty, voice, system_prompt, reasoning, reasoning_effort."
    )


def test_the_model_is_not_a_setting_but_points_to_the_model_command() -> None:
    with pytest.raises(PreferenceError) as caught:
        find_preference("model")
    assert str(caught.value) == "The model is chosen with /model."


def test_a_system_prompt_is_kept_whole_and_trimmed_at_the_ends() -> None:
    assert parse_system_prompt("  Answer like a pirate.\nAlways.  ") == (
        "Answer like a pirate.\nAlways."
    )
    assert parse(PREFERENCES["system_prompt"], "Be brief.") == "Be brief."


def test_a_system_prompt_up_to_the_limit_is_accepted() -> None:
    prompt = "a" * SYSTEM_PROMPT_LIMIT
    assert parse_system_prompt(prompt) == prompt


def test_a_system_prompt_over_the_limit_is_refused_with_its_length() -> None:
    with pytest.raises(PreferenceError) as caught:
        parse_system_prompt("a" * (SYSTEM_PROMPT_LIMIT + 1))
    assert str(caught.value) == (
        "The system prompt can be at most 4000 characters; this one has 4001."
    )


def test_an_empty_system_prompt_is_refused() -> None:
    with pytest.raises(PreferenceError):
        parse_system_prompt("   ")


def test_values_are_shown_as_people_write_them() -> None:
    assert [format_value(v) for v in (0.7, 1.0, -0.5, 0.0, "nova", None)] == [
        "0.7",
        "1",
        "-0.5",
        "0",
        "nova",
        "default",
    ]


def test_every_offered_preset_is_a_valid_value_of_its_setting() -> None:
    for setting in PREFERENCES.values():
        for preset in setting.presets:
            assert format_value(parse(setting, preset)) == preset


def test_same_value_compares_numbers_with_float_tolerance() -> None:
    assert same_value(0.1 + 0.2, 0.3) is True
    assert same_value(0.3, 0.4) is False
    assert same_value(None, None) is True
    assert same_value(None, 0.0) is False
    assert same_value("nova", "nova") is True
