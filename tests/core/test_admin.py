"""Every model has an admin page, and a tenant's admin sees only its own rows."""

from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission

from budgets.models import BudgetLine
from budgets.services import budget_execution_approve, budget_execution_create, budget_execution_submit
from healthplans.models import OrgUnit, RoleAssignment, User
from indicators.models import Indicator
from indicators.services import actual_create
from tests.conftest import Login

pytestmark = pytest.mark.django_db

OWN_APPS = {"healthplans", "plans", "indicators", "budgets", "reporting"}


def test_every_model_is_in_the_admin() -> None:
    models = {m for m in apps.get_models() if m._meta.app_label in OWN_APPS}
    assert models
    assert models <= set(admin.site._registry)


def test_admin_is_vietnamese(admin_client: Any) -> None:
    body = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Kế hoạch" in body


def test_tenant_admin_sees_only_its_tenants_rows(login: Login) -> None:
    user = User.objects.create_user("laocai.admin", password="x", is_staff=True)
    RoleAssignment.objects.create(user=user, org_unit=OrgUnit.objects.get(code="laocai"), role="tenant_admin")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_plan", "view_indicator", "view_orgunit"]))
    client = login(user)
    for url in ("/admin/plans/plan/", "/admin/indicators/indicator/?q=BHYT", "/admin/healthplans/orgunit/"):
        body = client.get(url).content.decode()
        assert "Quảng Ngãi" not in body, url
        assert "Bắc Kạn" not in body, url


def test_figures_and_their_history_are_read_only_even_for_a_superuser(admin_client: Any) -> None:
    # Figures change through the services alone: they keep versions and history, and renew the
    # plan's cached roll-ups.
    population = Indicator.objects.filter(
        plan__slug="quangngai-chi-thi-37", entry_level="province", unit_kind="count"
    ).first()
    assert population is not None
    planner = User.objects.get(username="quangngai.planner")
    province = OrgUnit.objects.get(code="quangngai")
    actual = actual_create(indicator=population, org_unit=province, period="2025", value=Decimal(5), by=planner)
    event = actual.events.get()
    assert admin_client.get(f"/admin/indicators/actual/{actual.pk}/change/").status_code == 200  # viewed
    before = (actual.value, actual.version)
    response = admin_client.post(f"/admin/indicators/actual/{actual.pk}/change/", {"value": "1", "version": "99"})
    assert response.status_code == 403
    actual.refresh_from_db()
    assert (actual.value, actual.version) == before
    assert admin_client.get("/admin/indicators/actual/add/").status_code == 403
    assert admin_client.post(f"/admin/indicators/actualevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_budget_amounts_and_their_history_are_read_only_even_for_a_superuser(admin_client: Any) -> None:
    # Amounts change through the budget services alone: they check the role, keep versions and
    # history, and lock approved amounts.
    line = BudgetLine.objects.filter(plan__slug="laocai-city-de-an-07-2024").order_by("code").first()
    assert line is not None
    planner, reviewer = User.objects.get(username="laocai.planner"), User.objects.get(username="laocai.reviewer")
    execution = budget_execution_create(
        budget_line=line, period=str(line.year), allocated=1_000_000, disbursed=500_000, by=planner
    )
    execution = budget_execution_submit(execution=execution, version=execution.version, by=planner)
    execution = budget_execution_approve(execution=execution, by=reviewer)
    event = execution.events.first()
    assert event is not None
    assert admin_client.get(f"/admin/budgets/budgetexecution/{execution.pk}/change/").status_code == 200  # viewed
    before = (execution.allocated, execution.disbursed, execution.status, execution.version)
    response = admin_client.post(
        f"/admin/budgets/budgetexecution/{execution.pk}/change/",
        {"allocated": "1", "disbursed": "1", "status": "draft", "version": "99"},
    )
    assert response.status_code == 403
    execution.refresh_from_db()
    assert (execution.allocated, execution.disbursed, execution.status, execution.version) == before
    assert admin_client.get("/admin/budgets/budgetexecution/add/").status_code == 403
    for deleted in (f"budgetexecution/{execution.pk}", f"budgetexecutionevent/{event.pk}"):
        assert admin_client.post(f"/admin/budgets/{deleted}/delete/", {"post": "yes"}).status_code == 403
    assert execution.events.count() == 3
