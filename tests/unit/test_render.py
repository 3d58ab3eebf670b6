"""bot.render.convert's render: markdown -> Telegram text + entities, for whole and partial
markdown (as it streams) and for the corpus of real answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegramify_markdown import RenderConfig
from telegramify_markdown import convert as library_convert

from bot.render import walker
from bot.render.convert import (
    Rendered,
    plain,
    render,
    utf16_len,
)
from bot.render.prepare import prepare
from tests.unit.render_checks import (
    ACCENTED,
    CORPUS,
    FAMILY,
    FLAG,
    UNLIMITED,
    assert_in_order,
    assert_sendable,
    outside_code,
    spans,
    visible_words,
)

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


def test_lists_nested_deeper_than_six_levels_are_indented_as_the_sixth() -> None:
    # One character of source per level would otherwise write indentation growing with it.
    rendered = render("+ " * 9 + "x")

    indents = [len(line) - len(line.lstrip(" ")) for line in rendered.text.split("\n")]
    assert indents == [0, 2, 4, 6, 8, 10, 10, 10, 10]
    assert rendered.text.endswith("• x")


def test_table_that_would_be_mostly_padding_is_written_unaligned() -> None:
    # Aligned, one long cell would pad each of the fifty rows to its width.
    rows = "| b | c |\n" * 50
    rendered = render(f"| a | b |\n|---|---|\n| {'x' * 200} | y |\n{rows}")

    assert rendered.text == "a | b\n" + "x" * 200 + " | y" + "\nb | c" * 50
    assert spans(rendered) == [("pre", rendered.text)]


def test_table_with_far_more_cells_than_characters_is_shown_as_text() -> None:
    # Forty columns over sixty one-cell rows: the parser would fill 2,480 cells.
    source = "|" + " h |" * 40 + "\n|" + "---|" * 40 + "\n" + "| x |\n" * 60

    rendered = render(source)

    assert rendered.text == source.strip()
    assert rendered.entities == ()


def test_table_rows_inside_code_stay_as_written_when_their_table_is_text() -> None:
    code = "|x" * 200 + "|\n|-|\n" + "|\n" * 300
    rendered = render(f"```\n{code}```")

    assert rendered.text == code.strip()
    assert spans(rendered) == [("pre", code.strip())]


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
def test_corpus_answer_converts_as_the_library_converts_it(path: Path) -> None:
    # bot.render.walker replaces only steps that no real answer makes expensive.
    prepared = prepare(path.read_text())
    config = RenderConfig.isolated()

    assert walker.convert(prepared, config) == library_convert(
        prepared, latex_escape=False, config=config
    )
