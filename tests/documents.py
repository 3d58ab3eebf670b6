"""PDF and Word files made by the tests, byte by byte, so every test file's origin is this code.

PDFs are written by hand (pypdf reads text but does not draw it): a catalog, a page tree, pages
whose content streams show text in Helvetica with `Tj`, and an exact cross-reference table.
Word files are made with python-docx, or zipped by hand where they must be broken or huge.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence

import docx
from pypdf import PdfReader, PdfWriter

# The first bytes of an OLE2 compound file, as the old Office formats (.doc) begin.
OLE2_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def pdf_file(objects: Sequence[bytes]) -> bytes:
    """A PDF of `objects` (object 1 is the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(data: bytes, *, filters: Sequence[str] = ()) -> bytes:
    """A stream object's body: `data` already encoded with `filters` (outermost first)."""
    names = b" ".join(b"/" + name.encode() for name in filters)
    filter_entry = b" /Filter [%s]" % names if filters else b""
    return b"<< /Length %d%s >>\nstream\n" % (len(data), filter_entry) + data + b"\nendstream"


def text_content(lines: Sequence[str]) -> bytes:
    """A page's content stream drawing `lines` in 12-point Helvetica, one under another."""
    shown = []
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        shown.append(f"({escaped}) Tj T*")
    return "\n".join(["BT /F1 12 Tf 14 TL 72 720 Td", *shown, "ET"]).encode("latin-1")


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one page per item of `pages`, each showing its lines (none: a blank page)."""
    return paged_pdf([stream(text_content(lines)) for lines in pages])


def paged_pdf(contents: Sequence[bytes]) -> bytes:
    """A PDF whose pages have the content stream objects `contents`, and Helvetica as /F1."""
    first_page = 4
    pages = len(contents)
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * n) for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for n, content in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (first_page + 2 * n + 1)
        )
        objects.append(content)
    return pdf_file(objects)


def encrypted_pdf(plain: bytes, user_password: str, *, algorithm: str = "AES-256") -> bytes:
    """`plain` encrypted by pypdf with `user_password` (empty: it opens without asking)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    writer.encrypt(user_password, owner_password="owner secret", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flate_bomb_pdf(inflated: int) -> bytes:
    """A one-page PDF whose content stream is a few KB deflated twice, and `inflated` bytes of
    spaces (valid content: whitespace) once both are undone."""
    once = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    packed = b"".join(once.compress(chunk) for _ in range(inflated // len(chunk)))
    packed += once.flush()
    twice = zlib.compress(packed, 9)
    return paged_pdf([stream(twice, filters=("FlateDecode", "FlateDecode"))])


def cyclic_pdf() -> bytes:
    """A PDF whose page tree holds itself: a viewer following its /Kids never ends."""
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Kids [2 0 R] /Parent 2 0 R /Count 1 >>",
        ]
    )


def word_file(
    *,
    heading: str = "",
    paragraphs: Sequence[str] = (),
    table: Sequence[Sequence[str]] = (),
    after: Sequence[str] = (),
) -> bytes:
    """A .docx made by python-docx: a heading, paragraphs, a table, then more paragraphs."""
    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    for text in after:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def word_bomb(inflated: int) -> bytes:
    """A .docx (a real one's parts) whose word/document.xml unpacks to `inflated` bytes: a few
    KB in the zip."""
    real = zipfile.ZipFile(io.BytesIO(word_file(paragraphs=["x"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for part in real.infolist():
            if part.filename != "word/document.xml":
                bomb.writestr(part, real.read(part))
                continue
            body = real.read(part)
            end = body.rindex(b"</w:body>")
            with bomb.open("word/document.xml", "w", force_zip64=True) as xml:
                xml.write(body[:end])
                chunk = b" " * (1 << 20)
                for _ in range(inflated // len(chunk)):
                    xml.write(chunk)  # whitespace between elements: still well-formed
                xml.write(body[end:])
    return out.getvalue()


def crowded_word_file(paragraphs: int) -> bytes:
    """A .docx whose body holds `paragraphs` empty paragraphs: a few bytes each in the zip, a
    node each once parsed, and work for python-docx to walk."""
    real = zipfile.ZipFile(io.BytesIO(word_file(paragraphs=["x"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as crowded:
        for part in real.infolist():
            body = real.read(part)
            if part.filename == "word/document.xml":
                end = body.rindex(b"</w:body>")
                body = body[:end] + b"<w:p/>" * paragraphs + body[end:]
            crowded.writestr(part, body)
    return out.getvalue()
