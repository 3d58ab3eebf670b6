"""Webhook delivery of the fake Telegram: POST queued updates to the bot's URL, in order.

Owns: the delivery loop (one update at a time, waiting for the answer, retrying a failure after
`world.webhook_retry_delay` as Telegram retries), the request as Telegram sends it (POST to the
registered URL, the Update as a JSON body with Content-Type application/json, the
X-Telegram-Bot-Api-Secret-Token header when a secret is set), and recording each attempt as a
`WebhookDelivery` plus the last error getWebhookInfo reports. Must not decide what gets queued or
filtered; that is the world's.

Two differences from Telegram, both for tests: the URL may be http://127.0.0.1 (setWebhook in
bot_methods.py accepts loopback URLs, which Telegram refuses: it wants https on port 443,
80, 88 or 8443), and updates go one at a time where Telegram may use up to `max_connections`
parallel requests — stricter, since a receiver that answers slowly then holds up everything.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from tests.fakes.telegram.state import JsonDict, TelegramWorld, WebhookConfig, WebhookDelivery


async def deliver_updates(world: TelegramWorld, http: aiohttp.ClientSession) -> None:
    """Run until the world closes; idle while no webhook is set or nothing is queued."""
    while not world.closing:
        signal = world.change_signal()
        hook = world.webhook
        updates = world.deliverable_updates() if hook is not None else []
        if hook is None or not updates:
            await signal.wait()
            continue
        update = updates[0]
        if await _post_update(world, http, hook, update):
            world.pending_updates = [u for u in world.pending_updates if u is not update]
            world.updates_confirmed = max(world.updates_confirmed, update["update_id"])
            world.notify()
        else:
            await asyncio.sleep(world.webhook_retry_delay)


async def _post_update(
    world: TelegramWorld, http: aiohttp.ClientSession, hook: WebhookConfig, update: JsonDict
) -> bool:
    headers = {}
    if hook.secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
    status: int | None = None
    body, error = "", None
    try:
        async with http.post(
            hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            status, body = response.status, await response.text()
            if not 200 <= status < 300:
                error = f"Wrong response from the webhook: {status} {response.reason}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"Connection failed: {exc}"
    world.webhook_deliveries.append(
        WebhookDelivery(update["update_id"], status, body, error, world.clock())
    )
    if error is not None:
        hook.last_error_date, hook.last_error_message = int(time.time()), error
    world.notify()
    return error is None
