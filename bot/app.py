"""Application wiring: build collaborators once, hand them to handlers, open and close them.

Owns the PTB `Application` (concurrent updates, the Bot API root from settings, its requests on
their own thread through delivery/telegram_io.py) and the lifetime of the store, the upstream
client, the outbox, the conversations' workers (the inbox's leftovers queued at start, every
queued turn ended before the store closes) and the hourly deletion of idle history
(HISTORY_RETENTION_DAYS). Handlers live in `handlers/`; nothing here talks to users.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from typing import cast

from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.conversation.limits import UsageLimits
from bot.conversation.service import ConversationService
from bot.delivery.draft_support import DraftSupport
from bot.delivery.outbox import Outbox
from bot.delivery.reactions import StatusReactions
from bot.delivery.telegram_io import TelegramIO
from bot.handlers import register
from bot.handlers.access_policy import AccessPolicy
from bot.handlers.admins import Admins
from bot.handlers.commands import publish_commands
from bot.handlers.context import BotApplication, BotContext, Services
from bot.handlers.language import ChatLanguages
from bot.handlers.pending import queue_pending
from bot.handlers.voice_notes import audio_budget
from bot.media.albums import AlbumCollector
from bot.media.capacity import ConversionLimit
from bot.store import ChatStore
from bot.upstream.catalog import ModelCatalog
from bot.upstream.client import UpstreamClient

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
RETENTION = "forgetting_idle_history"  # bot_data key of the task deleting idle history
RETENTION_INTERVAL = 3600.0  # seconds between passes over the history (the first at start-up)

# How many updates PTB handles at once. A turn's handler only admits and queues it (each chat's
# own worker answers it, in order), so a handler holds its place for a moment, never for a
# reply; the rest of the room is for short answers paced behind others (/help in a busy chat).
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
        .post_stop(_finish_conversations)
        .post_shutdown(_close_services)
        .build(),
    )
    application.bot_data["settings"] = settings
    register(application)
    return application


async def _open_services(application: BotApplication) -> None:
    settings = cast(Settings, application.bot_data["settings"])
    retention_days = settings.history_retention_days
    store = await ChatStore.open(settings.database_path, reclaim_space=retention_days > 0)
    upstream = UpstreamClient.from_settings(settings)
    limits = UsageLimits.from_settings(store, settings)
    outbox = Outbox(
        global_rate=settings.global_rate_limit,
        private_interval=settings.private_edit_interval,
        group_interval=settings.group_edit_interval,
        margin=settings.pacing_margin,
        held_on_thread=True,
    )
    application.bot_data["services"] = Services(
        settings=settings,
        store=store,
        upstream=upstream,
        conversation=ConversationService(store, upstream, settings, limits=limits),
        outbox=outbox,
        models=ModelCatalog(upstream),
        admins=Admins(application.bot, settings.admin_user_ids),
        access=AccessPolicy(
            allowed_users=settings.allowed_user_ids,
            allowed_chats=settings.allowed_chat_ids,
            admins=settings.admin_user_ids,
        ),
        albums=AlbumCollector(settings.album_wait),
        limits=limits,
        audio_slots=ConversionLimit(settings.voice_concurrency),
        languages=ChatLanguages(store),
        drafts=DraftSupport(),
        reactions=StatusReactions(application.bot, outbox, enabled=settings.status_reactions),
        document_slots=ConversionLimit(settings.document_concurrency),
        audio_in_flight=audio_budget(settings),
    )
    await publish_commands(application.bot, settings.default_language)
    if retention_days:
        application.bot_data[RETENTION] = asyncio.create_task(
            forget_idle_history(store, retention_days), name="forget-idle-history"
        )
    # Messages an earlier run received but never answered, queued before any new update.
    await queue_pending(application)


async def _finish_conversations(application: BotApplication) -> None:
    """Wait for every chat's queued turns (cut short by then if the bot is stopping): PTB's
    stop waited for the handlers only, which return once a turn is queued."""
    services = application.bot_data.get("services")
    if isinstance(services, Services):
        await services.conversation.close()
        await services.reactions.close()


async def forget_idle_history(
    store: ChatStore, days: int, interval: float = RETENTION_INTERVAL
) -> None:
    """Delete, now and every `interval` seconds, the messages of conversations idle for `days`
    days (in small batches: chats go on meanwhile); until cancelled."""
    while True:
        try:
            forgotten = await store.forget_idle_history(idle_for=days * 86_400.0)
        except Exception:
            # Nobody to tell: log it and try again at the next pass; the history only waits.
            log.exception("deleting history idle for %d days failed", days)
        else:
            if forgotten.messages or forgotten.conversations:
                log.info(
                    "deleted %d messages of %d conversations idle for %d days; %d pages freed",
                    forgotten.messages,
                    forgotten.conversations,
                    days,
                    forgotten.pages,
                )
        await asyncio.sleep(interval)


def handle_stop_signals(application: BotApplication) -> None:
    """Make SIGINT and SIGTERM end the replies in progress with what they have before PTB waits
    for its handlers (the real process; run it with `stop_signals=None`)."""
    opened = application.post_init

    async def open_then_listen(app: BotApplication) -> None:
        if opened is not None:
            await opened(app)
        # The real process only (tests build many applications in one): what start-up built,
        # ~90,000 objects, lives as long as the process; out of the collector's sight, a full
        # collection no longer walks it (~35 ms of event-loop lag each time, measured).
        gc.freeze()
        loop = asyncio.get_running_loop()
        for number in STOP_SIGNALS:
            loop.add_signal_handler(number, _stop_gracefully, app)

    application.post_init = open_then_listen


def _stop_gracefully(application: BotApplication) -> None:
    """Cut the replies in progress (they are finalised and stored) and tell the queued turns to
    send again, then stop PTB; post_stop waits for the chats' workers, which without the cut
    would write every reply in full."""
    log.info("stop signal received: finishing replies in progress and shutting down")
    services = application.bot_data.get("services")
    if isinstance(services, Services):
        services.conversation.shut_down()
    application.stop_running()


async def _close_services(application: BotApplication) -> None:
    retention = application.bot_data.pop(RETENTION, None)
    if isinstance(retention, asyncio.Task):
        # Cancelled mid-batch, its transaction is rolled back; the next start carries on.
        retention.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retention
    services = application.bot_data.pop("services", None)
    if isinstance(services, Services):
        await services.upstream.aclose()
        await services.store.close()
