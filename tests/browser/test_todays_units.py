"""Today's units in a real browser: Lào Cai's station reporter opens its current form for Trạm Y tế
xã Hợp Thành (since 1 July 2025), saves and submits; the reviewer approves; the commune's dashboard
carries its trend across the change, the half-years before it recomputed from the former communes
and marked; the former Tả Phời station's figures and their history stay readable.

The plan in force is set up in the served site by the builder's and the figure services: Lào Cai's
province plans for 2024–2026, reported every six months, entered by the stations.
"""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PLAN = "laocai-tram-y-te-2024-2026"
STATION, COMMUNE, FORMER = "s02680", "c02680", "laocai-city-ta-phoi-tyt"
SETUP = f"""
from decimal import Decimal
from healthplans.models import OrgUnit, User
from healthplans.workflow import ReviewStatus
from indicators.definitions import indicator_create, target_set
from indicators.entries import NewFigure
from indicators.models import EntryLevel
from plans.services import plan_create, plan_issue
from tests.factories import figures_entered

planner, reviewer = User.objects.get(username="laocai.planner"), User.objects.get(username="laocai.reviewer")
plan = plan_create(
    issuer_org_unit=OrgUnit.objects.get(code="laocai-2025"),
    fields={{"title": "Kế hoạch khám sàng lọc tại trạm y tế 2024-2026", "start_year": 2024, "end_year": 2026,
             "reporting_frequencies": ["half_year"]}},
    by=planner,
)
plan.slug = "{PLAN}"
plan.save(update_fields=["slug"])
visits = indicator_create(plan=plan, number="1", name="Số lượt khám sàng lọc", unit="lượt", unit_kind="count",
                          rollup="sum", entry_level=EntryLevel.STATION, by=planner)
target_set(indicator=visits, year=2026, text="≥ 100", by=planner)
plan_issue(plan=plan, by=planner)
for code, period, value in (("{FORMER}", "2024H2", 20), ("laocai-city-hop-thanh-tyt", "2024H2", 25),
                            ("{FORMER}", "2025H1", 30), ("laocai-city-hop-thanh-tyt", "2025H1", 35)):
    figures_entered(org_unit=OrgUnit.objects.get(code=code), period=period, values=[NewFigure(visits, Decimal(value),
                    note="Số liệu của trạm trước khi sáp nhập")], by=planner, status=ReviewStatus.APPROVED,
                    reviewer=reviewer)
"""


def click_and_wait(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_a_station_of_today_reports_and_its_commune_carries_its_trend_across_the_change(
    page_as: Any, live_site: Any, screenshot: Any
) -> None:
    live_site.shell(SETUP)
    # The station reporter opens the form of the current half-year for today's station.
    station = page_as("laocai.station")
    station.click("nav.mainnav >> text=Số liệu")
    current = f'tr[data-unit="{STATION}"][data-period="2026H2"] a'
    expect(station.locator(current)).to_have_count(1)
    click_and_wait(station, current)
    expect(station.locator("h1, h2").first).to_contain_text("Hợp Thành")
    station.locator('tr[data-indicator-number="1"] input.figure').fill("70")
    station.locator('tr[data-indicator-number="1"] input.note').fill("Khám tại trạm và điểm trạm Tả Phời")
    click_and_wait(station, "button[value=save]")
    expect(station.locator(".message.success")).to_contain_text("Đã lưu nháp 1 số liệu")
    click_and_wait(station, "button[value=submit]")
    expect(station.locator(".message.success")).to_contain_text("Đã gửi duyệt 1 số liệu")
    screenshot(station, "todays-units-01-submitted")

    # The reviewer approves it.
    reviewer = page_as("laocai.reviewer")
    reviewer.goto(live_site.url + "/review/")
    group = reviewer.locator(f'section.review-group[data-unit="{STATION}"][data-period="2026H2"]')
    expect(group.locator("tr[data-actual]")).to_have_count(1)
    with reviewer.expect_navigation():
        group.locator("form.approve-group button").click()
    expect(reviewer.locator(".message.success")).to_contain_text("Đã duyệt 1 số liệu")

    # The commune's dashboard: 2026H2 its own; 2024H2 and 2025H1 recomputed from Tả Phời and the
    # former Hợp Thành, and marked so.
    [(commune_id,)] = live_site.sql("SELECT id FROM healthplans_orgunit WHERE code = %s", COMMUNE)
    reviewer.goto(f"{live_site.url}/plans/{PLAN}/dashboard/?period=2026H2&org_unit={commune_id}")
    row = reviewer.locator('tr[data-indicator-number="1"]')
    expect(row.locator("td.actual")).to_contain_text("70")
    marked = row.locator("[data-recomputed]")
    expect(marked).to_have_attribute("data-recomputed", "2024H2,2025H1")
    expect(marked).to_contain_text("Tính lại theo địa giới hiện nay")
    screenshot(reviewer, "todays-units-02-dashboard")

    # The former station's figures and their history are still readable by its reporter.
    station.goto(f"{live_site.url}/figures/{FORMER}/2025H1/?plan={PLAN}")
    expect(station.locator('tr[data-indicator-number="1"] .value-read-only')).to_have_text("30")
    [(actual_id,)] = live_site.sql(
        "SELECT a.id FROM indicators_actual a JOIN healthplans_orgunit u ON u.id = a.org_unit_id"
        " JOIN indicators_indicator i ON i.id = a.indicator_id JOIN plans_plan p ON p.id = i.plan_id"
        " WHERE u.code = %s AND a.period = '2025H1' AND p.slug = %s",
        FORMER,
        PLAN,
    )
    history = station.goto(f"{live_site.url}/figures/actuals/{actual_id}/history/")
    assert history is not None
    assert history.status == 200
    expect(station.locator("body")).to_contain_text("Số liệu của trạm trước khi sáp nhập")
