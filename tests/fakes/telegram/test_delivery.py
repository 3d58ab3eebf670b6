"""The fake Telegram's protocol, flood control, update delivery and files, driven through a real
`telegram.Bot` (and raw HTTP where the exact wire shape matters): error payloads, JSON bodies,
fault injection, 429s, long polling, webhooks, uploads and downloads."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import telegram
from aiohttp import web
from telegram import Update
from telegram.error import BadRequest, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.telegram.client import OPUS, bot_for, buttons, last_error
from tests.support import FakeClock

# --- protocol --------------------------------------------------------------------------------


async def test_wire_errors_have_telegrams_shape(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake.api_root) as http:
        unknown = await http.post(f"/bot{fake.token}/fooBar")
        wrong_token = await http.post("/bot1:wrong/getMe")
        unimplemented = await http.post(f"/bot{fake.token}/sendPoll", data={"chat_id": "1"})
        missing = await http.post(f"/bot{fake.token}/SENDMESSAGE", data={"text": "hi"})
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert wrong_token.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unimplemented.status_code == 501
    assert "sendPoll" in unimplemented.json()["description"]
    assert missing.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat_id is empty",
    }


async def test_json_body_is_accepted(fake: FakeTelegram) -> None:
    fake.user_sends(42, "hi")
    async with httpx.AsyncClient(base_url=fake.api_root) as http:
        response = await http.post(
            f"/bot{fake.token}/sendMessage",
            json={
                "chat_id": 42,
                "text": "json",
                "entities": [{"type": "bold", "offset": 0, "length": 4}],
            },
        )
    assert (response.json()["ok"], fake.bot_messages(42)[0].entities) == (
        True,
        [{"type": "bold", "offset": 0, "length": 4}],
    )


async def test_fail_next_fails_exactly_the_given_number_of_calls(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    fake.fail_next("sendMessage", error_code=500, description="Internal Server Error", times=2)
    for _ in range(2):
        with pytest.raises(telegram.error.NetworkError):
            await bot.send_message(42, "try")
    await bot.send_message(42, "try")
    assert [c.error_code for c in fake.calls_to("sendMessage")] == [500, 500, None]


async def test_wait_until_times_out_with_recent_calls(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    with pytest.raises(AssertionError, match="getMe"):
        await fake.wait_until(lambda: False, timeout=0.05)


# --- flood control ---------------------------------------------------------------------------


# PTB itself reads RetryAfter.retry_after while building the exception.
IGNORE_RETRY_AFTER_DEPRECATION = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


@IGNORE_RETRY_AFTER_DEPRECATION
async def test_private_chat_over_its_bucket_gets_429_until_retry_after() -> None:
    clock = FakeClock(100.0)
    async with FakeTelegram(clock=clock) as fake, bot_for(fake) as bot:
        fake.user_sends(42, "hi")
        for _ in range(3):
            await bot.send_message(42, "burst")
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "one too many")
        clock.now += 0.5
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "too early")
        clock.now += 0.5
        await bot.send_message(42, "on time")
        assert (fake.flood_rejections, last_error(fake)) == (2, "Too Many Requests: retry after 1")
        assert await bot.send_chat_action(42, "typing")  # not counted


async def test_429_payload_carries_retry_after() -> None:
    async with FakeTelegram(limits=FloodLimits(chat_burst=1)) as fake:
        fake.user_sends(42, "hi")
        async with httpx.AsyncClient(base_url=fake.api_root) as http:
            url = f"/bot{fake.token}/sendMessage"
            await http.post(url, data={"chat_id": "42", "text": "one"})
            response = await http.post(url, data={"chat_id": "42", "text": "two"})
    assert (response.status_code, response.json()) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )


@IGNORE_RETRY_AFTER_DEPRECATION
async def test_group_gets_twenty_messages_a_minute() -> None:
    clock = FakeClock(100.0)
    async with FakeTelegram(clock=clock) as fake, bot_for(fake) as bot:
        fake.user_sends(-100, "/ask go")
        for _ in range(20):
            await bot.send_message(-100, "spam")
            clock.now += 1.0
        with pytest.raises(RetryAfter):
            await bot.send_message(-100, "twenty-first")
        assert last_error(fake) == "Too Many Requests: retry after 40"
        clock.now += 40.0
        await bot.send_message(-100, "after the window")
        assert len(fake.bot_messages(-100)) == 21


# --- updates, files, webhook -----------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_an_update_arrives_and_offset_confirms(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until(lambda: bool(fake.calls_to("getUpdates")))
    fake.user_sends(42, "/start")
    updates = await asyncio.wait_for(poll, timeout=2)
    assert [(u.message.text, u.message.entities[0].type) for u in updates if u.message] == [
        ("/start", "bot_command")
    ]
    again = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert (again, fake.updates_confirmed) == ((), updates[0].update_id)


async def test_second_poller_terminates_the_first_with_conflict(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    async with httpx.AsyncClient(base_url=fake.api_root) as http:
        first = asyncio.create_task(
            http.post(f"/bot{fake.token}/getUpdates", data={"timeout": "5"})
        )
        await fake.wait_until(lambda: bool(fake.calls_to("getUpdates")))
        assert await bot.get_updates(timeout=0) == ()
        response = await asyncio.wait_for(first, timeout=2)
    assert (response.status_code, response.json()["description"]) == (
        409,
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    )


async def test_update_kinds_outside_allowed_updates_are_discarded(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "ignored")
    sent = await bot.send_message(42, "pick", reply_markup=buttons("a"))
    fake.press_button(42, sent.message_id, "a")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["a"]
    assert [u["message"]["text"] for u in fake.dropped_updates] == ["ignored"]


async def test_queued_update_keeps_the_text_it_was_sent_with(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    message = fake.user_sends(42, "first")
    fake.user_edits(42, message["message_id"], "second")
    updates = await bot.get_updates()
    texts = [u.effective_message.text for u in updates if u.effective_message]
    assert (texts, updates[1].edited_message is not None) == (["first", "second"], True)


async def test_an_edit_changes_a_text_or_a_caption_as_telegram_allows(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    photo = fake.user_sends_photo(42, b"\xff\xd8 jpeg", 64, 48, caption="a cat")
    fake.user_edits(42, photo["message_id"], "a dog")
    sticker = fake.user_sends_sticker(42)
    text = fake.user_sends(42, "hello")
    with pytest.raises(ValueError, match="neither text nor a caption"):
        fake.user_edits(42, sticker["message_id"], "hi")
    with pytest.raises(ValueError, match="changes nothing"):
        fake.user_edits(42, text["message_id"], "hello")
    with pytest.raises(ValueError, match="to nothing"):
        fake.user_edits(42, text["message_id"], " ")
    updates = await bot.get_updates()
    edited = [u.edited_message for u in updates if u.edited_message]
    assert [(m.caption, m.text) for m in edited] == [("a dog", None)]


async def test_an_update_outside_the_bot_api_schema_is_not_queued(fake: FakeTelegram) -> None:
    with pytest.raises(AssertionError):
        fake.enqueue_update({"edited_message": {"message_id": 1, "text": "no chat, no date"}})
    assert fake.pending_updates == []


async def test_upload_and_download_round_trip(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.user_sends(42, "send me a file")
    payload = bytes(range(256)) * 40
    sent = await bot.send_document(42, payload, filename="data.bin", caption="here")
    assert sent.document is not None
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert (bytes(downloaded), fake.bot_messages(42)[0].media) == (payload, payload)


async def test_users_voice_note_can_be_fetched_and_big_files_cannot(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    voice = fake.user_sends_voice(42, OPUS, duration=3)["voice"]
    big = fake.user_sends_voice(42, OPUS, duration=900, file_size=21 * 1024 * 1024)["voice"]
    file = await bot.get_file(voice["file_id"])
    assert bytes(await file.download_as_bytearray()) == OPUS
    with pytest.raises(BadRequest):
        await bot.get_file(big["file_id"])
    assert last_error(fake) == "Bad Request: file is too big"
    with pytest.raises(BadRequest):
        await bot.get_file("nonsense")
    assert last_error(fake) == "Bad Request: invalid file_id"


async def test_webhook_receives_updates_with_the_secret_header(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    statuses = [500, 200, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=statuses[len(received) - 1])

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        fake.webhook_retry_delay = 0.01
        port = runner.addresses[0][1]
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-token")
        fake.user_sends(42, "via webhook")
        await fake.wait_until(lambda: fake.updates_confirmed > 0)
        with pytest.raises(telegram.error.Conflict):
            await bot.get_updates()
        info = await bot.get_webhook_info()
    finally:
        await runner.cleanup()
    assert [secret for secret, _ in received] == ["s3cret-token", "s3cret-token"]
    assert received[1][1]["message"]["text"] == "via webhook"  # type: ignore[index]
    assert [d.status for d in fake.webhook_deliveries] == [500, 200]
    assert (info.pending_update_count, info.last_error_message) == (
        0,
        "Wrong response from the webhook: 500 Internal Server Error",
    )


async def test_a_ptb_application_polls_replies_and_stops_cleanly(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Hello!")

    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        asked = fake.user_sends(42, "/start")
        await fake.wait_until(lambda: bool(fake.bot_messages(42)))
        await app.updater.stop()
        await app.stop()
    reply = fake.bot_messages(42)[0]
    assert (reply.text, reply.reply_to_message_id) == ("Hello!", None)
    assert (fake.rejections, fake.pending_updates) == ([], [])
    assert asked["message_id"] == 1
