"""Two reviewers approve the same submitted figure at the same moment, against the served app:
one approval is recorded, one reviewer is answered 200 and the other 409 with a plain message."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

# pytest-django creates its test database only for marked tests; it is the throwaway one's template.
pytestmark = pytest.mark.django_db

PLAN = "laocai-city-de-an-07-2024"
STATION = "laocai-city-ta-phoi-tyt"
# laocai.reviewer reviews the figures of Lào Cai; admin, a superuser, may review them too.
REVIEWERS = ("laocai.reviewer", "admin")
FIGURES = 5


def test_two_reviewers_approving_at_once_make_one_approval_and_one_clear_refusal(site: Any) -> None:
    station = site.token("laocai.station")
    unit = site.sql("SELECT id FROM healthplans_orgunit WHERE code = %s", STATION)[0][0]
    indicators = site.sql(
        "SELECT i.id FROM indicators_indicator i JOIN plans_plan p ON p.id = i.plan_id"
        " WHERE p.slug = %s AND i.entry_level = 'station' AND i.unit_kind = 'count' ORDER BY i.id LIMIT %s",
        PLAN,
        FIGURES,
    )
    figures = []
    for (indicator,) in indicators:
        created = requests.post(
            f"{site.url}/api/actuals/",
            json={"indicator": indicator, "org_unit": unit, "period": "2024", "value": "12"},
            headers=station,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        pk = created.json()["id"]
        submitted = requests.post(f"{site.url}/api/actuals/{pk}/submit/", json={}, headers=station, timeout=10)
        assert submitted.json()["status"] == "submitted", submitted.text
        figures.append(pk)

    tokens = {username: site.token(username) for username in REVIEWERS}
    for pk in figures:
        together = threading.Barrier(len(REVIEWERS))

        def approve(username: str, pk: int = pk, together: threading.Barrier = together) -> requests.Response:
            session = requests.Session()
            session.headers.update(tokens[username])
            together.wait()
            return session.post(f"{site.url}/api/actuals/{pk}/approve/", json={}, timeout=30)

        with ThreadPoolExecutor(len(REVIEWERS)) as pool:
            answers = dict(zip(REVIEWERS, pool.map(approve, REVIEWERS), strict=True))

        assert sorted(response.status_code for response in answers.values()) == [200, 409], answers
        (winner,) = [username for username, response in answers.items() if response.status_code == 200]
        (refused,) = [response.json() for response in answers.values() if response.status_code == 409]
        assert refused["code"] in {"stale_version", "locked"}, refused
        assert refused["detail"], refused
        assert refused["current"]["status"] == "approved", refused
        assert refused["current"]["reviewed_by"] == winner
        approvals = site.sql(
            "SELECT u.username FROM indicators_actualevent e JOIN healthplans_user u ON u.id = e.by_id"
            " WHERE e.actual_id = %s AND e.action = 'approve'",
            pk,
        )
        assert approvals == [(winner,)]
        assert site.sql("SELECT status, version FROM indicators_actual WHERE id = %s", pk) == [("approved", 3)]
