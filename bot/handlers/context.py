"""The typed handler context: what a handler can reach, and nothing global.

Owns the `Services` bundle built once in `app.py` and the `BotContext` that exposes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from telegram import Message
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.conversation.limits import UsageLimits
from bot.conversation.service import ConversationService
from bot.delivery.draft_support import DraftSupport
from bot.delivery.outbox import Outbox
from bot.delivery.reactions import StatusReactions
from bot.handlers.access_policy import AccessPolicy
from bot.handlers.admins import Admins
from bot.media.albums import AlbumCollector
from bot.media.capacity import AudioBudget, ConversionLimit
from bot.store import ChatStore
from bot.upstream.catalog import ModelCatalog
from bot.upstream.client import UpstreamClient

if TYPE_CHECKING:  # language.py's handlers need this module first
    from bot.handlers.language import ChatLanguages


@dataclass(frozen=True, slots=True)
class Services:
    """The collaborators every handler may use."""

    settings: Settings
    store: ChatStore
    upstream: UpstreamClient
    conversation: ConversationService
    outbox: Outbox
    models: ModelCatalog
    admins: Admins
    access: AccessPolicy
    albums: AlbumCollector[Message]
    # The per-user limits: conversation.submit applies them to every turn; /stats shows them.
    limits: UsageLimits
    # At most VOICE_CONCURRENCY incoming audio files downloaded and converted at once.
    audio_slots: ConversionLimit
    # The chats' /language choices, cached in front of the store.
    languages: ChatLanguages
    # Where message drafts work (STREAM_MODE=draft), learnt from Telegram's refusals.
    drafts: DraftSupport
    # The reactions on the messages being answered (STATUS_REACTIONS).
    reactions: StatusReactions
    # At most DOCUMENT_CONCURRENCY PDF and Word files downloaded and read at once.
    document_slots: ConversionLimit
    # The bytes of converted audio waiting for or inside upstream requests, every chat together.
    audio_in_flight: AudioBudget


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The handlers' context, with typed access to the services."""

    @property
    def services(self) -> Services:
        return cast(Services, self.bot_data["services"])


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
