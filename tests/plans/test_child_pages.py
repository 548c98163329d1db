"""Child plans through the browser and the API: an issued plan's page offers its planners "Lập kế
hoạch con"; the form (a unit of the plan's territory, title, number, years, the indicators to take
over) creates the child's draft and opens it in the builder. A station reporter and another
province's planner cannot."""

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from healthplans.models import OrgUnit, Role, User
from indicators.definitions import indicator_create, target_set
from indicators.models import Rollup, UnitKind
from plans.models import Plan
from plans.services import plan_create, plan_issue
from tests.conftest import Login
from tests.factories import OrgUnitFactory, RoleAssignmentFactory, writer_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def province() -> OrgUnit:
    unit = OrgUnitFactory.create()
    for n in range(2):
        OrgUnitFactory.create(parent=unit, level=OrgUnit.Level.COMMUNE, name=f"Xã trang {n}")
    return OrgUnit.objects.get(pk=unit.pk)


@pytest.fixture
def commune(province: OrgUnit) -> OrgUnit:
    return OrgUnit.objects.filter(path__startswith=province.path, depth=province.depth + 1).order_by("path")[0]


@pytest.fixture
def planner(province: OrgUnit) -> User:
    return writer_at(province)


def plan_of(province: OrgUnit, planner: User, *, issue: bool = True) -> Plan:
    plan = plan_create(
        issuer_org_unit=province, fields={"title": "Kế hoạch tỉnh", "start_year": 2025, "end_year": 2026}, by=planner
    )
    count = indicator_create(
        plan=plan, number="1", name="Số ca khám", unit="ca", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM, by=planner
    )
    rate = indicator_create(plan=plan, number="2", name="Tỷ lệ tiêm chủng", unit="%", by=planner)
    target_set(indicator=count, year=2025, text="100", by=planner)
    target_set(indicator=rate, year=2025, text="≥80%", by=planner)
    return plan_issue(plan=plan, by=planner) if issue else plan


@pytest.fixture
def parent(province: OrgUnit, planner: User) -> Plan:
    return plan_of(province, planner)


def form_of(parent: Plan, unit: OrgUnit, **fields: Any) -> dict[str, Any]:
    indicators = [indicator.pk for indicator in parent.indicators.order_by("order")]
    return {
        "org_unit": unit.pk,
        "title": "Kế hoạch xã",
        "start_year": 2025,
        "end_year": 2025,
        "indicators": indicators,
    } | fields


def new_child_url(plan: Plan) -> str:
    return reverse("child-plan-new", args=[plan.slug])


def test_issued_plans_page_offers_its_planner_a_child_plan(parent: Plan, planner: User, login: Login) -> None:
    page = login(planner).get(f"/plans/{parent.slug}/").content.decode()
    assert 'id="child-plan-link"' in page
    assert "Lập kế hoạch con" in page


def test_no_child_plan_link_for_a_station_reporter_or_a_draft(
    province: OrgUnit, commune: OrgUnit, parent: Plan, planner: User, login: Login
) -> None:
    reporter = RoleAssignmentFactory.create(role=Role.STATION_REPORTER, org_unit=commune).user
    assert 'id="child-plan-link"' not in login(reporter).get(f"/plans/{parent.slug}/").content.decode()
    draft = plan_of(province, planner, issue=False)
    assert 'id="child-plan-link"' not in login(planner).get(f"/plans/{draft.slug}/").content.decode()


def test_form_offers_the_territorys_units_and_the_plans_indicators(
    parent: Plan, planner: User, commune: OrgUnit, login: Login
) -> None:
    elsewhere = OrgUnitFactory.create(name="Tỉnh ngoài địa bàn")
    RoleAssignmentFactory.create(user=planner, org_unit=elsewhere, role=Role.PLANNER)
    response = login(planner).get(new_child_url(parent))
    form = response.context["form"]
    assert commune in form.fields["org_unit"].queryset
    assert elsewhere not in form.fields["org_unit"].queryset
    assert list(form.fields["indicators"].queryset) == list(parent.indicators.order_by("order"))
    assert "Lập kế hoạch con" in response.content.decode()


def test_form_offers_no_unit_dissolved_before_the_plans_years(
    parent: Plan, province: OrgUnit, planner: User, login: Login
) -> None:
    merged = OrgUnitFactory.create(parent=province, level=OrgUnit.Level.COMMUNE, valid_to=date(2024, 12, 31))
    form = login(planner).get(new_child_url(parent)).context["form"]
    assert merged not in form.fields["org_unit"].queryset


def test_planner_creates_a_child_of_a_seed_plan(login: Login) -> None:
    """Lào Cai city's 2024 plan, as the seed has it: a ward's plan takes over all its indicators,
    with the targets the document sets for the whole city where they are rates."""
    parent = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    client = login("laocai.planner")
    ward = (
        client.get(new_child_url(parent))
        .context["form"]
        .fields["org_unit"]
        .queryset.exclude(pk=parent.issuer_org_unit_id)
        .first()
    )
    body = {**form_of(parent, ward), "start_year": parent.start_year, "end_year": parent.end_year}
    assert client.post(new_child_url(parent), body).status_code == 302
    child = Plan.objects.get(parent=parent, issuer_org_unit=ward)
    linked = child.indicators.filter(parent_indicator__plan=parent)
    assert linked.count() == parent.indicators.count()
    assert linked.filter(rollup=Rollup.POOLED, targets__isnull=False).exists()


def test_planner_creates_a_child_through_the_form_and_lands_in_the_builder(
    parent: Plan, planner: User, commune: OrgUnit, login: Login
) -> None:
    response = login(planner).post(new_child_url(parent), form_of(parent, commune, document_number="7/KH-UBND"))
    child = Plan.objects.get(parent=parent)
    assert response.status_code == 302
    assert response["Location"] == reverse("builder", args=[child.slug])
    assert (child.issuer_org_unit, child.status, child.document_number) == (commune, Plan.Status.DRAFT, "7/KH-UBND")
    rate = child.indicators.get(number="2")
    assert rate.parent_indicator == parent.indicators.get(number="2")
    assert [t.text for t in rate.targets.all()] == ["≥80%"]
    builder = login(planner).get(response["Location"]).content.decode()
    assert "Đã tạo dự thảo kế hoạch con" in builder


def test_years_outside_the_parent_show_at_the_fields(
    parent: Plan, planner: User, commune: OrgUnit, login: Login
) -> None:
    response = login(planner).post(new_child_url(parent), form_of(parent, commune, end_year=2030))
    assert response.status_code == 200
    assert "nằm trong thời kỳ của kế hoạch đó" in str(response.context["form"].errors["end_year"])
    assert not parent.children.exists()


def test_unit_outside_the_territory_is_not_a_choice(parent: Plan, planner: User, login: Login) -> None:
    elsewhere = OrgUnitFactory.create()
    RoleAssignmentFactory.create(user=planner, org_unit=elsewhere, role=Role.PLANNER)
    response = login(planner).post(new_child_url(parent), form_of(parent, elsewhere))
    assert response.status_code == 200
    assert "org_unit" in response.context["form"].errors
    assert not parent.children.exists()


def test_station_reporter_cannot_set_up_a_child(parent: Plan, commune: OrgUnit, login: Login) -> None:
    reporter = RoleAssignmentFactory.create(role=Role.STATION_REPORTER, org_unit=commune).user
    client = login(reporter)
    assert client.get(new_child_url(parent)).status_code == 403
    assert client.post(new_child_url(parent), form_of(parent, commune)).status_code == 403
    assert not parent.children.exists()


def test_another_provinces_planner_cannot_see_the_form(parent: Plan, commune: OrgUnit, login: Login) -> None:
    client = login(writer_at(OrgUnitFactory.create()))
    assert client.get(new_child_url(parent)).status_code == 404
    assert client.post(new_child_url(parent), form_of(parent, commune)).status_code == 404
    assert not parent.children.exists()


def test_a_draft_plans_form_says_it_must_be_issued(province: OrgUnit, planner: User, login: Login) -> None:
    draft = plan_of(province, planner, issue=False)
    page = login(planner).get(new_child_url(draft)).content.decode()
    assert 'id="child-plan-not-issued"' in page
    assert 'id="child-plan-form"' not in page


# ---- the API ---------------------------------------------------------------------------------


def api_url(plan: Plan) -> str:
    return f"/api/plans/{plan.pk}/children/"


def test_api_creates_the_child_with_linked_indicators(
    parent: Plan, planner: User, commune: OrgUnit, api_as: Any
) -> None:
    count = parent.indicators.get(number="1")
    body = {"org_unit": commune.pk, "title": "Kế hoạch xã", "end_year": 2025, "indicators": [count.pk]}
    response = api_as(planner.username).post(api_url(parent), body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["parent"], data["status"], data["issuer_org_unit"]) == (parent.pk, "draft", commune.pk)
    assert [(i["number"], i["parent_indicator"], i["targets"]) for i in data["indicators"]] == [("1", count.pk, [])]


def test_api_refuses_a_station_reporter_a_stranger_and_a_unit_out_of_reach(
    parent: Plan, commune: OrgUnit, api_as: Any
) -> None:
    body = {"org_unit": commune.pk, "title": "Kế hoạch xã"}
    reporter = RoleAssignmentFactory.create(role=Role.STATION_REPORTER, org_unit=commune).user
    assert api_as(reporter.username).post(api_url(parent), body, format="json").status_code == 403
    stranger = writer_at(OrgUnitFactory.create())
    assert api_as(stranger.username).post(api_url(parent), body, format="json").status_code == 404
    planner = writer_at(parent.issuer_org_unit)
    elsewhere = OrgUnitFactory.create()
    response = api_as(planner.username).post(api_url(parent), {**body, "org_unit": elsewhere.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["org_unit"]
    assert not parent.children.exists()


def test_api_refuses_an_indicator_of_another_plan(parent: Plan, planner: User, commune: OrgUnit, api_as: Any) -> None:
    other = plan_of(parent.issuer_org_unit, planner)
    stray = other.indicators.get(number="1")
    body = {"org_unit": commune.pk, "title": "Kế hoạch xã", "indicators": [stray.pk]}
    response = api_as(planner.username).post(api_url(parent), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["indicators"]


def test_schema_describes_the_child_endpoint(api_as: Any) -> None:
    schema = api_as("laocai.planner").get("/api/schema/", {"format": "json"}).json()
    assert "post" in schema["paths"]["/api/plans/{id}/children/"]
