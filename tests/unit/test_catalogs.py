"""The catalogs can't drift from the code: every string the code marks is in messages.pot and
translated in every catalog, placeholders, commands and markup survive translation, and nothing
stale stays behind. `make messages` brings the catalogs up to date after a change of strings."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n

ROOT = Path(__file__).resolve().parents[2]
POT = i18n.LOCALES_DIR / f"{i18n.DOMAIN}.pot"
TRANSLATED = [language for language in i18n.LANGUAGES if language != i18n.SOURCE_LANGUAGE]
COMMAND = re.compile(r"(?<![\w/])/[a-z_]+\b")
MARKUP = ("`", "*", "\n")


def _ids(message: Message) -> tuple[str, ...]:
    ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
    return tuple(str(i) for i in ids)


def _strings(message: Message) -> tuple[str, ...]:
    found = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return tuple(s or "" for s in found)


def extracted() -> set[tuple[str, ...]]:
    """The msgids marked in bot/, as pybabel extracts them (see babel.cfg)."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "bot", method_map=[("**.py", "python")], keywords=i18n_keywords()
    ):
        found.add(message if isinstance(message, tuple) else (message,))
    return found


def i18n_keywords() -> dict[str, tuple[int, ...] | None]:
    return {"_": None, "N_": None, "ngettext": (1, 2)}


def catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def entries(found: Catalog) -> Iterator[Message]:
    return (message for message in found if message.id)


def fields(text: str) -> set[str]:
    return {name for _text, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_the_template_holds_exactly_the_strings_the_code_marks() -> None:
    template = {_ids(message) for message in entries(catalog(POT))}
    marked = extracted()
    assert sorted(marked - template) == [], "new strings: run `make messages` and translate them"
    assert sorted(template - marked) == [], "strings no longer in the code: run `make messages`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_translates_every_string_and_nothing_else(language: str) -> None:
    template = {_ids(message) for message in entries(catalog(POT))}
    translated = catalog(i18n.po_path(language), language)
    ids = {_ids(message) for message in entries(translated)}
    assert sorted(template - ids) == []
    assert sorted(ids - template) == []
    assert list(translated.obsolete) == []
    untranslated = [_ids(m)[0] for m in entries(translated) if m.fuzzy or not all(_strings(m))]
    assert untranslated == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_placeholders_commands_and_markup(language: str) -> None:
    problems = []
    for message in entries(catalog(i18n.po_path(language), language)):
        source = _ids(message)[-1]
        for text in _strings(message):
            # A plural form may leave the number out ("one message"); nothing may be added, and
            # a single form keeps every placeholder.
            lost = len(_ids(message)) == 1 and fields(text) != fields(source)
            if lost or fields(text) - fields(source):
                problems.append(f"placeholders: {source!r} -> {text!r}")
            if set(COMMAND.findall(source)) - set(COMMAND.findall(text)):
                problems.append(f"commands: {source!r} -> {text!r}")
            for mark in MARKUP:
                if source.count(mark) != text.count(mark):
                    problems.append(f"{mark!r} count: {source!r} -> {text!r}")
    assert problems == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_compiles_with_all_its_plural_forms(language: str) -> None:
    translations = i18n.translations(language)
    found = catalog(i18n.po_path(language), language)
    for message in entries(found):
        if len(_ids(message)) > 1:
            assert len(_strings(message)) == found.num_plurals, message.id
        else:
            assert translations.gettext(_ids(message)[0]) == _strings(message)[0]
