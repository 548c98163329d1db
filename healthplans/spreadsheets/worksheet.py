"""A worksheet's values streamed through expat: what openpyxl's read-only reading gives, without
the objects it builds for every cell. Knows nothing of what the rows mean, nor of the bounds a
sheet of ours keeps (healthplans.spreadsheets.files checks them)."""

from collections.abc import Iterator
from typing import IO, Any
from xml.parsers import expat

# The main namespace of a sheet's XML (openpyxl reads this one alone), as expat names elements.
MAIN_NAMESPACE = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
ROW, CELL, VALUE, INLINE, TEXT, PHONETIC = (f"{MAIN_NAMESPACE} {name}" for name in ("row", "c", "v", "is", "t", "rPh"))
XML_CHUNK = 64 * 1024
DIGITS = "0123456789"


class RowTooWide(Exception):
    """A row reaches past the columns the caller allows."""


class SheetValues:
    """The values of a read-only openpyxl worksheet's cells, row by row, as its
    `iter_rows(values_only=True)` gives them — a missing row as an empty one, each row as wide as
    the declared area (else as its last cell), a formula as its stored result, a number styled as
    a date as a date — read with expat rather than openpyxl's objects: openpyxl builds a rich-text
    object for every inline string (every text cell of a sheet it wrote, such as our templates)."""

    def __init__(self, sheet: Any, *, max_rows: int, max_columns: int) -> None:
        from openpyxl.utils.cell import column_index_from_string  # type: ignore[import-untyped]

        # Past max_rows the rows are refused by the caller; past max_columns RowTooWide.
        self.limits = (max_rows, max_columns)
        workbook = sheet.parent
        self.strings = sheet._shared_strings
        self.epoch = workbook.epoch
        self.dates = workbook._date_formats
        self.durations = workbook._timedelta_formats
        self.max_row: int | None = sheet.max_row
        self.max_column: int | None = sheet.max_column
        self.column_of = column_index_from_string
        self.columns: dict[str, int] = {}
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text
        self.parser.buffer_text = True
        self.done: list[list[Any]] = []  # rows read since the last chunk
        self.next_row = 1  # the row the next one read should be
        self.row_number = 0
        self.cells: list[tuple[int, Any]] = []
        self.column = 0
        self.kind = "n"
        self.style: Any = 0
        self.value: list[str] | None = None
        self.texts: list[str] | None = None  # the text being read (a value, an inline string's runs)
        self.inline: list[str] | None = None
        self.phonetic = False
        self.ended = False  # past the declared last row

    def rows(self, stream: IO[bytes]) -> Iterator[list[Any]]:
        while not self.ended and (chunk := stream.read(XML_CHUNK)):
            self.parser.Parse(chunk, False)
            yield from self.done
            self.done = []
        if not self.ended:
            self.parser.Parse(b"", True)
            yield from self.done

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == CELL:
            coordinate = attributes.get("r")
            self.column = self.column_index(coordinate) if coordinate else self.column + 1
            self.kind = attributes.get("t", "n")
            style = attributes.get("s", 0)
            self.style = int(style) if style else style
            self.value = None
            self.inline = None
        elif name == VALUE:
            self.texts = []
        elif name == INLINE:
            self.inline = []
        elif name == PHONETIC:
            self.phonetic = True
        elif name == TEXT and self.inline is not None and not self.phonetic:
            self.texts = self.inline
        elif name == ROW:
            number = attributes.get("r")
            self.row_number = self.row_index(number) if number else self.row_number + 1
            self.column = 0
            self.cells = []

    def end(self, name: str) -> None:
        if name == VALUE:
            self.value = self.texts
            self.texts = None
        elif name == TEXT:
            self.texts = None
        elif name == PHONETIC:
            self.phonetic = False
        elif name == CELL:
            self.cells.append((self.column, self.cell_value()))
        elif name == ROW:
            self.row_read()

    def text(self, data: str) -> None:
        if self.texts is not None:
            self.texts.append(data)

    def column_index(self, coordinate: str) -> int:
        letters = coordinate.rstrip(DIGITS)
        if len(letters) == len(coordinate):
            raise ValueError(f"Invalid cell coordinates ({coordinate})")
        column = self.columns.get(letters)
        if column is None:
            column = self.columns[letters] = self.column_of(letters)
        return column

    @staticmethod
    def row_index(number: str) -> int:
        try:
            return int(number)
        except ValueError:
            value = float(number)
            if not value.is_integer():
                raise
            return int(value)

    def cell_value(self) -> Any:
        """openpyxl's parse_cell with data_only: the value as its type says."""
        from openpyxl.utils.datetime import from_excel, from_ISO8601  # type: ignore[import-untyped]

        if self.kind == "inlineStr":
            return None if self.inline is None else "".join(self.inline)
        value = "".join(self.value) if self.value else None
        if not value:
            return None
        if self.kind == "n":
            number = float(value) if "." in value or "e" in value or "E" in value else int(value)
            if self.style not in self.dates:
                return number
            try:
                return from_excel(number, self.epoch, timedelta=self.style in self.durations)
            except (OverflowError, ValueError):
                return "#VALUE!"
        if self.kind == "s":
            return self.strings[int(value)]
        if self.kind == "b":
            return bool(int(value))
        if self.kind == "d":
            return from_ISO8601(value)
        return value

    def row_read(self) -> None:
        """ReadOnlyWorksheet._cells_by_row: the rows skipped as empty ones, then this one."""
        number = self.row_number
        if self.max_row is not None and number > self.max_row:
            self.ended = True
            self.parser.StartElementHandler = self.parser.EndElementHandler = None  # the rest is not read
            return
        width = self.max_column
        # Past max_rows the sheet is refused: no need to make every row of a gap.
        while self.next_row < min(number, self.limits[0] + 3):
            self.next_row += 1
            self.done.append([None] * width if width else [])
        if self.next_row > number:
            return
        self.next_row += 1
        if not self.cells and not width:
            self.done.append([])
            return
        width = width or self.cells[-1][0]
        if width > self.limits[1]:
            # Refused before such rows pile up: a chunk may hold thousands of cells in column XFD.
            raise RowTooWide(width)
        values: list[Any] = [None] * width
        for column, value in self.cells:
            if 1 <= column <= width:
                values[column - 1] = value
        self.done.append(values)
