"""The number of queries of each list endpoint does not grow with the number of rows."""

from typing import Any

import pytest

from budgets.models import BudgetLine
from healthplans.models import OrgUnit
from plans.models import Plan
from tests.factories import AgencyFactory, IndicatorFactory, OrgUnitFactory, PlanFactory, TargetFactory

pytestmark = pytest.mark.django_db


def grow(plan: Plan) -> None:
    """Add rows of every listed kind to the Lào Cai tenant."""
    city = OrgUnit.objects.get(code="laocai-city")
    for n in range(12):
        OrgUnitFactory.create(parent=city, level=OrgUnit.Level.COMMUNE)
        AgencyFactory.create(tenant=plan.tenant)
        indicator = IndicatorFactory.create(plan=plan, order=1000 + n, number=f"X{n}", entry_level="commune")
        TargetFactory.create(indicator=indicator, value=n, text=str(n))
        BudgetLine.objects.create(
            tenant=plan.tenant, plan=plan, order=1000 + n, code=f"X{n}", name="Thêm", year=2024, amount=n
        )
        PlanFactory.create(issuer_org_unit=city, parent=plan)


@pytest.mark.parametrize(
    "url",
    [
        "/api/tenants/",
        "/api/org-units/",
        "/api/agencies/",
        "/api/plans/",
        "/api/indicators/?plan={plan}",
        "/api/budget-lines/?plan={plan}",
        "/api/plans/{plan}/",
        "/",
    ],
)
def test_list_queries_do_not_grow_with_rows(login: Any, api_as: Any, queries_for: Any, url: str) -> None:
    plan = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    url = url.format(plan=plan.pk)
    client = login("laocai.planner") if url == "/" else api_as("laocai.planner")
    before = queries_for(client, url)
    grow(plan)
    assert queries_for(client, url) == before


def test_plan_page_queries_do_not_grow_with_indicators(login: Any, queries_for: Any) -> None:
    plan = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    client = login("laocai.planner")
    before = queries_for(client, f"/plans/{plan.slug}/")
    grow(plan)
    assert queries_for(client, f"/plans/{plan.slug}/") == before
