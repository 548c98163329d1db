"""The entry grid in a real browser: moving like a spreadsheet, pasting a block, saving, submitting.

The served site's data lasts for the whole run, so these tests use cells of their own: the
wards Bắc Lệnh, Pom Hán and Xuân Tăng (II.2.5, II.2.6, II.2.9) in 2024H1, side by side in the
official order of the units (by their codes).
"""

from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.browser

GRID = "/grid/?plan=laocai-city-de-an-07-2024&period=2024H1"
WARDS = ["Bắc Lệnh", "Pom Hán", "Xuân Tăng"]
STORED = """
    SELECT i.number, u.name, a.value, a.status, a.version
    FROM indicators_actual a
    JOIN indicators_indicator i ON i.id = a.indicator_id
    JOIN plans_plan p ON p.id = i.plan_id
    JOIN healthplans_orgunit u ON u.id = a.org_unit_id
    WHERE p.slug = 'laocai-city-de-an-07-2024' AND a.period = '2024H1' AND i.number = ANY(%s)
"""


def stored(live_site: Any, *numbers: str) -> dict[tuple[str, str], tuple[Decimal, str, int]]:
    """(indicator number, ward) → (value, status, version) of the served site's 2024H1 figures."""
    rows = live_site.sql(STORED, list(numbers))
    return {
        (number, name.removeprefix("Trạm Y tế phường ")): (value, status, version)
        for number, name, value, status, version in rows
    }


def cell(page: Any, number: str, ward: str) -> Any:
    return page.locator(f'input[aria-label="{number} · Trạm Y tế phường {ward} · 2024H1"]')


def focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement.getAttribute('aria-label')"))


def paste(page: Any, text: str) -> None:
    """A paste event as a spreadsheet's copy makes it, delivered to the focused cell."""
    page.evaluate(
        """text => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            document.activeElement.dispatchEvent(
                new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        text,
    )


def test_planner_moves_pastes_a_block_saves_and_submits(page_as: Any, live_site: Any, screenshot: Any) -> None:
    page = page_as("laocai.planner")
    page.goto(f"{live_site.url}{GRID}")

    # Arrow keys, Enter and Tab move between cells; blank cells (not entered there) are skipped.
    cell(page, "II.2.4", "Kim Tân").click()
    page.keyboard.press("ArrowDown")
    assert focused(page) == "II.2.5 · Trạm Y tế phường Kim Tân · 2024H1"
    page.keyboard.press("ArrowRight")
    assert focused(page) == "II.2.5 · Trạm Y tế phường Bắc Lệnh · 2024H1"
    page.keyboard.press("Enter")
    assert focused(page) == "II.2.6 · Trạm Y tế phường Bắc Lệnh · 2024H1"
    page.keyboard.press("Tab")
    assert focused(page) == "II.2.6 · Trạm Y tế phường Pom Hán · 2024H1"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowUp")
    assert focused(page) == "II.2.5 · Trạm Y tế phường Bắc Lệnh · 2024H1"

    # A 2×3 block from a spreadsheet fills the cells to the right and below.
    paste(page, "12\t13\t14\n15\t16\t17\n")
    assert [cell(page, "II.2.5", ward).input_value() for ward in WARDS] == ["12", "13", "14"]
    assert [cell(page, "II.2.6", ward).input_value() for ward in WARDS] == ["15", "16", "17"]
    assert page.locator("td.dirty").count() == 6
    assert "(6)" in page.inner_text("#grid-save")
    screenshot(page, "grid-laocai-city-2024H1-pasted")

    page.keyboard.press("Control+s")
    page.wait_for_selector("#grid-status.ok")
    assert page.locator("td.dirty").count() == 0
    assert stored(live_site, "II.2.5", "II.2.6") == {
        ("II.2.5", "Bắc Lệnh"): (Decimal(12), "draft", 1),
        ("II.2.5", "Pom Hán"): (Decimal(13), "draft", 1),
        ("II.2.5", "Xuân Tăng"): (Decimal(14), "draft", 1),
        ("II.2.6", "Bắc Lệnh"): (Decimal(15), "draft", 1),
        ("II.2.6", "Pom Hán"): (Decimal(16), "draft", 1),
        ("II.2.6", "Xuân Tăng"): (Decimal(17), "draft", 1),
    }

    # Changing a saved cell sends the version the page holds; the status shows on the cell.
    cell(page, "II.2.5", "Bắc Lệnh").fill("12,5")
    page.keyboard.press("Control+s")
    page.wait_for_selector("#grid-status.ok")
    assert stored(live_site, "II.2.5")[("II.2.5", "Bắc Lệnh")] == (Decimal("12.5"), "draft", 2)
    assert "status-draft" in (cell(page, "II.2.5", "Bắc Lệnh").locator("xpath=..").get_attribute("class") or "")

    # "Gửi duyệt" submits the grid's drafts after a confirmation.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#grid-submit")
    page.wait_for_selector("#grid-status.ok")
    assert {status for _value, status, _version in stored(live_site, "II.2.5", "II.2.6").values()} == {"submitted"}
    assert cell(page, "II.2.5", "Bắc Lệnh").get_attribute("readonly") is not None
    screenshot(page, "grid-laocai-city-2024H1-submitted")


def test_a_bad_cell_is_marked_and_nothing_is_saved(page_as: Any, live_site: Any, screenshot: Any) -> None:
    page = page_as("laocai.planner")
    page.goto(f"{live_site.url}{GRID}")
    cell(page, "II.2.9", "Bắc Lệnh").fill("99,5")
    cell(page, "II.2.9", "Pom Hán").fill("abc")
    cell(page, "II.2.9", "Xuân Tăng").fill("120")
    page.click("#grid-save")
    page.wait_for_selector("#grid-status.error")

    assert page.locator("td.has-error").count() == 2
    cell(page, "II.2.9", "Pom Hán").focus()
    assert "Không đọc được số: «abc»" in page.locator("td.has-error .cell-msg").first.inner_text()
    assert page.locator("#grid-messages li").count() == 2
    screenshot(page, "grid-laocai-city-2024H1-errors")
    assert stored(live_site, "II.2.9") == {}

    cell(page, "II.2.9", "Pom Hán").fill("98")
    cell(page, "II.2.9", "Xuân Tăng").fill("97")
    page.click("#grid-save")
    page.wait_for_selector("#grid-status.ok")
    assert {ward: value for (_number, ward), (value, _s, _v) in stored(live_site, "II.2.9").items()} == {
        "Bắc Lệnh": Decimal("99.5"),
        "Pom Hán": Decimal(98),
        "Xuân Tăng": Decimal(97),
    }


def test_pasted_values_without_a_cell_are_reported(page_as: Any, live_site: Any) -> None:
    page = page_as("laocai.planner")
    page.goto(f"{live_site.url}{GRID}")
    # Below II.2.18 comes II.2.19, entered by the city and not by the stations: its cell is blank.
    cell(page, "II.2.18", "Cốc Lếu").click()
    paste(page, "64\n3")
    assert cell(page, "II.2.18", "Cốc Lếu").input_value() == "64"
    page.wait_for_selector("#grid-status.warning")
    assert "1" in page.inner_text("#grid-status")
    page.keyboard.press("Escape")
    assert cell(page, "II.2.18", "Cốc Lếu").input_value() == ""
    assert page.locator("td.dirty").count() == 0
