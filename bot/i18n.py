"""The bot's own words in its users' languages: gettext catalogs, and which one a reader gets.

Owns the catalogs (`bot/locales/<locale>/LC_MESSAGES/messages.po`, compiled with Babel when first
needed — no build step, nothing binary in the repository), the language of the update or turn
being handled (a context variable: each update runs in a task of its own, and a queued turn
carries its reader's language into the chat's worker), and choosing that language: the chat's
own choice (/language), else the user's Telegram `language_code` ("de-AT" reads German), else
DEFAULT_LANGUAGE, else English. Every string a person reads goes through `_` (or `ngettext`)
at the moment it is shown, never at import; a string defined ahead of time is marked with `N_`
and translated where it is used. Placeholders are `str.format` names: `_("Hi {name}!")
.format(name=…)`; numbers and lists inside them are written the reader's way with `number`
and `join` ("1 234", "a, b и c"). A `# Translators:` comment above a call reaches the catalogs
(`extract`, pybabel's extraction method in babel.cfg). Knows nothing of Telegram.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext as stdlib_gettext
import io
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from babel import Locale
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"

# The catalogs the bot ships, by locale name as Babel spells it.
LANGUAGES = (
    "en",
    "ru",
    "uk",
    "es",
    "pt_BR",
    "de",
    "fr",
    "it",
    "tr",
    "id",
    "fa",
    "ar",
    "hi",
    "zh_Hans",
    "ja",
    "ko",
)
RIGHT_TO_LEFT = frozenset({"fa", "ar"})

# Telegram's language codes (IETF tags: "en", "pt-br", "zh-hans", "de-at") that don't reduce to
# a catalog by their first part. Every Chinese tag reads the simplified catalog, the only one.
_ALIASES = {
    "pt": "pt_BR",
    "zh": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh-sg": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh-tw": "zh_Hans",
    "zh-hk": "zh_Hans",
    "zh-hant": "zh_Hans",
}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=SOURCE_LANGUAGE)
_loaded: dict[str, stdlib_gettext.NullTranslations] = {}
_loading = threading.Lock()


def N_(message: str) -> str:
    """Mark `message` for the catalogs without translating it (translate it where it is shown)."""
    return message


def _(message: str) -> str:
    """`message` in the current reader's language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` that fits `n`, in the current reader's language."""
    return translations(_current.get()).ngettext(singular, plural, n)


def current() -> str:
    """The language being written in now (a catalog name)."""
    return _current.get()


def set_current(language: str) -> None:
    """Write in `language` for the rest of this task (an update's handlers, a queued turn)."""
    _current.set(language if language in LANGUAGES else SOURCE_LANGUAGE)


def number(value: float) -> str:
    """`value` with the current reader's digit grouping and decimal sign ("12,345" / "12 345")."""
    return format_decimal(value, locale=_current.get())


def join(items: Sequence[str]) -> str:
    """`items` as a list in the current reader's language ("a, b and c", "a, b и c")."""
    language = _current.get()
    # The bot's English writes lists without the serial comma, as British English does.
    return format_list(list(items), locale="en_GB" if language == SOURCE_LANGUAGE else language)


@contextlib.contextmanager
def using(language: str) -> Iterator[None]:
    """Write in `language` inside the block."""
    token = _current.set(language if language in LANGUAGES else SOURCE_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def catalog_for(language_code: str | None) -> str | None:
    """The catalog for a Telegram `language_code`, or None when the bot has none for it."""
    if not language_code:
        return None
    tag = language_code.strip().lower().replace("_", "-")
    if tag in _ALIASES:
        return _ALIASES[tag]
    for language in LANGUAGES:
        if tag == language.lower().replace("_", "-"):
            return language
    primary = tag.split("-", 1)[0]
    if primary in _ALIASES:
        return _ALIASES[primary]
    return primary if primary in LANGUAGES else None


def choose(chat_choice: str | None, language_code: str | None, default: str) -> str:
    """The language a reader gets: the chat's choice, else their Telegram language, else the
    bot's default, else English."""
    for candidate in (chat_choice, catalog_for(language_code), catalog_for(default)):
        if candidate is not None and candidate in LANGUAGES:
            return candidate
    return SOURCE_LANGUAGE


@dataclass(frozen=True, slots=True)
class Language:
    """A catalog and its name as its readers write it ("Deutsch", "日本語")."""

    code: str
    native_name: str


def languages() -> tuple[Language, ...]:
    """Every catalog the bot ships, with its native name."""
    return tuple(Language(code, native_name(code)) for code in LANGUAGES)


def native_name(code: str) -> str:
    """`code`'s name in its own language, capitalised as a label."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(language: str) -> stdlib_gettext.NullTranslations:
    """The compiled catalog of `language` (English: the source text itself)."""
    found = _loaded.get(language)
    if found is not None:
        return found
    with _loading:
        found = _loaded.get(language)
        if found is None:
            found = _compile(language)
            _loaded[language] = found
    return found


def _compile(language: str) -> stdlib_gettext.NullTranslations:
    path = po_path(language)
    if language == SOURCE_LANGUAGE or not path.exists():
        return stdlib_gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    # Fuzzy entries are drafts: the English source is shown until a translator confirms them.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return stdlib_gettext.GNUTranslations(compiled)


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, object],
    comment_tags: Collection[str],
    options: Mapping[str, object],
) -> Iterator[tuple[int, str, str | tuple[str | None, ...], list[str]]]:
    """pybabel's Python extraction, also keeping a translator comment written above a call whose
    text starts on the next line (`_(` then the string, as the formatter writes long ones):
    Babel alone keeps a comment only on the line just before the string."""
    from babel.messages.extract import extract_python

    source = fileobj.read()
    lines = source.decode(str(options.get("encoding") or "utf-8")).splitlines()
    found = extract_python(io.BytesIO(source), keywords, comment_tags, options)  # type: ignore[arg-type]
    for lineno, funcname, message, comments in found:
        above = comments or _comment_above(lines, lineno, comment_tags)
        yield lineno, funcname, message, above  # type: ignore[misc]


def _comment_above(lines: list[str], lineno: int, tags: Collection[str]) -> list[str]:
    """The translator comment just above line `lineno` (1-based) or the call opening it."""
    index = lineno - 2
    while (
        index >= 0
        and lines[index].rstrip().endswith("(")
        and not lines[index].lstrip().startswith("#")
    ):
        index -= 1
    block: list[str] = []
    while index >= 0 and lines[index].lstrip().startswith("#"):
        block.insert(0, lines[index].lstrip()[1:].strip())
        if any(block[0].startswith(tag) for tag in tags):
            return block
        index -= 1
    return []
