"""The reader streams a workbook's first sheet through expat (healthplans.spreadsheets.worksheet.
SheetValues) and must give the rows openpyxl's read-only `iter_rows(values_only=True)` gives, which
it replaced for speed: each workbook here is read both ways and the tables compared."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from healthplans.spreadsheets.files import SheetRefused, bounded_rows, read_table
from tests.core.test_sheet_bounds import DAMAGED, MAIN, sheet, workbook


def openpyxl_table(content: bytes) -> list[list[str]]:
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        return bounded_rows(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def assert_read_as_openpyxl_reads(content: bytes) -> list[list[str]]:
    table = read_table(content, name="f.xlsx")
    assert table == openpyxl_table(content)
    return table


def saved(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_every_kind_of_cell_openpyxl_writes() -> None:
    book = Workbook()
    book.active.append(
        [
            "chữ",
            1,
            2.5,
            Decimal("85.5"),
            True,
            False,
            None,
            "=SUM(B1:C1)",
            datetime.date(2024, 1, 5),
            datetime.datetime(2024, 1, 5, 10, 30),  # noqa: DTZ001  # a spreadsheet's dates have no time zone
            datetime.time(10, 30),
            datetime.timedelta(hours=30),
        ]
    )
    book.active.append([])
    book.active.append(["'=x", "  spaced  ", "x\ny", 1e20, -3, 0, "1.234,5"])
    book.active.cell(row=7, column=4, value="far")
    second = book.create_sheet("other")
    second.append(["not read"])
    table = assert_read_as_openpyxl_reads(saved(book))
    assert table[0][:5] == ["chữ", "1", "2,5", "85,5", "True"]
    assert table[1] == []
    assert table[6] == ["", "", "", "far"]


def test_shared_strings_rich_text_and_phonetic_runs() -> None:
    shared = [
        f'<sst xmlns="{MAIN}">'.encode(),
        b"<si><t>Ke hoach</t></si>",
        b"<si><r><rPr><b/></rPr><t>Tr</t></r><r><t xml:space='preserve'>am </t></r>",
        b"<rPh sb='0' eb='1'><t>x</t></rPh></si>",
        b"</sst>",
    ]
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="3"><c t="str"><v>formula text</v><f>A1</f></c><c t="e"><v>#N/A</v></c><c t="b"><v>1</v></c>'
        '<c t="d"><v>2024-01-05T00:00:00</v></c><c><v>1.5E3</v></c><c t="inlineStr"><is><t>x</t>'
        "<r><t>y</t></r></is></c><c/><c><f>1+1</f></c></row>"
        "<row><c><v>7</v></c></row>"
    )
    table = assert_read_as_openpyxl_reads(workbook(sheet(rows, dimension=None), shared))
    assert table[0] == ["Ke hoach", "", "Tram"]
    assert table[2][:4] == ["formula text", "#N/A", "True", "2024-01-05 00:00:00"]
    assert table[2][5:] == ["xy"]
    assert table[3] == ["7"]


def test_a_declared_area_smaller_than_the_data_cuts_it_as_openpyxl_does() -> None:
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c><c r="C{n}"><v>{n}</v></c></row>' for n in range(1, 5))
    table = assert_read_as_openpyxl_reads(workbook(sheet(rows, dimension="A1:B2")))
    assert table == [["1"], ["2"]]


def test_rows_out_of_order_and_a_float_row_number() -> None:
    rows = '<row r="2.0"><c r="A2"><v>2</v></c></row><row r="1"><c r="A1"><v>1</v></c></row><row r="4"/>'
    assert assert_read_as_openpyxl_reads(workbook(sheet(rows, dimension=None))) == [[], ["2"]]


def test_the_benchmarks_template_reads_as_openpyxl_reads_it() -> None:
    book = Workbook()
    for n in range(3_000):
        book.active.append([f"plan-{n}", f"B.{n % 20}", "Chỉ số", "lượt", "≥ 95", f"tram-{n}", "Trạm", "2024H1", n])
    assert len(assert_read_as_openpyxl_reads(saved(book))) == 3_000


@pytest.mark.parametrize(
    "cell",
    ['<c r="1"><v>1</v></c>', '<c r="A1" t="s"><v>9</v></c>', '<c r="A1"><v>x</v></c>', '<c r="A1" t="b"><v>y</v></c>'],
)
def test_a_damaged_cell_is_refused_as_damaged(cell: str) -> None:
    with pytest.raises(SheetRefused) as refused:
        read_table(workbook(sheet(f'<row r="1">{cell}</row>', dimension=None)), name="f.xlsx")
    assert refused.value.message == DAMAGED
