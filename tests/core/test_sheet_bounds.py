"""Hostile workbooks are refused before openpyxl builds rows, in a bounded time and memory: a tiny
workbook declaring `A1:XFD2000`, one unpacking to 400 MB of whitespace, one holding a 100 MB
cell; CSV files stay bounded too. The bound on hostile input is the issue's own statement, so
the tests measure it: wall time with perf_counter, Python's allocations with tracemalloc, and the
process's peak resident size (which only shows growth past the peak the process had reached)."""

import csv
import gc
import io
import resource
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from healthplans.models import User
from healthplans.spreadsheets.files import SheetRefused, read_table
from indicators.models import Actual, ActualEvent
from plans.models import Plan
from tests.workbooks import xlsx, xlsx_rows

PLAN = "laocai-city-de-an-07-2024"
MB = 1024 * 1024
# What a refusal may cost at most.
SECONDS = 1.0
MEMORY = 50 * MB

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Target="xl/workbook.xml" '
        f'Type="{RELATIONSHIPS}/officeDocument"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{PACKAGE}">'
        f'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{RELATIONSHIPS}/worksheet"/>'
        f'<Relationship Id="rId2" Target="sharedStrings.xml" Type="{RELATIONSHIPS}/sharedStrings"/>'
        "</Relationships>"
    ),
}


def sheet(*rows: str, dimension: str | None = "A1:B2", data: Iterable[bytes] = ()) -> Iterator[bytes]:
    """A worksheet's XML, with `data` streamed into its sheetData before the rows."""
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode()
    if dimension is not None:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from data
    yield "".join(rows).encode()
    yield b"</sheetData></worksheet>"


def strings(*texts: Iterable[bytes]) -> Iterator[bytes]:
    """A shared strings part; each text streamed."""
    yield f'<sst xmlns="{MAIN}" count="{len(texts)}" uniqueCount="{len(texts)}">'.encode()
    for text in texts:
        yield b"<si><t>"
        yield from text
        yield b"</t></si>"
    yield b"</sst>"


def repeated(byte: bytes, size: int) -> Iterator[bytes]:
    """`size` bytes of `byte`, a megabyte at a time, so that building a bomb stays light."""
    block = byte * MB
    for _ in range(size // MB):
        yield block


def workbook(worksheet: Iterable[bytes], shared: Iterable[bytes] | None = None) -> bytes:
    """A workbook from hand-written parts, each written to the zip as a stream."""
    shared = shared if shared is not None else strings(["Kế hoạch".encode()])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        for name, chunks in (("xl/worksheets/sheet1.xml", worksheet), ("xl/sharedStrings.xml", shared)):
            with archive.open(name, "w") as part:
                for chunk in chunks:
                    part.write(chunk)
    return buffer.getvalue()


SMALL_ROWS = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>7</v></c></row>',)


@cache
def declaring_a1_xfd2000() -> bytes:
    return workbook(sheet(*SMALL_ROWS, dimension="A1:XFD2000"))


@cache
def whitespace_bomb() -> bytes:
    return workbook(sheet(*SMALL_ROWS, data=repeated(b" ", 400 * MB)))


@cache
def one_huge_cell() -> bytes:
    return workbook(sheet(*SMALL_ROWS), strings(repeated(b"x", 100 * MB)))


def understating(content: bytes, member: str, size: int) -> bytes:
    """The workbook with `member`'s unpacked size written as `size` in its local and central
    headers: what a sender who lies about a bomb's size sends."""
    info = zipfile.ZipFile(io.BytesIO(content)).getinfo(member)
    data = bytearray(content)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(member)] != member.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, size)
    return bytes(data)


def refusal_cost(read: Callable[[], Any]) -> tuple[str, float, int, int]:
    """The refusal's message, its wall time, its peak of Python allocations and the growth of the
    process's peak resident size. Timed on its own: tracemalloc slows what it traces."""
    gc.collect()
    started = time.perf_counter()
    with pytest.raises(SheetRefused) as refused:
        read()
    seconds = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        with pytest.raises(SheetRefused):
            read()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024  # kB on Linux
    return refused.value.message, seconds, peak, rss_growth


def assert_refused_cheaply(content: bytes, message: str, *, name: str = "f.xlsx") -> None:
    refused, seconds, peak, rss_growth = refusal_cost(lambda: read_table(content, name=name))
    assert refused == message
    assert seconds < SECONDS, f"refused in {seconds:.2f} s"
    assert peak < MEMORY, f"{peak / MB:.0f} MB allocated"
    assert rss_growth < MEMORY, f"the process grew by {rss_growth / MB:.0f} MB"


TOO_LARGE_SHEET = "Trang tính quá lớn: tối đa 20.000 dòng và 100 cột."
UNPACKED_TOO_LARGE = "Bảng tính quá lớn khi giải nén: tối đa 50 MB."
CELL_TOO_LONG = "Có ô chứa hơn 32.767 ký tự, mức tối đa của một ô bảng tính."
DAMAGED = "Tệp .xlsx bị hỏng hoặc không đầy đủ; không đọc được."
DOCTYPE = "Tệp .xlsx chứa khai báo kiểu tài liệu (DTD) mà bảng tính không bao giờ dùng: tệp bị từ chối."


# ---------------------------------------------------------------------------------------------
# The three workbooks


def test_a_tiny_workbook_declaring_a1_to_xfd2000_is_refused_before_its_rows_are_built() -> None:
    content = declaring_a1_xfd2000()
    assert len(content) < 5 * 1024
    assert_refused_cheaply(content, TOO_LARGE_SHEET)


def test_a_workbook_unpacking_to_400_mb_of_whitespace_is_refused_unread() -> None:
    content = whitespace_bomb()
    assert len(content) < 500 * 1024
    assert_refused_cheaply(content, UNPACKED_TOO_LARGE)


def test_a_workbook_with_a_100_mb_cell_is_refused_unread() -> None:
    content = one_huge_cell()
    assert len(content) < 150 * 1024
    assert_refused_cheaply(content, UNPACKED_TOO_LARGE)


def test_a_100_mb_cell_is_refused_by_its_length_while_streamed_whatever_the_size_bound(settings: Any) -> None:
    settings.SHEET_MAX_UNCOMPRESSED_BYTES = 1024 * MB
    assert_refused_cheaply(one_huge_cell(), CELL_TOO_LONG)


def test_zip_headers_understating_the_unpacked_size_do_not_let_a_bomb_through() -> None:
    """The sizes in the zip are the sender's word: the reading stops at the declared size and
    the part no longer matches its checksum."""
    content = understating(whitespace_bomb(), "xl/worksheets/sheet1.xml", 1024)
    assert_refused_cheaply(content, DAMAGED)


# ---------------------------------------------------------------------------------------------
# The other bounds


def test_an_inline_cell_longer_than_a_spreadsheets_is_refused() -> None:
    row = f'<row r="1"><c r="A1" t="inlineStr"><is><t>{"ô" * 32_768}</t></is></c></row>'
    assert_refused_cheaply(workbook(sheet(row)), CELL_TOO_LONG)


def test_a_shared_string_of_many_runs_is_counted_whole() -> None:
    runs = b"".join(b"<r><t>" + b"x" * 20_000 + b"</t></r>" for _ in range(2))
    content = workbook(sheet(*SMALL_ROWS), [f'<sst xmlns="{MAIN}"><si>'.encode(), runs, b"</si></sst>"])
    assert_refused_cheaply(content, CELL_TOO_LONG)


def test_cells_beyond_the_columns_are_refused_without_a_dimension() -> None:
    """Without a declared area openpyxl pads each row to its last cell: XFD is 16,384 cells a row."""
    rows = [f'<row r="{n}"><c r="XFD{n}"><v>1</v></c></row>' for n in range(1, 3)]
    assert_refused_cheaply(workbook(sheet(*rows, dimension=None)), TOO_LARGE_SHEET)


def test_a_part_declaring_a_document_type_is_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + f'<sst xmlns="{MAIN}"><si><t>&b;</t></si></sst>'.encode()
    )
    assert_refused_cheaply(workbook(sheet(*SMALL_ROWS), [laughs]), DOCTYPE)


def test_a_csv_cell_longer_than_a_spreadsheets_is_refused() -> None:
    assert_refused_cheaply(("a," + "b" * 32_768 + "\n").encode(), CELL_TOO_LONG, name="f.csv")


def test_a_csv_of_line_breaks_is_refused_before_its_rows_are_kept() -> None:
    assert_refused_cheaply(b"\n" * (5 * MB - 1), "Tệp có quá nhiều dòng: tối đa 20000 dòng.", name="f.csv")


def test_a_csv_row_wider_than_a_sheet_is_refused() -> None:
    assert_refused_cheaply(b"," * (5 * MB - 1), TOO_LARGE_SHEET, name="f.csv")


# ---------------------------------------------------------------------------------------------
# Genuine workbooks still read


def test_a_10000_row_sheet_of_the_benchmarks_size_still_reads() -> None:
    """benchmarks/import_bench.py imports 10,000 figures of the actuals template (11 columns)."""
    rows = [[f"c{column}" for column in range(11)]]
    rows += [
        [f"plan-{n}", f"B.{n % 20}", "Chỉ số thử", "lượt", "≥ 95", f"tram-{n // 20}", "Trạm", "2024H1", str(n), "", "1"]
        for n in range(10_000)
    ]
    table = read_table(xlsx(rows), name="bench.xlsx")
    assert len(table) == 10_001
    assert table[-1] == rows[-1]


def test_a_wide_csv_of_the_products_kinds_still_reads() -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[f"{row}.{column}" for column in range(100)] for row in range(3)])
    assert read_table(buffer.getvalue().encode(), name="f.csv")[2][99] == "2.99"


# ---------------------------------------------------------------------------------------------
# Through the import, as a planner


def upload(client: Any, content: bytes, name: str = "f.xlsx") -> Any:
    plan = Plan.objects.get(slug=PLAN)
    return client.post(
        "/api/imports/",
        {"file": SimpleUploadedFile(name, content), "plan": plan.pk, "kind": "actuals", "dry_run": "false"},
        format="multipart",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hostile", "message"),
    [
        (declaring_a1_xfd2000, TOO_LARGE_SHEET),
        (whitespace_bomb, UNPACKED_TOO_LARGE),
        (one_huge_cell, UNPACKED_TOO_LARGE),
    ],
)
def test_the_import_api_refuses_a_hostile_workbook_and_writes_nothing(
    api_as: Any, hostile: Callable[[], bytes], message: str
) -> None:
    before = Actual.objects.count(), ActualEvent.objects.count()
    response = upload(api_as("laocai.planner"), hostile())
    assert response.status_code == 400
    assert response.json()["status"] == "refused"
    assert response.json()["errors"] == [{"row": None, "column": None, "message": message}]
    assert (Actual.objects.count(), ActualEvent.objects.count()) == before


@pytest.mark.django_db
def test_the_import_page_refuses_a_hostile_workbook(login: Any) -> None:
    response = login("laocai.planner").post(
        f"/plans/{PLAN}/import/", {"kind": "actuals", "file": SimpleUploadedFile("f.xlsx", declaring_a1_xfd2000())}
    )
    assert response.status_code == 400
    assert response.context["result"].errors[0].message == TOO_LARGE_SHEET


@pytest.mark.django_db
def test_the_seeds_export_still_imports(api_as: Any) -> None:
    client = api_as("laocai.planner")
    plan = Plan.objects.get(slug=PLAN)
    exported = client.get(f"/api/plans/{plan.pk}/export/", {"kind": "actuals", "format": "xlsx", "period": "2024H1"})
    rows = xlsx_rows(exported.content)
    rows[1][8] = "6"
    response = upload(client, xlsx(rows))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "imported"
    assert Actual.objects.filter(created_by=User.objects.get(username="laocai.planner")).count() == 1
