"""Rendering costs work linear in its input, counted without a clock.

For each hostile reply of render_checks.HOSTILE (delimiters never closed, backtick runs, deep
nesting, padded tables, ...) the work of `render` and of `split_markdown` on four times the
input is at most `GROWTH` times the work on the input (linear work: 4 times; the quadratic
steps these inputs once triggered: 6 to 17 times at these sizes), and the text a reply renders
to is at most a fixed multiple of it. Work is `interpreter_steps`: the interpreter's own count
of Python steps and regex backtracking, the same on every run and every machine.
"""

from __future__ import annotations

import re

import pytest

from bot.render.convert import render, split_markdown, utf16_len
from tests.unit.render_checks import HOSTILE, TEXT_PER_SOURCE, TEXT_SLACK, interpreter_steps

GROWTH = 5.0
# Sizes at which every family's quadratic steps, where there were some, outweigh its linear
# ones (the regex's backtracking counts only every 4096 steps); split_markdown cuts small
# messages, so that many pieces are measured.
RENDER_SIZE = 8 * 1024
SPLIT_SIZE = 2 * 1024
SPLIT_LIMIT = 256


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_render_work_grows_linearly_with_hostile_input(name: str) -> None:
    build = HOSTILE[name]
    render(build(64))  # the first call compiles and imports what later calls reuse

    work = interpreter_steps(lambda: render(build(RENDER_SIZE)))
    work_of_four_times = interpreter_steps(lambda: render(build(4 * RENDER_SIZE)))

    assert work_of_four_times <= GROWTH * work, (work, work_of_four_times)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_split_work_grows_linearly_with_hostile_input(name: str) -> None:
    build = HOSTILE[name]
    split_markdown(build(64), limit=SPLIT_LIMIT)

    work = interpreter_steps(lambda: split_markdown(build(SPLIT_SIZE), limit=SPLIT_LIMIT))
    work_of_four_times = interpreter_steps(
        lambda: split_markdown(build(4 * SPLIT_SIZE), limit=SPLIT_LIMIT)
    )

    assert work_of_four_times <= GROWTH * work, (work, work_of_four_times)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_reply_renders_to_a_text_bounded_by_its_length(name: str) -> None:
    source = HOSTILE[name](4 * RENDER_SIZE)

    assert utf16_len(render(source).text) <= TEXT_PER_SOURCE * len(source) + TEXT_SLACK


def test_the_step_count_sees_a_regex_backtracking() -> None:
    # The measure itself: a lazy match that fails from every opening rescans to the end.
    pattern = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
    text = "\\( a " * 2000

    linear = interpreter_steps(lambda: text.count("\\("))
    backtracking = interpreter_steps(lambda: pattern.findall(text))
    backtracking_of_twice = interpreter_steps(lambda: pattern.findall(text * 2))

    assert linear < 10 < backtracking
    assert backtracking_of_twice > 3 * backtracking
