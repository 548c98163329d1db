"""Spreadsheet files: reading an upload (.xlsx or UTF-8 .csv, the content deciding) into rows of
text, writing rows as .xlsx or .csv with cells no spreadsheet runs as a formula, and checking a
sheet's headings. Knows nothing of what the rows mean."""

import csv
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any
from xml.parsers import expat

from django.conf import settings
from django.utils.translation import gettext as _

from healthplans.spreadsheets.worksheet import MAIN_NAMESPACE, XML_CHUNK, RowTooWide, SheetValues
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.vnnumber import format_number, parse_number

MAX_ROWS = 20_000
# Our sheets have a dozen columns or so (the targets' one per year): room for a planner's own.
MAX_COLUMNS = 100
# Excel's own limit of characters in a cell.
MAX_CELL_CHARS = 32_767
# Where a workbook's text is: a cell's value (v), formula (f), or a run of its text (t), within
# a cell (c) or a shared string (si), counted whole; expat names them "namespace local-name".
SHEET_NAMESPACES = (MAIN_NAMESPACE, "http://purl.oclc.org/ooxml/spreadsheetml/main")
TEXT_ELEMENTS = frozenset(f"{namespace} {name}" for namespace in SHEET_NAMESPACES for name in ("v", "f", "t"))
CELL_ELEMENTS = frozenset(f"{namespace} {name}" for namespace in SHEET_NAMESPACES for name in ("c", "si"))
DIMENSION_ELEMENTS = frozenset(f"{namespace} dimension" for namespace in SHEET_NAMESPACES)
# How an XML part may begin (after a UTF-8 byte order mark and blanks): a tag, or UTF-16 and
# UTF-32 with or without their byte order marks. Other parts (pictures, printer settings) are
# only counted.
XML_LEADS = (b"<", b"\xff\xfe", b"\xfe\xff", b"\x00<", b"\x00\x00\xfe\xff", b"\x00\x00\x00<")
# What reading a broken .xlsx raises: zipfile (a bad archive, an unknown compression, a password),
# zlib, expat, and openpyxl's own (SyntaxError covers ElementTree's and lxml's parse errors).
UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    expat.ExpatError,
    SyntaxError,
    NotImplementedError,
    RuntimeError,
    KeyError,
    ValueError,
    OSError,
    IndexError,
    EOFError,
)
XLSX_SIGNATURE = b"PK\x03\x04"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "csv")
# Cells a spreadsheet would run as a formula (CSV injection); OWASP adds tab and carriage return.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

# The headers are the file format, the same whatever the page's language; these few are shared
# by the sheets of several apps.
COL_PLAN = "Kế hoạch"
COL_PERIOD = "Kỳ báo cáo"
COL_STATUS = "Trạng thái"
COL_VERSION = "Phiên bản"


class SheetRefused(Exception):
    """The file as a whole cannot be read (too big, not a spreadsheet, damaged)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class SheetError:
    row: int | None
    column: str | None
    message: str


def megabytes(size: int) -> str:
    return format_number(Decimal(size) / (1024 * 1024), 1).removesuffix(",0")


def too_large_message() -> str:
    return _("The file is too large: %(mb)s MB at most.") % {"mb": megabytes(settings.IMPORT_MAX_BYTES)}


# ---------------------------------------------------------------------------------------------
# Cells


def safe_cell(value: Any) -> Any:
    """A text a spreadsheet would take for a formula gets a leading apostrophe; a negative
    number stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        try:
            number = parse_number(value)
        except NumberError:
            return "'" + value
        return number if number < 0 else "'" + value
    return value


def cell_text(value: Any) -> str:
    """A read cell as the text a person wrote, undoing `safe_cell`'s apostrophe."""
    if not isinstance(value, str):  # most cells are text: they skip these
        if value is None:
            return ""
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | Decimal):
            return format_number(Decimal(value))
        if isinstance(value, float):
            return format_number(Decimal(repr(value)).normalize())
        value = str(value)
    text = value.strip()
    return text[1:] if text.startswith("'") else text


def number_message(exc: NumberError) -> str:
    return _(exc.template).format(text=exc.text)


# ---------------------------------------------------------------------------------------------
# Writing


def write_xlsx(rows: Sequence[Sequence[Any]], *, title: str) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs published

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([cell_text(value) if isinstance(value, Decimal) else value for value in map(safe_cell, row)])
    # The byte order mark makes Excel open the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Reading


def not_a_spreadsheet() -> SheetRefused:
    return SheetRefused(_("The file is not a spreadsheet: only .xlsx or .csv (UTF-8) files are accepted."))


def damaged_xlsx() -> SheetRefused:
    return SheetRefused(_("The .xlsx file is damaged or incomplete and cannot be read."))


def read_table(content: bytes, *, name: str = "") -> list[list[str]]:
    """The rows of an uploaded .xlsx (a zip that openpyxl reads) or UTF-8 .csv, as text. The
    content decides, not the name: a picture or a PDF renamed .xlsx is refused."""
    if len(content) > settings.IMPORT_MAX_BYTES:
        raise SheetRefused(too_large_message())
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if content.startswith(XLSX_SIGNATURE):
        if extension == "csv":
            raise SheetRefused(_("The file is named .csv but is not a CSV file."))
        return read_xlsx(content)
    if extension == "xlsx":
        raise not_a_spreadsheet()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_a_spreadsheet() from exc
    if "\x00" in text or text.startswith("%PDF"):
        raise not_a_spreadsheet()
    try:
        return bounded_rows(csv.reader(csv_lines(text)))
    except csv.Error as exc:
        raise SheetRefused(_("The CSV file cannot be read.")) from exc


def read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_workbook(archive)
            # openpyxl reads the workbook's parts (which sheet is first, shared strings, styles);
            # SheetValues reads the first sheet's cells as its read-only `iter_rows(values_only=True)`
            # gives them, at a fraction of its cost per cell.
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                with archive.open(sheet._worksheet_path) as stream:
                    return bounded_rows(SheetValues(sheet, max_rows=MAX_ROWS, max_columns=MAX_COLUMNS).rows(stream))
            finally:
                workbook.close()
    except RowTooWide as exc:
        raise sheet_too_large() from exc
    except SheetRefused:
        raise
    except UNREADABLE as exc:
        raise damaged_xlsx() from exc


def csv_lines(text: str) -> Iterator[str]:
    """The lines of a CSV file, refusing one of more separators than a sheet of ours can have:
    csv builds all of a row's fields before they can be counted, and a line of a million commas
    is a list of a million. Cells may hold commas of their own, hence the generous bound."""
    for line in io.StringIO(text):
        if line.count(",") > MAX_COLUMNS * 1_000:
            raise sheet_too_large()
        yield line


def bounded_rows(rows: Iterable[Sequence[Any]]) -> list[list[str]]:
    """The rows as text, refused as soon as the sheet outgrows any of ours, before the rest is read."""
    table = []
    for row in rows:
        if len(row) > MAX_COLUMNS:
            raise sheet_too_large()
        cells = [cell_text(value) for value in row]
        if any(len(cell) > MAX_CELL_CHARS for cell in cells):
            raise cell_too_long()
        table.append(cells)
        if len(table) > MAX_ROWS + 1:
            raise SheetRefused(_("The file has too many rows: %(n)s at most.") % {"n": MAX_ROWS})
    return trim(table)


def trim(rows: list[list[str]]) -> list[list[str]]:
    """Drop trailing empty cells and rows: spreadsheets keep formatting past the data."""
    for row in rows:
        while row and not row[-1]:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


# ---------------------------------------------------------------------------------------------
# A workbook's bounds, checked before openpyxl reads it


def sheet_too_large() -> SheetRefused:
    return SheetRefused(
        _("The sheet is too large: %(rows)s rows and %(columns)s columns at most.")
        % {"rows": format_number(Decimal(MAX_ROWS)), "columns": MAX_COLUMNS}
    )


def cell_too_long() -> SheetRefused:
    return SheetRefused(
        _("A cell holds more than %(n)s characters, the most a spreadsheet cell holds.")
        % {"n": format_number(Decimal(MAX_CELL_CHARS))}
    )


def unpacked_too_large() -> SheetRefused:
    return SheetRefused(
        _("The workbook is too large once unpacked: %(mb)s MB at most.")
        % {"mb": megabytes(settings.SHEET_MAX_UNCOMPRESSED_BYTES)}
    )


def check_workbook(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook that would cost more to read than any sheet of ours, before openpyxl
    builds anything: one unpacking to more than SHEET_MAX_UNCOMPRESSED_BYTES (a zip bomb), a sheet
    declaring an area beyond MAX_ROWS × MAX_COLUMNS (openpyxl pads every row to the declared
    width: `A1:XFD2000` is 32 million cells), a cell beyond MAX_CELL_CHARS, or a DTD in any part
    (entities, the billion laughs). Each part is streamed through expat a chunk at a time, so the
    check itself holds a chunk and a count whatever the file unpacks to."""
    members = archive.infolist()
    if sum(member.file_size for member in members) > settings.SHEET_MAX_UNCOMPRESSED_BYTES:
        raise unpacked_too_large()
    unpacked = 0
    for member in members:
        if member.is_dir():
            continue
        with archive.open(member) as stream:
            unpacked = PartScan(stream, unpacked).run()


class PartScan:
    """One part of the workbook through expat, counting what it unpacks to: XML is checked (the
    part's name does not say what openpyxl will take for XML), anything else only counted."""

    def __init__(self, stream: IO[bytes], unpacked: int) -> None:
        self.stream = stream
        # Counted as read rather than taken from the zip's headers, which the sender wrote.
        self.unpacked = unpacked
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text
        self.parser.buffer_text = True
        self.in_text = False
        self.cell_chars = 0

    def run(self) -> int:
        chunk = self.read()
        if chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(XML_LEADS):
            while chunk:
                self.parser.Parse(chunk, False)
                chunk = self.read()
            self.parser.Parse(b"", True)
        while chunk:
            chunk = self.read()
        return self.unpacked

    def read(self) -> bytes:
        chunk = self.stream.read(XML_CHUNK)
        self.unpacked += len(chunk)
        if self.unpacked > settings.SHEET_MAX_UNCOMPRESSED_BYTES:
            raise unpacked_too_large()
        return chunk

    def doctype(self, *args: Any) -> None:
        raise SheetRefused(_("The .xlsx file declares a document type, which no spreadsheet does: it is refused."))

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name in TEXT_ELEMENTS:
            self.in_text = True
        elif name in CELL_ELEMENTS:
            self.cell_chars = 0
        elif name in DIMENSION_ELEMENTS:
            check_dimension(attributes.get("ref", ""))

    def end(self, name: str) -> None:
        self.in_text = False

    def text(self, data: str) -> None:
        if self.in_text:
            self.cell_chars += len(data)
            if self.cell_chars > MAX_CELL_CHARS:
                raise cell_too_long()


def check_dimension(ref: str) -> None:
    """A sheet's declared area, such as `A1:K10001`, within MAX_ROWS (and a heading) × MAX_COLUMNS."""
    last = ref.rpartition(":")[2].replace("$", "").upper()
    letters = last.rstrip("0123456789")
    digits = last[len(letters) :]
    if not (letters.isascii() and letters.isalpha() and digits.isdigit()) or len(letters) > 3 or len(digits) > 7:
        raise damaged_xlsx()
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - ord("A") + 1
    if column > MAX_COLUMNS or int(digits) > MAX_ROWS + 1:
        raise sheet_too_large()


def header_errors(found: list[str], expected: list[str]) -> list[SheetError]:
    errors = []
    for index, name in enumerate(expected):
        seen = found[index] if index < len(found) else ""
        if seen != name:
            errors.append(
                SheetError(
                    1,
                    name,
                    _("Wrong heading in column %(n)s: expected «%(want)s», found «%(seen)s».")
                    % {
                        "n": index + 1,
                        "want": name,
                        "seen": seen,
                    },
                )
            )
    return errors


def empty_file() -> list[SheetError]:
    return [SheetError(None, None, _("The file is empty."))]
