"""The plan builder's API: a planner sets a plan up and issues it; an issued plan's target is
changed only by a revision; other tenants' planners, reviewers and stations are refused."""

from typing import Any

import pytest

from indicators.models import Target
from plans.models import Plan

pytestmark = pytest.mark.django_db


def laocai_unit_id(api: Any) -> int:
    """Today's province of Lào Cai, found by its official code as a planner's client would."""
    [unit] = api.get("/api/org-units/", {"code": "15", "level": "province", "valid_on": "2026-01-01"}).json()["results"]
    return int(unit["id"])


def test_planner_sets_up_issues_and_revises_through_the_api(api_as: Any) -> None:
    api = api_as("laocai.planner")
    body = {"issuer_org_unit": laocai_unit_id(api), "title": "KH thử API", "start_year": 2025, "end_year": 2026,
            "legal_bases": ["Căn cứ Luật"], "reporting_frequencies": ["year"]}  # fmt: skip
    response = api.post("/api/plans/create/", body, format="json")
    assert response.status_code == 201, response.json()
    plan = response.json()
    assert plan["status"] == "draft"
    pk = plan["id"]

    agency = api.post(f"/api/plans/{pk}/agencies/", {"name": "Sở Y tế thử API"}, format="json").json()
    assert api.post(f"/api/plans/{pk}/agencies/", {"name": "sở y tế thử api"}, format="json").json() == agency
    section = api.post(f"/api/plans/{pk}/sections/", {"number": "1", "title": "Nhiệm vụ"}, format="json").json()
    task = {"section": section["id"], "text": "Tiêm", "lead": agency["id"], "amount_text": "2,5 tỷ"}
    assert api.post(f"/api/plans/{pk}/tasks/", task, format="json").json()["amount"] == 2_500_000_000
    assignment = {"agency": agency["id"], "role": "coordinate", "text": "Phối hợp"}
    assert api.post(f"/api/plans/{pk}/assignments/", assignment, format="json").status_code == 201
    indicator = api.post(f"/api/plans/{pk}/indicators/", {"number": "1", "name": "Tỷ lệ", "unit": "%"},
                         format="json").json()  # fmt: skip
    target = api.post(f"/api/indicators/{indicator['id']}/targets/", {"year": 2025, "text": "≥80%"}, format="json")
    assert target.json()["comparator"] == ">="
    line = {"line_code": "I", "name": "Tổng", "year": 2025, "amount_text": "2,5 tỷ"}
    assert api.post(f"/api/plans/{pk}/budget-lines/", line, format="json").json()["amount"] == 2_500_000_000

    assert api.post(f"/api/plans/{pk}/issue/").json()["status"] == Plan.Status.ACTIVE
    refused = api.post(f"/api/indicators/{indicator['id']}/targets/", {"year": 2025, "text": "≥90%"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("Kế hoạch đã ban hành")
    revision = {"year": 2025, "text": "≥85%", "reason": "Điều chỉnh", "decision_number": "7/QĐ-UBND",
                "decision_date": "2025-05-01"}  # fmt: skip
    response = api.post(f"/api/indicators/{indicator['id']}/targets/revise/", revision, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["old_text"] == "≥80%"
    assert Target.objects.get(indicator_id=indicator["id"], year=2025).text == "≥85%"


@pytest.mark.parametrize(
    ("who", "status"), [("backan.planner", 404), ("laocai.reviewer", 403), ("laocai.station", 403)]
)
def test_others_cannot_create_or_change_plans(api_as: Any, who: str, status: int) -> None:
    planner = api_as("laocai.planner")
    unit = laocai_unit_id(planner)
    body = {"issuer_org_unit": unit, "title": "KH thử", "start_year": 2025, "end_year": 2025}
    pk = planner.post("/api/plans/create/", body, format="json").json()["id"]
    other = api_as(who)
    assert other.post("/api/plans/create/", body, format="json").status_code in {400, 403}
    assert other.post(f"/api/plans/{pk}/update/", {"title": "Đổi"}, format="json").status_code == status
    assert other.post(f"/api/plans/{pk}/indicators/", {"number": "1", "name": "x"}, format="json").status_code == status
    assert other.post(f"/api/plans/{pk}/issue/").status_code == status
    assert Plan.objects.get(pk=pk).title == "KH thử"
