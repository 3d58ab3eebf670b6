"""Application wiring: build collaborators once, hand them to handlers, open and close them.

Owns the PTB `Application` (concurrent updates, the Bot API root from settings, its requests
on their own thread through delivery/telegram_io.py) and the lifetime of the store, the
upstream client and the outbox. Handlers live in `handlers/`; nothing here talks to users.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import cast

from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.conversation.limits import UsageLimits
from bot.conversation.service import ConversationService
from bot.delivery.outbox import Outbox
from bot.delivery.telegram_io import TelegramIO
from bot.handlers import register
from bot.handlers.access_policy import AccessPolicy
from bot.handlers.admins import Admins
from bot.handlers.commands import publish_commands
from bot.handlers.context import BotApplication, BotContext, Services
from bot.handlers.pending import answer_pending
from bot.media.albums import AlbumCollector
from bot.store import ChatStore
from bot.upstream.catalog import ModelCatalog
from bot.upstream.client import UpstreamClient

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PENDING = "answering_pending"  # bot_data key of the task answering earlier runs' messages

# How many updates PTB handles at once; per-chat order is kept by ConversationService's locks.
# A handler holds its place until its reply is delivered, so this is set well above the replies
# the upstream is asked for at once (UPSTREAM_CONCURRENCY, at most half of this): with every
# reply slot taken, a command or a Stop press is still handled at once, not queued behind them.
CONCURRENT_UPDATES = 4096


def build_application(settings: Settings) -> BotApplication:
    """The PTB application for `settings`, handlers registered, resources opened on start."""
    api = settings.telegram_api_url
    application = cast(
        BotApplication,
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(CONCURRENT_UPDATES)
        # Every Bot API call on a thread of its own (see bot/delivery/telegram_io.py); getUpdates
        # too, so that answers come back in the order they arrived (a reply's message id is known
        # before an update replying to it is handled).
        .request(
            TelegramIO(
                HTTPXRequest(
                    connection_pool_size=128,
                    pool_timeout=30.0,
                    read_timeout=settings.telegram_timeout,
                )
            )
        )
        .get_updates_request(TelegramIO(HTTPXRequest(connection_pool_size=1)))
        .context_types(ContextTypes(context=BotContext))
        .post_init(_open_services)
        .post_stop(_finish_pending)
        .post_shutdown(_close_services)
        .build(),
    )
    application.bot_data["settings"] = settings
    register(application)
    return application


async def _open_services(application: BotApplication) -> None:
    settings = cast(Settings, application.bot_data["settings"])
    store = await ChatStore.open(settings.database_path)
    upstream = UpstreamClient.from_settings(settings)
    limits = UsageLimits.from_settings(store, settings)
    application.bot_data["services"] = Services(
        settings=settings,
        store=store,
        upstream=upstream,
        conversation=ConversationService(store, upstream, settings, limits=limits),
        outbox=Outbox(
            global_rate=settings.global_rate_limit,
            private_interval=settings.private_edit_interval,
            group_interval=settings.group_edit_interval,
            margin=settings.pacing_margin,
            held_on_thread=True,
        ),
        models=ModelCatalog(upstream),
        admins=Admins(application.bot, settings.admin_user_ids),
        access=AccessPolicy(
            allowed_users=settings.allowed_user_ids,
            allowed_chats=settings.allowed_chat_ids,
            admins=settings.admin_user_ids,
        ),
        albums=AlbumCollector(settings.album_wait),
        limits=limits,
    )
    await publish_commands(application.bot)
    # Messages an earlier run received but never answered; PTB's own tasks are not yet allowed.
    application.bot_data[PENDING] = asyncio.create_task(answer_pending(application))


async def _finish_pending(application: BotApplication) -> None:
    """Wait for the answers to earlier messages (cut short by then if the bot is stopping)."""
    task = application.bot_data.pop(PENDING, None)
    if not isinstance(task, asyncio.Task):
        return
    try:
        await task
    except Exception:
        # A background task has no handler to report to; stopping must go on regardless.
        log.exception("answering the messages from before the restart failed")


def handle_stop_signals(application: BotApplication) -> None:
    """Make SIGINT and SIGTERM end the replies in progress with what they have before PTB waits
    for its handlers (the real process; run it with `stop_signals=None`)."""
    opened = application.post_init

    async def open_then_listen(app: BotApplication) -> None:
        if opened is not None:
            await opened(app)
        loop = asyncio.get_running_loop()
        for number in STOP_SIGNALS:
            loop.add_signal_handler(number, _stop_gracefully, app)

    application.post_init = open_then_listen


def _stop_gracefully(application: BotApplication) -> None:
    """Cut the replies in progress (they are finalised and stored), then stop PTB, which waits
    for its handlers: without the cut it would wait for every reply to be written in full."""
    log.info("stop signal received: finishing replies in progress and shutting down")
    services = application.bot_data.get("services")
    if isinstance(services, Services):
        services.conversation.shut_down()
    application.stop_running()


async def _close_services(application: BotApplication) -> None:
    services = application.bot_data.pop("services", None)
    if isinstance(services, Services):
        await services.upstream.aclose()
        await services.store.close()
