"""Every list and detail endpoint answers only what the caller may see."""

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from budgets.models import BudgetLine
from healthplans.models import Agency, OrgUnit, Tenant
from indicators.models import Indicator
from plans.models import Plan

pytestmark = pytest.mark.django_db

LIST_ENDPOINTS = [
    "/api/tenants/",
    "/api/org-units/",
    "/api/agencies/",
    "/api/plans/",
    "/api/indicators/",
    "/api/budget-lines/",
]


def all_rows(client: APIClient, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    next_url: str | None = f"{url}{'&' if '?' in url else '?'}page_size=500"
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        rows.extend(response.json()["results"])
        next_url = response.json()["next"]
    return rows


def test_token_is_issued_for_demo_credentials_and_authenticates() -> None:
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "laocai.planner", "password": settings.DEMO_PASSWORD})
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/plans/").status_code == 200


def test_wrong_password_gets_no_token() -> None:
    response = APIClient().post("/api/auth/token/", {"username": "laocai.planner", "password": "nope"})
    assert response.status_code == 400
    assert "token" not in response.json()


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_anonymous_requests_are_refused(url: str) -> None:
    assert APIClient().get(url).status_code in (401, 403)


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_province_user_sees_nothing_of_another_tenant(api_as: Any, url: str) -> None:
    # Quảng Ngãi's planner: every other tenant has rows of every kind (Lào Cai has budget lines).
    rows = all_rows(api_as("quangngai.planner"), url)
    foreign = Tenant.objects.exclude(slug="quang-ngai")
    foreign_ids = {
        "/api/tenants/": set(foreign.values_list("id", flat=True)),
        "/api/org-units/": set(OrgUnit.objects.filter(tenant__in=foreign).values_list("id", flat=True)),
        "/api/agencies/": set(Agency.objects.filter(tenant__in=foreign).values_list("id", flat=True)),
        "/api/plans/": set(Plan.objects.filter(tenant__in=foreign).values_list("id", flat=True)),
        "/api/indicators/": set(Indicator.objects.filter(plan__tenant__in=foreign).values_list("id", flat=True)),
        "/api/budget-lines/": set(BudgetLine.objects.filter(plan__tenant__in=foreign).values_list("id", flat=True)),
    }[url]
    assert foreign_ids
    assert not {row["id"] for row in rows} & foreign_ids


def test_province_user_sees_its_own_rows(api_as: Any) -> None:
    client = api_as("laocai.planner")
    for url in LIST_ENDPOINTS:
        assert all_rows(client, url), url


def test_tenant_filter_cannot_widen_the_reach(api_as: Any) -> None:
    assert all_rows(api_as("laocai.planner"), "/api/plans/?tenant=thai-nguyen") == []
    assert all_rows(api_as("laocai.planner"), "/api/agencies/?tenant=thai-nguyen") == []


@pytest.mark.parametrize(
    ("url_template", "model_lookup"),
    [
        ("/api/plans/{}/", lambda: Plan.objects.get(slug="backan-gsd-2025-2030").pk),
        (
            "/api/indicators/{}/",
            lambda: Indicator.objects.filter(plan__slug="quangngai-chi-thi-37")[0].pk,
        ),
        (
            "/api/budget-lines/{}/",
            lambda: BudgetLine.objects.filter(plan__slug="laocai-city-de-an-07-2024")[0].pk,
        ),
    ],
)
def test_detail_of_another_tenant_is_404_like_a_missing_one(api_as: Any, url_template: str, model_lookup: Any) -> None:
    pk = model_lookup()
    tenant_of_object = {"/api/budget-lines/{}/": "laichau.planner"}.get(url_template, "laocai.planner")
    assert api_as(tenant_of_object).get(url_template.format(pk)).status_code == 404
    assert api_as(tenant_of_object).get(url_template.format(10**9)).status_code == 404
    assert api_as("national.viewer").get(url_template.format(pk)).status_code == 200


def test_national_viewer_sees_every_tenant_and_plan(api_as: Any) -> None:
    client = api_as("national.viewer")
    assert {row["slug"] for row in all_rows(client, "/api/tenants/")} == set(
        Tenant.objects.values_list("slug", flat=True)
    )
    assert len(all_rows(client, "/api/plans/")) == Plan.objects.count()


def test_station_reporter_sees_its_own_subtree_only(api_as: Any) -> None:
    client = api_as("muongkhuong.station")
    units = {unit["code"] for unit in all_rows(client, "/api/org-units/")}
    # Its station as it was, and today's station with its sites (the former communes' stations).
    today = OrgUnit.objects.get(code="s02761")
    assert units == {"muongkhuong-tt-tyt"} | set(
        OrgUnit.objects.filter(path__startswith=today.path).values_list("code", flat=True)
    )
    plans = {row["slug"] for row in all_rows(client, "/api/plans/")}
    assert "muongkhuong-de-an-07-2023" in plans
    assert "laocai-city-de-an-07-2024" not in plans  # a sibling district's plan
    city_plan = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    assert client.get(f"/api/plans/{city_plan.pk}/").status_code == 404


def test_city_station_works_under_the_city_plan_but_not_the_township_one(api_as: Any) -> None:
    plans = {row["slug"] for row in all_rows(api_as("laocai.station"), "/api/plans/")}
    assert "laocai-city-de-an-07-2024" in plans
    assert "muongkhuong-de-an-07-2023" not in plans


def test_plan_detail_holds_objectives_sections_tasks_and_assignments(api_as: Any) -> None:
    plan = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    body = api_as("laocai.planner").get(f"/api/plans/{plan.pk}/").json()
    assert body["slug"] == "laocai-city-de-an-07-2024"
    assert body["tenant"] == "lao-cai"
    assert body["signer_name"] == "Ngô Vũ Quốc"
    assert body["objectives"]
    assert body["sections"]
    assert body["assignments"]
    amounts = {task["amount"] for section in body["sections"] for task in section["tasks"]}
    assert {1_987_000_000, 54_000_000, 2_500_000_000} <= amounts


def test_indicator_shape_uses_ascii_comparators_and_decimal_strings(api_as: Any) -> None:
    plan = Plan.objects.get(slug="quangngai-chi-thi-37")
    rows = all_rows(api_as("quangngai.planner"), f"/api/indicators/?plan={plan.pk}")
    hiv = next(row for row in rows if row["number"] == "19")
    assert hiv["baseline"] == {"year": 2024, "value": "0.06", "text": "0,06"}
    assert {"year": 2025, "org_unit": None, "comparator": "<", "value": "0.05", "text": "< 0,05"} in hiv["targets"]
    assert hiv["group"] == "output"


def test_org_unit_filters_by_parent_and_level(api_as: Any) -> None:
    city = OrgUnit.objects.get(code="laocai-city")
    rows = all_rows(api_as("laocai.planner"), f"/api/org-units/?parent={city.pk}&level=commune")
    assert len(rows) == 17
    assert all(row["parent"] == city.pk for row in rows)
