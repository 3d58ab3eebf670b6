"""A reasoning model's thinking as Telegram shows it (bot/render/reasoning.py): the thinking line,
the collapsed quote, the full quotes; every message valid by the fake Telegram's entity rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.render.convert import TELEGRAM_TEXT_LIMIT, render, split_markdown, utf16_len
from bot.render.reasoning import (
    COLLAPSED_LIMIT,
    FULL_SHARE,
    duration,
    layout,
    stacked,
    thinking_line,
)
from tests.unit.render_checks import (
    LONG_ANSWER,
    assert_each_token_once,
    assert_sendable,
    spans,
)
from tests.unit.test_render_properties import PROPERTY, markdown_documents

HEADER_ROOM = 40  # "💭 Thought for 59 min 59 s" and its line break, with room to spare


def test_the_thinking_line_counts_whole_seconds_then_minutes() -> None:
    assert thinking_line(None).text == "💭 Thinking…"
    assert thinking_line(0.9).text == "💭 Thinking…"
    assert thinking_line(12.7).text == "💭 Thinking… 12 s"
    assert thinking_line(125).text == "💭 Thinking… 2 min 5 s"
    line = thinking_line(3)
    assert spans(line) == [("italic", "💭 Thinking… 3 s")]
    assert duration(3600) == "60 min 0 s"


def test_hidden_reasoning_and_blank_reasoning_show_nothing() -> None:
    assert layout("I think, therefore.", "hidden", 4) == ((), None)
    assert layout(" \n ", "collapsed", 4) == ((), None)


def test_collapsed_reasoning_is_one_expandable_quote_with_its_formatting_and_how_long() -> None:
    leads, block = layout("The user wants **two** things.\n\n> a quote", "collapsed", 7.5)
    assert leads == ()
    assert block is not None
    assert block.text == "💭 Thought for 7 s\nThe user wants two things.\n\na quote"
    assert spans(block) == [
        ("expandable_blockquote", block.text),
        ("bold", "two"),  # the reasoning's own quote loses its entity: quotes do not nest
    ]
    assert_sendable(block)


def test_collapsed_reasoning_is_cut_at_a_boundary_and_says_so() -> None:
    reasoning = LONG_ANSWER.read_text()
    _, block = layout(reasoning, "collapsed", None)
    assert block is not None
    assert block.text.startswith("💭 Thought\n")
    assert block.text.endswith(" …")
    assert utf16_len(block.text) <= COLLAPSED_LIMIT + HEADER_ROOM
    assert_sendable(block)


def test_full_reasoning_is_split_into_quotes_that_lose_no_word() -> None:
    reasoning = LONG_ANSWER.read_text()
    leads, block = layout(reasoning, "full", 61)
    messages = [*leads, *([block] if block else [])]
    assert len(messages) >= 3
    assert messages[0].text.startswith("💭 Thought for 1 min 1 s\n")
    for message in messages:
        assert_sendable(message)
        assert message.entities[0].type == "blockquote"
        assert message.entities[0].length == utf16_len(message.text)
    shown = "\n".join(m.text for m in messages).removeprefix("💭 Thought for 1 min 1 s\n")
    pieces = split_markdown(reasoning, limit=TELEGRAM_TEXT_LIMIT - len("💭 Thought for 1 min 1 s"))
    assert shown == "\n".join(p.rendered.text for p in pieces)


def test_a_short_full_reasoning_sits_above_the_answer_and_a_long_last_piece_alone() -> None:
    assert layout("Short thought.", "full", 2)[0] == ()
    long_last = "word " * (FULL_SHARE // 4)
    leads, block = layout(long_last, "full", 2)
    assert (len(leads), block) == (1, None)


@PROPERTY
@given(markdown_documents(), st.sampled_from(["collapsed", "full"]))
def test_any_reasoning_lays_out_as_sendable_quotes_that_fit_above_the_answers_first_piece(
    document: tuple[str, list[str]], show: str
) -> None:
    reasoning, words = document
    assert show in ("collapsed", "full")
    leads, block = layout(reasoning, "collapsed" if show == "collapsed" else "full", 5)
    for lead in leads:
        assert_sendable(lead)
    if block is None:
        assert show == "full" or not render(reasoning).text
        return
    assert_sendable(block)
    assert block.entities[0].type in ("blockquote", "expandable_blockquote")
    room = TELEGRAM_TEXT_LIMIT - utf16_len(block.text) - 2
    [answer, *_] = split_markdown(LONG_ANSWER.read_text(), limit=room)
    assert_sendable(stacked(block, answer.rendered))
    if show == "full":
        assert_each_token_once("\n".join(m.text for m in [*leads, block]), words)
