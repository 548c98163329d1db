"""Importing a workbook through the page: download the template, fill it, preview, confirm, and
find the values on the grid. Uses cells of its own: Tả Phời's station in 2024H2."""

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

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
