"""Content-Security-Policy: every page carries the policy, and no page needs what it forbids.

The pages are found by walking: from a few starting pages of each role, every same-site link is
followed (at most a few pages per URL name), so a page added later is checked as soon as some
page links to it.
"""

from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve

from budgets.models import BudgetLine
from budgets.services import budget_execution_approve, budget_execution_create, budget_execution_submit
from healthplans.models import User
from plans.models import Plan
from reporting.services import report_request

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
PLAN = "laocai-city-de-an-07-2024"
START = [
    "/",
    "/figures/",
    f"/grid/?plan={PLAN}&period=2024H1",
    "/review/",
    "/notifications/",
    f"/plans/{PLAN}/dashboard/?period=2024",
    f"/plans/{PLAN}/budget/?period=2024",
    f"/plans/{PLAN}/import/",
    f"/plans/{PLAN}/reports/",
]
# Not pages: the API, downloads, the admin (Django's own templates), leaving the session.
SKIP_PREFIXES = ("/api/", "/admin/", "/static/", "/media/", "/logout/", "/i18n/")
PAGES_PER_NAME = 2
JSON_TYPES = {"application/json", "application/ld+json"}


class InlineFinder(HTMLParser):
    """Collects what the policy forbids: inline scripts, style attributes and elements, event
    handler attributes and javascript: links; and the page's same-site links."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.links: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            elif name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            elif name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not attributes.get("src") and attributes.get("type") not in JSON_TYPES:
            self.problems.append("inline <script>")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")


def same_site_page(href: str, current: str) -> str | None:
    url, _fragment = urldefrag(href)
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url:
        return None
    path = parts.path if parts.path.startswith("/") else urlsplit(current).path.rsplit("/", 1)[0] + "/" + parts.path
    if path.startswith(SKIP_PREFIXES) or path.endswith("/pdf/"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def walk(client: Client, start: list[str], limit: int = 80) -> dict[str, list[str]]:
    """Page URL → what the policy forbids on it, for every HTML page reached from `start`."""
    seen_names: dict[str, int] = {}
    queue, visited = deque(start), set(start)
    found: dict[str, list[str]] = {}
    while queue and len(found) < limit:
        url = queue.popleft()
        try:
            name = resolve(urlsplit(url).path).view_name
        except Resolver404:
            continue
        if seen_names.get(name, 0) >= PAGES_PER_NAME:
            continue
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="vi")
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        seen_names[name] = seen_names.get(name, 0) + 1
        assert response["Content-Security-Policy"] == POLICY, url
        finder = InlineFinder()
        finder.feed(response.content.decode())
        found[url] = finder.problems
        for href in finder.links:
            page = same_site_page(href, url)
            if page and page not in visited:
                visited.add(page)
                queue.append(page)
    return found


@pytest.fixture
def approved_amounts() -> None:
    # Approved amounts: the budget page then draws its execution-rate bars.
    line = BudgetLine.objects.get(plan__slug=PLAN, code="2.1.1")
    planner, reviewer = User.objects.get(username="laocai.planner"), User.objects.get(username="laocai.reviewer")
    execution = budget_execution_create(
        budget_line=line, period="2024", allocated=1_000_000, disbursed=400_000, note="", by=planner
    )
    execution = budget_execution_submit(execution=execution, version=execution.version, by=planner)
    budget_execution_approve(execution=execution, by=reviewer)


@pytest.fixture
def queued_report() -> Any:
    # Queued, not rendered: its page then shows the progress bar and its script.
    plan = Plan.objects.get(slug=PLAN)
    return report_request(plan=plan, period="2024H1", by=User.objects.get(username="laocai.planner"))


@pytest.mark.parametrize("username", ["laocai.planner", "laocai.reviewer", "laocai.official", "laocai.station"])
def test_pages_of_each_role_carry_the_policy_and_nothing_inline(
    login: Any, username: str, queued_report: Any, approved_amounts: None
) -> None:
    client = login(username)
    pages = walk(client, [*START, f"/reports/{queued_report.pk}/"])
    assert len(pages) >= 12, sorted(pages)
    assert "rate-bar" in client.get(f"/plans/{PLAN}/budget/?period=2024").content.decode()
    assert {url: problems for url, problems in pages.items() if problems} == {}


def test_pages_without_login_carry_the_policy_and_nothing_inline(client: Client) -> None:
    pages = walk(client, ["/login/", "/verify/"])
    assert set(pages) == {"/login/", "/verify/"}
    assert {url: problems for url, problems in pages.items() if problems} == {}


def test_lockout_page_error_pages_and_api_answers_carry_the_policy(client: Client, api_as: Any) -> None:
    assert client.get("/no-such-page/")["Content-Security-Policy"] == POLICY
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        locked = client.post("/login/", {"username": "laocai.planner", "password": "wrong-password"})
    assert locked.status_code == 429
    finder = InlineFinder()
    finder.feed(locked.content.decode())
    assert finder.problems == []
    assert locked["Content-Security-Policy"] == POLICY
    assert api_as("laocai.planner").get("/api/plans/")["Content-Security-Policy"] == POLICY


def test_the_finder_sees_what_the_policy_forbids() -> None:
    finder = InlineFinder()
    finder.feed(
        '<script>alert(1)</script><script type="application/json">{}</script><script src="/s.js"></script>'
        '<p style="color: red" onclick="x()"><style>p{}</style><a href="javascript:x()">'
    )
    assert finder.problems == [
        "inline <script>",
        "<p style='color: red'>",
        "<p onclick=…>",
        "<style> element",
        "<a href=javascript:…>",
    ]
