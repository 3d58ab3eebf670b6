"""bot.render.convert: markdown -> Telegram text + entities, and splitting at 4096 UTF-16 units."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import pyromark
import pytest
from telegram import MessageEntity
from telegramify_markdown.converter import STANDARD_OPTIONS

from bot.render.convert import (
    TELEGRAM_TEXT_LIMIT,
    Piece,
    Rendered,
    plain,
    render,
    split_markdown,
    utf16_len,
)
from tests.fakes.telegram.rules import check_message_text

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.md"))
LONG_ANSWER = Path(__file__).parent / "corpus" / "long_deployment_guide.md"
# render() has no limit of its own (the caller splits): tables can grow far past their source.
UNLIMITED = 10**9
STYLES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
CODES = frozenset({"code", "pre"})
QUOTES = frozenset({"blockquote", "expandable_blockquote"})
LATEX = re.compile(r"\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
FAMILY = "👨\u200d👩\u200d👧\u200d👦"
FLAG = "🇺🇦"
ACCENTED = "e\u0301"


def assert_valid_entities(
    text: str, entities: Sequence[MessageEntity], limit: int = TELEGRAM_TEXT_LIMIT
) -> None:
    """Telegram's rules for a message: trimmed non-empty text within the limit, entities inside
    it on UTF-16 boundaries, nested properly (code and pre only inside a blockquote, blockquotes
    never nested, links never inside links)."""
    assert text, "Telegram refuses an empty text"
    assert text == text.strip(), "Telegram trims the text, moving every entity"
    size = utf16_len(text)
    assert size <= limit
    units = text.encode("utf-16-le", "surrogatepass")

    def inside_pair(offset: int) -> bool:
        return (
            offset < size
            and 0xDC00 <= int.from_bytes(units[2 * offset : 2 * offset + 2], "little") <= 0xDFFF
        )

    for entity in entities:
        assert entity.length >= 1, entity
        assert entity.offset >= 0, entity
        assert entity.offset + entity.length <= size, entity
        assert not inside_pair(entity.offset), entity
        assert not inside_pair(entity.offset + entity.length), entity
        if entity.type == "text_link":
            assert (entity.url or "").startswith(("http://", "https://", "tg://")), entity
        if entity.type == "pre" and entity.language is not None:
            assert re.fullmatch(r"\S+", entity.language), entity
    for a, b in combinations(entities, 2):
        a_end, b_end = a.offset + a.length, b.offset + b.length
        if a_end <= b.offset or b_end <= a.offset:
            continue
        if a.offset <= b.offset and b_end <= a_end:
            outer, inner = a, b
        elif b.offset <= a.offset and a_end <= b_end:
            outer, inner = b, a
        else:
            raise AssertionError(f"{a} and {b} cross")
        kinds = (outer.type, inner.type)
        assert not (outer.type in QUOTES and inner.type in QUOTES), kinds
        if outer.type in CODES or inner.type in CODES:
            assert outer.type in QUOTES, f"code or pre must stand alone: {kinds}"
        else:
            assert outer.type in STYLES | QUOTES or inner.type in STYLES, kinds


def assert_sendable(rendered: Rendered, limit: int = TELEGRAM_TEXT_LIMIT) -> None:
    """Our rules, and (within Telegram's limit) the fake Telegram server keeps the message
    exactly as sent."""
    assert_valid_entities(rendered.text, rendered.entities, limit)
    if utf16_len(rendered.text) > TELEGRAM_TEXT_LIMIT:
        return
    sent = [entity.to_dict() for entity in rendered.entities]
    kept = check_message_text(rendered.text, sent)
    assert (kept.text, sorted_dicts(kept.entities)) == (rendered.text, sorted_dicts(sent))


def sorted_dicts(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], e["length"], e["type"]))


def utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le", "surrogatepass")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le", "surrogatepass")


def spans(rendered: Rendered) -> list[tuple[str, str]]:
    """Each entity as (type, the text it covers), in order."""
    return [(e.type, utf16_slice(rendered.text, e.offset, e.length)) for e in rendered.entities]


def assert_in_order(words: Sequence[str], text: str) -> None:
    position = 0
    for word in words:
        found = text.find(word, position)
        assert found >= 0, f"{word!r} missing after position {position}"
        position = found + len(word)


def visible_words(markdown: str) -> list[str]:
    """Letters and digits a markdown viewer shows: text, code and raw HTML, not link targets,
    fence languages or LaTeX commands."""
    words: list[str] = []
    for event in pyromark.events(LATEX.sub(" ", markdown), options=STANDARD_OPTIONS):
        if isinstance(event, dict):
            for key, payload in event.items():
                if key in ("Text", "Code", "Html", "InlineHtml") and isinstance(payload, str):
                    words += re.findall(r"[^\W_]+", payload)
    return words


def outside_code(rendered: Rendered) -> str:
    """The rendered text with code and pre taken out."""
    units = rendered.text.encode("utf-16-le", "surrogatepass")
    for e in rendered.entities:
        if e.type in CODES:
            units = units[: 2 * e.offset] + b"\0\0" * e.length + units[2 * (e.offset + e.length) :]
    return units.decode("utf-16-le", "surrogatepass")


def texts(pieces: Sequence[Piece]) -> list[str]:
    return [piece.rendered.text for piece in pieces]


# --- formatting ---------------------------------------------------------------------------


def test_heading_is_bold_and_underlined_without_an_emoji_prefix() -> None:
    rendered = render("# Title\n\nBody")

    assert rendered.text == "Title\n\nBody"
    assert spans(rendered) == [("bold", "Title"), ("underline", "Title")]


def test_bold_italic_strikethrough_and_inline_code_become_entities() -> None:
    rendered = render("Some **bold**, *italic*, ~~gone~~ and `code`.")

    assert rendered.text == "Some bold, italic, gone and code."
    assert spans(rendered) == [
        ("bold", "bold"),
        ("italic", "italic"),
        ("strikethrough", "gone"),
        ("code", "code"),
    ]


def test_fenced_code_keeps_its_language_and_its_markup_verbatim() -> None:
    rendered = render("Run:\n\n```python\nif a < b and c > d:\n    print(**kw, x_1)\n```")

    assert rendered.text == "Run:\n\nif a < b and c > d:\n    print(**kw, x_1)"
    assert spans(rendered) == [("pre", "if a < b and c > d:\n    print(**kw, x_1)")]
    assert rendered.entities[0].language == "python"


def test_link_with_parentheses_in_its_url_becomes_a_text_link() -> None:
    rendered = render("See [Rust](https://en.wikipedia.org/wiki/Rust_(programming_language)).")

    assert rendered.text == "See Rust."
    assert spans(rendered) == [("text_link", "Rust")]
    assert rendered.entities[0].url == "https://en.wikipedia.org/wiki/Rust_(programming_language)"


def test_links_telegram_would_refuse_keep_their_text_without_an_entity() -> None:
    rendered = render("[rel](/docs), [mail](mailto:a@b.co), <a@b.co> and <https://x.org>")

    assert rendered.text == "rel, mail, a@b.co and https://x.org"
    assert spans(rendered) == [("text_link", "https://x.org")]


def test_blockquote_holds_its_links_and_code_and_nested_quotes_flatten() -> None:
    rendered = render("> Quote with [a link](https://x.org) and `code`\n>\n> > inner *words*")

    assert rendered.text == "Quote with a link and code\n\ninner words"
    assert spans(rendered) == [
        ("blockquote", "Quote with a link and code\n\ninner words"),
        ("text_link", "a link"),
        ("code", "code"),
        ("italic", "words"),
    ]


def test_lists_get_bullets_numbers_and_task_boxes() -> None:
    rendered = render("- one\n  - nested\n1. first\n2. second\n\n- [ ] todo\n- [x] done")

    assert rendered.text == "• one\n  • nested\n1. first\n2. second\n\n⬜ todo\n✅ done"


def test_table_renders_as_an_aligned_preformatted_block() -> None:
    rendered = render("| Name | Qty |\n|---|--:|\n| **apple** | 3 |\n| kiwi | 12 |")

    assert rendered.text == "Name  | Qty\n------+----\napple | 3  \nkiwi  | 12"
    assert spans(rendered) == [("pre", rendered.text)]


def test_html_looking_text_is_shown_verbatim() -> None:
    rendered = render("Use the <div> tag, List<String> and a <!-- comment -->, or `<span>`.")

    assert rendered.text == "Use the <div> tag, List<String> and a <!-- comment -->, or <span>."
    assert spans(rendered) == [("code", "<span>")]


def test_html_block_is_shown_and_its_markdown_still_renders() -> None:
    rendered = render("<details>\n<summary>More</summary>\n\n**inside**\n\n</details>")

    assert rendered.text == "<details>\n<summary>More</summary>\n\ninside\n\n</details>"
    assert spans(rendered) == [("bold", "inside")]


def test_double_pipes_stay_text_in_prose_and_empty_cells_in_tables() -> None:
    rendered = render("a || b || c\n\n| x || y |\n|-|-|-|\n| 1 | 2 | 3 |")

    assert rendered.text == "a || b || c\n\nx |   | y\n--+---+--\n1 | 2 | 3"
    assert spans(rendered) == [("pre", "x |   | y\n--+---+--\n1 | 2 | 3")]


def test_latex_delimiters_become_unicode_math_outside_code() -> None:
    rendered = render("Energy \\(E = mc^2\\) and\n\n\\[\n\\frac{a}{b}\n\\]")

    assert rendered.text == "Energy E = mc² and\n\na/b"
    assert spans(rendered) == [("code", "E = mc²"), ("pre", "a/b")]


def test_latex_inside_code_is_left_exactly_as_written() -> None:
    source = "`\\(x\\)` and\n\n```tex\n\\[\\alpha\\]\n```"

    assert render(source).text == "\\(x\\) and\n\n\\[\\alpha\\]"


def test_dollar_amounts_and_lone_stars_stay_text() -> None:
    rendered = render("It went from $10.49 to ~$11.20; a * b * c and x_1_y stay.")

    assert rendered.text == "It went from $10.49 to ~$11.20; a * b * c and x_1_y stay."
    assert rendered.entities == ()


def test_code_inside_bold_cuts_the_bold_around_it() -> None:
    rendered = render("**bold `code` bold** and **`all code`**")

    assert rendered.text == "bold code bold and all code"
    assert spans(rendered) == [
        ("bold", "bold "),
        ("code", "code"),
        ("bold", " bold"),
        ("code", "all code"),
    ]


def test_code_inside_a_link_keeps_the_link_only() -> None:
    rendered = render("[`git log`](https://git-scm.com/docs/git-log)")

    assert spans(rendered) == [("text_link", "git log")]


def test_heading_with_code_is_bold_except_the_code() -> None:
    rendered = render("## Use `asyncio.run`")

    assert spans(rendered) == [
        ("bold", "Use "),
        ("underline", "Use "),
        ("code", "asyncio.run"),
    ]


def test_text_is_trimmed_and_entities_stay_inside_it() -> None:
    rendered = render("\n\n   \n```\n   indented first line\nsecond\n```\n\n  ")

    assert rendered.text == "indented first line\nsecond"
    assert spans(rendered) == [("pre", "indented first line\nsecond")]


@pytest.mark.parametrize(
    "markdown", ["", "   ", "\n\n\t\n", "```py", "\u200b\u2800", "[a]: http://x.org"]
)
def test_markdown_showing_nothing_renders_empty(markdown: str) -> None:
    assert render(markdown) == Rendered("", ())


def test_windows_line_endings_render_like_unix_ones() -> None:
    assert render("# A\r\n\r\nb\r\nc") == render("# A\n\nb\nc")


def test_plain_has_the_same_text_and_no_entities() -> None:
    source = "# Title\n\n**bold** and `code` and <b>tag</b>"

    assert plain(source) == Rendered(render(source).text, ())


def test_utf16_len_counts_characters_outside_the_bmp_twice() -> None:
    assert [utf16_len(s) for s in ("abc", "é", FAMILY, FLAG, ACCENTED)] == [3, 1, 11, 4, 2]


# --- partial markdown, as it streams -----------------------------------------------------


def test_unclosed_code_fence_renders_as_code_until_it_closes() -> None:
    streaming = render("Here:\n\n```python\ndef f(x):\n    return x <")
    closed = render("Here:\n\n```python\ndef f(x):\n    return x < 1\n```\n\nDone.")

    assert spans(streaming) == [("pre", "def f(x):\n    return x <")]
    assert streaming.entities[0].language == "python"
    assert spans(closed) == [("pre", "def f(x):\n    return x < 1")]


def test_unclosed_bold_shows_as_text_then_becomes_bold_once_closed() -> None:
    assert render("This is **very imp") == Rendered("This is **very imp", ())
    assert spans(render("This is **very important**")) == [("bold", "very important")]


def test_unclosed_link_shows_as_text_without_an_entity() -> None:
    assert render("Read [the docs](http://exa") == Rendered("Read [the docs](http://exa", ())


@pytest.mark.parametrize(
    ("tail", "shown"),
    [
        ("*", "*"),
        ("_", "_"),
        ("**", "**"),
        ("`", "`"),
        ("~~", "~~"),
        ("[", "["),
        ("<", "<"),
        ("\\(", "("),
        ("$", "$"),
        ("```", ""),
    ],
)
def test_a_trailing_delimiter_formats_nothing(tail: str, shown: str) -> None:
    assert render(f"Some words\n{tail}") == Rendered(f"Some words\n{shown}".strip(), ())


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_prefix_of_a_corpus_answer_renders_sendable(path: Path) -> None:
    source = path.read_text()
    for end in range(1, len(source) + 1, max(len(source) // 60, 7)):
        rendered = render(source[:end])
        if rendered.text:
            assert_sendable(rendered, limit=UNLIMITED)


# --- the corpus ---------------------------------------------------------------------------


def test_corpus_holds_a_long_answer_with_several_code_blocks() -> None:
    longest = max((p.read_text() for p in CORPUS), key=len)

    assert len(longest) >= 10_000
    assert longest.count("```") >= 12


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_answer_renders_sendable_and_keeps_every_word(path: Path) -> None:
    source = path.read_text()
    rendered = render(source)

    assert_sendable(rendered, limit=UNLIMITED)
    assert_in_order(visible_words(source), rendered.text)
    assert "**" not in outside_code(rendered)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
@pytest.mark.parametrize("limit", [TELEGRAM_TEXT_LIMIT, 700])
def test_corpus_answer_splits_into_sendable_messages_keeping_every_word(
    path: Path, limit: int
) -> None:
    source = path.read_text()
    pieces = split_markdown(source, limit=limit)

    for piece in pieces:
        assert_sendable(piece.rendered, limit)
    assert [p.end for p in pieces] == sorted({p.end for p in pieces})
    assert pieces[-1].end == len(source)
    assert_in_order(visible_words(source), "".join(texts(pieces)))


def test_long_answer_splits_between_blocks_keeping_each_code_block_whole() -> None:
    source = LONG_ANSWER.read_text()

    pieces = split_markdown(source, limit=1500)

    fenced_blocks = len(re.findall(r"^```\w", source, re.MULTILINE))
    pre = [e for p in pieces for e in p.rendered.entities if e.type == "pre"]
    assert len(pre) == fenced_blocks + 1  # the table is a pre block too
    for piece in pieces[:-1]:
        assert piece.carry == ""
        assert source[: piece.end].endswith(("\n\n", "```\n"))
        assert utf16_len(piece.rendered.text) >= 1500 // 2


def test_long_answer_code_blocks_too_big_for_a_message_reopen_with_their_language() -> None:
    source = LONG_ANSWER.read_text()

    pieces = split_markdown(source, limit=500)

    carried = [(piece.carry, after) for piece, after in pairwise(pieces)]
    assert [carry for carry, _ in carried if carry] == [
        "```python\n",
        "```python\n",
        "```python\n",
        "```sql\n",
        "```dockerfile\n",
        "```yaml\n",
        "```nginx\n",
        "```yaml\n",
        "```yaml\n",
    ]
    for carry, after in carried:
        if carry:
            first = after.rendered.entities[0]
            assert (first.type, first.offset, first.language) == ("pre", 0, carry[3:-1])


# --- splitting ----------------------------------------------------------------------------


def test_short_reply_is_one_piece_ending_at_the_end_of_the_source() -> None:
    source = "Hello **world**\n\n"

    assert split_markdown(source) == [Piece(render(source), len(source), "")]


@pytest.mark.parametrize("source", ["", "  \n\n ", "```\n\n"])
def test_source_showing_nothing_splits_into_no_pieces(source: str) -> None:
    assert split_markdown(source) == []


def test_reply_splits_at_a_paragraph_boundary() -> None:
    first = "First paragraph, long enough to matter here."
    second = "Second paragraph. It has two sentences."
    source = f"{first}\n\n{second}"

    pieces = split_markdown(source, limit=60)

    assert texts(pieces) == [first, second]
    assert [p.end for p in pieces] == [len(first) + 2, len(source)]


def test_paragraph_without_blank_lines_splits_at_a_line() -> None:
    source = "line one is here\nline two is here\nline three is here\nline four"

    assert texts(split_markdown(source, limit=40)) == [
        "line one is here\nline two is here",
        "line three is here\nline four",
    ]


def test_single_line_splits_at_a_sentence_then_at_a_word() -> None:
    source = "One sentence here. Another one follows it. And a third without any end"

    assert texts(split_markdown(source, limit=45)) == [
        "One sentence here. Another one follows it.",
        "And a third without any end",
    ]
    assert texts(split_markdown("alpha beta gamma delta epsilon", limit=12)) == [
        "alpha beta",
        "gamma delta",
        "epsilon",
    ]


def test_unbroken_text_is_cut_between_grapheme_clusters() -> None:
    cluster = FAMILY + FLAG + ACCENTED
    pieces = split_markdown(cluster * 40, limit=40)

    for piece in pieces:
        assert utf16_len(piece.rendered.text) <= 40
        assert piece.rendered.text == cluster * (len(piece.rendered.text) // len(cluster))
    assert "".join(texts(pieces)) == cluster * 40


def test_surrogate_pairs_are_never_cut_even_without_cluster_boundaries() -> None:
    source = "\U0001d400" * 101  # MATHEMATICAL BOLD CAPITAL A, two UTF-16 units

    pieces = split_markdown(source, limit=11)

    assert [utf16_len(t) for t in texts(pieces)][:3] == [10, 10, 10]
    assert "".join(texts(pieces)) == source


def test_code_block_split_is_closed_and_reopened_with_the_same_language() -> None:
    code = "".join(f"value_{i} = {i} * 2\n" for i in range(30))
    source = f"Intro.\n\n```python\n{code}```\n\nOutro."

    pieces = split_markdown(source, limit=200)

    assert len(pieces) > 2
    for piece in pieces[:-2]:
        assert piece.carry == "```python\n"
    pre = [e for p in pieces for e in p.rendered.entities]
    assert {(e.type, e.language) for e in pre} == {("pre", "python")}
    assert re.sub(r"\n+", "\n", "\n".join(texts(pieces))) == f"Intro.\n{code}Outro."


def test_code_block_inside_a_quote_is_reopened_inside_the_quote() -> None:
    code = "".join(f"> step_{i}()\n" for i in range(20))
    source = f"> Quoted code:\n>\n> ```js\n{code}> ```"

    pieces = split_markdown(source, limit=80)

    assert pieces[0].carry == "> ```js\n"
    for piece in pieces[1:]:
        kinds = [(e.type, e.language) for e in piece.rendered.entities]
        assert kinds == [("blockquote", None), ("pre", "js")]


def test_heading_underline_stays_with_its_heading() -> None:
    source = (
        "Intro words here.\nTitle line that is long\n==============\nBody text follows the title"
    )

    pieces = split_markdown(source, limit=50)

    assert texts(pieces) == [
        "Intro words here.",
        "Title line that is long",
        "Body text follows the title",
    ]
    assert spans(pieces[1].rendered) == [
        ("bold", "Title line that is long"),
        ("underline", "Title line that is long"),
    ]


def test_markup_that_renders_to_nothing_does_not_cause_an_early_split() -> None:
    links = " ".join(f"[w{i}](https://example.org/a/very/long/path/{i})" for i in range(40))

    pieces = split_markdown(links, limit=200)

    assert utf16_len(links) > 1000
    assert len(pieces) == 1


def test_tables_are_measured_by_their_rendered_width() -> None:
    rows = "".join(f"| {i} | x |\n" for i in range(60))
    source = f"| {'wide header ' * 8}| h |\n|---|---|\n{rows}"

    pieces = split_markdown(source, limit=800)

    assert len(pieces) > 1
    for piece in pieces:
        assert_sendable(piece.rendered, 800)


def test_continuing_from_a_piece_gives_the_remaining_pieces() -> None:
    source = LONG_ANSWER.read_text()
    pieces = split_markdown(source, limit=900)

    for i, piece in enumerate(pieces[:-1]):
        assert (
            split_markdown(source, start=piece.end, carry=piece.carry, limit=900) == pieces[i + 1 :]
        )


def test_streaming_rollover_freezes_the_first_message_and_continues_the_rest() -> None:
    paragraph = "Streaming words arrive one by one. " * 3
    final = "\n\n".join([paragraph] * 6) + "\n\n```sh\n" + "echo step\n" * 20 + "```\nEnd."
    frozen: list[str] = []
    start, carry, live = 0, "", ""
    for end in range(1, len(final) + 1, 9):
        pieces = split_markdown(final[:end], start=start, carry=carry, limit=300)
        frozen += texts(pieces[:-1])
        if len(pieces) > 1:
            start, carry = pieces[-2].end, pieces[-2].carry
        live = pieces[-1].rendered.text if pieces else ""
    pieces = split_markdown(final, start=start, carry=carry, limit=300)
    frozen += texts(pieces)

    assert "".join(frozen).replace("\n", "").replace(" ", "") == (
        render(final).text.replace("\n", "").replace(" ", "")
    )
    assert live
    assert frozen == texts(split_markdown(final, limit=300))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_streaming_a_corpus_answer_rolls_over_without_losing_a_word(path: Path) -> None:
    source = path.read_text()
    frozen: list[Piece] = []
    start, carry, live = 0, "", []
    for end in [*range(40, len(source), 97), len(source)]:
        pieces = split_markdown(source[:end], start=start, carry=carry, limit=1000)
        frozen += pieces[:-1]
        if len(pieces) > 1:
            start, carry = pieces[-2].end, pieces[-2].carry
        live = pieces[-1:]
    messages = frozen + live

    for piece in messages:
        assert_sendable(piece.rendered, 1000)
    assert [p.end for p in messages] == sorted({p.end for p in messages})
    assert messages[-1].end == len(source)
    assert_in_order(visible_words(source), "".join(texts(messages)))


def test_a_carry_that_cannot_fit_the_limit_is_dropped_rather_than_overflowing() -> None:
    pieces = split_markdown("  xyz", carry="# A long heading\n", limit=5)

    assert [(p.rendered.text, p.end, p.carry) for p in pieces] == [("x", 3, ""), ("yz", 5, "")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"start": 10}, "outside the source"), ({"start": -1}, "outside"), ({"limit": 1}, "limit")],
)
def test_impossible_arguments_raise_value_error(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_markdown("short", **kwargs)  # type: ignore[arg-type]
