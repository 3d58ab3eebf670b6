"""The conversations a chat keeps: /history (switching back to one) and /forget.

Owns the /history keyboard (pages, the current conversation marked) and its presses, and the
/forget confirmation and its presses. Switching and forgetting wait their turn in the chat's
queue (ConversationService.after_turns), so messages sent before them are answered in the
conversation they were sent to. In groups only admins (admins.py) list and switch conversations
and make the bot forget. Each forum topic has its own conversations. What is stored and read is
the store's; /export is export.py's.

Callback data, at most 64 bytes; anything else under `h:` or `f:` is answered as stale:

    h:p:<page>                      show that page of /history
    h:c:<conversation id>:<page>    make that conversation current (then show that page)
    f:y:<token>                     forget the chat: the token of the /forget that asked
    f:n:<token>                     keep it
"""

from __future__ import annotations

import logging
import secrets

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)

from bot.conversation.transcript import moment, title_of
from bot.handlers.chat import forget_latest_reply
from bot.handlers.common import answer, chat_key, destination, send_text
from bot.handlers.context import BotContext
from bot.handlers.keyboards import (
    CURRENT_MARK,
    Pressed,
    View,
    edit_view,
    handle_press,
    send_view,
)
from bot.i18n import N_, _, join, ngettext, number
from bot.store import STORE_ERRORS, ChatForgotten, ChatKey, ConversationSummary

log = logging.getLogger(__name__)

HISTORY_PATTERN = r"^h:"
FORGET_PATTERN = r"^f:"
PAGE_SIZE = 8
LABEL_TITLE_CHARS = 36
_FORGET_REQUESTS = "forget_requests"  # chat_data key: thread id -> token of the latest /forget

HISTORY_ADMINS = N_("Sorry, only this group's admins can see and switch its conversations.")
FORGET_ADMINS = N_("Sorry, only this group's admins can make me forget this chat.")
NO_CONVERSATIONS = N_("No conversations yet: write me something to start one.")
HISTORY_HEADER = N_(
    "Conversations here, most recent first. Press one to continue it; /new starts another."
)
EMPTY_CURRENT = N_("You are in a new conversation with no messages yet.")
STALE = N_("This list is out of date. Send /history for the current one.")
GONE = N_("That conversation no longer exists. Send /history for the current list.")
ALREADY_CURRENT = N_("That is the current conversation already.")
SWITCH_FAILED = N_(
    "The bot's database failed, so the conversation was not switched. Please try again."
)
FORGET_CONFIRM = N_(
    "This deletes every conversation, message and setting I keep of this chat, for good."
    " Messages you send meanwhile are answered first and deleted too."
)
FORGET_CONFIRM_TOPIC = N_(
    "This deletes every conversation, message and setting I keep of this chat (this topic), for"
    " good. Messages you send meanwhile are answered first and deleted too."
)
FORGET_STALE = N_("This button is out of date. Send /forget again.")
FORGET_CANCELLED = N_("Nothing was deleted.")
FORGETTING = N_("Forgetting this chat…")
FORGET_FAILED = N_(
    "The bot's database failed, so not everything was deleted. Please send /forget again."
)
NOTHING_KEPT = N_("There was nothing to forget: I keep no conversation or setting of this chat.")
USAGE_STAYS = N_(
    "How many messages and tokens each person used (/stats, limits) stays, without any text."
)


async def may_manage(context: BotContext, message: Message, user: User | None) -> bool:
    """Whether `user` may list, switch or forget the conversations of `message`'s chat: in a
    private chat its user, in a group its admins (as for /model)."""
    return await context.services.admins.may_change(
        message.chat, user, sender_chat=message.sender_chat
    )


# --- /history ------------------------------------------------------------------------------


async def on_history(update: Update, context: BotContext) -> None:
    """Show the chat's conversations as buttons, the current one marked."""
    message = update.effective_message
    if message is None:
        return
    if not await may_manage(context, message, update.effective_user):
        await answer(update, context, _(HISTORY_ADMINS))
        return
    view = await history_view(context, chat_key(message), 0)
    await send_view(context, message, view or View(_(NO_CONVERSATIONS)))


async def on_history_button(update: Update, context: BotContext) -> None:
    """Turn the page, or make the pressed conversation the current one."""
    await handle_press(update, context, _history_press)


async def history_view(
    context: BotContext, key: ChatKey, page: int, *, note: str | None = None
) -> View | None:
    """Page `page` of the chat's conversations; None when the page does not exist."""
    listed = await context.services.store.conversation_page(key, page=page, size=PAGE_SIZE)
    if listed.total == 0:
        return View("\n".join(filter(None, [note, _(NO_CONVERSATIONS)]))) if page == 0 else None
    if not listed.conversations:
        return None
    pages = -(-listed.total // PAGE_SIZE)
    lines = [line for line in (note, _(HISTORY_HEADER)) if line]
    if listed.current_is_empty:
        lines.append(_(EMPTY_CURRENT))
    else:
        # Translators: {mark} is the ✅ that marks the current conversation among the buttons.
        lines.append(_("{mark} = the current one.").format(mark=CURRENT_MARK))
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=number(page + 1), pages=number(pages)))
    rows = [
        [InlineKeyboardButton(_label(c), callback_data=f"h:c:{c.id}:{page}")]
        for c in listed.conversations
    ]
    turn = []
    if page > 0:
        # Translators: the button to the previous page of a list (/model, /history).
        turn.append(InlineKeyboardButton(_("◀ Back"), callback_data=f"h:p:{page - 1}"))
    if page < pages - 1:
        # Translators: the button to the next page of a list (/model, /history).
        turn.append(InlineKeyboardButton(_("More ▶"), callback_data=f"h:p:{page + 1}"))
    if turn:
        rows.append(turn)
    return View("\n".join(lines), InlineKeyboardMarkup(rows))


def _label(conversation: ConversationSummary) -> str:
    mark = f"{CURRENT_MARK} " if conversation.current else ""
    # Translators: a turn is a question and its answer.
    turns = ngettext("{count} turn", "{count} turns", conversation.turns).format(
        count=number(conversation.turns)
    )
    day = moment(conversation.last_message_at)[:10]
    return f"{mark}{title_of(conversation.first_question, LABEL_TITLE_CHARS)} · {day} · {turns}"


async def _history_press(query: CallbackQuery, message: Message, context: BotContext) -> Pressed:
    kind, _sep, argument = (query.data or "").removeprefix("h:").partition(":")
    numbers = [int(n) for n in argument.split(":") if n.isascii() and n.isdigit()]
    if kind not in ("p", "c") or len(numbers) != (1 if kind == "p" else 2):
        return Pressed(_(STALE))
    if not await may_manage(context, message, query.from_user):
        return Pressed(_(HISTORY_ADMINS))
    key = chat_key(message)
    if kind == "p":
        view = await history_view(context, key, numbers[0])
        return Pressed(_(STALE)) if view is None else Pressed(None, view)
    conversation_id, page = numbers
    chosen = await context.services.store.conversation(key, conversation_id)
    if chosen is None:
        return Pressed(_(GONE))
    if chosen.current:
        return Pressed(_(ALREADY_CURRENT))
    title = title_of(chosen.first_question, LABEL_TITLE_CHARS)

    async def switch() -> None:
        try:
            resumed = await context.services.store.resume_conversation(key, conversation_id)
        except STORE_ERRORS:
            log.exception("chat %s: could not switch to conversation %s", key, conversation_id)
            await send_text(
                context.bot, context.services.outbox, destination(message), _(SWITCH_FAILED)
            )
            return
        if resumed is None:
            note = _(GONE)
        else:
            # The bot's latest answer on screen is no longer the newest turn of the context.
            forget_latest_reply(context, key)
            # Translators: {title} is the start of the conversation's first question.
            note = _("Continuing “{title}”: your next message carries on from it.").format(
                title=title
            )
        view = await history_view(context, key, page, note=note)
        await edit_view(context, message, view or View(note))

    user = query.from_user.id if query.from_user else None
    refusal = await context.services.conversation.after_turns(key, switch, user_id=user)
    if refusal is not None:
        return Pressed(refusal.notice or _(STALE))
    # Translators: {title} is the start of the conversation's first question.
    return Pressed(_("Switching to “{title}”…").format(title=title))


# --- /forget -------------------------------------------------------------------------------


async def on_forget(update: Update, context: BotContext) -> None:
    """Ask for confirmation before forgetting everything stored of this chat."""
    message = update.effective_message
    if message is None:
        return
    if not await may_manage(context, message, update.effective_user):
        await answer(update, context, _(FORGET_ADMINS))
        return
    token = secrets.token_hex(4)
    _forget_requests(context)[chat_key(message).thread_id] = token
    confirm = FORGET_CONFIRM_TOPIC if chat_key(message).thread_id else FORGET_CONFIRM
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("🗑 Forget everything"), callback_data=f"f:y:{token}")],
            [InlineKeyboardButton(_("Cancel"), callback_data=f"f:n:{token}")],
        ]
    )
    await send_view(context, message, View(_(confirm), keyboard))


async def on_forget_button(update: Update, context: BotContext) -> None:
    """Forget the chat (after the chat's queued turns), or keep it, as the button says."""
    await handle_press(update, context, _forget_press)


def _forget_requests(context: BotContext) -> dict[int, str]:
    if context.chat_data is None:  # only updates without a chat, which never come here
        return {}
    requests: dict[int, str] = context.chat_data.setdefault(_FORGET_REQUESTS, {})
    return requests


async def _forget_press(query: CallbackQuery, message: Message, context: BotContext) -> Pressed:
    kind, _sep, token = (query.data or "").removeprefix("f:").partition(":")
    key = chat_key(message)
    requests = _forget_requests(context)
    if kind not in ("y", "n") or not token or requests.get(key.thread_id) != token:
        return Pressed(_(FORGET_STALE))
    if not await may_manage(context, message, query.from_user):
        return Pressed(_(FORGET_ADMINS))
    del requests[key.thread_id]  # a button works once
    if kind == "n":
        return Pressed(_(FORGET_CANCELLED), View(_(FORGET_CANCELLED)))
    conversation = context.services.conversation

    async def forget() -> None:
        try:
            forgotten = await context.services.store.forget_chat(
                key, keep_waiting=conversation.waiting_messages(key)
            )
        except STORE_ERRORS:
            log.exception("chat %s: forgetting it failed", key)
            await edit_view(context, message, View(_(FORGET_FAILED)))
            return
        forget_latest_reply(context, key)
        context.services.languages.forget(key.chat_id)  # the store's copy may be gone
        log.info(
            "chat %s forgotten: %d conversations, %d messages",
            key,
            forgotten.conversations,
            forgotten.messages,
        )
        await edit_view(context, message, View(forgotten_text(forgotten)))

    user = query.from_user.id if query.from_user else None
    refusal = await conversation.after_turns(key, forget, user_id=user)
    if refusal is not None:
        requests[key.thread_id] = token  # nothing happened: the button still works
        return Pressed(refusal.notice or _(FORGET_STALE))
    return Pressed(_(FORGETTING), View(_(FORGETTING)))


def forgotten_text(forgotten: ChatForgotten) -> str:
    """What /forget says it deleted."""
    parts = []
    if forgotten.conversations:
        messages = ngettext("{count} message", "{count} messages", forgotten.messages).format(
            count=number(forgotten.messages)
        )
        # Translators: {messages} is "N messages": the messages of those conversations.
        conversations = ngettext(
            "{count} conversation ({messages})",
            "{count} conversations ({messages})",
            forgotten.conversations,
        )
        parts.append(conversations.format(count=number(forgotten.conversations), messages=messages))
    if forgotten.settings:
        parts.append(_("this chat's settings"))
    if forgotten.waiting:
        parts.append(
            ngettext(
                "{count} message that waited for an answer",
                "{count} messages that waited for an answer",
                forgotten.waiting,
            ).format(count=number(forgotten.waiting))
        )
    if not parts:
        return _(NOTHING_KEPT)
    # Translators: {listed} lists what was deleted ("2 conversations (14 messages) and this
    # chat's settings"); {usage_stays} says the usage counts are kept.
    return _("Done: I deleted {listed}. {usage_stays}").format(
        listed=join(parts), usage_stays=_(USAGE_STAYS)
    )
