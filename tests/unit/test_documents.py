"""Reading PDF and Word files in the worker process: the bounds hold, and a stopped read leaves
no process behind. What users read about each case is tests/e2e/test_documents.py's."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot.media.document_reader import WORKER_NICENESS
from bot.media.documents import (
    DocumentUnreadable,
    Format,
    ReadLimits,
    Unreadable,
    read_document,
)
from tests.documents import crowded_word_file, flate_bomb_pdf, text_pdf, word_bomb
from tests.support import child_processes, process_exists

# A million empty paragraphs (45 KB zipped): python-docx takes many seconds to walk them, and
# their parsed tree well over 100 MB.
SLOW = crowded_word_file(1_000_000)
ROOMY = ReadLimits(pages=10, chars=1000, seconds=60, memory=1_000_000_000)


async def test_a_stream_past_its_share_of_the_memory_limit_is_refused() -> None:
    # 60 MB is under pypdf's default limit (75 MB) and fits in 400 MB: only the share of the
    # memory limit set for one stream (50 MB here) stops it.
    limits = ReadLimits(pages=10, chars=1000, seconds=60, memory=400_000_000)
    with pytest.raises(DocumentUnreadable) as refused:
        await read_document(flate_bomb_pdf(60_000_000), Format.PDF, limits)
    assert refused.value.why is Unreadable.TOO_BIG
    assert refused.value.detail.startswith("LimitReachedError: Limit reached while decompressing")


async def test_a_document_needing_more_memory_than_its_limit_is_refused_as_too_big() -> None:
    # A million paragraphs in 7 MB of XML: within what a .docx may unpack to under 130 MB, but
    # its parsed tree is not.
    limits = ReadLimits(pages=10, chars=1000, seconds=60, memory=130_000_000)
    with pytest.raises(DocumentUnreadable) as refused:
        await read_document(SLOW, Format.WORD, limits)
    assert (refused.value.why, refused.value.detail) == (Unreadable.TOO_BIG, "memory limit (XML)")


async def test_a_read_over_its_time_is_killed_and_leaves_no_process() -> None:
    before = child_processes()
    limits = ReadLimits(pages=10, chars=1000, seconds=0.5, memory=1_000_000_000)
    with pytest.raises(DocumentUnreadable) as refused:
        await read_document(SLOW, Format.WORD, limits)
    assert refused.value.why is Unreadable.TIMED_OUT
    assert child_processes() == before


async def test_a_cancelled_read_kills_its_worker() -> None:
    before = child_processes()
    reading = asyncio.create_task(read_document(SLOW, Format.WORD, ROOMY))
    while not child_processes() - before:
        assert not reading.done()
        await asyncio.sleep(0.01)
    [worker] = child_processes() - before
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert child_processes() == before
    assert not process_exists(worker)


async def test_a_read_stops_at_the_page_limit_and_says_so() -> None:
    pages = text_pdf([[f"Page {n}."] for n in range(1, 51)])
    limits = ReadLimits(pages=3, chars=1000, seconds=60, memory=256_000_000)
    read = await read_document(pages, Format.PDF, limits)
    assert (read.pages, read.page_count, read.stopped, read.partial) == (
        ("Page 1.", "Page 2.", "Page 3."),
        50,
        "pages",
        False,
    )


async def test_a_word_file_unpacking_past_its_share_of_memory_is_refused_before_unpacking() -> None:
    # 100 MB of XML in a few KB: refused from the sizes the zip declares, with memory to spare.
    with pytest.raises(DocumentUnreadable) as refused:
        await read_document(word_bomb(100_000_000), Format.WORD, ROOMY)
    assert refused.value.why is Unreadable.TOO_BIG
    assert refused.value.detail.endswith("of XML)")


def test_the_worker_limits_itself_to_the_lowest_cpu_priority() -> None:
    check = (
        "import os; from bot.media.document_reader import _limit_self; "
        "from bot.media.documents import ReadLimits; "
        "_limit_self(ReadLimits(1, 1, 5.0, 512_000_000)); "
        "print(os.getpriority(os.PRIO_PROCESS, 0))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, cwd=root, check=True)
    assert done.stdout.decode().strip() == str(WORKER_NICENESS) == "19"
