"""Reading attachments: photo sizes, image parts, which documents are text, and fitting them in."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from bot.media.attachments import (
    DocumentKind,
    decode_text,
    document_kind,
    extension_of,
    human_size,
    image_part,
    largest_photo,
    office_refusal,
    photo_marker,
)
from bot.media.document_text import document_budget, document_text, extracted_text
from bot.media.documents import DocumentContent


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    file_size: int | None


SIZES = [Size(90, 51, 1_500), Size(320, 180, 12_000), Size(1280, 720, 150_000)]


def test_the_largest_photo_size_under_the_cap_is_chosen() -> None:
    actual = [largest_photo(SIZES, cap) for cap in (1_000_000, 150_000, 149_999, 12_000, 1_499)]
    assert actual == [SIZES[2], SIZES[2], SIZES[1], SIZES[1], None]


def test_a_photo_size_of_unknown_file_size_is_tried() -> None:
    unknown = Size(2560, 1440, None)
    assert largest_photo([*SIZES, unknown], 1_000) is unknown


def test_the_photo_marker_uses_an_ascii_x() -> None:
    assert photo_marker(1280, 720) == "[photo 1280x720]"


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89arest", "image/gif"),
    ],
)
def test_an_image_part_carries_the_bytes_as_a_data_url_of_their_type(
    data: bytes, mime: str
) -> None:
    part = image_part(data)
    header, encoded = part["image_url"]["url"].split(",", 1)
    assert (part["type"], header, base64.b64decode(encoded)) == (
        "image_url",
        f"data:{mime};base64",
        data,
    )


@pytest.mark.parametrize(
    ("name", "mime", "kind"),
    [
        ("notes.txt", "text/plain", DocumentKind.TEXT),
        ("README.md", "application/octet-stream", DocumentKind.TEXT),
        ("main.PY", None, DocumentKind.TEXT),
        ("data.json", "application/json", DocumentKind.TEXT),
        ("table.csv", "text/comma-separated-values", DocumentKind.TEXT),
        ("Dockerfile", "application/octet-stream", DocumentKind.TEXT),
        ("export", "text/plain", DocumentKind.TEXT),
        ("feed", "application/atom+xml", DocumentKind.TEXT),
        ("config", "application/x-yaml; charset=utf-8", DocumentKind.TEXT),
        ("cat.jpg", "image/jpeg", DocumentKind.IMAGE),
        ("scan", "image/png", DocumentKind.IMAGE),
        ("paper.pdf", "application/pdf", DocumentKind.PDF),
        ("paper.PDF", "application/octet-stream", DocumentKind.PDF),
        ("download", "application/pdf", DocumentKind.PDF),
        ("report.docx", None, DocumentKind.WORD),
        (
            "report",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            DocumentKind.WORD,
        ),
        ("letter.doc", "application/msword", DocumentKind.OFFICE),
        ("letter", "application/msword", DocumentKind.OFFICE),
        ("sheet.xlsx", "application/zip", DocumentKind.OFFICE),
        ("deck.odp", None, DocumentKind.OFFICE),
        ("notes.rtf", "text/rtf", DocumentKind.TEXT),  # RTF is text with markup: read as it was
        ("archive.zip", "application/zip", DocumentKind.OTHER),
        ("tool", "application/octet-stream", DocumentKind.OTHER),
        (None, None, DocumentKind.OTHER),
    ],
)
def test_documents_are_known_by_extension_first_then_by_mime_type(
    name: str | None, mime: str | None, kind: DocumentKind
) -> None:
    assert document_kind(name, mime) == kind


def test_a_dot_file_has_no_extension() -> None:
    assert [extension_of(n) for n in (".env", "a.tar.gz", "plain", "x.")] == ["", "gz", "", ""]


def test_utf8_text_is_decoded_without_bom_and_with_unix_line_ends() -> None:
    assert decode_text("\ufeffa\r\nb\rc é".encode()) == "a\nb\nc é"


def test_binary_and_other_encodings_are_not_text() -> None:
    assert [decode_text(b"ab\x00cd"), decode_text("café".encode("latin-1"))] == [None, None]


def test_sizes_read_in_decimal_units() -> None:
    actual = [human_size(n) for n in (0, 999, 2_150, 1_000_000, 5_000_000)]
    assert actual == ["0 B", "999 B", "2.1 KB", "1.0 MB", "5.0 MB"]


def test_a_short_document_is_included_whole_with_name_size_and_question() -> None:
    read = document_text("a.py", 6, "x = 1\n", "What is x?", budget=1000)
    assert (read.text, read.truncated) == (
        "[document a.py, 6 B]\n```py\nx = 1\n```\n\nWhat is x?",
        False,
    )


def test_a_document_containing_a_fence_gets_a_longer_one() -> None:
    content = "Example:\n```sh\nls\n```"
    read = document_text("guide.md", 22, content, "", budget=1000)
    assert read.text == f"[document guide.md, 22 B]\n````md\n{content}\n````"


def test_a_long_document_is_cut_at_a_line_end_with_a_notice_to_fit_the_budget() -> None:
    content = "".join(f"line {n:04d}\n" for n in range(1000))  # 10 000 characters
    for budget in (500, 1234, 5000, 9999):
        read = document_text("log.txt", 10_000, content, "Any errors?", budget=budget)
        shown = content[: read.shown]
        assert len(read.text) <= budget
        assert (read.truncated, read.total, shown.endswith("\n")) == (True, 10_000, True)
        assert read.text.endswith(
            f"```\n[truncated: only the first {read.shown:,} of 10,000 characters of the file "
            "fit]\n\nAny errors?"
        )
        assert f"```txt\n{shown}```" in read.text


def test_a_documents_budget_is_its_share_of_the_history_within_one_turns_limit() -> None:
    assert document_budget(12_000, 10_000) == 8_000  # two thirds of the history's budget
    assert document_budget(15_000, 8_000) == 8_000  # no more than one turn may hold
    assert document_budget(12_000, 8_000, quote=3_000) == 5_000  # beside the quoted message
    assert document_budget(12_000, 100, quote=300) == 0


@pytest.mark.parametrize("total", [10_000, 2_000_000, 20_000_000])
def test_a_cut_document_fits_its_budget_however_long_the_file(total: int) -> None:
    content = ("x" * 99 + "\n") * (total // 100)
    for budget in (300, 1_000, 8_000):
        read = document_text("big.log", total, content, "Why?", budget=budget)
        assert read.truncated
        assert len(read.text) <= budget


def test_office_formats_are_refused_with_how_to_send_them_instead() -> None:
    assert [
        office_refusal("letter.doc", None).split(". ", 1)[0],
        office_refusal("scan", "application/vnd.ms-excel").split(". ", 1)[0],
        office_refusal("talk.key", None).split(". ", 1)[0],
    ] == [
        "I can't read letter.doc: it is an old Word document (.doc)",
        "I can't read scan: it is a spreadsheet",
        "I can't read talk.key: it is a presentation",
    ]


PAGES = DocumentContent(
    ("First page text.", "", "Third page, a longer one.\nWith a second line."), page_count=3
)


def test_a_pdf_that_fits_is_included_whole_page_by_page_without_blank_pages() -> None:
    read = extracted_text("a.pdf", 1200, PAGES, "Gist?", budget=1000)
    assert (read.text, read.truncated) == (
        "[document a.pdf, 1.2 KB, 3 pages]\n```text\n"
        "[page 1]\nFirst page text.\n\n"
        "[page 3]\nThird page, a longer one.\nWith a second line.\n```\n\nGist?",
        False,
    )


def test_a_pdf_read_up_to_the_page_limit_says_so_even_when_it_fits() -> None:
    stopped = DocumentContent(("One.", "Two."), page_count=90, stopped="pages")
    read = extracted_text("a.pdf", 1200, stopped, "", budget=1000)
    assert read.extent == "pages 1\u20132 of 90"
    assert read.text.endswith("Two.\n```\n[truncated: read only pages 1\u20132 of 90]")


def test_a_pdf_cut_to_its_budget_ends_within_a_page_it_names_and_fits() -> None:
    pages = tuple(f"Page {n} " + "word " * 50 for n in range(1, 41))
    whole = "\n\n".join(f"[page {n}]\n{text}" for n, text in enumerate(pages, start=1))
    content = DocumentContent(pages, page_count=40)
    for budget in range(200, 3000, 37):
        read = extracted_text("big.pdf", 9000, content, "Why?", budget=budget)
        body = read.text.split("```text\n", 1)[1].split("```", 1)[0]
        number, text = body.rsplit("[page ", 1)[1].split("]\n", 1)
        assert len(read.text) <= budget
        assert text.strip()  # never a page's line without its text
        assert whole.startswith(body.removesuffix("\n"))
        pages_read = "page 1" if number == "1" else f"pages 1\u2013{number}"
        whole_page = text.removesuffix("\n") == pages[int(number) - 1]
        in_part = "" if whole_page else f" (page {number} only in part)"
        assert read.extent == f"{pages_read} of 40{in_part}"


def test_a_word_document_cut_by_the_character_limit_says_how_much_was_read() -> None:
    content = DocumentContent(
        ("# Title\nSome text",), page_count=None, stopped="chars", partial=True
    )
    read = extracted_text("a.docx", 5000, content, "Q?", budget=1000)
    assert read.text == (
        "[document a.docx, 5.0 KB]\n```markdown\n# Title\nSome text\n```\n"
        "[truncated: read only its first 17 characters]\n\nQ?"
    )
