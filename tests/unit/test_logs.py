"""The one redaction: log lines, check's output and upstream errors mask secrets the same way."""

from __future__ import annotations

import io
import logging

from bot.logs import MASK, RedactingFormatter, redact


def test_a_secret_containing_another_is_masked_whole_and_empty_secrets_mask_nothing() -> None:
    token = "123456:ABC-secret"
    text = f"url /bot{token}/getMe, half ABC-secret, key sk-1"
    assert redact(text, ["", "ABC-secret", token, "sk-1"]) == (
        f"url /bot{MASK}/getMe, half {MASK}, key {MASK}"
    )
    assert redact("nothing to hide", ["", ""]) == "nothing to hide"


def test_the_log_formatter_masks_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s", ["tok-1"]))
    logger = logging.getLogger("tests.unit.test_logs")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("bad tok-1")
        except ValueError:
            logger.exception("calling %s", "/bottok-1/getMe")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert f"calling /bot{MASK}/getMe" in written
    assert f"ValueError: bad {MASK}" in written
    assert "tok-1" not in written
