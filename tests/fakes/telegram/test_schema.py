"""The fake Telegram's schema layer and media sniffing: method lookup, field decoding, object
checks against the Bot API types, audio formats and image sizes."""

from __future__ import annotations

import re
import struct

import pytest

from tests.fakes.telegram.media import image_size, photo_sizes, sniff_audio
from tests.fakes.telegram.rules import CHAT_ACTIONS, ENTITY_TYPES, ApiError
from tests.fakes.telegram.schema import BotApiSchema, Upload, form_fields_from_json

# --- schema ----------------------------------------------------------------------------------


def test_rule_constants_match_the_schema() -> None:
    schema = BotApiSchema.load()
    entity_doc = schema.type_fields("MessageEntity")["type"].description
    action_doc = schema.method_fields("sendChatAction")["action"].description
    assert set(re.findall(r'"([a-z_]+)"', entity_doc)) == ENTITY_TYPES
    assert set(re.findall(r"\btyping\b|\b[a-z]+_[a-z_]+\b", action_doc)) == CHAT_ACTIONS


def test_method_names_resolve_case_insensitively() -> None:
    schema = BotApiSchema.load()
    assert (schema.canonical_method("SENDMESSAGE"), schema.canonical_method("nope")) == (
        "sendMessage",
        None,
    )


def test_form_fields_decode_by_documented_type() -> None:
    params = BotApiSchema.load().decode(
        "sendMessage",
        {
            "chat_id": "-100",
            "text": "123",
            "disable_notification": "true",
            "entities": '[{"type": "bold", "offset": 0, "length": 1}]',
            "unknown_field": "kept",
        },
    )
    assert params == {
        "chat_id": -100,
        "text": "123",
        "disable_notification": True,
        "entities": [{"type": "bold", "offset": 0, "length": 1}],
        "unknown_field": "kept",
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"chat_id": "1"}, "Bad Request: message text is empty"),
        ({"text": "hi"}, "Bad Request: chat_id is empty"),
        (
            {"chat_id": "1", "text": "x", "entities": "[{"},
            "Bad Request: can't parse entities JSON object",
        ),
        (
            {"chat_id": "1", "text": "x", "reply_markup": "{"},
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            {"chat_id": "1", "text": "x", "entities": '[{"type": "bold", "offset": 0}]'},
            "Bad Request: can't parse MessageEntity: Can't find field \"length\"",
        ),
        (
            {"chat_id": "1", "text": "x", "message_thread_id": "seven"},
            'Bad Request: field "message_thread_id" must be of type Integer',
        ),
        (
            {"chat_id": "1", "text": "x", "protect_content": "maybe"},
            'Bad Request: field "protect_content" must be of type Boolean',
        ),
    ],
)
def test_bad_fields_are_rejected(fields: dict[str, str | Upload], expected: str) -> None:
    with pytest.raises(ApiError) as caught:
        BotApiSchema.load().decode("sendMessage", fields)
    assert caught.value.description == expected


def test_subtypes_are_told_apart_by_their_type_field() -> None:
    schema = BotApiSchema.load()
    schema.check_object("BotCommandScope", {"type": "chat", "chat_id": 5})
    assert schema.check_value(("BotCommandScope",), {"type": "chat"}) is not None
    assert schema.check_value(("BotCommandScope",), {"type": "galaxy"}) is not None


def test_json_body_reads_like_a_form() -> None:
    assert form_fields_from_json({"chat_id": 5, "flag": True, "entities": [], "x": None}) == {
        "chat_id": "5",
        "flag": "true",
        "entities": "[]",
    }


# --- media -----------------------------------------------------------------------------------


def test_only_opus_mp3_and_m4a_play_as_voice() -> None:
    opus = b"OggS" + b"\x00" * 24 + b"OpusHead"
    wav = b"RIFF\x00\x00\x00\x00WAVEfmt "
    assert [sniff_audio(d).plays_as_voice for d in (opus, b"ID3\x04", wav, b"OggS")] == [
        True,
        True,
        False,
        False,
    ]


def test_image_size_reads_png_and_jpeg_headers() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 640, 480)
    jpeg = b"\xff\xd8\xff\xe0\x00\x04\x00\x00\xff\xc0\x00\x11\x08" + struct.pack(">HH", 90, 120)
    assert (image_size(png), image_size(jpeg), image_size(b"GIF89a")) == (
        (640, 480),
        (120, 90),
        None,
    )


def test_photo_sizes_scale_down_to_90_and_320() -> None:
    assert photo_sizes(640, 480) == [("s", 90, 68), ("m", 320, 240), ("x", 640, 480)]
