"""Messages received but never answered: the process stopped while they waited for their turn.

Owns queueing them when the bot starts, before any new update is handled — each chat's in the
order they came, ahead of anything newer there, answered the way a fresh message is (plainly in
private chats, as a reply in groups). Texts were kept whole; photos, files and audio as what
builds them again (kept.py), so they are downloaded again by their file ids when their turn
comes; an album's photos come back as one turn. They are answered in the chat's /language
choice, else DEFAULT_LANGUAGE: the sender's Telegram language is not kept with a message.
Keeping them is ConversationService's business.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot import i18n
from bot.conversation.turns import Origin, PendingTurn, UserTurn
from bot.delivery.destination import Destination
from bot.handlers.chat import Followup, TurnContext, answers_in, reply_sink
from bot.handlers.context import BotApplication, Services
from bot.handlers.documents import document_turn
from bot.handlers.language import reader_language
from bot.handlers.media import photo_turn
from bot.handlers.voice_notes import heard_turn
from bot.store import ChatKey, Received

log = logging.getLogger(__name__)

_BUILDERS: dict[str, Callable[[TurnContext, list[Received]], Awaitable[UserTurn]]] = {
    "photo": photo_turn,
    "document": lambda build, records: document_turn(build, records[0]),
    "audio": lambda build, records: heard_turn(build, records[0]),
}


async def queue_pending(application: BotApplication) -> None:
    """Queue every message an earlier run left in the inbox; each chat's worker answers them."""
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    received = await services.store.inbox()
    if not received:
        return
    turns, orphans = _turns(received)
    for orphan in orphans:  # joined to a message that has left the inbox: it leaves too
        await services.store.discard(orphan.key, orphan.telegram_message_id)
    log.info("answering %d messages received before the restart", len(turns))
    for records in turns:
        await _resume(application, services, records)


def _turns(received: list[Received]) -> tuple[list[list[Received]], list[Received]]:
    """The kept messages as turns, oldest first (each message with those joined to it), and
    any joined to a message no longer kept."""
    turns: dict[tuple[ChatKey, int], list[Received]] = {}
    joined: list[Received] = []
    for record in received:
        if record.joined_to is None:
            turns[(record.key, record.telegram_message_id)] = [record]
        else:
            joined.append(record)
    orphans = []
    for record in joined:
        turn = turns.get((record.key, record.joined_to or 0))
        if turn is None:
            orphans.append(record)
        else:
            turn.append(record)
    return list(turns.values()), orphans


async def _resume(application: BotApplication, services: Services, records: list[Received]) -> None:
    lead = records[0]
    key = lead.key
    group = key.chat_id < 0  # groups and supergroups have negative ids
    chat = Destination(key.chat_id, key.thread_id or None)
    written = Destination(chat.chat_id, chat.thread_id, lead.telegram_message_id if group else None)
    bot = application.bot
    sink = reply_sink(bot, services, written, lead.telegram_message_id)
    answers = answers_in(application.chat_data[key.chat_id], key)
    turn: UserTurn | PendingTurn
    if lead.kind == "text":
        turn = UserTurn(lead.content, lead.telegram_message_id, lead.user_id, lead.sender_name)
    else:
        turn = _built_later(TurnContext(bot, services, chat, answers), records)
    answers.writing.append(sink)
    language = await reader_language(services.languages, services.settings, key.chat_id, None)
    with i18n.using(language):  # the queued turn keeps it (conversation/queues.py)
        await services.conversation.resume(
            key,
            turn,
            sink,
            origin=Origin(lead.user_id, lead.telegram_message_id, tuple(records)),
            watcher=Followup(bot, services, chat, answers, sink),
        )


def _built_later(build: TurnContext, records: list[Received]) -> PendingTurn:
    """The kept photo, file or audio turn, downloaded again and built when its turn comes."""
    builder = _BUILDERS[records[0].kind]

    async def turn() -> UserTurn:
        return await builder(build, records)

    return turn
