"""A rule added to the figure services holds on every path that writes figures: the grid, the
station form, group approval, the API and the spreadsheet import all go through the bulk services
(tests/core/test_write_paths.py keeps it so). Here a rule every bulk service applies to every
figure — who may write at the unit — is made to refuse, as a new rule added there would, and
each path refuses and writes nothing. So does a rule the services have: no figure is entered
against a plan that is still a draft (not issued)."""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from healthplans.models import OrgUnit, User
from healthplans.workflow import Invalid, ReviewStatus
from indicators import services
from indicators.models import Actual, ActualEvent, Indicator
from indicators.services import actual_create, actual_submit
from plans.models import Plan
from tests.conftest import Login
from tests.workbooks import xlsx, xlsx_rows

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"
TA_PHOI = "laocai-city-ta-phoi-tyt"


def user(username: str) -> User:
    return User.objects.get(username=username)


def indicators(count: int) -> list[Indicator]:
    return list(Indicator.objects.filter(plan__slug=CITY_PLAN, entry_level="station").order_by("order")[:count])


def ta_phoi() -> OrgUnit:
    return OrgUnit.objects.get(code=TA_PHOI)


def snapshot() -> list[tuple[Any, ...]]:
    return [
        *Actual.objects.order_by("pk").values_list("pk", "value", "version", "status", "note"),
        *ActualEvent.objects.order_by("pk").values_list("pk"),
    ]


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new rule: no figure may be written now."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise Invalid("Closed for the test.")

    monkeypatch.setattr(services, "_require_at", refuse)


@pytest.fixture
def unissued() -> None:
    """The services' rule: the plan is a draft (as if its figures had been entered before it was
    reopened, which the builder does not allow: here only to see every path refuse)."""
    Plan.objects.filter(slug=CITY_PLAN).update(status=Plan.Status.DRAFT)


# Each rule: its fixture → the HTTP status the API answers and the start of its message.
RULES = {"closed": (400, "Closed for the test."), "unissued": (409, "Kế hoạch chưa ban hành:")}


@pytest.fixture(params=sorted(RULES))
def rule(request: pytest.FixtureRequest) -> Callable[[], tuple[int, str]]:
    """rule() puts a rule in force (after the test has entered its own figures): its (status, message)."""

    def in_force() -> tuple[int, str]:
        request.getfixturevalue(request.param)
        return RULES[request.param]

    return in_force


def drafts() -> list[Actual]:
    planner = user("laocai.planner")
    return [
        actual_create(indicator=indicator, org_unit=ta_phoi(), period="2024H1", value=Decimal(50), by=planner)
        for indicator in indicators(2)
    ]


def test_the_grid_refuses(login: Login, rule: Callable[[], tuple[int, str]]) -> None:
    (draft, _other) = drafts()
    cells = [
        {"indicator": draft.indicator_id, "org_unit": draft.org_unit_id, "period": "2024H1", "value": "60"},
        {"indicator": indicators(3)[2].pk, "org_unit": draft.org_unit_id, "period": "2024H1", "value": "7"},
    ]
    cells[0]["version"], cells[1]["version"] = draft.version, None
    before = snapshot()
    status, message = rule()
    client = login("laocai.planner")
    for url in ("/grid/save/", "/grid/submit/"):
        response = client.post(url, json.dumps({"plan": CITY_PLAN, "cells": cells}), content_type="application/json")
        assert response.status_code == status
        assert any(error["message"].startswith(message) for error in response.json()["errors"])
    assert snapshot() == before


def test_the_station_form_refuses(login: Login, rule: Callable[[], tuple[int, str]]) -> None:
    (draft, other) = drafts()
    url = f"/figures/{TA_PHOI}/2024H1/?plan={CITY_PLAN}"
    client = login("laocai.station")
    data = {
        f"i{draft.indicator_id}-value": "60",
        f"i{draft.indicator_id}-note": "",
        f"i{draft.indicator_id}-version": str(draft.version),
        f"i{other.indicator_id}-value": "50",
        f"i{other.indicator_id}-note": "",
        f"i{other.indicator_id}-version": str(other.version),
    }
    before = snapshot()
    _status, message = rule()
    for action in ("save", "submit"):
        response = client.post(url, {**data, "action": action})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert snapshot() == before


def test_group_approval_refuses(login: Login, rule: Callable[[], tuple[int, str]]) -> None:
    planner = user("laocai.planner")
    submitted = [actual_submit(actual=draft, version=draft.version, by=planner, note="ok") for draft in drafts()]
    before = snapshot()
    _status, message = rule()
    client = login("laocai.reviewer")
    data: dict[str, Any] = {"actual": [actual.pk for actual in submitted]}
    data |= {f"version-{actual.pk}": actual.version for actual in submitted}
    response = client.post("/review/approve-group/", data, follow=True)
    assert message in response.content.decode()
    assert snapshot() == before
    assert {actual.status for actual in Actual.objects.filter(pk__in=data["actual"])} == {ReviewStatus.SUBMITTED}


def test_the_api_refuses(api_as: Any, rule: Callable[[], tuple[int, str]]) -> None:
    (draft, _other) = drafts()
    before = snapshot()
    status, message = rule()
    planner, reviewer = api_as("laocai.planner"), api_as("laocai.reviewer")
    new = {"indicator": indicators(3)[2].pk, "org_unit": ta_phoi().pk, "period": "2024H1", "value": "7"}
    answers = [
        planner.post("/api/actuals/", new, format="json"),
        planner.patch(f"/api/actuals/{draft.pk}/", {"value": "61", "version": draft.version}, format="json"),
        planner.post(f"/api/actuals/{draft.pk}/submit/", {"version": draft.version}, format="json"),
        reviewer.post(f"/api/actuals/{draft.pk}/approve/", {}, format="json"),
        reviewer.post(f"/api/actuals/{draft.pk}/return/", {"message": "x"}, format="json"),
    ]
    assert [(answer.status_code, answer.json()["detail"].startswith(message)) for answer in answers] == [
        (status, True)
    ] * len(answers)
    assert snapshot() == before


def test_the_spreadsheet_import_refuses(api_as: Any, rule: Callable[[], tuple[int, str]]) -> None:
    drafts()
    client = api_as("laocai.planner")
    plan = Plan.objects.get(slug=CITY_PLAN)
    exported = client.get(f"/api/plans/{plan.pk}/export/", {"kind": "actuals", "format": "xlsx", "period": "2024H1"})
    rows = xlsx_rows(exported.content)
    changed = [i for i, row in enumerate(rows) if row[5] == TA_PHOI][:3]
    for i in changed:
        rows[i][8] = "9"
    before = snapshot()
    _status, message = rule()
    file = SimpleUploadedFile("f.xlsx", xlsx(rows))
    response = client.post(
        "/api/imports/", {"file": file, "plan": plan.pk, "kind": "actuals", "dry_run": "false"}, format="multipart"
    )
    assert response.status_code == 400
    assert message in json.dumps(response.json(), ensure_ascii=False)
    assert snapshot() == before
