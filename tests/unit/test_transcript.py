"""The export's Markdown (conversation/transcript.py): the heading, each turn with its author,
reasoning collapsed, and the cut at the size limit."""

from __future__ import annotations

from bot.conversation.transcript import CUT_NOTE, title_of, transcript
from bot.store import (
    ConversationSummary,
    Export,
    ReplyStatus,
    StoredConversation,
    StoredMessage,
)

MARCH_14 = 1_773_524_400.0  # 2026-03-14 21:40 UTC


def conversation(*messages: StoredMessage, first: str = "what is a heron?") -> StoredConversation:
    summary = ConversationSummary(7, first, MARCH_14, MARCH_14 + 60, 1, current=True)
    return StoredConversation(summary, messages)


def question(text: str, sender: str | None = None) -> StoredMessage:
    return StoredMessage("user", text, sender, None, "complete", MARCH_14)


def reply(
    text: str, *, status: ReplyStatus = "complete", reasoning: str | None = None
) -> StoredMessage:
    return StoredMessage("assistant", text, None, "m-1", status, MARCH_14 + 30, reasoning)


def render(export: Export, *, group: bool = False, max_bytes: int = 100_000) -> str:
    return transcript(
        export, group=group, max_bytes=max_bytes, exported_at=MARCH_14, default_model="d"
    ).text


def test_a_conversation_has_its_heading_then_every_turn_in_order_with_its_author() -> None:
    text = render(
        Export((conversation(question("what is a heron?"), reply("A bird.")),), complete=True)
    )

    assert text.startswith("# what is a heron?\n\n- Model: m-1\n- Started: 2026-03-14 21:40 UTC")
    assert "- 1 turn (the current conversation)" in text
    you, assistant = text.index("**You** · 2026-03-14 21:40 UTC"), text.index("**Assistant (m-1)**")
    assert you < text.index("what is a heron?\n", you) < assistant < text.index("A bird.")


def test_in_groups_questions_carry_their_senders_name_and_reasoning_is_collapsed() -> None:
    export = Export(
        (conversation(question("why?", "Bob"), reply("Because.", reasoning="Think first.")),),
        complete=True,
    )
    text = render(export, group=True)

    assert "**Bob** · " in text
    assert "**You**" not in text
    details = "<details><summary>Reasoning</summary>\n\nThink first.\n\n</details>"
    assert text.index(details) < text.index("Because.")


def test_a_stopped_reply_is_marked_and_an_export_past_its_size_is_cut_and_says_so() -> None:
    long = "word " * 5_000
    export = Export(
        (conversation(question("q"), reply("partial", status="stopped"), question(long)),),
        complete=True,
    )
    result = transcript(
        export, group=False, max_bytes=10_000, exported_at=MARCH_14, default_model="d"
    )

    assert "*(This answer was stopped.)*" in result.text
    assert not result.complete
    assert len(result.text.encode()) <= 10_000
    assert result.text.endswith("*" + CUT_NOTE.format(size="10 KB") + "*\n")


def test_a_title_is_the_first_question_on_one_line_cut_at_a_word() -> None:
    assert title_of("  what\nis a   heron? ") == "what is a heron?"
    assert title_of("one two three four five", limit=14) == "one two three…"
    assert title_of("") == "(no question yet)"
