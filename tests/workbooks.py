"""Workbooks of the spreadsheet tests: rows in, .xlsx bytes out, and back."""

import io
from typing import Any

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_rows(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
