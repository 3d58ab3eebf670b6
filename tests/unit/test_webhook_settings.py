"""Webhook settings: what startup accepts, and what `check` says api.telegram.org would refuse."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import telegram
from telegram.error import BadRequest

from bot.check import CheckFailed, check_webhook
from bot.config import ConfigError, Settings
from bot.webhook import webhook_problems
from tests.fakes.telegram import FakeTelegram
from tests.support import settings_from

TOKEN = "123456:AAHsecretHALFofTheToken"


settings = partial(settings_from, telegram_bot_token=TOKEN)


def config_error(**values: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(**values)
    return str(caught.value)


def test_without_a_webhook_url_the_bot_polls_and_needs_no_secret() -> None:
    plain = settings()
    assert (plain.webhook_url, plain.webhook_listen, plain.webhook_port) == ("", "0.0.0.0", 8443)


def test_a_webhook_url_without_a_secret_is_refused_naming_the_secret() -> None:
    assert config_error(webhook_url="https://bot.example.com/tg") == (
        "WEBHOOK_SECRET is required when WEBHOOK_URL is set (environment or .env)"
    )


@pytest.mark.parametrize("secret", ["has space", "semi;colon", "ü", "x" * 257])
def test_a_secret_outside_telegrams_alphabet_is_refused(secret: str) -> None:
    assert config_error(webhook_url="https://b.example.com/", webhook_secret=secret) == (
        "WEBHOOK_SECRET: use 1-256 characters from A-Z, a-z, 0-9, _ and - (Telegram's rule)"
    )


def test_a_secret_of_256_allowed_characters_is_accepted() -> None:
    secret = ("Az09_-" * 43)[:256]
    chosen = settings(webhook_url="https://b.example.com/", webhook_secret=secret)
    assert chosen.webhook_secret.get_secret_value() == secret


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"webhook_url": f"https://b.example.com/{TOKEN}"}, "WEBHOOK_URL"),
        ({"webhook_url": "https://b.example.com/AAHsecretHALFofTheToken"}, "WEBHOOK_URL"),
        (
            {"webhook_url": "https://b.example.com/", "webhook_path": "/h/AAHsecretHALFofTheToken"},
            "WEBHOOK_PATH",
        ),
    ],
)
def test_the_token_never_goes_into_the_webhook_url_or_path(
    values: dict[str, str], expected: str
) -> None:
    error = config_error(webhook_secret="s3cret", **values)
    assert error == f"{expected} must not contain the bot token"
    assert "AAHsecretHALFofTheToken" not in error


def test_the_public_bot_id_may_appear_in_the_url() -> None:
    chosen = settings(webhook_url="https://b.example.com/bot123456", webhook_secret="s")
    assert chosen.webhook_listen_path == "/bot123456"


@pytest.mark.parametrize(
    ("url", "path", "expected"),
    [
        ("https://b.example.com/telegram/hook", "", "/telegram/hook"),
        ("https://b.example.com", "", "/"),
        ("https://b.example.com/public/hook", "/hook", "/hook"),
    ],
)
def test_the_server_listens_on_webhook_path_else_the_urls_path(
    url: str, path: str, expected: str
) -> None:
    chosen = settings(webhook_url=url, webhook_path=path, webhook_secret="s")
    assert chosen.webhook_listen_path == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"webhook_url": "bot.example.com/hook"}, "WEBHOOK_URL: must be a full URL"),
        ({"webhook_path": "hook"}, "WEBHOOK_PATH: must start with /"),
        ({"webhook_path": "/a b"}, "WEBHOOK_PATH: must start with /"),
        ({"webhook_port": 0}, "WEBHOOK_PORT: Input should be greater than or equal to 1"),
    ],
)
def test_malformed_webhook_settings_are_refused_naming_the_variable(
    values: dict[str, Any], expected: str
) -> None:
    assert config_error(webhook_secret="s", **values).startswith(expected)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bot.example.com/hook", []),
        ("https://bot.example.com:8443/hook", []),
        ("https://bot.example.com:88/", []),
        (
            "http://bot.example.com/hook",
            ["WEBHOOK_URL must use https (Telegram refuses other schemes)"],
        ),
        (
            "https://bot.example.com:8080/hook",
            ["WEBHOOK_URL port 8080 is not one Telegram accepts (443, 80, 88, 8443)"],
        ),
        ("https://10.0.0.5/hook", ["WEBHOOK_URL host 10.0.0.5 is not reachable from Telegram"]),
        ("https://localhost/hook", ["WEBHOOK_URL host localhost is not reachable from Telegram"]),
    ],
)
def test_webhook_problems_are_the_ones_telegram_would_refuse(url: str, expected: list[str]) -> None:
    assert webhook_problems(url) == expected


async def test_check_fails_a_url_api_telegram_org_would_refuse_without_asking_it() -> None:
    chosen = settings(webhook_url="http://bot.example.com:8080/hook", webhook_secret="s")
    with pytest.raises(CheckFailed) as caught:
        await check_webhook(chosen)
    assert str(caught.value) == (
        "WEBHOOK_URL must use https (Telegram refuses other schemes); "
        "WEBHOOK_URL port 8080 is not one Telegram accepts (443, 80, 88, 8443)"
    )


async def test_the_fake_telegram_refuses_webhook_urls_real_telegram_refuses() -> None:
    async with FakeTelegram() as fake:
        bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        async with bot:
            refusals = []
            for url in ("http://bot.example.com/hook", "https://bot.example.com:8080/hook"):
                with pytest.raises(BadRequest) as caught:
                    await bot.set_webhook(url)
                refusals.append(caught.value.message)
            accepted = await bot.set_webhook("https://bot.example.com:8443/hook")
    assert refusals == [
        "Bad webhook: an https url must be provided for webhook",
        "Bad webhook: webhook can be set up only on ports 80, 88, 443 or 8443",
    ]
    assert accepted is True


async def test_check_in_polling_mode_says_the_bot_deletes_a_webhook_telegram_still_has() -> None:
    async with FakeTelegram() as fake:
        bot = telegram.Bot(fake.token, base_url=fake.base_url)
        async with bot:
            await bot.set_webhook("https://old.example.com/hook")
        polling = settings_for(fake)
        detail = await check_webhook(polling)
    assert detail == (
        "WEBHOOK_URL not set: the bot polls with getUpdates; "
        "it deletes Telegram's webhook https://old.example.com/hook on start"
    )


async def test_check_in_webhook_mode_shows_telegrams_last_delivery_error() -> None:
    async with FakeTelegram(webhook_retry_delay=5.0) as fake:
        url = "http://127.0.0.1:9/hook"  # nothing listens on the discard port
        bot = telegram.Bot(fake.token, base_url=fake.base_url)
        async with bot:
            await bot.set_webhook(url, secret_token="s")
        fake.user_sends(10, "anyone there?")
        await fake.wait_until(lambda: bool(fake.webhook_deliveries))
        detail = await check_webhook(settings_for(fake, webhook_url=url, webhook_secret="s"))
    assert detail.startswith(
        "Telegram posts to http://127.0.0.1:9/hook; the bot listens on http://0.0.0.0:8443/hook"
    )
    assert "; Telegram's last delivery error: Connection failed: " in detail


def settings_for(fake: FakeTelegram, **values: Any) -> Settings:
    return settings(telegram_bot_token=fake.token, telegram_api_url=fake.api_root, **values)
