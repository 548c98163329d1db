"""The progress pages in a real browser, over approved figures written straight into the served database."""

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


def insert_figures(live_site: Any) -> None:
    for number, station, period, numerator, denominator in FIGURES:
        live_site.sql(
            """
            INSERT INTO indicators_actual (tenant_id, indicator_id, org_unit_id, period, value, numerator,
                denominator, note, source, status, message, version, is_demo, created_at)
            SELECT u.tenant_id, i.id, u.id, %s,
                   CASE WHEN %s::numeric IS NULL THEN %s::numeric ELSE round(%s::numeric / %s::numeric * 100, 6) END,
                   CASE WHEN %s::numeric IS NULL THEN NULL ELSE %s::numeric END, %s::numeric,
                   '', '', 'approved', '', 1, false, now()
            FROM indicators_indicator i JOIN plans_plan p ON p.id = i.plan_id, healthplans_orgunit u
            WHERE p.slug = %s AND i.number = %s AND u.code = %s
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            period,
            denominator,
            numerator,
            numerator,
            denominator,
            denominator,
            numerator,
            denominator,
            PLAN,
            number,
            station,
        )


def test_planner_reads_the_city_dashboard_compares_and_checks_completeness(
    live_site: Any, page_as: Any, screenshot: Any
) -> None:
    insert_figures(live_site)
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
    assert len(trend.get_attribute("points").split()) == 2  # type: ignore[union-attr]
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
