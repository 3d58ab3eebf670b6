"""What a chat may change with /settings, /system and /voice: names, allowed values, parsing.

Owns the rules of each chat preference — the ranges the chat API accepts (OpenAI's
CreateChatCompletionRequest: temperature 0..2, top_p 0..1, both penalties -2..2), the voices, how
reasoning is shown and how hard a reasoning model thinks, the system prompt's length cap, the
values offered as buttons — and the words saying what is allowed.
Pure: no store, Telegram or upstream. The model is /model's (upstream/catalog.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from bot.i18n import N_, _

Kind = Literal["number", "choice", "text"]
Value = float | str | None

# Words that put a setting back to the bot's default (None in the store).
RESET_WORDS = frozenset({"default", "reset"})
SYSTEM_PROMPT_LIMIT = 4000
# The seed's voices (DESIGN.md §5); OpenAI's audio models accept the same six.
VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_ALIASES = {
    "temp": "temperature",
    "topp": "top_p",
    "presence": "presence_penalty",
    "frequency": "frequency_penalty",
    "system": "system_prompt",
    "prompt": "system_prompt",
    "reasoning": "show_reasoning",
    "thinking": "show_reasoning",
    "effort": "reasoning_effort",
}
REASONING_SHOWN = ("collapsed", "hidden", "full")
REASONING_EFFORTS = ("low", "medium", "high")


class PreferenceError(ValueError):
    """A name or value that cannot be used; the message is for the user and says what is."""


@dataclass(frozen=True, slots=True)
class Preference:
    """One changeable setting; `name` is its ChatPreferences field."""

    name: str
    kind: Kind
    meaning: str  # marked with N_: translated where it is shown
    presets: tuple[str, ...] = ()  # the values offered as buttons, as one would type them
    low: float = 0.0  # numbers only
    high: float = 0.0
    called: str = ""  # what users type and read, when not `name` ("reasoning")

    @property
    def label(self) -> str:
        if self.called:
            return self.called
        return self.name.replace("_", " ") if self.kind == "text" else self.name

    def allowed(self) -> str:
        """What this setting accepts, as a phrase: "a number from 0 to 2"."""
        if self.kind == "number":
            # Translators: completes "{setting} must be {allowed}" and "Allowed: {allowed}."
            return _("a number from {low} to {high}").format(
                low=format_value(self.low), high=format_value(self.high)
            )
        if self.kind == "choice":
            # Translators: completes "{setting} must be {allowed}"; {choices} lists voice names.
            return _("one of {choices}").format(choices=", ".join(self.presets))
        # Translators: completes "{setting} must be {allowed}" and "Allowed: {allowed}."
        return _("text of up to {limit} characters").format(limit=SYSTEM_PROMPT_LIMIT)


PREFERENCES: dict[str, Preference] = {
    setting.name: setting
    for setting in (
        Preference(
            "temperature",
            "number",
            N_("Lower is more focused and predictable, higher more varied."),
            ("0", "0.3", "0.7", "1", "1.3", "2"),
            0.0,
            2.0,
        ),
        Preference(
            "top_p",
            "number",
            N_("Only the likeliest words that add up to this share are considered."),
            ("0.1", "0.5", "0.9", "1"),
            0.0,
            1.0,
        ),
        Preference(
            "presence_penalty",
            "number",
            N_("Above 0 nudges the model towards new topics."),
            ("-1", "0", "0.5", "1", "2"),
            -2.0,
            2.0,
        ),
        Preference(
            "frequency_penalty",
            "number",
            N_("Above 0 makes the model repeat itself less."),
            ("-1", "0", "0.5", "1", "2"),
            -2.0,
            2.0,
        ),
        Preference("voice", "choice", N_("The voice of spoken replies."), VOICES),
        Preference("system_prompt", "text", N_("Instructions the model reads before every chat.")),
        Preference(
            "show_reasoning",
            "choice",
            N_(
                "How a reasoning model's thinking is shown above its answer: collapsed (tap to"
                " read it), hidden, or full."
            ),
            REASONING_SHOWN,
            called="reasoning",
        ),
        Preference(
            "reasoning_effort",
            "choice",
            N_(
                "How long a reasoning model thinks before it answers. Only reasoning models use"
                " it; by default none is sent and the model decides."
            ),
            REASONING_EFFORTS,
        ),
    )
}


def find_preference(name: str) -> Preference:
    """The setting a user means by `name` ("temperature", "top-p", "Temp", ...)."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key == "model":
        raise PreferenceError(_("The model is chosen with /model."))
    setting = PREFERENCES.get(key)
    if setting is None:
        known = ", ".join(p.called or p.name for p in PREFERENCES.values())
        # Translators: {name} is what the user typed; {settings} lists the settings' names.
        problem = _("There is no setting “{name}”. Settings: {settings}.")
        raise PreferenceError(problem.format(name=name, settings=known))
    return setting


def parse(setting: Preference, text: str) -> Value:
    """The value to store for what a user typed; None means back to the default."""
    typed = text.strip()
    if typed.lower() in RESET_WORDS:
        return None
    if setting.kind == "number":
        return _number(setting, typed)
    if setting.kind == "choice":
        if typed.lower() not in setting.presets:
            raise PreferenceError(_invalid(setting, typed))
        return typed.lower()
    return parse_system_prompt(typed)


def parse_system_prompt(text: str) -> str | None:
    """A system prompt to store; None (the default) for "default" or "reset"."""
    prompt = text.strip()
    if prompt.lower() in RESET_WORDS:
        return None
    if not prompt:
        raise PreferenceError(_("The system prompt is empty. Write it after /system."))
    if len(prompt) > SYSTEM_PROMPT_LIMIT:
        problem = _("The system prompt can be at most {limit} characters; this one has {length}.")
        raise PreferenceError(problem.format(limit=SYSTEM_PROMPT_LIMIT, length=len(prompt)))
    return prompt


def format_value(value: Value) -> str:
    """A value as people write it: 0.7, 1, -0.5, nova; "default" for None."""
    if value is None:
        return "default"
    if isinstance(value, float):
        return f"{value:g}"
    return value


def same_value(a: Value, b: Value) -> bool:
    """Whether two values are the same setting (numbers compared with float tolerance)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, abs_tol=1e-9)
    return a == b


def _number(setting: Preference, typed: str) -> float:
    # A decimal comma is how much of the world writes 0,7.
    candidate = typed.replace(",", ".")
    problem = _invalid(setting, _short(typed))
    if not _NUMBER.fullmatch(candidate):
        raise PreferenceError(problem)
    value = float(candidate) + 0.0  # -0 is 0
    if not setting.low <= value <= setting.high:
        raise PreferenceError(problem)
    return value


def _invalid(setting: Preference, typed: str) -> str:
    # Translators: {setting} is a setting's name (temperature, voice); {allowed} says what it
    # accepts ("a number from 0 to 2"); {typed} is what the user typed. “default” is a word
    # users type, keep it in English.
    problem = _("{setting} must be {allowed} (or “default”); “{typed}” is not.")
    return problem.format(setting=setting.label, allowed=setting.allowed(), typed=typed)


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
