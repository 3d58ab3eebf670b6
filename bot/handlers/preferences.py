"""/settings and /system: show and change a chat's sampling preferences and system prompt.

Owns the overview, the keyboard of each preference and its presses, and the typed forms
`/settings <name> <value>` and `/system [prompt | reset]`; a preference the chat's model refused
(the upstream client's quirks: it is left out of the requests) is marked "not used by this
model" in both. What names and values are allowed is conversation/preferences.py's business,
who may change them admins.py's, sending and editing keyboards keyboards.py's; the model is
/model's.

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
    Pressed,
    View,
    handle_press,
    send_view,
)
from bot.i18n import N_, _
from bot.store import ChatPreferences

BUTTON_PATTERN = r"^s:"
GROUP_ONLY_ADMINS = N_("Sorry, only this group's admins can change the settings.")
INVALID = N_("This button is not valid any more. Send /settings again.")
PRESETS_PER_ROW = 4
# The overview quotes the system prompt; the whole of it is what /system shows.
PROMPT_PREVIEW = 200
# A default system prompt from the configuration may be longer than a message; users set at most
# chat_settings.SYSTEM_PROMPT_LIMIT characters, which fits.
PROMPT_SHOWN = 3800
# Translators: follows a setting and its value in /settings when the chat's model refused it.
NOT_USED = N_("not used by this model")


async def on_settings(update: Update, context: BotContext) -> None:
    """Show the chat's settings, or one of them, or change one: /settings temperature 0.7."""
    message = update.effective_message
    if message is None:
        return
    words = _after_command(message).split(None, 1)
    key = chat_key(message)
    chat = await context.services.store.preferences(key)
    defaults = context.services.settings
    unused = _unused(context, chat)
    if not words:
        await send_view(context, message, overview(chat, defaults, unused))
        return
    try:
        setting = find_preference(words[0])
        if len(words) == 1:
            await send_view(context, message, choices(setting, chat, defaults, unused))
            return
        if not await _may_change(message, context):
            await answer(update, context, _(GROUP_ONLY_ADMINS))
            return
        value = parse(setting, words[1])
    except PreferenceError as exc:
        await answer(update, context, str(exc))
        return
    await context.services.store.update_preferences(key, **{setting.name: value})
    await answer(update, context, _changed(setting, value, unused))


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
        await answer(update, context, _(GROUP_ONLY_ADMINS))
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


def overview(
    chat: ChatPreferences, defaults: Settings, unused: frozenset[str] = frozenset()
) -> View:
    """Every setting of the chat, with a button per changeable one; those in `unused` (refused
    by the chat's model) marked as not used."""
    # Translators: {model} is the name of an AI model.
    model = chat.model or _("{model} (default)").format(model=defaults.default_model)
    # Translators: the heading of /settings.
    lines = [_("Settings for this chat")]
    # Translators: "model" is the name of a setting; {model} the name of an AI model.
    lines.append(_("• model: {model} — change with /model").format(model=model))
    for setting in PREFERENCES.values():
        line = f"• {setting.label}: {_shown(setting, chat, defaults, PROMPT_PREVIEW)}"
        lines.append(f"{line} — {_(NOT_USED)}" if setting.name in unused else line)
    lines.append(
        "\n"
        + _(
            "Tap a setting to change it, or type /settings <name> <value>,"
            " e.g. /settings temperature 0.7. /system <prompt> sets the system prompt."
        )
    )
    buttons = [
        InlineKeyboardButton(
            # Translators: a /settings button: {setting} is a setting's name.
            _("{setting} (not used)").format(setting=setting.label)
            if setting.name in unused
            else setting.label,
            callback_data=f"s:o:{setting.name}",
        )
        for setting in PREFERENCES.values()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return View("\n".join(lines), InlineKeyboardMarkup(rows))


def choices(
    setting: Preference,
    chat: ChatPreferences,
    defaults: Settings,
    unused: frozenset[str] = frozenset(),
) -> View:
    """One setting: its value, what it accepts, and a button per offered value; whether the
    chat's model uses it at all."""
    current = _value(setting, chat)
    shown = _shown(setting, chat, defaults, PROMPT_SHOWN)
    if setting.kind == "text":
        # Translators: one setting shown by /settings: {setting} is its name, {value} its value,
        # {meaning} a sentence on what it does.
        text = _("{setting}: {value}\n\n{meaning}\nType /system <prompt> to change it.").format(
            setting=setting.label, value=shown, meaning=_(setting.meaning)
        )
    else:
        # Translators: one setting shown by /settings: {setting} is its name, {value} its value,
        # {meaning} a sentence on what it does, {allowed} what it accepts ("a number from 0
        # to 2"); {name} is the setting's name as typed after /settings.
        text = _(
            "{setting}: {value}\n\n{meaning}\nAllowed: {allowed}.\n"
            "Choose a value, or type /settings {name} <value>."
        ).format(
            setting=setting.label,
            value=shown,
            meaning=_(setting.meaning),
            allowed=setting.allowed(),
            name=setting.called or setting.name,
        )
    if setting.name in unused:
        text += f"\n\n{_not_used_note(setting, chat, defaults)}"
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
                # Translators: a button that sets a setting back to its default value.
                _marked(_("Default"), current is None),
                callback_data=f"s:s:{setting.name}:default",
            ),
            # Translators: a /settings button back from one setting to the list of all settings (not
            # a page of a list).
            InlineKeyboardButton(_("« Back"), callback_data="s:v"),
        ]
    )
    return View(text, InlineKeyboardMarkup(rows))


async def _press(query: CallbackQuery, message: Message, context: BotContext) -> Pressed:
    parts = (query.data or "").split(":", 3)
    key = chat_key(message)
    chat = await context.services.store.preferences(key)
    defaults = context.services.settings
    unused = _unused(context, chat)
    if parts == ["s", "v"]:
        return Pressed(None, overview(chat, defaults, unused))
    setting = PREFERENCES.get(parts[2]) if len(parts) >= 3 else None
    if setting is None:
        return Pressed(_(INVALID))
    if parts[1] == "o" and len(parts) == 3:
        return Pressed(None, choices(setting, chat, defaults, unused))
    if parts[1] != "s" or len(parts) != 4:
        return Pressed(_(INVALID))
    try:
        value = parse(setting, parts[3])
    except PreferenceError as exc:
        return Pressed(str(exc))
    if not await context.services.admins.may_change(message.chat, query.from_user):
        return Pressed(_(GROUP_ONLY_ADMINS))
    chat = await context.services.store.update_preferences(key, **{setting.name: value})
    return Pressed(_changed(setting, value, unused), overview(chat, defaults, unused))


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
        # Translators: shown for an empty system prompt.
        quoted = quoted or _("(none)")
        # Translators: {prompt} is the system prompt configured for every chat.
        return _("{prompt} (default)").format(prompt=quoted) if value is None else quoted
    if value is None:
        if setting.kind == "number" or setting.name == "reasoning_effort":
            # Translators: the value of a number setting nobody chose.
            return _("default (the AI service decides)")
        if setting.name == "show_reasoning":
            # Translators: {value} is how reasoning is shown by default: collapsed, hidden or full.
            return _("default ({value})").format(value=defaults.show_reasoning)
        # Translators: the value of a setting nobody chose.
        return _("default")
    return format_value(value)


def _changed(setting: Preference, value: Value, unused: frozenset[str] = frozenset()) -> str:
    if setting.kind == "text":
        if value is None:
            return _("Back to the default system prompt.")
        return _("System prompt set. It applies from the next message.")
    if value is None:
        # Translators: {setting} is a setting's name (temperature, voice).
        return _("Back to the default {setting}.").format(setting=setting.label)
    # Translators: {setting} is a setting's name (temperature, voice); {value} its new value.
    said = _("{setting} set to {value}.").format(setting=setting.label, value=format_value(value))
    if setting.name in unused:
        said += " " + _("This chat's model does not use it, so it applies only to other models.")
    return said


def _unused(context: BotContext, chat: ChatPreferences) -> frozenset[str]:
    """The preferences the chat's model refused: its requests go without them."""
    model = chat.model or context.services.settings.default_model
    return context.services.upstream.quirks.unused(model)


def _not_used_note(setting: Preference, chat: ChatPreferences, defaults: Settings) -> str:
    model = chat.model or defaults.default_model
    # Translators: {model} is a model id; {setting} the request parameter it refused
    # (temperature, top_p).
    return _(
        "Not used by this model: {model} refused {setting}, so the bot leaves it out of "
        "its requests. The value is kept for other models."
    ).format(model=model, setting=setting.name)


def _marked(label: str, current: bool) -> str:
    return f"{CURRENT_MARK} {label}" if current else label


def _system_prompt_text(chat: ChatPreferences, defaults: Settings) -> str:
    if chat.system_prompt is None:
        # Translators: {prompt} is the system prompt configured for every chat.
        text = _(
            "This chat uses the default system prompt:\n\n{prompt}\n\n"
            "/system <prompt> changes it; /system reset restores the default."
        )
        prompt = defaults.system_prompt or _("(none)")
    else:
        # Translators: {prompt} is the system prompt chosen for this chat.
        text = _(
            "This chat uses this system prompt:\n\n{prompt}\n\n"
            "/system <prompt> changes it; /system reset restores the default."
        )
        prompt = chat.system_prompt
    return text.format(prompt=prompt[:PROMPT_SHOWN])
