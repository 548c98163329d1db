"""The served site in a real browser: a demo user logs in and finds the seed plans."""

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_planner_logs_in_and_opens_a_seed_plan(page_as: Any, screenshot: Any) -> None:
    page = page_as("laocai.planner")
    assert "Kế hoạch" in page.content()
    page.click('a[href="/plans/laocai-city-de-an-07-2024/"]')
    page.wait_for_selector("#indicators")
    assert "14.676.220.000" in page.content()
    screenshot(page, "plan-detail-laocai-city")
