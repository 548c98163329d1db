"""The number of queries of each list endpoint does not grow with the number of rows."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import BudgetLine
from healthplans.models import Agency, OrgUnit, Tenant
from indicators.models import Indicator, Target
from plans.models import Plan

pytestmark = pytest.mark.django_db


def queries_for(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def grow(plan: Plan) -> None:
    """Add rows of every listed kind to the Lào Cai tenant."""
    tenant = Tenant.objects.get(slug="lao-cai")
    city = OrgUnit.objects.get(code="laocai-city")
    for n in range(12):
        city = OrgUnit.objects.get(pk=city.pk)
        OrgUnit.objects.add_child(
            city,
            create_kwargs={"code": f"extra-{n}", "name": f"Thêm {n}", "level": "commune", "tenant": tenant},
        )
        Agency.objects.create(tenant=tenant, code=f"extra-{n}", name=f"Cơ quan thêm {n}")
        indicator = Indicator.objects.create(
            tenant=tenant,
            plan=plan,
            order=1000 + n,
            number=f"X{n}",
            name=f"Chỉ tiêu thêm {n}",
            unit="%",
            unit_kind="percent",
            direction="higher",
            rollup="pooled",
            entry_level="commune",
        )
        Target.objects.create(tenant=tenant, indicator=indicator, year=2024, comparator=">=", value=n, text=str(n))
        BudgetLine.objects.create(
            tenant=tenant, plan=plan, order=1000 + n, code=f"X{n}", name="Thêm", year=2024, amount=n
        )
        Plan.objects.create(
            tenant=tenant,
            slug=f"extra-{n}",
            issuer="UBND",
            issuer_org_unit=city,
            title="Thêm",
            start_year=2024,
            end_year=2024,
            parent=plan,
        )


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
def test_list_queries_do_not_grow_with_rows(client: Any, api_as: Any, url: str) -> None:
    plan = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    url = url.format(plan=plan.pk)
    if url == "/":
        from healthplans.models import User

        client.force_login(User.objects.get(username="laocai.planner"))
        api = client
    else:
        api = api_as("laocai.planner")
    before = queries_for(api, url)
    grow(plan)
    assert queries_for(api, url) == before


def test_plan_page_queries_do_not_grow_with_indicators(client: Any) -> None:
    from healthplans.models import User

    plan = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    client.force_login(User.objects.get(username="laocai.planner"))
    before = queries_for(client, f"/plans/{plan.slug}/")
    grow(plan)
    assert queries_for(client, f"/plans/{plan.slug}/") == before
