"""Photos and text files end to end: the real Application, the fake Telegram, the fake upstream.

The fake Telegram serves the photo and file bytes at its file URL; the fake upstream refuses
images sent to models outside the gpt-4o family and malformed image parts, as OpenAI does.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.handlers.context import Services
from bot.handlers.documents import AS_PHOTO, NO_QUESTION
from bot.media.attachments import SUPPORTED
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript

pytestmark = pytest.mark.relaxed(album_wait=0.3)

CHAT = 42
GROUP = -100200300
IN_GROUP: dict[str, Any] = {"chat_type": "supergroup"}
# JPEG markers around bytes of every value: what arrives upstream must be exactly these.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"
OTHER_PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(255, -1, -1)) + b"\xff\xd9"


def last_user_content(upstream: FakeUpstream) -> Any:
    return upstream.chat_requests()[-1].body["messages"][-1]["content"]


def image_bytes(part: dict[str, Any]) -> bytes:
    assert part["type"] == "image_url"
    header, data = part["image_url"]["url"].split(",", 1)
    assert header == "data:image/jpeg;base64"
    return base64.b64decode(data)


def photo_file_id(telegram: FakeTelegram, width: int) -> str:
    """The file id of the stored photo size `width` pixels wide."""
    [message] = [m for m in telegram.messages.values() if "photo" in m]
    return str(next(size["file_id"] for size in message["photo"] if size["width"] == width))


async def test_a_photo_with_a_caption_goes_upstream_as_an_image_part_with_the_caption(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("A test pattern."))
    async with running_bot(settings):
        telegram.user_sends_photo(CHAT, PHOTO, 1280, 720, caption="What is this?")
        await telegram.wait_until(lambda: telegram.texts(CHAT) == ["A test pattern."])
    request = upstream.chat_requests()[-1].body
    text, image = request["messages"][-1]["content"]
    assert request["model"] == "gpt-4o-mini"
    assert text == {"type": "text", "text": "[photo 1280x720]\nWhat is this?"}
    assert image_bytes(image) == PHOTO
    # The largest size, fetched from the file URL under TELEGRAM_API_URL (the fake's /file/bot…).
    assert telegram.downloads == [telegram.files[photo_file_id(telegram, 1280)].file_path]


async def test_the_largest_photo_size_under_the_cap_is_the_one_sent(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "bot.sqlite3", photo_max_bytes=200)
    small = PHOTO[:150]  # the original (269 bytes) is over the cap, the 320 px size is under it
    async with running_bot(settings):
        telegram.user_sends_photo(CHAT, PHOTO, 1280, 720, scaled={"s": small[:50], "m": small})
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 1)
    text, image = last_user_content(upstream)
    assert text == {"type": "text", "text": "[photo 320x180]"}
    assert image_bytes(image) == small


async def test_a_photo_in_a_chat_with_a_text_only_model_is_seen_by_the_vision_model_once(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        telegram, upstream, tmp_path / "bot.sqlite3", default_model="gpt-3.5-turbo"
    )
    upstream.script(ReplyScript("A cat on a mat."), ReplyScript("You're welcome."))
    async with running_bot(settings):
        telegram.user_sends_photo(CHAT, PHOTO, 1280, 720, caption="What is it?")
        await telegram.wait_until(lambda: telegram.texts(CHAT) == ["A cat on a mat."])
        telegram.user_sends(CHAT, "thanks")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 2)
    photo_turn, later = (request.body for request in upstream.chat_requests())
    assert photo_turn["model"] == "gpt-4o-mini"
    assert later["model"] == "gpt-3.5-turbo"
    # The later turn reads the marker the history kept, never the bytes again.
    assert later["messages"][1:] == [
        {"role": "user", "content": "[photo 1280x720]\nWhat is it?"},
        {"role": "assistant", "content": "A cat on a mat."},
        {"role": "user", "content": "thanks"},
    ]


async def test_an_album_becomes_one_request_with_every_photo_in_order(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("Two pictures."))
    async with running_bot(settings):
        telegram.user_sends_photo(
            CHAT, PHOTO, 1280, 720, caption="Compare these", media_group_id="album-1"
        )
        telegram.user_sends_photo(CHAT, OTHER_PHOTO, 800, 600, media_group_id="album-1")
        await telegram.wait_until(lambda: telegram.texts(CHAT) == ["Two pictures."])
    [request] = upstream.chat_requests()
    text, first, second = request.body["messages"][-1]["content"]
    assert text["text"] == "[photo 1280x720] [photo 800x600]\nCompare these"
    assert [image_bytes(first), image_bytes(second)] == [PHOTO, OTHER_PHOTO]


async def test_a_message_sent_right_after_an_album_is_answered_after_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends_photo(CHAT, PHOTO, 1280, 720, media_group_id="album-2")
        telegram.user_sends_photo(CHAT, OTHER_PHOTO, 800, 600, media_group_id="album-2")
        telegram.user_sends(CHAT, "which one is brighter?")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 2)
    album, question = (request.body["messages"][-1] for request in upstream.chat_requests())
    assert album["content"][0]["text"] == "[photo 1280x720] [photo 800x600]"
    assert question["content"] == "which one is brighter?"


@pytest.mark.relaxed(album_wait=0.3, daily_message_quota=1)
async def test_albums_refused_before_they_are_gathered_are_not_kept(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings) as application:
        services: Services = application.bot_data["services"]
        telegram.user_sends(CHAT, "first")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 1)
        for album in range(3):
            for width in (1280, 800):
                telegram.user_sends_photo(CHAT, PHOTO, width, 600, media_group_id=f"over-{album}")
        await telegram.wait_until(lambda: telegram.updates_confirmed >= telegram.last_update_id)
    # Leaving the block waited for every update the bot had fetched to be handled.
    assert len(services.albums) == 0
    [_, refusal] = telegram.texts(CHAT)  # told once, the rest of the minute in silence
    assert refusal.startswith("⚠️ You've used today's quota of 1 message.")
    assert telegram.calls_to("getFile") == []


async def test_a_text_document_is_included_with_its_name_size_and_the_question(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    code = "def greet():\n    print('héllo')\n"
    async with running_bot(settings):
        telegram.user_sends_document(
            CHAT, code.encode(), "greet.py", "text/x-python", caption="What does it print?"
        )
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 1)
    assert last_user_content(upstream) == (
        f"[document greet.py, 33 B]\n```py\n{code}```\n\nWhat does it print?"
    )


async def test_a_long_document_is_cut_to_its_share_of_the_context_and_stays_for_follow_ups(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "bot.sqlite3", history_char_budget=2000)
    lines = "".join(f"row {n:05d}\n" for n in range(1000))  # 10 000 characters
    upstream.script(ReplyScript("Rows."), ReplyScript("Row 00100, I think."))
    async with running_bot(settings):
        telegram.user_sends_document(CHAT, lines.encode(), "rows.csv", "text/csv")
        await telegram.wait_until(lambda: telegram.texts(CHAT)[-1:] == ["Rows."])
        telegram.user_sends(CHAT, "Which row is the last one you see?")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 3)
    asked, followed_up = (request.body["messages"] for request in upstream.chat_requests())
    content = asked[-1]["content"]
    shown = content.split("```csv\n", 1)[1].split("```", 1)[0]
    assert len(content) <= 2000 * 2 // 3
    assert lines.startswith(shown)
    assert shown.endswith("\n")  # cut at a line end
    assert f"[truncated: only the first {len(shown):,} of 10,000 characters" in content
    assert telegram.texts(CHAT)[0] == (
        f"rows.csv is longer than I can read at once: "
        f"I'm reading its first {len(shown):,} of 10,000 characters."
    )
    assert followed_up[1:] == [
        {"role": "user", "content": content},
        {"role": "assistant", "content": "Rows."},
        {"role": "user", "content": "Which row is the last one you see?"},
    ]


def reading_notice(name: str, shown: int, total: int) -> str:
    return (
        f"{name} is longer than I can read at once: "
        f"I'm reading its first {shown:,} of {total:,} characters."
    )


async def test_a_document_cut_for_a_large_context_budget_still_fits_one_turn(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    # Two thirds of this budget (10 000) is more than one turn may hold (MAX_MESSAGE_CHARS).
    settings = make_settings(
        telegram, upstream, tmp_path / "bot.sqlite3", history_char_budget=15_000
    )
    lines = "".join(f"row {n:05d}\n" for n in range(1200))  # 12 000 characters
    upstream.script(ReplyScript("Rows."))
    async with running_bot(settings):
        telegram.user_sends_document(CHAT, lines.encode(), "rows.csv", "text/csv")
        await telegram.wait_until(lambda: telegram.texts(CHAT)[-1:] == ["Rows."])
    content = last_user_content(upstream)
    shown = content.split("```csv\n", 1)[1].split("```", 1)[0]
    assert telegram.texts(CHAT) == [reading_notice("rows.csv", len(shown), 12_000), "Rows."]
    assert len(content) <= settings.max_message_chars
    assert lines.startswith(shown)


async def test_a_document_replying_to_a_long_message_makes_room_for_the_quote(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    earlier = "Here is the spec. " * 200  # 3 600 characters, quoted before the file
    lines = "".join(f"row {n:05d}\n" for n in range(1000))  # 10 000 characters
    upstream.script(ReplyScript("Spec noted."), ReplyScript("Rows match."))
    async with running_bot(settings):
        spec = telegram.user_sends(CHAT, earlier.strip())
        await telegram.wait_until(lambda: telegram.texts(CHAT)[-1:] == ["Spec noted."])
        telegram.user_sends_document(
            CHAT, lines.encode(), "rows.csv", "text/csv", reply_to_message_id=spec["message_id"]
        )
        await telegram.wait_until(lambda: telegram.texts(CHAT)[-1:] == ["Rows match."])
    content = last_user_content(upstream)
    shown = content.split("```csv\n", 1)[1].split("```", 1)[0]
    assert content.startswith("Alice wrote:\n> Here is the spec.")
    assert len(content) <= settings.max_message_chars
    assert telegram.texts(CHAT)[-2:] == [
        reading_notice("rows.csv", len(shown), 10_000),
        "Rows match.",
    ]


async def test_a_caption_leaving_no_room_for_the_file_is_refused_without_promising_to_read_it(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(telegram, upstream, tmp_path / "bot.sqlite3", max_message_chars=300)
    caption = "Please look at this file very carefully. " * 10  # 410 characters
    async with running_bot(settings):
        telegram.user_sends_document(CHAT, b"a,b\n" * 100, "t.csv", "text/csv", caption=caption)
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 1)
    [refusal] = telegram.texts(CHAT)
    assert refusal.startswith("Your message is too long:")
    assert "and I take at most 300" in refusal
    assert upstream.chat_requests() == []


async def test_a_binary_document_is_refused_with_what_the_bot_can_read(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends_document(CHAT, b"\x7fELF\x00\x01", "tool", "application/octet-stream")
        telegram.user_sends_document(CHAT, b"PK\x03\x04", "bundle.zip", "application/zip")
        telegram.user_sends_document(CHAT, b"ab\x00\xff", "notes.txt", "text/plain")
        telegram.user_sends_document(CHAT, PHOTO, "cat.jpg", "image/jpeg")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 4)
    assert sorted(map(str, telegram.texts(CHAT))) == sorted(
        [
            f"I can't read tool. {SUPPORTED}",
            f"I can't read bundle.zip. {SUPPORTED}",
            f"I couldn't read notes.txt as text: it is binary or not UTF-8. {SUPPORTED} "
            "Save it as UTF-8 text, or paste the text in a message.",
            AS_PHOTO,
        ]
    )
    assert upstream.chat_requests() == []
    assert telegram.downloads == [next(p for p in telegram.files_by_path if p.endswith(".txt"))]


async def test_an_oversized_document_is_refused_without_downloading_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends_document(CHAT, b"a,b\n", "big.csv", "text/csv", file_size=30_000_000)
        telegram.user_sends_document(
            CHAT, b"%PDF", "big.pdf", "application/pdf", file_size=12_345_678
        )
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 2)
    assert sorted(telegram.texts(CHAT)) == [
        "big.csv is 30.0 MB; the most I can read is 10.0 MB.",
        "big.pdf is 12.3 MB; the most I can read is 10.0 MB.",
    ]
    assert telegram.downloads == []
    assert upstream.chat_requests() == []


async def test_in_a_group_only_photos_and_files_addressed_to_the_bot_are_read(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends_photo(GROUP, PHOTO, 1280, 720, caption="our holiday", **IN_GROUP)
        telegram.user_sends_photo(GROUP, PHOTO, 1280, 720, media_group_id="g1", **IN_GROUP)
        telegram.user_sends_photo(GROUP, PHOTO, 800, 600, media_group_id="g1", **IN_GROUP)
        telegram.user_sends_document(GROUP, b"x", "notes.txt", "text/plain", **IN_GROUP)
        telegram.user_sends_photo(
            GROUP, PHOTO, 1280, 720, caption="@gpt_test_bot what is this?", **IN_GROUP
        )
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 1)
        telegram.user_sends_photo(GROUP, PHOTO, 640, 480, media_group_id="g2", **IN_GROUP)
        telegram.user_sends_photo(
            GROUP, PHOTO, 640, 480, caption="/ask compare", media_group_id="g2", **IN_GROUP
        )
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 2)
        telegram.user_sends_document(
            GROUP, b"x = 1\n", "a.py", "text/x-python", caption="/ask@gpt_test_bot", **IN_GROUP
        )
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 3)
    prompts = [request.body["messages"][-1]["content"] for request in upstream.chat_requests()]
    assert [p[0]["text"] if isinstance(p, list) else p for p in prompts] == [
        "[photo 1280x720]\nwhat is this?",
        "[photo 640x480] [photo 640x480]\ncompare",
        f"[document a.py, 6 B]\n```py\nx = 1\n```\n\n{NO_QUESTION}",
    ]
    assert all(m.reply_to_message_id is not None for m in telegram.bot_messages(GROUP))
    assert len(telegram.downloads) == 4  # nothing of what was not addressed was fetched
