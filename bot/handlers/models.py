"""/model: the upstream's chat models as buttons; a chat switches its model by button or by name.

Owns the model keyboard (pages, marks, callback data) and its presses. Which models exist is
upstream/catalog.py's business, who may change them admins.py's, sending and editing keyboards
keyboards.py's, where the choice is kept the store's.

Callback data, at most 64 bytes; anything else under `m:` is answered as stale and changes nothing:

    m:p:<page>        show that page of the list
    m:s:<model id>    choose this model (it must still be listed)
    m:h:<digest>      choose the listed model whose id hashes to this (ids too long for m:s:)
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.conversation.preferences import RESET_WORDS
from bot.errors import UpstreamError
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext
from bot.handlers.keyboards import (
    CURRENT_MARK,
    Pressed,
    View,
    handle_press,
    send_view,
)
from bot.i18n import N_, _
from bot.upstream.catalog import ChatModel, close_matches, lookup

log = logging.getLogger(__name__)

BUTTON_PATTERN = r"^m:"
CALLBACK_DATA_LIMIT = 64
PAGE_SIZE = 10
COLUMNS = 2
AUDIO_MARK = "🔊"

STALE = N_("This button is out of date. Send /model for the current list.")
GROUP_ONLY_ADMINS = N_("Sorry, only this group's admins can change the model.")
# Translators: {current} is the name of an AI model.
LISTING_FAILED = N_(
    "The AI service isn't listing its models right now, so I can't show or check them."
    " This chat keeps using {current}."
)
# Translators: {current} and {default} are names of AI models.
LISTING_FAILED_BACK_TO_DEFAULT = N_(
    "The AI service isn't listing its models right now, so I can't show or check them."
    " This chat keeps using {current}. /model default switches back to {default}."
)


async def on_model(update: Update, context: BotContext) -> None:
    """Show the model keyboard, or switch straight to the model named after /model."""
    message = update.effective_message
    if message is None:
        return
    wanted = " ".join(context.args or []).strip()
    if wanted and not await context.services.admins.may_change(
        message.chat, message.from_user, sender_chat=message.sender_chat
    ):
        await answer(update, context, _(GROUP_ONLY_ADMINS))
        return
    if wanted.lower() in RESET_WORDS:
        await context.services.store.update_preferences(chat_key(message), model=None)
        default = context.services.settings.default_model
        # Translators: {default} is the name of an AI model.
        text = _("This chat uses the default model again: {default}.").format(default=default)
        await answer(update, context, text)
        return
    current = await _current_model(message, context)
    try:
        models = await context.services.models.chat_models()
    except UpstreamError as exc:
        log.warning("chat %s: /model could not list models: %s", message.chat_id, exc)
        default = context.services.settings.default_model
        failed = LISTING_FAILED if current == default else LISTING_FAILED_BACK_TO_DEFAULT
        await answer(update, context, _(failed).format(current=current, default=default))
        return
    if wanted:
        await answer(update, context, await _switch_by_name(message, context, models, wanted))
    else:
        await send_view(context, message, model_view(models, current, _page_of(models, current)))


async def on_model_button(update: Update, context: BotContext) -> None:
    """Switch the chat's model, or turn the page, as the pressed button says."""
    await handle_press(update, context, _press)


def model_view(models: Sequence[ChatModel], current: str, page: int) -> View:
    """The model list's page `page`: the current model marked, audio models marked."""
    if not models:
        # Translators: {current} is the name of an AI model.
        text = _("The AI service lists no chat models. This chat keeps using {current}.")
        return View(text.format(current=current))
    pages = page_count(models)
    # Translators: the heading of /model; {current} is the name of an AI model.
    lines = [_("Model for this chat: {current}").format(current=current)]
    if lookup(models, current) is None:
        lines.append(_("⚠️ The AI service does not list this model; choose one below."))
    if any(model.audio for model in models):
        # Translators: explains the mark {mark} (🔊) on the buttons of audio models.
        lines.append(_("{mark} = also understands and speaks voice notes.").format(mark=AUDIO_MARK))
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    shown = models[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [InlineKeyboardButton(_label(m, current), callback_data=_choose(m)) for m in shown]
    rows = [buttons[i : i + COLUMNS] for i in range(0, len(buttons), COLUMNS)]
    turn = []
    if page > 0:
        # Translators: the button to the previous page of a list (/model, /history).
        turn.append(InlineKeyboardButton(_("◀ Back"), callback_data=f"m:p:{page - 1}"))
    if page < pages - 1:
        # Translators: the button to the next page of a list (/model, /history).
        turn.append(InlineKeyboardButton(_("More ▶"), callback_data=f"m:p:{page + 1}"))
    if turn:
        rows.append(turn)
    return View("\n".join(lines), InlineKeyboardMarkup(rows))


def page_count(models: Sequence[ChatModel]) -> int:
    return max(1, -(-len(models) // PAGE_SIZE))


def model_digest(model_id: str) -> str:
    """A short stand-in for a model id in callback data."""
    return hashlib.sha256(model_id.encode()).hexdigest()[:16]


async def _press(query: CallbackQuery, message: Message, context: BotContext) -> Pressed:
    kind, _colon, argument = (query.data or "").removeprefix("m:").partition(":")
    if kind not in ("p", "s", "h"):
        return Pressed(_(STALE))
    try:
        models = await context.services.models.chat_models()
    except UpstreamError as exc:
        log.warning("chat %s: model button could not list models: %s", message.chat_id, exc)
        return Pressed(_("The AI service isn't listing its models right now; nothing changed."))
    if kind == "p":
        page = int(argument) if argument.isascii() and argument.isdigit() else -1
        if not 0 <= page < page_count(models):
            return Pressed(_(STALE))
        return Pressed(None, model_view(models, await _current_model(message, context), page))
    chosen = _by_id(models, argument) if kind == "s" else _by_digest(models, argument)
    if chosen is None:
        return Pressed(_(STALE))
    if not await context.services.admins.may_change(message.chat, query.from_user):
        return Pressed(_(GROUP_ONLY_ADMINS))
    await context.services.store.update_preferences(chat_key(message), model=chosen.id)
    view = model_view(models, chosen.id, _page_of(models, chosen.id))
    # Translators: the answer to a press of a model's button; {model} is its name.
    return Pressed(_("Model: {model}").format(model=chosen.id), view)


async def _switch_by_name(
    message: Message, context: BotContext, models: Sequence[ChatModel], wanted: str
) -> str:
    """Switch to the model called `wanted`; the answer to show either way."""
    chosen = lookup(models, wanted)
    if chosen is None:
        matches = close_matches(wanted, [model.id for model in models])
        if not matches:
            # Translators: {wanted} is what the user typed after /model.
            text = _("There is no chat model “{wanted}”. /model lists them all. Nothing changed.")
            return text.format(wanted=wanted)
        # Translators: {wanted} is what the user typed after /model; {matches} lists model names.
        text = _(
            "There is no chat model “{wanted}”. Did you mean: {matches}? "
            "/model lists them all. Nothing changed."
        )
        return text.format(wanted=wanted, matches=", ".join(matches))
    await context.services.store.update_preferences(chat_key(message), model=chosen.id)
    if chosen.audio:
        # Translators: {model} is the name of an AI model.
        text = _("Model for this chat: {model}. It understands and speaks voice notes.")
    else:
        # Translators: {model} is the name of an AI model.
        text = _("Model for this chat: {model}.")
    return text.format(model=chosen.id)


async def _current_model(message: Message, context: BotContext) -> str:
    chosen = (await context.services.store.preferences(chat_key(message))).model
    return chosen or context.services.settings.default_model


def _page_of(models: Sequence[ChatModel], model_id: str) -> int:
    index = next((i for i, model in enumerate(models) if model.id == model_id), 0)
    return index // PAGE_SIZE


def _by_id(models: Sequence[ChatModel], model_id: str) -> ChatModel | None:
    return next((model for model in models if model.id == model_id), None)


def _by_digest(models: Sequence[ChatModel], digest: str) -> ChatModel | None:
    return next((model for model in models if model_digest(model.id) == digest), None)


def _choose(model: ChatModel) -> str:
    data = f"m:s:{model.id}"
    if len(data.encode()) <= CALLBACK_DATA_LIMIT:
        return data
    return f"m:h:{model_digest(model.id)}"


def _label(model: ChatModel, current: str) -> str:
    marks = [CURRENT_MARK] if model.id == current else []
    if model.audio:
        marks.append(AUDIO_MARK)
    return " ".join([*marks, model.id])
