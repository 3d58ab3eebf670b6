"""Entry point: `python -m bot` runs the bot (polling, or a webhook server when WEBHOOK_URL is
set); `python -m bot check` checks the set-up."""

from __future__ import annotations

import asyncio
import logging
import sys

from telegram.error import TelegramError

from bot.app import build_application, handle_stop_signals
from bot.check import run_checks
from bot.config import ConfigError, load_settings
from bot.logs import secrets_of, setup_logging
from bot.webhook import receive_updates

log = logging.getLogger("bot")

USAGE = "usage: python -m bot [run | check]"


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
        results = asyncio.run(run_checks(settings, lambda result: print(result.line(), flush=True)))
        return 0 if all(r.ok for r in results) else 1
    application = build_application(settings)
    # Our own signal handlers (installed on start) cut the replies in progress first.
    handle_stop_signals(application)
    try:
        receive_updates(application, settings)
    except (TelegramError, OSError) as exc:
        # Through the logger, not a bare traceback: PTB's messages can quote the token.
        log.error("Startup failed: %s: %s", type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
