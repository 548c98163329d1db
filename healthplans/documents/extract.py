"""The text of a plan document, as paragraphs and tables in reading order, each with its place.

Reads .txt (UTF-8; tab-separated or Markdown "|" lines are table rows), .docx (python-docx,
MIT) and .pdf with a text layer (pdfplumber, MIT). Anything else — a scanned PDF, an encrypted
file, a picture, a broken .docx — is refused with a Vietnamese message; nothing is guessed.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_BYTES = 20 * 1024 * 1024
# A .docx is a zip: refuse one that unpacks past this before python-docx builds its tree.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_PDF_PAGES = 300

_PICTURE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM", b"RIFF")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .docx is an OLE container holding this stream (MS-OFFCRYPTO), named in UTF-16.
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


class DocumentRefused(ValueError):
    """A file that cannot be read as a plan; the message says why, in Vietnamese."""


@dataclass
class Cell:
    text: str
    where: str


@dataclass
class Paragraph:
    text: str
    where: str


@dataclass
class Table:
    number: int
    rows: list[list[Cell]] = field(default_factory=list)


Block = Paragraph | Table


def clean(text: str) -> str:
    """One spelling of a line: NFC, single spaces, no Markdown emphasis, TeX comparators as signs."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\\leq", "≤").replace("\\geq", "≥").replace("\\%", "%").replace("$", "")
    text = re.sub(r"\*{2,}|_{2,}", "", text)
    text = re.sub(r"^#+\s*", "", text.strip())
    text = re.sub(r"^\*(?=[^\s*])(.*?)\*$", r"\1", text)  # a wholly italic line
    return " ".join(text.split())


def extract(name: str, data: bytes) -> list[Block]:
    if not data:
        raise DocumentRefused(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise DocumentRefused(_("The file is too large (20 MB at most)."))
    if data.startswith(_PICTURE_MAGIC):
        raise DocumentRefused(
            _("The file is a picture, with no text to read: upload a .docx, a .pdf with a text layer or a .txt.")
        )
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTION_STREAM in data:
            raise DocumentRefused(
                _("The file is protected by a password (encrypted). Remove the password and upload it again.")
            )
        raise DocumentRefused(_("An old Word file (.doc) cannot be read yet. Save it as .docx."))
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if data.startswith(b"%PDF") or suffix == "pdf":
        return _pdf(data)
    if data.startswith(b"PK") or suffix == "docx":
        return _docx(data)
    if suffix in {"txt", "md", ""}:
        return _txt(data)
    raise DocumentRefused(_("Only .docx, .pdf (with a text layer) and .txt files can be read."))


# --- plain text ------------------------------------------------------------------------------


def _txt(data: bytes) -> list[Block]:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentRefused(_("The file is not plain text (.txt)."))
    try:
        text = data.decode("utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentRefused(_("A text file must be saved in the UTF-8 encoding.")) from error
    blocks: list[Block] = []
    table: Table | None = None
    tables = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        cells = _row_cells(raw)
        if cells is not None:
            if table is None:
                tables += 1
                table = Table(tables)
                blocks.append(table)
            row = len(table.rows) + 1
            table.rows.append([Cell(clean(c), _cell_where(tables, row, i + 1)) for i, c in enumerate(cells)])
            continue
        line = clean(raw)
        if not line:
            continue
        table = None
        blocks.append(Paragraph(line, _("line %(n)s") % {"n": number}))
    return blocks


def _row_cells(raw: str) -> list[str] | None:
    if "\t" in raw:
        return raw.strip("\n").split("\t")
    stripped = raw.strip()
    if stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 3:
        cells = [c.strip() for c in stripped[1:-1].split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
            return None  # a Markdown rule line under the heading row
        return cells
    return None


def _cell_where(table: int, row: int, cell: int) -> str:
    return _("table %(t)s, row %(r)s, cell %(c)s") % {"t": table, "r": row, "c": cell}


# --- Word -----------------------------------------------------------------------------------


def _docx(data: bytes) -> list[Block]:
    import docx
    from docx.table import Table as DocxTable

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise DocumentRefused(_("The .docx file is too large once unpacked."))
        document = docx.Document(io.BytesIO(data))
    except DocumentRefused:
        raise
    except Exception as error:  # zipfile, lxml and python-docx each raise their own kinds
        raise DocumentRefused(_("The .docx file is damaged or is not a Word file.")) from error
    blocks: list[Block] = []
    paragraphs = tables = 0
    for item in document.iter_inner_content():
        if isinstance(item, DocxTable):
            rows = _docx_rows(item)
            if _is_layout(rows):
                # Headers and signature blocks are laid out in borderless tables: read them as
                # paragraphs, column by column (the issuer's column, then the motto and date).
                for column in range(max((len(r) for r in rows), default=0)):
                    for row in rows:
                        if column < len(row):
                            for line in row[column].splitlines():
                                if clean(line):
                                    paragraphs += 1
                                    blocks.append(Paragraph(clean(line), _("paragraph %(n)s") % {"n": paragraphs}))
                continue
            tables += 1
            table = Table(tables)
            for r, row in enumerate(rows, start=1):
                table.rows.append([Cell(clean(text), _cell_where(tables, r, c)) for c, text in enumerate(row, 1)])
            blocks.append(table)
        else:
            for line in item.text.splitlines():
                if clean(line):
                    paragraphs += 1
                    blocks.append(Paragraph(clean(line), _("paragraph %(n)s") % {"n": paragraphs}))
    return blocks


def _docx_rows(table: object) -> list[list[str]]:
    rows = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells, seen = [], set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans: keep it once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append("\n".join(p.text for p in cell.paragraphs))
        rows.append(cells)
    return rows


def _is_layout(rows: list[list[str]]) -> bool:
    return not any(sum(1 for cell in row if cell.strip()) >= 3 for row in rows)


# --- PDF ------------------------------------------------------------------------------------

_MARKER = re.compile(r"^(?:[IVXLC]+\.|\d+(?:\.\d+)*\.?\s|[a-zđ]\)|[-+•*–]|Căn cứ|Nơi nhận)")


def _pdf(data: bytes) -> list[Block]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except PDFPasswordIncorrect as error:
        raise DocumentRefused(
            _("The PDF file is protected by a password. Remove the password and upload it again.")
        ) from error
    except Exception as error:
        raise DocumentRefused(_("The PDF file is damaged and cannot be read.")) from error
    blocks: list[Block] = []
    paragraphs = tables = 0
    with pdf:
        try:
            pages = pdf.pages
        except Exception as error:
            raise DocumentRefused(_("The PDF file is damaged and cannot be read.")) from error
        if len(pages) > MAX_PDF_PAGES:
            raise DocumentRefused(_("The PDF file is too long (300 pages at most)."))
        any_text = False
        for page_number, page in enumerate(pages, start=1):
            try:
                found = page.find_tables()
                boxes = [t.bbox for t in found]
                items: list[tuple[float, Table | list[dict]]] = []
                for t in found:
                    items.append((t.bbox[1], Table(0, [[Cell(clean(c or ""), "") for c in r] for r in t.extract()])))

                def outside(obj: dict, boxes: list = boxes) -> bool:
                    x = (obj["x0"] + obj["x1"]) / 2
                    y = (obj["top"] + obj["bottom"]) / 2
                    return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

                lines = page.filter(outside).extract_text_lines(return_chars=False)
            except Exception as error:
                raise DocumentRefused(_("The PDF file is damaged and cannot be read.")) from error
            any_text = any_text or bool(lines) or bool(found)
            for group in _pdf_paragraphs(lines, page.width):
                items.append((group[0]["top"], group))
            items.sort(key=lambda item: item[0])
            for _top, item in items:
                if isinstance(item, Table):
                    tables += 1
                    item.number = tables
                    for r, row in enumerate(item.rows, start=1):
                        for c, cell in enumerate(row, start=1):
                            cell.where = _("page %(p)s") % {"p": page_number} + ", " + _cell_where(tables, r, c)
                    blocks.append(item)
                else:
                    text = clean(" ".join(line["text"] for line in item))
                    if text:
                        paragraphs += 1
                        where = _("page %(p)s, paragraph %(n)s") % {"p": page_number, "n": paragraphs}
                        blocks.append(Paragraph(text, where))
        if not any_text:
            raise DocumentRefused(
                _("The PDF file has no text layer (a scan, perhaps). Upload the .docx, or a PDF exported from Word.")
            )
    return blocks


def _pdf_paragraphs(lines: list[dict], width: float) -> list[list[dict]]:
    """Wrapped lines joined into paragraphs: a new one after a wider gap, a short line, an indent
    or a line that opens with a heading number or a bullet."""
    if not lines:
        return []
    heights = sorted(line["bottom"] - line["top"] for line in lines)
    height = heights[len(heights) // 2] or 10
    left = min(line["x0"] for line in lines)
    right = max(line["x1"] for line in lines)
    groups: list[list[dict]] = []
    for line in lines:
        if groups:
            previous = groups[-1][-1]
            gap = line["top"] - previous["bottom"]
            continues = (
                gap < height * 0.8
                and previous["x1"] > right - (right - left) * 0.12
                and line["x0"] < left + height * 1.5
                and not _MARKER.match(line["text"])
            )
            if continues:
                groups[-1].append(line)
                continue
        groups.append([line])
    return groups
