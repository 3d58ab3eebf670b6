"""bot.render.convert's split_markdown: a reply cut into messages of at most 4096 UTF-16 units
(or a smaller limit), each rendered sendable; continuing from a piece, as a streamed reply does."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from bot.render.convert import (
    TELEGRAM_TEXT_LIMIT,
    Piece,
    render,
    split_markdown,
    utf16_len,
)
from tests.unit.render_checks import (
    ACCENTED,
    CORPUS,
    FAMILY,
    FLAG,
    LONG_ANSWER,
    assert_in_order,
    assert_sendable,
    fresh,
    interpreter_steps,
    spans,
    streamed,
    texts,
    visible_words,
)

# --- the corpus, split -------------------------------------------------------------------


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
        again = split_markdown(fresh(source), start=piece.end, carry=piece.carry, limit=900)
        assert again == pieces[i + 1 :]


def test_continuing_a_split_of_the_same_source_renders_nothing_again() -> None:
    # The live reply freezes a piece and splits the same text again from its end, and splits
    # it once more when its edit may go: each a continuation of a split already made.
    source = LONG_ANSWER.read_text()
    pieces: list[Piece] = []
    first = interpreter_steps(lambda: pieces.extend(split_markdown(source)))
    continuations = [(0, ""), *((piece.end, piece.carry) for piece in pieces)]

    def continue_from_each_piece() -> None:
        for i, (start, carry) in enumerate(continuations):
            assert split_markdown(source, start=start, carry=carry) == pieces[i:]

    assert len(pieces) >= 3
    assert interpreter_steps(continue_from_each_piece) * 20 < first
    assert interpreter_steps(lambda: split_markdown(fresh(source))) * 2 > first


def test_a_line_cut_before_a_fence_or_a_link_definition_keeps_the_rest_of_the_line() -> None:
    # The next piece starts a line: `~~~~ rest` there would be a fence whose language "rest"
    # is not shown, `[a]: url` a link definition, which shows nothing.
    fence_line = "q0001 ~~~~ q0002 ~~~~ q0003 ~~~~ q0004 ~~~~ q0005 ~~~~ q0006 ~~~~ q0007  q0008"
    definition = "see the note " * 5 + "[a]: http://x.org tail"

    assert texts(split_markdown(fence_line, limit=64)) == [
        "q0001 ~~~~ q0002 ~~~~ q0003 ~~~~ q0004 ~~~~ q0005 ~~~~ q0006",
        "~~~~ q0007  q0008",
    ]
    assert texts(split_markdown(definition, limit=68)) == [
        "see the note see the note see the note see the note see the note",
        "[a]: http://x.org tail",
    ]
    backticks = "q " + "`" * 300 + " tail"
    assert "".join(texts(split_markdown(backticks, limit=100))).endswith("` tail")


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
    messages = streamed(source, [*range(40, len(source), 97), len(source)], limit=1000)

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
