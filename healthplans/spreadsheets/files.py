"""Spreadsheet files: reading an upload (.xlsx or UTF-8 .csv, the content deciding) into rows of
text, writing rows as .xlsx or .csv with cells no spreadsheet runs as a formula, and checking a
sheet's headings. Knows nothing of what the rows mean."""

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.vnnumber import format_number, parse_number

MAX_ROWS = 20_000
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


def too_large_message() -> str:
    return _("The file is too large: %(mb)s MB at most.") % {
        "mb": format_number(Decimal(settings.IMPORT_MAX_BYTES) / (1024 * 1024), 1).removesuffix(",0")
    }


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
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal):
        return format_number(Decimal(value))
    if isinstance(value, float):
        return format_number(Decimal(repr(value)).normalize())
    text = str(value).strip()
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
        rows = [[cell_text(value) for value in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise SheetRefused(_("The CSV file cannot be read.")) from exc
    return trim(rows)


def read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([cell_text(value) for value in row])
            if len(rows) > MAX_ROWS + 1:
                raise SheetRefused(_("The file has too many rows: %(n)s at most.") % {"n": MAX_ROWS})
        workbook.close()
    except SheetRefused:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError, EOFError) as exc:
        raise SheetRefused(_("The .xlsx file is damaged or incomplete and cannot be read.")) from exc
    return trim(rows)


def trim(rows: list[list[str]]) -> list[list[str]]:
    """Drop trailing empty cells and rows: spreadsheets keep formatting past the data."""
    trimmed = []
    for row in rows:
        while row and not row[-1]:
            row.pop()
        trimmed.append(row)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    if len(trimmed) > MAX_ROWS + 1:
        raise SheetRefused(_("The file has too many rows: %(n)s at most.") % {"n": MAX_ROWS})
    return trimmed


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
