"""How updates arrive: long polling, or PTB's webhook server when WEBHOOK_URL is set.

Owns the choice between the two, the arguments each gets (the same `allowed_updates` and pending-
update policy in both), and `webhook_problems`: the rules api.telegram.org applies to a webhook URL,
for `python -m bot check`. PTB does the rest and we rely on it: `run_webhook` calls setWebhook with
the secret token, its tornado handler answers 403 to a request without the right
X-Telegram-Bot-Api-Secret-Token header, and answers 200 as soon as the update is queued, so a slow
reply never holds Telegram's request open (no resends). `run_polling` calls deleteWebhook first, so
switching back to polling needs nothing but removing WEBHOOK_URL. Must not touch handlers or
services; TLS ends at a reverse proxy in front of the server (see README, "Webhook mode").
"""

from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import urlsplit

from telegram import Update

from bot.config import Settings
from bot.handlers.context import BotApplication

log = logging.getLogger(__name__)

OFFICIAL_API = "https://api.telegram.org"
# setWebhook: "Ports currently supported for webhooks: 443, 80, 88, 8443."
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)


def receive_updates(application: BotApplication, settings: Settings) -> None:
    """Run the bot until SIGINT/SIGTERM, polling or serving the webhook as configured."""
    if not settings.webhook_url:
        # stop_signals=None: bot.app.handle_stop_signals installs its own, which cut the
        # replies in progress before PTB waits for its handlers.
        application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None)
        return
    log.info("Webhook mode: %s", describe_webhook(settings))
    application.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        # PTB compiles the path into a pattern; escaping keeps "." and "-" literal.
        url_path=re.escape(settings.webhook_listen_path),
        webhook_url=settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=Update.ALL_TYPES,
        stop_signals=None,
    )


def describe_webhook(settings: Settings) -> str:
    """Where Telegram posts and where the bot listens, in one line without secrets."""
    return (
        f"Telegram posts to {settings.webhook_url}; the bot listens on "
        f"http://{settings.webhook_listen}:{settings.webhook_port}{settings.webhook_listen_path}"
    )


def webhook_problems(webhook_url: str) -> list[str]:
    """Why api.telegram.org would refuse `webhook_url` in setWebhook; empty if it would not."""
    url = urlsplit(webhook_url)
    problems = []
    if url.scheme != "https":
        problems.append("WEBHOOK_URL must use https (Telegram refuses other schemes)")
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return [*problems, "WEBHOOK_URL has an invalid port"]
    if port not in TELEGRAM_WEBHOOK_PORTS:
        accepted = ", ".join(str(p) for p in TELEGRAM_WEBHOOK_PORTS)
        problems.append(f"WEBHOOK_URL port {port} is not one Telegram accepts ({accepted})")
    if _is_local(url.hostname or ""):
        problems.append(f"WEBHOOK_URL host {url.hostname} is not reachable from Telegram")
    return problems


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global
