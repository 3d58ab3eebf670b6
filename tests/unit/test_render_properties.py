"""Properties of bot.render.convert over random markdown and unicode (hypothesis).

The markdown comes from a small grammar (paragraphs, emphasis, code spans, fences with and
without a language, in lists and quotes, lists, quotes, links, images, tables, raw HTML, LaTeX,
long unbroken words, stray delimiters, CRLF line ends) whose words are
known: ASCII tokens `q0001`, `q0002`, ... numbered in order of appearance, each used once, and
unicode words (right-to-left scripts, emoji ZWJ sequences, flags, combining marks, characters
outside the BMP). What is guaranteed, and tested:

- render: entities valid for the text; every word shown, in order (markup may vanish, words not).
- split_markdown: every piece fits the limit with valid entities; ends strictly increase and the
  last is the source length; across the pieces every token appears exactly once and every word
  in order.
- streaming (split a growing prefix, keep all but the last piece, continue from its end and
  carry): the same as for split_markdown, for the messages as they end up. The cut points may
  differ from a one-shot split of the final text (a piece can be frozen before later text
  arrives), so equality with it is not claimed; no source character is lost or repeated.
- bot.render.walker, the library's conversion with its super-linear steps replaced, converts
  this markdown exactly as the library does: it differs only past limits no answer reaches.
"""

from __future__ import annotations

from itertools import accumulate

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegramify_markdown import RenderConfig
from telegramify_markdown import convert as library_convert

from bot.render import walker
from bot.render.convert import render, split_markdown
from bot.render.prepare import prepare
from tests.unit.render_checks import (
    UNLIMITED,
    Words,
    assert_each_token_once,
    assert_in_order,
    assert_sendable,
    streamed,
    texts,
)

LANGUAGES = ("", "python", "js", "c++", "bash")
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def inline(draw: st.DrawFn, words: Words) -> str:
    """A run of inline markdown; every word in it is shown."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 16))
        if kind <= 3:
            parts.append(words.any(draw))
        elif kind == 4:
            parts.append(f"**{words.any(draw)} {words.any(draw)}**")
        elif kind == 5:
            parts.append(draw(st.sampled_from(("*{}*", "_{}_", "~~{}~~"))).format(words.token()))
        elif kind == 6:
            parts.append(f"`{words.token()} < {words.token()} * x_1`")
        elif kind == 7:
            parts.append(f"[{words.any(draw)}](https://example.org/wiki/Page_(x))")
        elif kind == 8:
            parts.append(f"<{words.token()}> tag")
        elif kind == 9:
            parts.append(f"{words.token()}*{words.token()}*{words.token()}")
        elif kind == 10:
            parts.append(
                draw(st.sampled_from(("*", "_", "**", "`", "[", "<", "||", "$5", "a < b")))
            )
        elif kind == 11:
            parts.append(f"**{words.token()} `{words.token()}` {words.token()}**")
        elif kind == 12:
            parts.append(f"[`{words.token()}`](https://example.org)")
        elif kind == 13:
            parts.append(f"\\({words.token()} + x^2\\)")
        elif kind == 14:
            parts.append(f"![{words.token()}](https://example.org/i.png)")
        elif kind == 15:
            parts.append("".join(words.token() for _ in range(draw(st.integers(2, 12)))))
        else:
            parts.append(f"{words.token()}. {words.any(draw)}!")
    return " ".join(parts)


@st.composite
def markdown_documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A markdown document and the words it shows, in order."""
    words = Words()
    blocks: list[str] = []
    count = draw(st.integers(1, 8))
    for index in range(count):
        kind = draw(st.integers(0, 10))
        if kind <= 2:
            lines = [inline(draw, words) for _ in range(draw(st.integers(1, 3)))]
            blocks.append("\n".join(lines))
        elif kind == 3:
            blocks.append("#" * draw(st.integers(1, 6)) + " " + inline(draw, words))
        elif kind == 4:
            fence = draw(st.sampled_from(("```", "~~~", "````")))
            language = draw(st.sampled_from(LANGUAGES))
            body = "".join(
                f"{words.token()} = [{words.token()}] * 2  # <b> **x**\n"
                for _ in range(draw(st.integers(1, 12)))
            )
            closed = index < count - 1 or draw(st.booleans())
            blocks.append(f"{fence}{language}\n{body}" + (fence if closed else ""))
        elif kind == 5:
            marker = draw(st.sampled_from(("-", "*", "1.")))
            items: list[str] = []
            for _ in range(draw(st.integers(1, 4))):
                items.append(f"{marker} {inline(draw, words)}")
                if draw(st.booleans()):
                    items.append(f"   - {inline(draw, words)}")
            blocks.append("\n".join(items))
        elif kind == 6:
            quoted = [f"> {inline(draw, words)}" for _ in range(draw(st.integers(1, 3)))]
            if draw(st.booleans()):
                quoted += ["> ```js", f"> {words.token()}();", "> ```"]
            blocks.append("\n".join(quoted))
        elif kind == 7:
            columns = draw(st.integers(1, 3))
            header = "| " + " | ".join(words.token() for _ in range(columns)) + " |"
            rule = "|" + "---|" * columns
            rows = [
                "| " + " | ".join(words.any(draw) for _ in range(columns)) + " |"
                for _ in range(draw(st.integers(0, 5)))
            ]
            blocks.append("\n".join([header, rule, *rows]))
        elif kind == 8:
            blocks.append(f"<div>\n{words.token()} and *{words.token()}*\n</div>")
        elif kind == 9:
            blocks.append("---")
        else:
            step = f"1. {inline(draw, words)}"
            code = "".join(f"   {words.token()} --flag\n" for _ in range(draw(st.integers(1, 8))))
            blocks.append(f"{step}\n\n   ```bash\n{code}   ```\n2. {inline(draw, words)}")
    separators = [draw(st.sampled_from(("\n\n", "\n\n\n", "\n", "\r\n\r\n"))) for _ in blocks]
    document = "".join(block + sep for block, sep in zip(blocks, separators, strict=True))
    return document, words.shown


@PROPERTY
@given(markdown_documents())
def test_render_shows_every_word_in_order_with_valid_entities(
    document: tuple[str, list[str]],
) -> None:
    source, words = document
    rendered = render(source)

    assert_sendable(rendered, limit=UNLIMITED)
    assert_in_order(words, rendered.text)
    assert_each_token_once(rendered.text, words)


@PROPERTY
@given(st.text(max_size=300))
def test_render_of_any_unicode_text_is_sendable_or_empty(source: str) -> None:
    rendered = render(source)

    if rendered.text:
        assert_sendable(rendered, limit=UNLIMITED)
    else:
        assert rendered.entities == ()


@PROPERTY
@given(markdown_documents(), st.integers(0, 10_000))
def test_every_prefix_renders_sendable(document: tuple[str, list[str]], cut: int) -> None:
    source, _ = document
    rendered = render(source[: cut % (len(source) + 1)])

    if rendered.text:
        assert_sendable(rendered, limit=UNLIMITED)


@PROPERTY
@given(markdown_documents(), st.integers(24, 400))
def test_split_pieces_fit_and_keep_every_word_exactly_once(
    document: tuple[str, list[str]], limit: int
) -> None:
    source, words = document
    pieces = split_markdown(source, limit=limit)

    for piece in pieces:
        assert_sendable(piece.rendered, limit)
    ends = [piece.end for piece in pieces]
    assert ends == sorted(set(ends))
    assert ends[-1:] == [len(source)]
    shown = "".join(texts(pieces))
    assert_in_order(words, shown)
    assert_each_token_once(shown, words)


@PROPERTY
@given(st.text(min_size=1, max_size=400), st.integers(8, 120))
def test_split_of_any_unicode_text_fits_and_ends_at_the_source_end(source: str, limit: int) -> None:
    pieces = split_markdown(source, limit=limit)

    for piece in pieces:
        assert_sendable(piece.rendered, limit)
    ends = [piece.end for piece in pieces]
    assert ends == sorted(set(ends))
    assert ends[-1:] == ([len(source)] if render(source).text else [])


@PROPERTY
@given(
    markdown_documents(),
    st.integers(30, 300),
    st.lists(st.integers(1, 200), min_size=1, max_size=30),
)
def test_streamed_split_keeps_every_word_exactly_once(
    document: tuple[str, list[str]], limit: int, steps: list[int]
) -> None:
    source, words = document
    ends = [min(len(source), end) for end in accumulate([*steps, len(source)])]
    messages = streamed(source, ends, limit)

    for piece in messages:
        assert_sendable(piece.rendered, limit)
    ends = [piece.end for piece in messages]
    assert ends == sorted(set(ends))
    assert ends[-1:] == [len(source)]
    shown = "".join(texts(messages))
    assert_in_order(words, shown)
    assert_each_token_once(shown, words)


@PROPERTY
@given(markdown_documents())
def test_the_linear_walker_converts_as_the_library_does(document: tuple[str, list[str]]) -> None:
    prepared = prepare(document[0])
    config = RenderConfig.isolated()

    assert walker.convert(prepared, config) == library_convert(
        prepared, latex_escape=False, config=config
    )
