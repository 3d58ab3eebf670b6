"""Logging set-up: one format, and secrets redacted from every line before it is written.

PTB and httpx log request URLs, and a Bot API URL contains the bot token; redacting in the
formatter covers messages, arguments and tracebacks alike, at every level.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

REDACTED = "[REDACTED]"


class RedactingFormatter(logging.Formatter):
    """A formatter that replaces each secret with a marker in the finished line."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        return line


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
