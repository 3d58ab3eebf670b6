"""Logging set-up, and the one redaction every text meant for people goes through.

Owns `redact` and which settings are secrets (`secrets_of`). Every log line (the formatter),
every line `python -m bot check` prints, and every upstream error text (upstream/client.py)
passes through `redact`, so a secret is masked the same way wherever it would have shown.
PTB and httpx log request URLs, and a Bot API URL contains the bot token; redacting in the
formatter covers messages, arguments and tracebacks alike, at every level.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

from bot.config import Settings

MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every one of `secrets` replaced by MASK (empty secrets are none)."""
    # Longest first, so a secret that contains another (the token, its secret half) goes whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def secrets_of(settings: Settings) -> list[str]:
    """What must never be shown or written: the token, its secret half alone, the API key and
    the webhook secret."""
    token = settings.telegram_bot_token.get_secret_value()
    return [
        token,
        token.partition(":")[2],
        settings.gpt_api_key.get_secret_value(),
        # PTB logs setWebhook's parameters at DEBUG.
        settings.webhook_secret.get_secret_value(),
    ]


class RedactingFormatter(logging.Formatter):
    """A formatter that redacts secrets from the finished line."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def setup_logging(level: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    """Log to `stream` (stderr) at `level`, never writing any of `secrets`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per HTTP request is noise at INFO; keep it for DEBUG.
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
