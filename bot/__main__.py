"""Entry point: `python -m bot` runs the bot (polling); `python -m bot check` checks the set-up."""

from __future__ import annotations

import asyncio
import sys

from telegram import Update

from bot.app import build_application, handle_stop_signals
from bot.check import run_checks
from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

USAGE = "usage: python -m bot [run | check]"


def secrets_of(settings: Settings) -> list[str]:
    """What must never be written to a log: the token, its secret half alone, the API key."""
    token = settings.telegram_bot_token.get_secret_value()
    return [token, token.partition(":")[2], settings.gpt_api_key.get_secret_value()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "run"
    if command not in ("run", "check") or len(args) > 1:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, secrets_of(settings))
    if command == "check":
        results = asyncio.run(run_checks(settings))
        for result in results:
            print(result.line())
        return 0 if all(r.ok for r in results) else 1
    application = build_application(settings)
    # Our own signal handlers (installed on start) cut the replies in progress first.
    handle_stop_signals(application)
    application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
