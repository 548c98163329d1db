"""Importing a workbook through the page: download the template, fill it, preview, confirm, and
find the values on the grid. Uses cells of its own: Tả Phời's station in 2024H2, and one target
of the GSD plan for the large import."""

import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.browser.conftest import served, site_env

pytestmark = pytest.mark.browser

PLAN = "laocai-city-de-an-07-2024"
TA_PHOI = "laocai-city-ta-phoi-tyt"
FIRST_COUNT = """
    SELECT i.number FROM indicators_indicator i JOIN plans_plan p ON p.id = i.plan_id
    WHERE p.slug = %s AND i.entry_level = 'station' AND i.unit_kind = 'count' ORDER BY i."order" LIMIT 1
"""
STORED = """
    SELECT a.value, a.status FROM indicators_actual a
    JOIN indicators_indicator i ON i.id = a.indicator_id JOIN plans_plan p ON p.id = i.plan_id
    JOIN healthplans_orgunit u ON u.id = a.org_unit_id
    WHERE p.slug = %s AND i.number = %s AND u.code = %s AND a.period = '2024H2'
"""


def test_planner_imports_a_workbook_previews_confirms_and_sees_it_on_the_grid(
    page_as: Any, live_site: Any, screenshot: Any, tmp_path: Path
) -> None:
    [(number,)] = live_site.sql(FIRST_COUNT, PLAN)
    page = page_as("laocai.planner")
    page.goto(f"{live_site.url}/plans/{PLAN}/import/")
    page.select_option("select[name=period]", "2024H2")
    with page.expect_download() as download_info:
        page.click("#export-actuals")
    workbook = load_workbook(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    sheet = workbook.active
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == number and r[5].value == TA_PHOI)
    unit_name = row[6].value
    row[8].value = "1.234"
    filled = tmp_path / "filled.xlsx"
    workbook.save(filled)

    page.select_option("#upload-form select[name=kind]", "actuals")
    page.set_input_files("#upload-form input[type=file]", str(filled))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#import-result[data-status=valid]")
    assert page.locator(".sheet-rows").inner_text().count("1.234") == 1
    screenshot(page, "sheets-preview")
    assert live_site.sql(STORED, PLAN, number, TA_PHOI) == []  # the preview wrote nothing

    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("#import-result[data-status=imported]")
    assert live_site.sql(STORED, PLAN, number, TA_PHOI) == [(Decimal("1234"), "draft")]

    page.goto(f"{live_site.url}/grid/?plan={PLAN}&period=2024H2")
    cell = page.locator(f'input[aria-label="{number} · {unit_name} · 2024H2"]')
    assert cell.input_value() == "1.234"


@pytest.fixture(scope="module")
def small_async_site(live_site: Any) -> Iterator[str]:
    """A second server on the live site's database where any file of more than five rows is a
    large import: it goes through the task (run in-process, as the served site has no broker) and
    the page's progress bar. The session cookie of the live site is valid here too (same host,
    same database)."""
    with served(site_env(live_site.dsn, IMPORT_ASYNC_ROWS="5")) as url:
        yield url


GSD_PLAN = "backan-gsd-2025-2030"
GSD_TARGET = """
    SELECT t.text, t.value FROM indicators_target t
    JOIN indicators_indicator i ON i.id = t.indicator_id JOIN plans_plan p ON p.id = i.plan_id
    WHERE p.slug = %s AND i.number = '16' AND t.year = 2029 AND t.org_unit_id IS NULL
"""


def test_a_large_import_shows_a_progress_bar_then_the_preview_and_the_result(
    page_as: Any, live_site: Any, small_async_site: str, screenshot: Any, tmp_path: Path
) -> None:
    page = page_as("backan.planner")
    page.goto(f"{small_async_site}/plans/{GSD_PLAN}/import/")
    with page.expect_download() as download_info:
        page.click("#export-targets")
    workbook = load_workbook(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    sheet = workbook.active
    assert sheet.max_row - 1 > 5  # sixteen indicators: more than the second server's IMPORT_ASYNC_ROWS
    [row] = [r for r in sheet.iter_rows(min_row=2) if r[0].value == "16"]
    columns = {c.value: c.column - 1 for c in sheet[1]}
    row[columns["2029"]].value = "≥ 97"
    # The plan is issued: its target changes by a revision, named in the row's own columns.
    row[columns["Lý do điều chỉnh"]].value = "Kết quả giữa kỳ"
    row[columns["Số quyết định"]].value = "12/QĐ-UBND"
    row[columns["Ngày quyết định"]].value = "15/03/2027"
    filled = tmp_path / "targets.xlsx"
    workbook.save(filled)

    page.select_option("#upload-form select[name=kind]", "targets")
    page.set_input_files("#upload-form input[type=file]", str(filled))
    page.click("#upload-form button[type=submit]")
    # The worker's answer comes through the status API; the poller then opens the result.
    page.wait_for_selector("#import-result[data-status=valid]")
    assert "?import=" in page.url
    assert page.locator(".sheet-rows tbody tr").count() == 1
    assert live_site.sql(GSD_TARGET, GSD_PLAN) == [("95", Decimal(95))]

    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("#import-result[data-status=imported]")
    screenshot(page, "sheets-large-import")
    assert live_site.sql(GSD_TARGET, GSD_PLAN) == [("≥ 97", Decimal(97))]
