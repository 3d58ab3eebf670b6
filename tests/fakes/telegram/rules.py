"""Telegram's rules for text, entities, keyboards and commands, as pure functions.

Owns: UTF-16 lengths, the message text and caption checks (trim, emptiness, 4096/1024 limits),
entity validation and nesting, inline keyboard and bot command checks, and `ApiError`, the one
exception every rule raises. Must not touch server state, sockets or files.

Where Telegram rejects input, the description is Telegram's own wording (checked against tdlib's
`fix_formatted_text` and live-API test suites). Where Telegram silently *repairs* input instead,
these rules reject it on purpose: tdlib drops a link or code span that overlaps another, drops
formatting inside code, and re-splits overlapping styles, so the user sees something the bot never
meant. The documented contract ("if two entities have common characters, then one of them is fully
contained inside another"; only bold, italic, underline, strikethrough and spoiler may nest with
anything except pre and code; blockquotes don't nest; nothing else contains anything else) is what
a bot must honour, so the fake turns the silent repair into a 400 "can't parse entities: ..." that
names both entities. Zero-length entities are dropped, as Telegram does: they render nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
MAX_ENTITY_BOUND = 1_000_000

STYLE_ENTITIES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
CODE_ENTITIES = frozenset({"code", "pre"})
QUOTE_ENTITIES = frozenset({"blockquote", "expandable_blockquote"})
ENTITY_TYPES = frozenset(
    {
        *STYLE_ENTITIES,
        *CODE_ENTITIES,
        *QUOTE_ENTITIES,
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# Characters Telegram treats as "nothing visible" (tdlib's strip_empty_characters).
_INVISIBLE = re.compile(
    "^[ \n\u00a0\u1680\u180e\u2000-\u200f\u202e\u202f\u205f\u2800\u3000\ufeff\ufffc"
    "\U000e0000-\U000e007f]*$"
)
_COMMAND = re.compile(r"[a-z0-9_]+")
_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|localhost|\[[0-9a-fA-F:]+\]")

JsonDict = dict[str, Any]


class ApiError(Exception):
    """A Bot API failure: HTTP status, Telegram's description and optional parameters."""

    def __init__(
        self, error_code: int, description: str, parameters: JsonDict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    @classmethod
    def bad_request(cls, reason: str) -> ApiError:
        return cls(400, f"Bad Request: {reason}")

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.error_code}
        body["description"] = self.description
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Text and entities as Telegram stores them: trimmed, entities sorted and in range."""

    text: str
    entities: list[JsonDict]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_message_text(text: str | None, entities: list[JsonDict] | None) -> FormattedText:
    """Validate a message text (sendMessage, editMessageText) and return what Telegram keeps."""
    if not text:
        raise ApiError.bad_request("message text is empty")
    fixed = fix_formatted_text(text, entities or [])
    if not fixed.text:
        raise ApiError.bad_request("text must be non-empty")
    if utf16_len(fixed.text) > TEXT_LIMIT:
        raise ApiError.bad_request("message is too long")
    return fixed


def check_caption(caption: str | None, entities: list[JsonDict] | None) -> FormattedText | None:
    """Validate a media caption; a missing or blank caption means no caption."""
    if not caption:
        return None
    fixed = fix_formatted_text(caption, entities or [])
    if not fixed.text:
        return None
    if utf16_len(fixed.text) > CAPTION_LIMIT:
        raise ApiError.bad_request("message caption is too long")
    return fixed


def check_draft_text(text: str | None, entities: list[JsonDict] | None) -> FormattedText:
    """Validate a sendMessageDraft text: 0-4096 units, empty shows a placeholder."""
    if not text:
        return FormattedText("", [])
    fixed = fix_formatted_text(text, entities or [])
    if utf16_len(fixed.text) > TEXT_LIMIT:
        raise ApiError.bad_request("message is too long")
    return fixed


def fix_formatted_text(text: str, entities: list[JsonDict]) -> FormattedText:
    """Check entities against `text`, then trim the text as Telegram does."""
    checked = [_check_entity_fields(entity) for entity in entities]
    checked = sorted((e for e in checked if e["length"] > 0), key=_entity_order)
    _check_ranges(text, checked)
    _check_nesting(checked)
    return _trim(text, checked)


def _entity_order(entity: JsonDict) -> tuple[int, int]:
    return entity["offset"], -entity["length"]


def _check_entity_fields(entity: JsonDict) -> JsonDict:
    kind = entity.get("type")
    if kind not in ENTITY_TYPES:
        raise ApiError.bad_request("can't parse MessageEntity: Unsupported type specified")
    for name in ("offset", "length"):
        value = entity.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiError.bad_request(
                f'can\'t parse MessageEntity: Field "{name}" must be a Number'
            )
    if not 0 <= entity["offset"] <= MAX_ENTITY_BOUND:
        raise ApiError.bad_request(f"receive an entity with incorrect offset {entity['offset']}")
    if not 0 <= entity["length"] <= MAX_ENTITY_BOUND:
        raise ApiError.bad_request(f"receive an entity with incorrect length {entity['length']}")
    required = {"text_link": "url", "text_mention": "user", "custom_emoji": "custom_emoji_id"}
    needed = required.get(str(kind))
    if needed is not None and needed not in entity:
        raise ApiError.bad_request(f"can't parse MessageEntity: Can't find field \"{needed}\"")
    if kind == "text_link":
        problem = url_problem(str(entity["url"]))
        if problem is not None:
            raise ApiError.bad_request(f"entity URL '{entity['url']}' is invalid: {problem}")
    if kind == "custom_emoji" and not str(entity["custom_emoji_id"]).isdigit():
        raise ApiError.bad_request(
            'can\'t parse MessageEntity: Field "custom_emoji_id" must be a valid Number'
        )
    return dict(entity)


def _check_ranges(text: str, entities: list[JsonDict]) -> None:
    # utf8_at[u] is the UTF-8 byte offset at UTF-16 offset u; None inside a surrogate pair.
    utf8_at: list[int | None] = [0]
    for char in text:
        end = (utf8_at[-1] or 0) + len(char.encode())
        utf8_at.extend([None, end] if ord(char) > 0xFFFF else [end])
    total = len(utf8_at) - 1
    for entity in entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if start > total:
            raise ApiError.bad_request(
                f"entity begins after the end of the text at UTF-16 offset {start}"
            )
        if utf8_at[start] is None:
            raise ApiError.bad_request(
                f"entity begins in a middle of a UTF-16 symbol at byte offset {utf8_at[start + 1]}"
            )
        if end > total:
            raise ApiError.bad_request(
                f"entity beginning at UTF-16 offset {start} ends after the end of the text "
                f"at UTF-16 offset {end}"
            )
        if utf8_at[end] is None:
            raise ApiError.bad_request(
                f"entity beginning at UTF-16 offset {start} ends in a middle of a UTF-16 symbol "
                f"at byte offset {utf8_at[end + 1]}"
            )


def may_contain(outer: str, inner: str) -> bool:
    """Whether an `outer` entity may fully contain an `inner` one (Telegram's nesting rules)."""
    if outer in CODE_ENTITIES or inner in CODE_ENTITIES:
        return outer in QUOTE_ENTITIES and inner not in QUOTE_ENTITIES
    if outer in QUOTE_ENTITIES and inner in QUOTE_ENTITIES:
        return False
    return outer in STYLE_ENTITIES or inner in STYLE_ENTITIES or outer in QUOTE_ENTITIES


def _check_nesting(entities: list[JsonDict]) -> None:
    for index, outer in enumerate(entities):
        outer_end = outer["offset"] + outer["length"]
        for inner in entities[index + 1 :]:
            if inner["offset"] >= outer_end:
                break
            where_outer = f"{outer['type']} entity at UTF-16 offset {outer['offset']}"
            where_inner = f"{inner['type']} entity at UTF-16 offset {inner['offset']}"
            if inner["offset"] + inner["length"] > outer_end:
                raise ApiError.bad_request(
                    f"can't parse entities: {where_inner} partially overlaps {where_outer}"
                )
            same_range = inner["offset"] == outer["offset"] and inner["length"] == outer["length"]
            if may_contain(outer["type"], inner["type"]) or (
                same_range and may_contain(inner["type"], outer["type"])
            ):
                continue
            raise ApiError.bad_request(
                f"can't parse entities: {where_outer} can't contain {where_inner}"
            )


def _trim(text: str, entities: list[JsonDict]) -> FormattedText:
    """Strip spaces and line breaks at the ends, cutting entities; never trim into an entity."""
    units = text.encode("utf-16-le")
    end = len(units) // 2
    while end > 0 and units[2 * end - 2 : 2 * end] in (b" \x00", b"\n\x00"):
        end -= 1
    first_entity = min((e["offset"] for e in entities if e["offset"] < end), default=end)
    start = 0
    while start < first_entity and units[2 * start : 2 * start + 2] in (b" \x00", b"\n\x00"):
        start += 1
    kept = units[2 * start : 2 * end].decode("utf-16-le")
    if _INVISIBLE.match(kept):
        return FormattedText("", [])
    trimmed: list[JsonDict] = []
    for entity in entities:
        entity_end = min(entity["offset"] + entity["length"], end)
        if entity["offset"] < entity_end:
            trimmed.append(
                {
                    **entity,
                    "offset": entity["offset"] - start,
                    "length": entity_end - entity["offset"],
                }
            )
    return FormattedText(kept, trimmed)


def url_problem(url: str) -> str | None:
    """Why Telegram would refuse `url` in a text_link or button, or None if it is fine."""
    if not url:
        return "URL host is empty"
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme.lower() in ("tg", "ton"):
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return "Unsupported URL protocol"
    if not parts.netloc:
        return "URL host is empty"
    if not _HOST.fullmatch(parts.hostname or ""):
        return "Wrong HTTP URL"
    return None


def check_reply_markup(markup: JsonDict) -> None:
    """Inline keyboard rules: one action per button, callback_data <= 64 bytes, valid URLs."""
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        return
    for row in rows:
        for button in row:
            actions = [
                name
                for name in INLINE_BUTTON_ACTIONS
                if name in button and not (name in ("url", "callback_data") and button[name] == "")
            ]
            if not actions:
                raise ApiError.bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise ApiError.bad_request(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, got {', '.join(actions)}"
                )
            data = button.get("callback_data")
            if isinstance(data, str) and len(data.encode()) > CALLBACK_DATA_LIMIT:
                raise ApiError.bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if isinstance(url, str) and (problem := url_problem(url)) is not None:
                raise ApiError.bad_request(
                    f"inline keyboard button URL '{url}' is invalid: {problem}"
                )


def check_bot_commands(commands: list[JsonDict]) -> None:
    """setMyCommands rules: at most 100 commands, names ^[a-z0-9_]{1,32}$, descriptions 1-256."""
    if len(commands) > 100:
        raise ApiError.bad_request("BOT_COMMANDS_TOO_MUCH")
    for command in commands:
        name, description = str(command["command"]), str(command["description"])
        if not name:
            raise ApiError.bad_request("command must be non-empty")
        if len(name) > 32:
            raise ApiError.bad_request("command length must not exceed 32")
        if not _COMMAND.fullmatch(name):
            raise ApiError.bad_request("BOT_COMMAND_INVALID")
        if not description.strip():
            raise ApiError.bad_request("command description must be non-empty")
        if len(description) > 256:
            raise ApiError.bad_request("command description length must not exceed 256")
