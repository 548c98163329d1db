"""The Content-Security-Policy in a real browser: the main pages load without a single violation,
and the scripts they need (the entry grid, the report's progress) still work under it.

Violations are caught twice: Chromium's console messages ("Refused to …") and the page's own
`securitypolicyviolation` events, recorded by a script the browser injects (not subject to the
policy)."""

from typing import Any

import pytest

pytestmark = pytest.mark.browser

PLAN = "laocai-city-de-an-07-2024"
OTHER_PLAN = "quangngai-chi-thi-37"
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


class Watched:
    """A logged-in page whose CSP violations are collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))
        page.add_init_script(RECORD_VIOLATIONS)

    def open(self, url: str) -> Any:
        response = self.page.goto(url)
        assert response.status == 200, url
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        return self.page

    def violations(self) -> list[str]:
        refused = [text for text in self.console if "Content Security Policy" in text or "Refused to" in text]
        return refused + list(self.page.evaluate("window.__cspViolations || []"))


def test_main_pages_load_without_csp_violations(page_as: Any, live_site: Any) -> None:
    # Quảng Ngãi's plan, which no other browser test reads: the served site caches roll-ups, and
    # the dashboard test writes its figures around the services that would refresh them.
    planner = Watched(page_as("quangngai.planner"))
    for url in (
        "/",
        f"/plans/{OTHER_PLAN}/",
        f"/plans/{OTHER_PLAN}/dashboard/",
        f"/plans/{OTHER_PLAN}/budget/",
        f"/plans/{OTHER_PLAN}/import/",
        f"/plans/{OTHER_PLAN}/reports/",
        "/figures/",
    ):
        planner.open(live_site.url + url)
        assert planner.violations() == [], url

    reviewer = Watched(page_as("laocai.reviewer"))
    reviewer.open(f"{live_site.url}/review/")
    assert reviewer.violations() == []


def test_entry_grid_script_works_under_the_policy(page_as: Any, live_site: Any) -> None:
    watched = Watched(page_as("laocai.planner"))
    page = watched.open(f"{live_site.url}/grid/?plan={PLAN}&period=2024H1")
    cell = page.locator("#entry-grid input").first
    cell.click()
    cell.press("Control+a")
    cell.type("12,5")
    # The grid's script marks a changed cell (nothing is saved: no other test sees it).
    assert cell.evaluate("input => input.closest('td').classList.contains('dirty')")
    cell.press("Escape")
    assert watched.violations() == []


def test_report_progress_script_works_under_the_policy(page_as: Any, live_site: Any) -> None:
    watched = Watched(page_as("quangngai.planner"))
    page = watched.open(f"{live_site.url}/plans/{OTHER_PLAN}/reports/")
    page.select_option("#report-request select[name=period]", index=0)
    page.click("#report-request button[type=submit]")
    page.wait_for_url("**/reports/*/")
    pk = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # As a worker would: running at 0 %, then 35 %; the page's script follows through the API.
    live_site.sql("UPDATE reporting_report SET status = 'running', progress = 0 WHERE id = %s RETURNING id", pk)
    page.reload()
    live_site.sql("UPDATE reporting_report SET progress = 35 WHERE id = %s RETURNING id", pk)
    page.wait_for_function("() => document.getElementById('report-progress').value === 35", timeout=10_000)
    live_site.sql("UPDATE reporting_report SET status = 'ready', progress = 100 WHERE id = %s RETURNING id", pk)
    page.wait_for_selector("#report-download", timeout=10_000)
    assert watched.violations() == []
