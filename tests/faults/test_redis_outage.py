"""Redis stopped: logging in, the period form and its submission keep working, a report request
says plainly that generation is delayed (page and API), /healthz/ says the cache is down without
failing; once Redis is back, beat hands the delayed versions to the worker and they are generated."""

import csv
import io
from html.parser import HTMLParser
from typing import Any

import pytest
import requests

# pytest-django creates its test database only for marked tests; it is the throwaway one's template.
pytestmark = pytest.mark.django_db

PLAN = "muongkhuong-de-an-07-2023"
STATION = "muongkhuong-tt-tyt"
FORM = f"/figures/{STATION}/2023/?plan={PLAN}"
API_PLAN, API_PERIOD = "laocai-city-de-an-07-2024", "2024H1"
DELAYED = "Việc tạo báo cáo đang bị hoãn"


class Inputs(HTMLParser):
    """The named, enabled inputs of a page, as a browser sends them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and "disabled" not in attributes:
            self.fields[name] = attributes.get("value") or ""


def inputs(html: str) -> dict[str, str]:
    parser = Inputs()
    parser.feed(html)
    return parser.fields


def indicator_id(site: Any, number: str) -> int:
    rows = site.sql(
        "SELECT i.id FROM indicators_indicator i JOIN plans_plan p ON p.id = i.plan_id"
        " WHERE p.slug = %s AND i.number = %s",
        PLAN,
        number,
    )
    return int(rows[0][0])


def test_without_redis_figures_are_entered_and_reports_wait_then_go_through(site: Any) -> None:
    site.services.redis.stop()

    # Logging in and the period form: save a draft, then submit.
    station = site.browser("muongkhuong.station")
    first, second = (f"i{indicator_id(site, number)}-value" for number in ("I.2.3", "I.2.4"))
    page = station.get(site.url + FORM, timeout=10)
    assert page.status_code == 200
    saved = station.post(
        site.url + FORM, data=inputs(page.text) | {first: "96,5", "action": "save"}, allow_redirects=False, timeout=10
    )
    assert saved.status_code == 302, saved.text[-2000:]
    page = station.get(site.url + FORM, timeout=10)
    submitted = station.post(
        site.url + FORM, data=inputs(page.text) | {second: "97", "action": "submit"}, allow_redirects=False, timeout=10
    )
    assert submitted.status_code == 302, submitted.text[-2000:]
    statuses = site.sql(
        "SELECT a.value::text, a.status FROM indicators_actual a JOIN healthplans_orgunit u ON u.id = a.org_unit_id"
        " WHERE u.code = %s AND a.period = '2023' ORDER BY a.value",
        STATION,
    )
    assert statuses == [("96.500000", "submitted"), ("97.000000", "submitted")]

    # Pages that read cached roll-ups: computed afresh, the cache reads as empty.
    planner = site.browser("laocai.planner")
    for page_path in (f"/plans/{PLAN}/dashboard/?period=2023&include_submitted=1", f"/plans/{PLAN}/completeness/"):
        assert planner.get(site.url + page_path, timeout=10).status_code == 200, page_path
    assert site.browser("laocai.reviewer").get(f"{site.url}/review/", timeout=10).status_code == 200

    # A report asked for on its page: saved, and the page says generation is delayed.
    reports_page = planner.get(f"{site.url}/plans/{PLAN}/reports/", timeout=10)
    assert reports_page.status_code == 200
    asked = planner.post(
        f"{site.url}/plans/{PLAN}/reports/",
        data={"period": "2023", "csrfmiddlewaretoken": planner.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert asked.status_code == 302, asked.text[-2000:]
    detail = planner.get(site.url + asked.headers["Location"], timeout=10)
    assert detail.status_code == 200
    assert detail.text.count(DELAYED) == 2  # the message of the request, and the version's own notice

    # And through the API: accepted (202), marked delayed, with the same plain message.
    response = requests.post(
        f"{site.url}/api/reports/",
        json={"plan": API_PLAN, "period": API_PERIOD},
        headers=site.token("laocai.planner"),
        timeout=10,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["delayed"]) == ("queued", True)
    assert body["notice"].startswith(DELAYED)

    # A large import (more rows than IMPORT_ASYNC_ROWS) has neither cache nor broker for a worker:
    # it runs in its request and writes the figures, with their history.
    headers = site.token("laocai.planner")
    plan_id = site.sql("SELECT id FROM plans_plan WHERE slug = %s", API_PLAN)[0][0]
    counts = {
        number
        for (number,) in site.sql(
            "SELECT i.number FROM indicators_indicator i JOIN plans_plan p ON p.id = i.plan_id"
            " WHERE p.slug = %s AND i.unit_kind = 'count'",
            API_PLAN,
        )
    }
    template = requests.get(
        f"{site.url}/api/plans/{plan_id}/export/",
        params={"kind": "actuals", "format": "csv", "period": API_PERIOD},
        headers=headers,
        timeout=10,
    )
    assert template.status_code == 200, template.text
    rows = list(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    filled = [row for row in rows[1:] if row[1] in counts and not row[8]][:8]
    for n, row in enumerate(filled, start=1):
        row[8] = str(900 + n)
    content = io.StringIO()
    csv.writer(content).writerows([rows[0], *filled])
    imported = requests.post(
        f"{site.url}/api/imports/",
        data={"plan": plan_id, "kind": "actuals", "dry_run": "false"},
        files={"file": ("figures.csv", content.getvalue().encode(), "text/csv")},
        headers=headers,
        timeout=60,
    )
    assert imported.status_code == 200, imported.text
    assert (imported.json()["status"], len(imported.json()["rows"])) == ("imported", 8)
    assert site.sql(
        "SELECT count(*) FROM indicators_actual a JOIN indicators_actualevent e ON e.actual_id = a.id"
        " WHERE a.value BETWEEN 901 AND 908 AND a.period = %s AND e.action = 'create'",
        API_PERIOD,
    ) == [(8,)]

    # The health check tells the cache is down; it does not fail itself.
    health = requests.get(f"{site.url}/healthz/", timeout=10)
    assert (health.status_code, health.json()) == (503, {"ok": False, "database": True, "cache": False})

    waiting = site.sql("SELECT id FROM reporting_report WHERE status = 'queued' AND enqueued_at IS NULL ORDER BY id")
    assert len(waiting) == 2

    # Redis is back: beat (every 2 s here) hands the versions over, and the worker renders them.
    site.services.redis.start()
    log = site.start_worker(REPORT_HAND_OVER_SECONDS="2")

    def generated() -> bool:
        rows = site.sql("SELECT status FROM reporting_report")
        assert "failed" not in {status for (status,) in rows}, site.sql("SELECT error FROM reporting_report")
        return {status for (status,) in rows} == {"ready"}

    site.wait_until(generated, timeout=120, what="the delayed reports to be generated", log=log)
    assert site.sql("SELECT count(*) FROM reporting_report WHERE enqueued_at IS NULL") == [(0,)]
    api = requests.get(f"{site.url}/api/reports/{body['id']}/", headers=site.token("laocai.planner"), timeout=10)
    assert (api.json()["status"], api.json()["delayed"], api.json()["notice"]) == ("ready", False, None)
    assert requests.get(f"{site.url}/healthz/", timeout=10).json() == {"ok": True, "database": True, "cache": True}
