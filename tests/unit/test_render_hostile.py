"""Properties of bot.render.convert over hostile markdown (hypothesis).

The documents are what a hostile user can make a model write: runs of thousands of delimiters
never closed (`\\(`, `\\[`, `$`, `**`, `__`, `` ` ``, `[`, `<`, `||`, ...), backtick runs of every
length, fences opened and never closed, quotes and lists nested hundreds deep, tables with rows
wider than their header or one cell wider than the rest, emphasis around many code spans, long
runs of blank lines, spaces or flags. Known tokens (`q0001`, `q0002`, ... in order of
appearance, each used once) are spread through them. What is guaranteed, and tested, is what the
ordinary grammar of test_render_properties.py gets:

- render: entities valid for the text; every token shown once, in order; and the text at most
  `TEXT_PER_SOURCE` times as long as the source (plus a little), so no construct multiplies it.
- split_markdown: every piece fits 4096 UTF-16 units with entities Telegram accepts, ends
  strictly increase to the source's length, every token shown exactly once, in order.
- streaming (as the live reply splits a growing prefix): the same, for the messages it ends as.
"""

from __future__ import annotations

from itertools import accumulate

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render.convert import TELEGRAM_TEXT_LIMIT, render, split_markdown, utf16_len
from tests.unit.render_checks import (
    FLAG,
    TEXT_PER_SOURCE,
    TEXT_SLACK,
    UNLIMITED,
    Words,
    assert_each_token_once,
    assert_in_order,
    assert_sendable,
    streamed,
    texts,
)

HOSTILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DELIMITERS = (
    "\\(",
    "\\[",
    "\\)",
    "$",
    "$$",
    "**",
    "__",
    "*",
    "_",
    "~~",
    "~",
    "`",
    "``",
    "[",
    "](",
    "![",
    "<",
    "||",
    "|",
    "&",
    "\\",
    ">",
)


def many(most: int) -> st.SearchStrategy[int]:
    """A count up to `most`: a few, or a large share of it (hypothesis favours small ones)."""
    return st.one_of(st.integers(1, min(most, 64)), st.integers(max(1, most // 4), most))


def delimiter_run(draw: st.DrawFn, words: Words, most: int) -> str:
    """One delimiter repeated up to `most` times, a token after every few."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    between = draw(st.sampled_from(("", " ", "a", "\n")))
    every = draw(st.integers(1, 64))
    count = draw(many(most))
    return (
        "".join(
            delimiter + between + (f" {words.token()} " if i % every == every - 1 else "")
            for i in range(count)
        )
        + f" {words.token()}"
    )


def backtick_runs(draw: st.DrawFn, words: Words, most: int) -> str:
    lengths = draw(st.lists(st.integers(1, 40), min_size=1, max_size=max(1, most // 8)))
    return "".join("`" * n + f" {words.token()} " for n in lengths)


def fences(draw: st.DrawFn, words: Words, most: int) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, max(1, most // 16)))):
        fence = draw(st.sampled_from(("```", "~~~", "````", "```python", "> ```", "- ```")))
        lines += [fence, words.token()]
    return "\n".join(lines) + "\n"


def nested_quotes(draw: st.DrawFn, words: Words, most: int) -> str:
    if draw(st.booleans()):
        return ">" * draw(many(most)) + f" {words.token()}\n"
    depths = draw(st.lists(st.integers(0, 300), min_size=1, max_size=max(1, most // 64)))
    return "".join(">" * depth + f" {words.token()}\n" for depth in depths)


def nested_lists(draw: st.DrawFn, words: Words, most: int) -> str:
    marker = draw(st.sampled_from(("- ", "+ ", "1. ", "* ", "- [ ] ")))
    if draw(st.booleans()):
        return marker * draw(many(most // len(marker) + 1)) + f"{words.token()}\n"
    depths = draw(st.lists(st.integers(0, 60), min_size=1, max_size=max(1, most // 64)))
    return "".join("  " * depth + marker + f"{words.token()}\n" for depth in depths)


def tables(draw: st.DrawFn, words: Words, most: int) -> str:
    columns = draw(st.integers(1, 40))
    lines = ["|" + "".join(f" {words.token()} |" for _ in range(columns)), "|" + "---|" * columns]
    for _ in range(draw(many(max(1, most // 16)))):
        shape = draw(st.integers(0, 3))
        if shape == 0:
            lines.append("|" * draw(many(most)) + f" {words.token()}")
        elif shape == 1:
            lines.append(f"| {'x' * draw(many(most))} | {words.token()} |")
        else:
            cells = draw(st.integers(1, columns * 3))
            lines.append("|" + "".join(f" {words.token()} |" for _ in range(cells)))
    return "\n".join(lines) + "\n"


def emphasis_around_code(draw: st.DrawFn, words: Words, most: int) -> str:
    depth = draw(many(max(1, most // 8)))
    inner = draw(st.sampled_from((" `{}`", " [{}]()", " ![{}](https://x.org/i.png)", " ~~{}~~")))
    body = "".join(inner.format(words.token()) for _ in range(draw(many(most // 8 + 1))))
    opener = draw(st.sampled_from(("**", "*", "__", "_", "***")))
    return opener * depth + body + opener * draw(st.integers(0, depth)) + "\n"


def blank_runs(draw: st.DrawFn, words: Words, most: int) -> str:
    run = draw(st.sampled_from(("\n", " ", "\t", "\n>", FLAG, "a")))
    lead = draw(st.sampled_from(("{}:", "# {}", "{}", "1. {}")))
    return lead.format(words.token()) + run * draw(many(most)) + f" {words.token()}\n"


INLINE_RUNS = (delimiter_run, backtick_runs)
RUNS = (
    delimiter_run,
    backtick_runs,
    fences,
    nested_quotes,
    nested_lists,
    tables,
    emphasis_around_code,
    blank_runs,
)


@st.composite
def hostile_documents(draw: st.DrawFn, most: int = 3000) -> tuple[str, list[str]]:
    """A hostile document of up to a few runs of `most` repetitions, and the tokens it shows."""
    words = Words()
    runs: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        run = draw(st.sampled_from(RUNS))
        # Inline runs follow a word: three backticks or tildes opening a line would be a fence,
        # and a token after them its language, which is not shown.
        lead = words.token() + (" " if run in INLINE_RUNS else "\n")
        runs.append(lead + run(draw, words, most))
    return "\n".join(runs), words.shown


@HOSTILE
@given(hostile_documents())
def test_hostile_markdown_renders_every_token_once_in_a_bounded_text(
    document: tuple[str, list[str]],
) -> None:
    source, words = document
    rendered = render(source)

    assert utf16_len(rendered.text) <= TEXT_PER_SOURCE * len(source) + TEXT_SLACK
    assert_sendable(rendered, limit=UNLIMITED)
    assert_in_order(words, rendered.text)
    assert_each_token_once(rendered.text, words)


@HOSTILE
@given(hostile_documents())
def test_hostile_markdown_splits_into_sendable_messages_keeping_every_token_once(
    document: tuple[str, list[str]],
) -> None:
    source, words = document
    pieces = split_markdown(source)

    for piece in pieces:
        assert_sendable(piece.rendered, TELEGRAM_TEXT_LIMIT)
    ends = [piece.end for piece in pieces]
    assert ends == sorted(set(ends))
    assert ends[-1:] == [len(source)]
    shown = "".join(texts(pieces))
    assert_in_order(words, shown)
    assert_each_token_once(shown, words)


@HOSTILE
@given(
    hostile_documents(most=400),
    st.integers(64, 1024),
    st.lists(st.integers(1, 800), min_size=1, max_size=12),
)
def test_hostile_markdown_streamed_keeps_every_token_once(
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
