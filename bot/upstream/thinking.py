"""Reasoning inside the answer's text: `<think>…</think>` in `content`, split off as it streams.

Owns telling a reply's thought from its answer when the server leaves the model's tags in the
content (Ollama for models it does not know, Qwen and DeepSeek-R1 distills on vLLM or llama.cpp
without a reasoning parser, LM Studio with separation off). Pure: text in, `ThoughtSplit`s out;
no I/O, nothing of the wire format (`bot.upstream.decode` feeds it each chunk's content).

The rules, for a whole reply (`split_whole`; the streaming parser always ends with the same):

- a reply whose first non-blank text is `<think>` thinks until `</think>` (to its end if that
  never comes); the answer is what follows, leading blank space dropped;
- a reply that never opened a thought but has a `</think>` began mid-thought (the DeepSeek-R1
  chat template ends the prompt with `<think>` itself): everything before the tag is reasoning;
- otherwise it is all answer. Tags anywhere else are text: once the answer runs, nothing in it
  is taken for a tag.

Streaming costs one thing: until a reply shows a tag, a `</think>` may still come and turn the
text so far into reasoning. That text is given out as answer meanwhile (a reply that never thinks
must not wait for its end), and kept; if the tag comes, a split with `restart` replaces all that
was given. A parser told the model `starts_in_thought` (it did so before) gives the text out as
reasoning instead, and restarts it as answer if the reply ends without the tag. Only a piece at a
chunk's end that could be the start of a tag is held back until the next chunk says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

OPEN = "<think>"
CLOSE = "</think>"


@dataclass(frozen=True, slots=True)
class ThoughtSplit:
    """What one piece of content adds: answer `text` and `reasoning`.

    With `restart`, everything given before was provisional: `text` and `reasoning` are the
    whole answer and reasoning so far, replacing it.
    """

    text: str = ""
    reasoning: str = ""
    restart: bool = False


class _State(enum.Enum):
    LEADING = "leading"  # only blank space so far (and perhaps the start of `<think>`)
    THINKING = "thinking"  # inside a thought the reply opened
    ASSUMED = "assumed"  # no tag yet, taken for thought (starts_in_thought)
    UNDECIDED = "undecided"  # no tag yet, taken for answer
    ANSWER = "answer"  # the thought is over (or there never was one): all text is answer


class ThinkTags:
    """Splits one reply's content, fed piece by piece, into reasoning and answer."""

    def __init__(self, *, starts_in_thought: bool = False) -> None:
        self._starts_in_thought = starts_in_thought
        self._state = _State.LEADING
        self._held = ""  # the end of the content so far, not given out yet
        self._given: list[str] = []  # what ASSUMED or UNDECIDED gave out, for a restart
        self._trim_answer = False  # the answer's leading blank space is still to be dropped
        self.began_mid_thought = False  # a `</think>` closed a thought the reply never opened
        self.answered_without_thought = False  # taken for thought, it was answer after all

    def feed(self, content: str) -> ThoughtSplit:
        """The reasoning and answer that `content`, the next piece of the reply, adds."""
        if not content:
            return ThoughtSplit()
        text = self._held + content
        self._held = ""
        if self._state is _State.LEADING:
            return self._lead(text)
        return self._after_lead(text)

    def finish(self) -> ThoughtSplit:
        """The end of the reply: whatever was held back, and the restart it may call for."""
        held, self._held = self._held, ""
        match self._state:
            case _State.LEADING:
                self._state = _State.ANSWER
                return ThoughtSplit(text=held)  # blank space, or a tag's start that stayed one
            case _State.THINKING:
                return ThoughtSplit(reasoning=held)
            case _State.ASSUMED:
                # The thought never closed: the model answered straight away this time.
                self.answered_without_thought = True
                self._state = _State.ANSWER
                return ThoughtSplit(text="".join(self._given) + held, restart=True)
            case _State.UNDECIDED:
                return ThoughtSplit(text=held)
        return ThoughtSplit(text=self._trimmed(held))

    def _lead(self, text: str) -> ThoughtSplit:
        start = len(text) - len(text.lstrip())
        rest = text[start:]
        if rest.startswith(OPEN):
            self._state = _State.THINKING
            return self._after_lead(rest[len(OPEN) :])
        if OPEN.startswith(rest):  # blank space, or blank space and the start of the tag
            self._held = text
            return ThoughtSplit()
        self._state = _State.ASSUMED if self._starts_in_thought else _State.UNDECIDED
        return self._after_lead(text)

    def _after_lead(self, text: str) -> ThoughtSplit:
        if self._state is _State.ANSWER:
            return ThoughtSplit(text=self._trimmed(text))
        before, closed, after = text.partition(CLOSE)
        if not closed:
            kept = _without_tag_start(text)
            self._held = text[len(kept) :]
            return self._open(kept)
        self._state, state = _State.ANSWER, self._state
        self._trim_answer = True
        answer = self._trimmed(after)
        if state is _State.THINKING:
            return ThoughtSplit(text=answer, reasoning=before)
        self.began_mid_thought = True
        given, self._given = self._given, []
        if state is _State.ASSUMED:  # rightly: what was given out as reasoning was
            return ThoughtSplit(text=answer, reasoning=before)
        return ThoughtSplit(text=answer, reasoning="".join(given) + before, restart=True)

    def _open(self, kept: str) -> ThoughtSplit:
        """`kept`, given out while the thought is open (or may yet turn out to have been)."""
        if self._state is _State.THINKING:
            return ThoughtSplit(reasoning=kept)
        if kept:
            self._given.append(kept)
        if self._state is _State.ASSUMED:
            return ThoughtSplit(reasoning=kept)
        return ThoughtSplit(text=kept)

    def _trimmed(self, text: str) -> str:
        if not self._trim_answer:
            return text
        trimmed = text.lstrip()
        self._trim_answer = not trimmed
        return trimmed


def split_whole(content: str) -> ThoughtSplit:
    """A whole reply's reasoning and answer, by the rules in the module docstring."""
    rest = content.lstrip()
    if rest.startswith(OPEN):
        reasoning, closed, answer = rest[len(OPEN) :].partition(CLOSE)
        return ThoughtSplit(text=answer.lstrip() if closed else "", reasoning=reasoning)
    reasoning, closed, answer = content.partition(CLOSE)
    if closed:
        return ThoughtSplit(text=answer.lstrip(), reasoning=reasoning)
    return ThoughtSplit(text=content)


def _without_tag_start(text: str) -> str:
    """`text` without its longest ending that `CLOSE` starts with (it may continue the tag)."""
    for size in range(min(len(CLOSE) - 1, len(text)), 0, -1):
        if CLOSE.startswith(text[-size:]):
            return text[:-size]
    return text
