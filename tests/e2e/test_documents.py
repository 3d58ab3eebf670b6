"""PDF and Word files end to end: sent through the fake Telegram, read by the real worker
process, asked about at the fake upstream — or answered in the chat, with nothing sent upstream.

Every file is made by tests/documents.py as the test runs.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.handlers.documents import NO_QUESTION
from bot.media.attachments import SUPPORTED
from tests.documents import (
    OLE2_HEADER,
    cyclic_pdf,
    encrypted_pdf,
    flate_bomb_pdf,
    text_pdf,
    word_bomb,
    word_file,
)
from tests.e2e.harness import running_bot
from tests.e2e.stored import waiting_in_inbox
from tests.e2e.test_crash_safety import EXIT_WITHIN, confirmed, start_bot, wait_for_rows
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

pytestmark = pytest.mark.relaxed()

CHAT = 42
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SECRET = "The meeting moved to Thursday at noon."
THREE_PAGES = text_pdf([["Agenda", "Opening words."], ["Minutes", SECRET], ["Closing remarks."]])


def asked(upstream: FakeUpstream) -> list[Any]:
    """The last user message of every request the upstream got."""
    return [request.body["messages"][-1]["content"] for request in upstream.chat_requests()]


async def answers_to(
    telegram: FakeTelegram, settings: Settings, *files: tuple[Any, ...]
) -> list[str]:
    """Send each (bytes, name, MIME type[, caption]) as a document; the chat's texts once each
    file has had one answer (a refusal, or the fake upstream's reply)."""
    async with running_bot(settings):
        for data, name, mime, *caption in files:
            telegram.user_sends_document(CHAT, data, name, mime, caption=next(iter(caption), None))
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) >= len(files))
    return [str(text) for text in telegram.texts(CHAT)]


async def test_a_three_page_pdf_goes_upstream_page_by_page_with_the_caption_as_the_question(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("On Thursday."))
    texts = await answers_to(telegram, settings, (THREE_PAGES, "minutes.pdf", PDF, "When is it?"))
    assert texts == ["On Thursday."]
    size = f"{len(THREE_PAGES) / 1000:.1f} KB"
    assert asked(upstream) == [
        f"[document minutes.pdf, {size}, 3 pages]\n"
        "```text\n"
        "[page 1]\nAgenda\nOpening words.\n\n"
        f"[page 2]\nMinutes\n{SECRET}\n\n"
        "[page 3]\nClosing remarks.\n"
        "```\n\n"
        "When is it?"
    ]


async def test_a_word_document_is_read_in_order_with_its_heading_and_table(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    report = word_file(
        heading="Quarterly report",
        paragraphs=["Sales grew in every region."],
        table=[["Region", "Sales"], ["North", "120"], ["South | East", "95"]],
        after=["Next review in May."],
    )
    await answers_to(telegram, settings, (report, "report.docx", DOCX, "Which region sold most?"))
    [content] = asked(upstream)
    assert content.split("\n", 1)[1] == (
        "```markdown\n"
        "# Quarterly report\n"
        "Sales grew in every region.\n"
        "| Region | Sales |\n"
        "| --- | --- |\n"
        "| North | 120 |\n"
        "| South \\| East | 95 |\n"
        "Next review in May.\n"
        "```\n\n"
        "Which region sold most?"
    )
    assert content.startswith("[document report.docx, ")


async def test_a_document_without_a_caption_is_summarised_and_stays_for_questions(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("Minutes of a meeting."), ReplyScript("Thursday."))
    async with running_bot(settings):
        telegram.user_sends_document(CHAT, THREE_PAGES, "minutes.pdf", PDF)
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 1)
        telegram.user_sends(CHAT, "When is the meeting?")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 2)
    summary, question = (request.body["messages"] for request in upstream.chat_requests())
    assert summary[-1]["content"].endswith(f"```\n\n{NO_QUESTION}")
    assert SECRET in question[-3]["content"]
    assert question[-2:] == [
        {"role": "assistant", "content": "Minutes of a meeting."},
        {"role": "user", "content": "When is the meeting?"},
    ]


@pytest.mark.parametrize(
    ("data", "name", "answer"),
    [
        (
            encrypted_pdf(THREE_PAGES, "hunter2"),
            "locked.pdf",
            "locked.pdf is protected by a password, so I can't read it. Send a copy without the "
            "password, or paste the text in a message.",
        ),
        (
            text_pdf([[], [], []]),
            "scan.pdf",
            "scan.pdf has no text I can read: it seems to be scanned pages (images). Send the "
            "pages as photos and I'll read them.",
        ),
        (
            THREE_PAGES[: len(THREE_PAGES) // 3],
            "cut.pdf",
            "I couldn't read cut.pdf: it seems damaged, or it isn't really a PDF.",
        ),
        (
            cyclic_pdf(),
            "loop.pdf",
            "I couldn't read loop.pdf: it seems damaged, or it isn't really a PDF.",
        ),
    ],
    ids=["password", "no-text-layer", "damaged", "cyclic-page-tree"],
)
async def test_a_pdf_that_cannot_be_read_gets_a_clear_answer_and_nothing_goes_upstream(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    settings: Settings,
    data: bytes,
    name: str,
    answer: str,
) -> None:
    assert await answers_to(telegram, settings, (data, name, PDF, "Summary?")) == [answer]
    assert upstream.chat_requests() == []


async def test_a_pdf_encrypted_with_an_empty_password_is_read_as_any_viewer_opens_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    opened = encrypted_pdf(THREE_PAGES, "")
    await answers_to(telegram, settings, (opened, "open.pdf", PDF, "When?"))
    [content] = asked(upstream)
    assert f"[page 2]\nMinutes\n{SECRET}\n" in content


async def test_word_files_that_cannot_be_read_get_a_clear_answer_and_nothing_goes_upstream(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    texts = await answers_to(
        telegram,
        settings,
        (OLE2_HEADER, "protected.docx", DOCX),
        (b"PK\x03\x04 not really a zip", "broken.docx", DOCX),
        (word_file(), "empty.docx", DOCX),
    )
    assert sorted(texts) == sorted(
        [
            "I can't read protected.docx: it is protected by a password or saved in the old Word "
            "format (.doc). Save it as .docx or PDF (File > Save As) and send it again.",
            "I couldn't read broken.docx: it seems damaged, or it isn't really a Word (.docx) "
            "document.",
            "empty.docx has no text I can read. If it holds pictures of text, send them as photos.",
        ]
    )
    assert upstream.chat_requests() == []


async def test_old_and_other_office_formats_are_refused_without_downloading_them(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    texts = await answers_to(
        telegram,
        settings,
        (OLE2_HEADER, "letter.doc", "application/msword"),
        (b"PK\x03\x04", "budget.xlsx", "application/octet-stream"),
        (OLE2_HEADER, "slides", "application/vnd.ms-powerpoint"),
    )
    assert sorted(texts) == sorted(
        [
            "I can't read letter.doc: it is an old Word document (.doc). Save it as .docx or PDF "
            f"(File > Save As) and send it again. {SUPPORTED}",
            "I can't read budget.xlsx: it is a spreadsheet. Save the sheet as CSV (or PDF) and "
            f"send it again. {SUPPORTED}",
            f"I can't read slides: it is a presentation. Save it as PDF and send it again. "
            f"{SUPPORTED}",
        ]
    )
    assert telegram.downloads == []
    assert upstream.chat_requests() == []


# --- limits ---------------------------------------------------------------------------------


@pytest.mark.relaxed(document_max_pages=5)
async def test_a_pdf_over_the_page_limit_is_read_up_to_it_and_the_user_told_which_pages(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    book = text_pdf([[f"Chapter {n}."] for n in range(1, 2001)])
    upstream.script(ReplyScript("Five chapters."))
    texts = await answers_to(telegram, settings, (book, "book.pdf", PDF, "What's in it?"))
    assert texts == [
        "book.pdf is longer than I can read at once: I'm reading pages 1\u20135 of 2,000.",
        "Five chapters.",
    ]
    [content] = asked(upstream)
    assert "[page 5]\nChapter 5.\n```\n[truncated: read only pages 1\u20135 of 2,000]" in content
    assert "Chapter 6." not in content


@pytest.mark.relaxed(document_max_chars=120)
async def test_a_pdf_over_the_character_limit_is_cut_there_within_its_page(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    line = "Forty characters of text on every line."
    pages = text_pdf([[line, line], [line, line], [line, line]])  # 79 characters a page
    texts = await answers_to(telegram, settings, (pages, "long.pdf", PDF, "Gist?"))
    assert texts[0] == (
        "long.pdf is longer than I can read at once: "
        "I'm reading pages 1\u20132 of 3 (page 2 only in part)."
    )
    [content] = asked(upstream)
    read = content.split("```text\n", 1)[1].split("\n```", 1)[0]
    assert read == f"[page 1]\n{line}\n{line}\n\n[page 2]\n{line}"
    assert "[truncated: read only pages 1\u20132 of 3 (page 2 only in part)]" in content


@pytest.mark.relaxed(history_char_budget=1500)  # a document may take 1000 characters
async def test_a_long_pdf_is_cut_to_its_share_of_the_context_at_a_page_it_names(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    lines = [f"Line {n:03d} of a long report page." for n in range(20)]  # 659 characters a page
    report = text_pdf([lines] * 6)
    texts = await answers_to(telegram, settings, (report, "report.pdf", PDF))
    [content] = asked(upstream)
    assert len(content) <= 1000
    assert texts[0] == (
        "report.pdf is longer than I can read at once: "
        "I'm reading pages 1\u20132 of 6 (page 2 only in part)."
    )
    assert content.endswith(
        f"[truncated: read only pages 1\u20132 of 6 (page 2 only in part)]\n\n{NO_QUESTION}"
    )


@pytest.mark.relaxed(document_timeout=0.01)
async def test_a_document_taking_longer_than_the_time_limit_is_stopped_and_the_user_told(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    texts = await answers_to(telegram, settings, (THREE_PAGES, "slow.pdf", PDF, "Gist?"))
    assert texts == [
        "Reading slow.pdf took longer than 0.01 s, so I stopped. Send a smaller file, or "
        "paste the part you need as text."
    ]
    assert upstream.chat_requests() == []


@pytest.mark.relaxed(document_max_memory=100_000_000)
async def test_decompression_bombs_are_refused_within_the_memory_limit(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    # Both unpack to 100 MB, eight times what one stream or a .docx's XML may take here.
    pdf_bomb = flate_bomb_pdf(100_000_000)
    docx_bomb = word_bomb(100_000_000)
    assert len(pdf_bomb) < 5_000
    assert len(docx_bomb) < 150_000
    texts = await answers_to(
        telegram, settings, (pdf_bomb, "bomb.pdf", PDF, "?"), (docx_bomb, "bomb.docx", DOCX, "?")
    )
    too_big = (
        " is too big or too complex for me to read: it unpacks to more than I allow for one "
        "file. Send a smaller file, or paste the part you need as text."
    )
    assert sorted(texts) == [f"bomb.docx{too_big}", f"bomb.pdf{too_big}"]
    assert upstream.chat_requests() == []


# --- a restart ------------------------------------------------------------------------------


async def test_a_pdf_and_a_word_file_waiting_when_the_bot_is_killed_are_read_after_the_restart(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    report = word_file(heading="Plan", paragraphs=["Ship it on Friday."])
    async with FakeTelegram() as telegram, FakeUpstream() as upstream:
        upstream.script(ReplyScript("x " * 400, fault=Fault.STALL_MID_STREAM))
        first_run = await start_bot(telegram, upstream, tmp_path, 1)
        try:
            telegram.user_sends(10, "first")
            await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1, timeout=30)
            telegram.user_sends_document(10, THREE_PAGES, "minutes.pdf", PDF, caption="When?")
            telegram.user_sends_document(10, report, "plan.docx", DOCX, caption="What day?")
            last = telegram.last_update_id
            await telegram.wait_until(lambda: confirmed(telegram, last))
            await wait_for_rows(database, 2)
        finally:
            first_run.kill()
            await first_run.wait()

        second_run = await start_bot(telegram, upstream, tmp_path, 2)
        try:
            await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 3, timeout=30)
        finally:
            second_run.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second_run.wait(), EXIT_WITHIN)
    pdf_turn, docx_turn = asked(upstream)[1:]
    assert f"[page 2]\nMinutes\n{SECRET}\n" in pdf_turn
    assert pdf_turn.endswith("When?")
    assert "```markdown\n# Plan\nShip it on Friday.\n```\n\nWhat day?" in docx_turn
    assert await waiting_in_inbox(database) == []
