"""Telegram's rules in the fake (rules.py), pure functions: text, entities, keyboards, commands.
The schema and media sniffing are tested in test_schema.py, flood limits in test_flood.py."""

from __future__ import annotations

import pytest

from tests.fakes.telegram.rules import (
    ApiError,
    FormattedText,
    check_bot_commands,
    check_caption,
    check_message_text,
    check_reply_markup,
    utf16_len,
)

EMOJI = "😀"  # one character, two UTF-16 code units


def entity(kind: str, offset: int, length: int, **extra: object) -> dict[str, object]:
    return {"type": kind, "offset": offset, "length": length, **extra}


def rejection(text: str, entities: list[dict[str, object]]) -> str:
    with pytest.raises(ApiError) as caught:
        check_message_text(text, entities)
    return caught.value.description


# --- text ------------------------------------------------------------------------------------


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert (utf16_len("a" + EMOJI), len("a" + EMOJI)) == (3, 2)


def test_text_of_4096_utf16_units_is_accepted_and_4097_rejected() -> None:
    assert check_message_text(EMOJI * 2048, None).text == EMOJI * 2048
    assert rejection(EMOJI * 2048 + "a", []) == "Bad Request: message is too long"


def test_missing_text_and_blank_text_have_different_descriptions() -> None:
    assert rejection("", []) == "Bad Request: message text is empty"
    assert rejection(" \n\u200b ", []) == "Bad Request: text must be non-empty"


def test_surrounding_whitespace_is_trimmed_and_entities_shift() -> None:
    fixed = check_message_text("  hi there \n", [entity("bold", 5, 5)])
    assert fixed == FormattedText("hi there", [entity("bold", 3, 5)])


def test_leading_whitespace_inside_an_entity_is_kept() -> None:
    fixed = check_message_text("  code", [entity("code", 0, 6)])
    assert fixed == FormattedText("  code", [entity("code", 0, 6)])


def test_caption_over_1024_units_is_rejected_and_blank_caption_is_none() -> None:
    with pytest.raises(ApiError) as caught:
        check_caption(EMOJI * 512 + "a", None)
    assert caught.value.description == "Bad Request: message caption is too long"
    assert check_caption("   ", None) is None


# --- entities --------------------------------------------------------------------------------


def test_entity_covering_a_surrogate_pair_is_accepted() -> None:
    fixed = check_message_text(f"hi {EMOJI}!", [entity("bold", 3, 2)])
    assert fixed.entities == [entity("bold", 3, 2)]


@pytest.mark.parametrize(
    ("entities", "expected"),
    [
        (
            [entity("bold", 3, 3)],
            "Bad Request: entity beginning at UTF-16 offset 3 ends after the end of the text "
            "at UTF-16 offset 6",
        ),
        (
            [entity("bold", 9, 1)],
            "Bad Request: entity begins after the end of the text at UTF-16 offset 9",
        ),
        (
            [entity("bold", 4, 1)],
            "Bad Request: entity begins in a middle of a UTF-16 symbol at byte offset 7",
        ),
        (
            [entity("bold", 0, 4)],
            "Bad Request: entity beginning at UTF-16 offset 0 ends in a middle of a UTF-16 "
            "symbol at byte offset 7",
        ),
        ([entity("bold", -1, 1)], "Bad Request: receive an entity with incorrect offset -1"),
        ([entity("bold", 0, -2)], "Bad Request: receive an entity with incorrect length -2"),
        (
            [entity("blink", 0, 1)],
            "Bad Request: can't parse MessageEntity: Unsupported type specified",
        ),
        (
            [entity("text_link", 0, 2)],
            "Bad Request: can't parse MessageEntity: Can't find field \"url\"",
        ),
        (
            [entity("text_link", 0, 2, url="not-a-url")],
            "Bad Request: entity URL 'not-a-url' is invalid: Wrong HTTP URL",
        ),
        (
            [entity("custom_emoji", 3, 2, custom_emoji_id="abc")],
            'Bad Request: can\'t parse MessageEntity: Field "custom_emoji_id" must be a valid '
            "Number",
        ),
    ],
)
def test_invalid_entity_is_rejected_with_telegrams_description(
    entities: list[dict[str, object]], expected: str
) -> None:
    assert rejection(f"hi {EMOJI}", entities) == expected


def test_zero_length_entity_is_dropped_as_telegram_does() -> None:
    assert check_message_text("hello", [entity("bold", 1, 0)]).entities == []


def test_partially_overlapping_entities_are_rejected() -> None:
    description = rejection("hello world", [entity("bold", 0, 5), entity("italic", 3, 5)])
    assert description == (
        "Bad Request: can't parse entities: italic entity at UTF-16 offset 3 partially "
        "overlaps bold entity at UTF-16 offset 0"
    )


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("bold", "italic"),
        ("bold", "text_link"),
        ("text_link", "bold"),
        ("blockquote", "code"),
        ("blockquote", "pre"),
        ("blockquote", "text_link"),
        ("expandable_blockquote", "bold"),
        ("spoiler", "blockquote"),
    ],
)
def test_allowed_nesting_is_accepted(outer: str, inner: str) -> None:
    extra = {"url": "https://example.com"}
    entities = [entity(outer, 0, 11, **extra), entity(inner, 2, 3, **extra)]
    assert len(check_message_text("hello world", entities).entities) == 2


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("bold", "code"),
        ("code", "bold"),
        ("pre", "code"),
        ("blockquote", "expandable_blockquote"),
        ("text_link", "url"),
        ("text_link", "blockquote"),
        ("mention", "custom_emoji"),
    ],
)
def test_forbidden_nesting_is_rejected(outer: str, inner: str) -> None:
    extra = {"url": "https://example.com", "custom_emoji_id": "5368324170671202286"}
    entities = [entity(outer, 0, 11, **extra), entity(inner, 2, 3, **extra)]
    assert rejection("hello world", entities) == (
        f"Bad Request: can't parse entities: {outer} entity at UTF-16 offset 0 can't contain "
        f"{inner} entity at UTF-16 offset 2"
    )


def test_code_and_blockquote_over_the_same_range_are_accepted_in_either_order() -> None:
    entities = [entity("code", 0, 5), entity("blockquote", 0, 5)]
    assert len(check_message_text("hello", entities).entities) == 2


# --- keyboards and commands ------------------------------------------------------------------


def keyboard(**button: object) -> dict[str, object]:
    return {"inline_keyboard": [[{"text": "Press", **button}]]}


def markup_rejection(markup: dict[str, object]) -> str:
    with pytest.raises(ApiError) as caught:
        check_reply_markup(markup)
    return caught.value.description


def test_callback_data_of_64_bytes_is_accepted_and_65_rejected() -> None:
    check_reply_markup(keyboard(callback_data="é" * 32))
    assert markup_rejection(keyboard(callback_data="é" * 32 + "x")) == (
        "Bad Request: BUTTON_DATA_INVALID"
    )


def test_button_without_action_is_rejected() -> None:
    assert markup_rejection(keyboard(callback_data="")) == (
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard"
    )


def test_button_with_two_actions_is_rejected() -> None:
    description = markup_rejection(keyboard(callback_data="a", url="https://example.com"))
    assert description.startswith("Bad Request: can't parse inline keyboard button: exactly one")


def test_button_url_must_be_http() -> None:
    assert markup_rejection(keyboard(url="ftp://example.com")) == (
        "Bad Request: inline keyboard button URL 'ftp://example.com' is invalid: "
        "Unsupported URL protocol"
    )


@pytest.mark.parametrize(
    ("command", "description", "expected"),
    [
        ("Start", "Begin", "Bad Request: BOT_COMMAND_INVALID"),
        ("/start", "Begin", "Bad Request: BOT_COMMAND_INVALID"),
        ("a" * 33, "Begin", "Bad Request: command length must not exceed 32"),
        ("start", " ", "Bad Request: command description must be non-empty"),
        ("start", "d" * 257, "Bad Request: command description length must not exceed 256"),
    ],
)
def test_invalid_bot_command_is_rejected(command: str, description: str, expected: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_bot_commands([{"command": command, "description": description}])
    assert caught.value.description == expected


def test_the_longest_valid_command_passes_and_one_character_more_is_rejected() -> None:
    check_bot_commands([{"command": "new_chat_2" + "x" * 22, "description": "d" * 256}])
    with pytest.raises(ApiError):
        check_bot_commands([{"command": "new_chat_2" + "x" * 23, "description": "d" * 256}])
