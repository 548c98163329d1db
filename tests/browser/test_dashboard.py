"""The progress pages in a real browser, over approved figures entered through the served site's services."""

from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PLAN = "laocai-city-de-an-07-2024"

# (indicator number, station code, period, numerator, denominator); counts have no denominator.
FIGURES = [
    ("II.2.8", "laocai-city-bac-cuong-tyt", "2024", 1, 10),
    ("II.2.8", "laocai-city-kim-tan-tyt", "2024", 90, 100),
    ("II.2.13", "laocai-city-bac-cuong-tyt", "2024H1", 88, 100),
    ("II.2.13", "laocai-city-bac-cuong-tyt", "2024H2", 93, 100),
    ("II.2.13", "laocai-city-bac-cuong-tyt", "2024", 95, 100),
    ("II.2.13", "laocai-city-kim-tan-tyt", "2024H1", 90, 100),
    ("II.2.13", "laocai-city-kim-tan-tyt", "2024H2", 96, 100),
    ("II.2.13", "laocai-city-kim-tan-tyt", "2024", 97, 100),
    ("II.2.13", "laocai-city-coc-leu-tyt", "2024", 89, 100),
    ("II.2.4", "laocai-city-bac-cuong-tyt", "2024", 6, 100),
    ("III.9.2", "laocai-city-bac-cuong-tyt", "2024", 400, None),
    ("III.9.2", "laocai-city-kim-tan-tyt", "2024", 350, None),
]


def enter_figures(live_site: Any) -> None:
    """The figures, approved, through the served site's figure services (a rate: its percentage)."""
    figures = [
        (number, station, period, Decimal(numerator) / denominator * 100 if denominator else Decimal(numerator))
        + ((Decimal(numerator), Decimal(denominator)) if denominator else (None, None))
        for number, station, period, numerator, denominator in FIGURES
    ]
    live_site.figures_approved(
        plan=PLAN, figures=figures, by="laocai.planner", reviewer="laocai.reviewer", note="Số liệu của trạm."
    )


def test_planner_reads_the_city_dashboard_compares_and_checks_completeness(
    live_site: Any, page_as: Any, screenshot: Any
) -> None:
    enter_figures(live_site)
    page = page_as("laocai.planner")
    page.goto(f"{live_site.url}/plans/{PLAN}/")
    page.click("a.dashboard-link")
    page.wait_for_selector("tr[data-indicator-number]")
    assert page.locator("select[name=period] option[selected]").inner_text() == "năm 2024"
    pooled = page.locator('tr[data-indicator-number="II.2.8"]')
    assert pooled.get_attribute("data-status") == "not_met"
    assert "82,7" in pooled.inner_text()
    assert page.locator('tr[data-indicator-number="II.2.4"]').get_attribute("data-status") == "met"
    assert page.locator('tr[data-indicator-number="III.9.2"]').get_attribute("data-status") == "met"
    assert page.locator('tr[data-indicator-number="II.2.5"]').get_attribute("data-status") == "no_data"
    assert page.locator('tr[data-indicator-number="II.2.10"] .flag').get_attribute("title")
    screenshot(page, "dashboard-laocai-city-2024")

    # The six-monthly view draws a trend over both halves.
    page.select_option("select[name=period]", "2024H2")
    page.click("form.progress-filters button[type=submit]")
    page.wait_for_url("**period=2024H2**")
    trend = page.locator('tr[data-indicator-number="II.2.13"] polyline.trend')
    assert len(trend.get_attribute("points").split()) == 2
    screenshot(page, "dashboard-laocai-city-2024H2")

    page.select_option("select[name=period]", "2024")
    page.click("form.progress-filters button[type=submit]")
    page.wait_for_url("**period=2024&**")
    page.locator('tr[data-indicator-number="II.2.13"] a').click()
    page.wait_for_selector("#comparison")
    ranked = page.locator("#comparison tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)")
    assert ranked == ["laocai-city-kim-tan-tyt", "laocai-city-bac-cuong-tyt", "laocai-city-coc-leu-tyt"]
    screenshot(page, "compare-laocai-city-2024")

    page.click(f'a[href^="/plans/{PLAN}/completeness/"]')
    page.wait_for_selector("#completeness")
    assert "quá hạn" in page.locator('tr[data-unit="laocai-city-coc-leu-tyt"]').inner_text()
    screenshot(page, "completeness-laocai-city-2024")


def test_station_sees_its_own_station_only(live_site: Any, page_as: Any) -> None:
    page = page_as("laocai.station")
    page.goto(f"{live_site.url}/plans/{PLAN}/completeness/")
    page.wait_for_selector("#completeness")
    units = page.locator("#completeness tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)")
    assert units == ["laocai-city-ta-phoi-tyt"]
