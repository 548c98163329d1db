"""The report PDF's geometry, read from the rendered file as a reader sees it (pdfplumber: each
word's box and the lines the tables are drawn with): every word of a table inside one cell, no
word split over two lines because its column is too narrow, and the signature block on a page
with body text, for each seed plan's report."""

import re
import unicodedata
from html.parser import HTMLParser
from io import BytesIO
from typing import Any

import pdfplumber
import pytest

from budgets.models import BudgetExecution, BudgetLine
from budgets.selectors import line_period, period_years
from healthplans.periods import parse_period
from healthplans.workflow import ReviewStatus
from reporting import rendering
from reporting.rendering import render_report_pdf
from tests.reporting.test_rendering import SEED_REPORTS, make_report

pytestmark = pytest.mark.django_db

# How far (in points) a glyph's box may reach past a cell's line: the line's own width and the
# rounding of the glyph's advance.
TOLERANCE = 1.0


class TextOf(HTMLParser):
    """The words of an HTML page as written, outside its head (styles, title)."""

    def __init__(self) -> None:
        super().__init__()
        self.words: set[str] = set()
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.skipping += tag in {"head", "style"}

    def handle_endtag(self, tag: str) -> None:
        self.skipping -= tag in {"head", "style"}

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            for word in unicodedata.normalize("NFC", data).split():
                self.words.update(line_pieces(word))


def line_pieces(word: str) -> set[str]:
    """The word and what a line may end or start with where it breaks it: after a slash or a
    hyphen ("lần/" | "người/năm", "2026-" | "2030")."""
    pieces = re.split(r"(?<=[/\-–])", word)
    return {"".join(pieces[start:end]) for start in range(len(pieces)) for end in range(start + 1, len(pieces) + 1)}


def with_amounts(report: Any) -> Any:
    """Every budget line of the report's period allocated and disbursed in full: the money and
    rate columns at their widest."""
    period = parse_period(report.period)
    for line in BudgetLine.objects.filter(plan=report.plan, year__in=period_years(period)):
        BudgetExecution.objects.get_or_create(
            tenant=line.tenant,
            budget_line=line,
            period=line_period(line, period),
            defaults={"allocated": line.amount, "disbursed": line.amount, "status": ReviewStatus.APPROVED},
        )
    return report


def rendered(report: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, set[str]]:
    """The PDF, and the words of the page it was rendered from."""
    pages: list[str] = []
    to_pdf = rendering.html_to_pdf

    def kept(html: str) -> bytes:
        pages.append(html)
        return to_pdf(html)

    monkeypatch.setattr(rendering, "html_to_pdf", kept)
    pdf = render_report_pdf(report)
    parser = TextOf()
    parser.feed(pages[0])
    return pdf, parser.words


def tables_of(page: Any) -> list[Any]:
    """The page's ruled tables, found from its drawn lines only (chart bars are rectangles)."""
    vertical = [line for line in page.lines if abs(line["x0"] - line["x1"]) < TOLERANCE]
    horizontal = [line for line in page.lines if abs(line["top"] - line["bottom"]) < TOLERANCE]
    if len(vertical) < 2 or len(horizontal) < 2:
        return []
    settings = {
        "vertical_strategy": "explicit",
        "horizontal_strategy": "explicit",
        "explicit_vertical_lines": vertical,
        "explicit_horizontal_lines": horizontal,
    }
    return [table for table in page.find_tables(settings) if len(table.rows) > 1 and len(table.columns) > 1]


def inside(box: dict[str, Any], cell: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = cell
    return (
        box["x0"] >= x0 - TOLERANCE
        and box["x1"] <= x1 + TOLERANCE
        and box["top"] >= top - TOLERANCE
        and box["bottom"] <= bottom + TOLERANCE
    )


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def table_problems(pdf: bytes, written: set[str]) -> list[str]:
    """Each word across a table's band that is in none of its cells (it runs over a line or past
    the border), and each word of a cell that the page never wrote (its column split it)."""
    problems = []
    with pdfplumber.open(BytesIO(pdf)) as document:
        for page in document.pages:
            words = page.extract_words(x_tolerance=1.5)
            for table in tables_of(page):
                _x0, top, _x1, bottom = table.bbox
                cells = [cell for cell in table.cells if cell is not None]
                for word in words:
                    if not top < (word["top"] + word["bottom"]) / 2 < bottom:
                        continue
                    if not any(inside(word, cell) for cell in cells):
                        problems.append(
                            f"page {page.page_number}: {nfc(word['text'])!r} at x {word['x0']:.0f}–{word['x1']:.0f}"
                            " runs outside its cell"
                        )
                for cell in cells:
                    for word in page.within_bbox(cell).extract_words(x_tolerance=1.5):
                        for part in nfc(word["text"]).split():
                            if part not in written:
                                problems.append(
                                    f"page {page.page_number}: {part!r} is not a word of the report: its column"
                                    " is too narrow and split it"
                                )
    return problems


@pytest.mark.parametrize(("slug", "period", "period_label"), SEED_REPORTS)
def test_tables_keep_each_word_whole_in_its_cell_and_the_signature_keeps_with_the_text(
    slug: str, period: str, period_label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf, written = rendered(with_amounts(make_report(slug, period)), monkeypatch)

    assert table_problems(pdf, written) == []
    with pdfplumber.open(BytesIO(pdf)) as document:
        texts = [unicodedata.normalize("NFC", page.extract_text()) for page in document.pages]
    signing = [text for text in texts if "Nơi nhận:" in text]
    assert len(signing) == 1
    # Never alone on its page: the body's last paragraph ("Trên đây là báo cáo …") is there too.
    assert "Trên đây là báo cáo" in signing[0]


def test_the_check_finds_a_column_too_narrow_and_a_word_past_the_border() -> None:
    html = """<style>table { border-collapse: collapse; table-layout: fixed; width: 100mm; }
      td { border: 0.5pt solid #000; } td.narrow { width: 4mm; overflow-wrap: break-word; }
      td.tight { width: 10mm; white-space: nowrap; }</style>
      <table><tr><td class="narrow">Nhiệm</td><td class="tight">4.020.000.000</td><td>Tỷ lệ</td></tr>
      <tr><td class="narrow">a</td><td class="tight">b</td><td>c</td></tr></table>"""
    pdf = rendering.html_to_pdf(html)
    written = {"Nhiệm", "4.020.000.000", "Tỷ", "lệ", "a", "b", "c"}

    problems = table_problems(pdf, written)

    assert any("not a word" in problem for problem in problems), problems
    assert any("outside its cell" in problem for problem in problems), problems
