"""Application wiring: build collaborators once, hand them to handlers, open and close them.

Owns the PTB `Application` (concurrent updates, the Bot API root from settings) and the
lifetime of the store, the upstream client and the outbox. Handlers live in `handlers/`;
nothing here talks to users.
"""

from __future__ import annotations

from typing import cast

from telegram.ext import ApplicationBuilder, ContextTypes

from bot.access import AccessPolicy
from bot.admins import Admins
from bot.config import Settings
from bot.context import BotApplication, BotContext, Services
from bot.conversation import ConversationService
from bot.handlers import register
from bot.handlers.commands import publish_commands
from bot.models import ModelCatalog
from bot.outbox import Outbox
from bot.store import ChatStore
from bot.upstream import UpstreamClient

# How many updates PTB handles at once; per-chat order is kept by ConversationService's locks.
CONCURRENT_UPDATES = 512


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
        .connection_pool_size(128)
        .pool_timeout(30.0)
        .context_types(ContextTypes(context=BotContext))
        .post_init(_open_services)
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
    application.bot_data["services"] = Services(
        settings=settings,
        store=store,
        upstream=upstream,
        conversation=ConversationService(store, upstream, settings),
        outbox=Outbox(
            global_rate=settings.global_rate_limit,
            private_interval=settings.private_edit_interval,
            group_interval=settings.group_edit_interval,
            margin=settings.pacing_margin,
        ),
        models=ModelCatalog(upstream),
        admins=Admins(application.bot, settings.admin_user_ids),
        access=AccessPolicy(
            allowed_users=settings.allowed_user_ids,
            allowed_chats=settings.allowed_chat_ids,
            admins=settings.admin_user_ids,
        ),
    )
    await publish_commands(application.bot)


async def _close_services(application: BotApplication) -> None:
    services = application.bot_data.pop("services", None)
    if isinstance(services, Services):
        await services.upstream.aclose()
        await services.store.close()
