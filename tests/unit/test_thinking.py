"""The `<think>` tag parser (bot/upstream/thinking.py): examples, and properties over any reply
cut into chunks at any character."""

from __future__ import annotations

import itertools
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from bot.upstream.thinking import CLOSE, OPEN, ThinkTags, ThoughtSplit, split_whole


def streamed(chunks: list[str], *, starts_in_thought: bool = False) -> tuple[str, str, list[str]]:
    """(reasoning, answer) as a consumer sees them after applying every split, and the answer as
    it looked after each chunk."""
    tags = ThinkTags(starts_in_thought=starts_in_thought)
    reasoning = text = ""
    seen: list[str] = []
    for split in [*(tags.feed(chunk) for chunk in chunks), tags.finish()]:
        if split.restart:
            reasoning, text = split.reasoning, split.text
        else:
            reasoning, text = reasoning + split.reasoning, text + split.text
        seen.append(text)
    return reasoning, text, seen


def cut(text: str, points: list[int]) -> list[str]:
    edges = sorted({0, len(text), *(p % (len(text) + 1) for p in points)})
    return [text[a:b] for a, b in itertools.pairwise(edges)]


# Replies built from the pieces that matter: tags, their starts, blank space, and words.
PARTS = st.sampled_from(
    [OPEN, CLOSE, "<", "</", "<th", "</thi", "think>", ">", " ", "\n", "\n\n", "a", "Hi", "ok."]
)
REPLIES = st.lists(PARTS, max_size=14).map("".join)
POINTS = st.lists(st.integers(min_value=0, max_value=200), max_size=12)


@given(REPLIES, POINTS, st.booleans())
def test_any_chunking_ends_with_the_whole_replys_split(
    reply: str, points: list[int], starts_in_thought: bool
) -> None:
    reasoning, text, _ = streamed(cut(reply, points), starts_in_thought=starts_in_thought)
    whole = split_whole(reply)
    assert (reasoning, text) == (whole.reasoning, whole.text)


@given(REPLIES)
def test_the_split_loses_and_repeats_nothing_but_the_tags_and_the_blank_space_by_them(
    reply: str,
) -> None:
    whole = split_whole(reply)
    rebuilt = (
        r"(\s*<think>)?" + re.escape(whole.reasoning) + r"(</think>\s*)?" + re.escape(whole.text)
    )
    assert re.fullmatch(rebuilt, reply)


@given(st.text(alphabet=st.sampled_from("ab <>/\nthink")), POINTS)
def test_a_reply_without_tags_streams_as_it_comes_holding_back_only_a_possible_tag_start(
    reply: str, points: list[int]
) -> None:
    assume(OPEN not in reply and CLOSE not in reply)
    chunks = cut(reply, points)
    _, text, seen = streamed(chunks)
    sent = ""
    for chunk, shown in zip(chunks, seen, strict=False):
        sent += chunk
        assert sent.startswith(shown)
        assert len(sent.strip()) - len(shown.strip()) < len(CLOSE)
    assert text == reply


def test_a_thought_in_tags_is_reasoning_and_what_follows_the_answer() -> None:
    chunks = ["<thi", "nk>\nLet me", " see.</th", "ink>\n\nIt is ", "42."]
    assert streamed(chunks)[:2] == ("\nLet me see.", "It is 42.")


def test_a_reply_that_only_closes_its_thought_restarts_with_the_text_so_far_as_reasoning() -> None:
    tags = ThinkTags()
    assert tags.feed("Okay, the user") == ThoughtSplit(text="Okay, the user")
    assert tags.feed(" said hi.</think>") == ThoughtSplit(
        reasoning="Okay, the user said hi.", restart=True
    )
    assert tags.feed("\n\nHello!") == ThoughtSplit(text="Hello!")
    assert tags.began_mid_thought


def test_the_closing_tag_split_across_chunks_restarts_once_it_is_whole() -> None:
    tags = ThinkTags()
    assert tags.feed("Hmm.</th") == ThoughtSplit(text="Hmm.")
    assert tags.feed("ink>Hi") == ThoughtSplit(text="Hi", reasoning="Hmm.", restart=True)


def test_a_model_known_to_start_mid_thought_streams_reasoning_from_the_first_word() -> None:
    tags = ThinkTags(starts_in_thought=True)
    assert tags.feed("Okay, the user") == ThoughtSplit(reasoning="Okay, the user")
    assert tags.feed(" said hi.</think>Hello!") == ThoughtSplit(
        text="Hello!", reasoning=" said hi."
    )
    assert tags.finish() == ThoughtSplit()


def test_a_model_known_to_start_mid_thought_that_answers_at_once_restarts_as_answer() -> None:
    tags = ThinkTags(starts_in_thought=True)
    assert tags.feed("Hello! ") == ThoughtSplit(reasoning="Hello! ")
    assert tags.feed("How are you?") == ThoughtSplit(reasoning="How are you?")
    assert tags.finish() == ThoughtSplit(text="Hello! How are you?", restart=True)
    assert tags.answered_without_thought


def test_tags_after_the_thought_are_text_and_a_lone_closing_tag_ends_a_thought() -> None:
    assert split_whole("<think>a</think>Write <think>x</think> literally") == ThoughtSplit(
        text="Write <think>x</think> literally", reasoning="a"
    )
    # The price of replies that begin mid-thought: an answer that never thought but writes
    # the closing tag has its words before it taken for reasoning.
    assert split_whole("Use <think> and </think> tags.") == ThoughtSplit(
        text="tags.", reasoning="Use <think> and "
    )


def test_an_unclosed_thought_is_all_reasoning() -> None:
    assert streamed(["<think>", "still thinking"]) == (
        "still thinking",
        "",
        ["", "", ""],
    )
