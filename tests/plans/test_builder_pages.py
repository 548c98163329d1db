"""The plan builder's pages: a planner sets a plan up part by part, issues it and revises a target;
the dashboard marks the revision; no one else reaches the builder."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from healthplans.models import OrgUnit, Role
from indicators.models import Indicator, Target
from plans.models import Plan
from tests.conftest import Login
from tests.factories import OrgUnitFactory, RoleAssignmentFactory, writer_at

pytestmark = pytest.mark.django_db


def post_part(client: Client, plan: Plan, part: str, **fields: Any) -> None:
    data = {f"{part}-{name}": value for name, value in fields.items()}
    response = client.post(reverse("builder-part", args=[plan.slug, part]), data)
    assert response.status_code == 302, response.content[:500]
    page = client.get(response["Location"]).content.decode()
    assert "Chưa lưu" not in page, page[:3000]


def test_planner_builds_issues_and_revises_a_plan(login: Login) -> None:
    province = OrgUnitFactory.create()
    communes = [OrgUnitFactory.create(parent=province, level=OrgUnit.Level.COMMUNE) for _ in range(2)]
    province = OrgUnit.objects.get(pk=province.pk)
    client = login(writer_at(province))

    assert client.get(reverse("builder-new")).status_code == 200
    response = client.post(
        reverse("builder-new"),
        {"issuer_org_unit": province.pk, "title": "Kế hoạch tiêm chủng", "kind": "plan", "start_year": 2025,
         "end_year": 2026, "document_number": "15/KH-UBND", "legal_bases": "Căn cứ Luật\nCăn cứ Nghị định",
         "reporting_frequencies": ["year"]},
    )  # fmt: skip
    assert response.status_code == 302
    plan = Plan.objects.get(document_number="15/KH-UBND")
    assert plan.status == Plan.Status.DRAFT
    assert plan.legal_bases == ["Căn cứ Luật", "Căn cứ Nghị định"]

    post_part(client, plan, "objective", kind="general", text="Nâng cao tỷ lệ tiêm chủng")
    post_part(client, plan, "section", number="1", title="Nhiệm vụ")
    post_part(client, plan, "agency", name="Sở Y tế", kind="health_department")
    agency = plan.tenant.agencies.get(name="Sở Y tế")  # type: ignore[union-attr]
    post_part(client, plan, "task", section=plan.sections.get().pk, text="Tiêm", lead=agency.pk, amount_text="2,5 tỷ")
    post_part(client, plan, "assignment", agency=agency.pk, role="lead", text="Chủ trì")
    post_part(client, plan, "indicator", number="1", name="Tỷ lệ tiêm chủng", unit="%", direction="higher",
              value_type="number")  # fmt: skip
    indicator = Indicator.objects.get(plan=plan)
    post_part(client, plan, "baseline", indicator=indicator.pk, year=2024, text="90,5")
    post_part(client, plan, "target", indicator=indicator.pk, year=2025, text="≥95%")
    post_part(client, plan, "target", indicator=indicator.pk, year=2025, org_unit=communes[0].pk, text="≥90%")
    post_part(client, plan, "line", code="I", name="Tiêm chủng", year=2025, amount_text="2,5 tỷ")
    page = client.get(reverse("builder", args=[plan.slug])).content.decode()
    assert "≥95%" in page
    assert "2,5 tỷ" in page
    assert "Sở Y tế" in page

    assert client.post(reverse("builder-issue", args=[plan.slug])).status_code == 302
    plan.refresh_from_db()
    assert plan.status == Plan.Status.ACTIVE
    post_part(client, plan, "revise", indicator=indicator.pk, year=2025, text="≥97%", reason="Chỉ đạo mới",
              decision_number="20/QĐ-UBND", decision_date="2025-07-01")  # fmt: skip
    target = Target.objects.get(indicator=indicator, year=2025, org_unit=None)
    assert (target.text, target.revision_count) == ("≥97%", 1)
    revisions = client.get(reverse("builder", args=[plan.slug])).content.decode()
    assert "Chỉ đạo mới" in revisions
    assert "20/QĐ-UBND" in revisions

    dashboard = client.get(reverse("plan-dashboard", args=[plan.slug]) + "?period=2025").content.decode()
    assert "20/QĐ-UBND" in dashboard


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.STATION_REPORTER])
def test_only_planners_reach_the_builder(login: Login, role: str) -> None:
    province = OrgUnitFactory.create()
    planner = writer_at(province)
    client = login(planner)
    client.post(reverse("builder-new"), {"issuer_org_unit": province.pk, "title": "KH", "kind": "plan",
                                         "start_year": 2025, "end_year": 2025})  # fmt: skip
    plan = Plan.objects.get(issuer_org_unit=province)
    other = login(RoleAssignmentFactory.create(role=role, org_unit=province).user, client=Client())
    assert other.get(reverse("builder", args=[plan.slug])).status_code == 403
    response = other.post(reverse("builder-part", args=[plan.slug, "objective"]),
                          {"objective-kind": "general", "objective-text": "x"})  # fmt: skip
    assert response.status_code == 403
    assert not plan.objectives.exists()
    outsider = login(writer_at(OrgUnitFactory.create()), client=Client())
    assert outsider.get(reverse("builder", args=[plan.slug])).status_code == 404
