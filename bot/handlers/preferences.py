"""/settings and /system: show and change a chat's sampling preferences and system prompt.

Owns the overview, the keyboard of each preference and its presses, and the typed forms
`/settings <name> <value>` and `/system [prompt | reset]`. What names and values are allowed is
conversation/preferences.py's business, who may change them admins.py's, sending and editing
keyboards keyboards.py's; the model is /model's.

Callback data (short; anything else under `s:` is answered as invalid and changes nothing):

    s:v                   the overview
    s:o:<name>            the choices for one preference
    s:s:<name>:<value>    set it ("default" puts back the bot's default)
"""

from __future__ import annotations

from typing import cast

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.config import Settings
from bot.conversation.preferences import (
    PREFERENCES,
    Preference,
    PreferenceError,
    Value,
    find_preference,
    format_value,
    parse,
    parse_system_prompt,
    same_value,
)
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext
from bot.handlers.keyboards import (
    CURRENT_MARK,
    EXPIRED,
    Pressed,
    View,
    handle_press,
    send_view,
)
from bot.store import ChatPreferences

BUTTON_PATTERN = r"^s:"
GROUP_ONLY_ADMINS = "Sorry, only this group's admins can change the settings."
INVALID = "This button is not valid any more. Send /settings again."
PRESETS_PER_ROW = 4
# The overview quotes the system prompt; the whole of it is what /system shows.
PROMPT_PREVIEW = 200
# A default system prompt from the configuration may be longer than a message; users set at most
# chat_settings.SYSTEM_PROMPT_LIMIT characters, which fits.
PROMPT_SHOWN = 3800


async def on_settings(update: Update, context: BotContext) -> None:
    """Show the chat's settings, or one of them, or change one: /settings temperature 0.7."""
    message = update.effective_message
    if message is None:
        return
    words = _after_command(message).split(None, 1)
    key = chat_key(message)
    chat = await context.services.store.preferences(key)
    defaults = context.services.settings
    if not words:
        await send_view(context, message, overview(chat, defaults))
        return
    try:
        setting = find_preference(words[0])
        if len(words) == 1:
            await send_view(context, message, choices(setting, chat, defaults))
            return
        if not await _may_change(message, context):
            await answer(update, context, GROUP_ONLY_ADMINS)
            return
        value = parse(setting, words[1])
    except PreferenceError as exc:
        await answer(update, context, str(exc))
        return
    await context.services.store.update_preferences(key, **{setting.name: value})
    await answer(update, context, _changed(setting, value))


async def on_system(update: Update, context: BotContext) -> None:
    """Show the chat's system prompt, set it, or put back the default with /system reset."""
    message = update.effective_message
    if message is None:
        return
    text = _after_command(message)
    key = chat_key(message)
    if not text:
        chat = await context.services.store.preferences(key)
        await answer(update, context, _system_prompt_text(chat, context.services.settings))
        return
    if not await _may_change(message, context):
        await answer(update, context, GROUP_ONLY_ADMINS)
        return
    try:
        prompt = parse_system_prompt(text)
    except PreferenceError as exc:
        await answer(update, context, str(exc))
        return
    await context.services.store.update_preferences(key, system_prompt=prompt)
    await answer(update, context, _changed(PREFERENCES["system_prompt"], prompt))


async def on_settings_button(update: Update, context: BotContext) -> None:
    """Open a setting's choices, go back, or set a value, as the pressed button says."""
    await handle_press(update, context, _press)


def overview(chat: ChatPreferences, defaults: Settings) -> View:
    """Every setting of the chat, with a button per changeable one."""
    model = chat.model or f"{defaults.default_model} (default)"
    lines = ["Settings for this chat", f"• model: {model} — change with /model"]
    for setting in PREFERENCES.values():
        lines.append(f"• {setting.label}: {_shown(setting, chat, defaults, PROMPT_PREVIEW)}")
    lines.append(
        "\nTap a setting to change it, or type /settings <name> <value>,"
        " e.g. /settings temperature 0.7. /system <prompt> sets the system prompt."
    )
    buttons = [
        InlineKeyboardButton(setting.label, callback_data=f"s:o:{setting.name}")
        for setting in PREFERENCES.values()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return View("\n".join(lines), InlineKeyboardMarkup(rows))


def choices(setting: Preference, chat: ChatPreferences, defaults: Settings) -> View:
    """One setting: its value, what it accepts, and a button per offered value."""
    current = _value(setting, chat)
    shown = _shown(setting, chat, defaults, PROMPT_SHOWN)
    if setting.kind == "text":
        text = f"{setting.label}: {shown}\n\n{setting.meaning}\nType /system <prompt> to change it."
    else:
        text = (
            f"{setting.label}: {shown}\n\n{setting.meaning}\nAllowed: {setting.allowed()}.\n"
            f"Choose a value, or type /settings {setting.called or setting.name} <value>."
        )
    presets = [
        InlineKeyboardButton(
            _marked(preset, same_value(parse(setting, preset), current)),
            callback_data=f"s:s:{setting.name}:{preset}",
        )
        for preset in setting.presets
    ]
    rows = [presets[i : i + PRESETS_PER_ROW] for i in range(0, len(presets), PRESETS_PER_ROW)]
    rows.append(
        [
            InlineKeyboardButton(
                _marked("Default", current is None), callback_data=f"s:s:{setting.name}:default"
            ),
            InlineKeyboardButton("« Back", callback_data="s:v"),
        ]
    )
    return View(text, InlineKeyboardMarkup(rows))


async def _press(query: CallbackQuery, context: BotContext) -> Pressed:
    message = query.message
    if not isinstance(message, Message):
        return Pressed(EXPIRED)
    parts = (query.data or "").split(":", 3)
    key = chat_key(message)
    chat = await context.services.store.preferences(key)
    defaults = context.services.settings
    if parts == ["s", "v"]:
        return Pressed(None, overview(chat, defaults))
    setting = PREFERENCES.get(parts[2]) if len(parts) >= 3 else None
    if setting is None:
        return Pressed(INVALID)
    if parts[1] == "o" and len(parts) == 3:
        return Pressed(None, choices(setting, chat, defaults))
    if parts[1] != "s" or len(parts) != 4:
        return Pressed(INVALID)
    try:
        value = parse(setting, parts[3])
    except PreferenceError as exc:
        return Pressed(str(exc))
    if not await context.services.admins.may_change(message.chat, query.from_user):
        return Pressed(GROUP_ONLY_ADMINS)
    chat = await context.services.store.update_preferences(key, **{setting.name: value})
    return Pressed(_changed(setting, value), overview(chat, defaults))


async def _may_change(message: Message, context: BotContext) -> bool:
    return await context.services.admins.may_change(
        message.chat, message.from_user, sender_chat=message.sender_chat
    )


def _after_command(message: Message) -> str:
    """The text after the command word (`/settings@bot`), newlines inside kept."""
    words = (message.text or "").split(None, 1)
    return words[1].strip() if len(words) == 2 else ""


def _value(setting: Preference, chat: ChatPreferences) -> Value:
    return cast(Value, getattr(chat, setting.name))


def _shown(setting: Preference, chat: ChatPreferences, defaults: Settings, limit: int) -> str:
    value = _value(setting, chat)
    if setting.kind == "text":
        prompt = defaults.system_prompt if value is None else str(value)
        quoted = prompt if len(prompt) <= limit else prompt[: limit - 1] + "…"
        return f"{quoted or '(none)'}{' (default)' if value is None else ''}"
    if value is None:
        if setting.name == "show_reasoning":
            return f"default ({defaults.show_reasoning})"
        if setting.kind == "number" or setting.name == "reasoning_effort":
            return "default (the AI service decides)"
        return "default"
    return format_value(value)


def _changed(setting: Preference, value: Value) -> str:
    if value is None:
        return f"Back to the default {setting.label}."
    if setting.kind == "text":
        return "System prompt set. It applies from the next message."
    return f"{setting.label} set to {format_value(value)}."


def _marked(label: str, current: bool) -> str:
    return f"{CURRENT_MARK} {label}" if current else label


def _system_prompt_text(chat: ChatPreferences, defaults: Settings) -> str:
    if chat.system_prompt is None:
        whose, prompt = "the default system prompt", defaults.system_prompt or "(none)"
    else:
        whose, prompt = "this system prompt", chat.system_prompt
    return (
        f"This chat uses {whose}:\n\n{prompt[:PROMPT_SHOWN]}\n\n"
        "/system <prompt> changes it; /system reset restores the default."
    )
