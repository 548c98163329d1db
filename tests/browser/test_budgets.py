"""The budget page in a real browser: a planner records an allocation and a disbursement the
Vietnamese way and submits them, a reviewer approves, and the execution rate shows.

The served site's data lasts for the whole run, so this test keeps to a line nobody else
touches: 2.2.2 (training, city hospital) of Lào Cai city's 2024 budget.
"""

from typing import Any

import pytest

pytestmark = pytest.mark.browser

PAGE = "/plans/laocai-city-de-an-07-2024/budget/?period=2024"
ROW = 'table.budget tr[data-line-code="2.2.2"]'
LINE = 'tr[data-line-code="2.2.2"]'
STORED = """
    SELECT e.allocated, e.disbursed, e.status, e.version
    FROM budgets_budgetexecution e
    JOIN budgets_budgetline l ON l.id = e.budget_line_id
    JOIN plans_plan p ON p.id = l.plan_id
    WHERE p.slug = 'laocai-city-de-an-07-2024' AND l.code = '2.2.2' AND e.period = '2024'
"""


def test_planner_records_reviewer_approves_and_the_rate_shows(page_as: Any, live_site: Any, screenshot: Any) -> None:
    page = page_as("laocai.planner")
    page.goto(f"{live_site.url}{PAGE}")
    row = page.locator(ROW)
    assert "2.120.000.000" in row.inner_text()

    # Amounts typed as the documents write them: "2,12 tỷ" and "1.590.000.000".
    row.locator("input[name$='-allocated']").fill("2,12 tỷ")
    row.locator("input[name$='-disbursed']").fill("1.590.000.000")
    page.click("button[name=action][value=save]")
    page.wait_for_selector(".message.success")
    assert live_site.sql(STORED) == [(2_120_000_000, 1_590_000_000, "draft", 1)]
    row = page.locator(ROW)
    assert row.locator("input[name$='-allocated']").input_value() == "2.120.000.000"
    assert "75%" in row.locator("[data-rate]").inner_text()
    screenshot(page, "budget-laocai-city-2024-draft")

    page.click("button[name=action][value=submit]")
    page.wait_for_selector(".message.success")
    assert live_site.sql(STORED)[0][2] == "submitted"
    assert page.locator(ROW).get_attribute("data-status") == "submitted"
    # Submitted amounts are no longer editable.
    assert page.locator(f"{ROW} input[name$='-allocated']").count() == 0

    reviewer = page_as("laocai.reviewer")
    reviewer.goto(f"{live_site.url}{PAGE}")
    reviewer.locator(f"{ROW} button.approve").click()
    reviewer.wait_for_selector(".message.success")
    assert live_site.sql(STORED)[0][2] == "approved"
    assert reviewer.locator(ROW).get_attribute("data-status") == "approved"

    # The execution rate from approved amounts: on the line, for the hospital and for the plan.
    summary = reviewer.locator(".budget-summary")
    line_rate = summary.locator(f"table.budget-lines {LINE} [data-rate]").inner_text()
    assert "75%" in line_rate
    hospital = summary.locator('table[data-group="agency"] tr[data-key="laocai-city-bvdk"]').inner_text()
    assert "2.120.000.000" in hospital
    assert "1.590.000.000" in hospital
    assert "75%" in hospital
    total = summary.locator("[data-total]").inner_text()
    assert "2.120.000.000" in total
    assert "1.590.000.000" in total
    assert "75%" in total
    screenshot(reviewer, "budget-laocai-city-2024-approved")

    # The plan dashboard shows the same execution from approved amounts.
    reviewer.goto(f"{live_site.url}/plans/laocai-city-de-an-07-2024/dashboard/?period=2024")
    dashboard_total = reviewer.locator(".budget-summary [data-total]").inner_text()
    assert "2.120.000.000" in dashboard_total
    assert "1.590.000.000" in dashboard_total
    assert "75%" in dashboard_total
    screenshot(reviewer, "budget-on-dashboard-laocai-city-2024")
