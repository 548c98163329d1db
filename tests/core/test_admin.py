"""Every model has an admin page, and a tenant's admin sees only its own rows."""

from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission

from healthplans.models import OrgUnit, RoleAssignment, User

pytestmark = pytest.mark.django_db

OWN_APPS = {"healthplans", "plans", "indicators", "budgets", "reporting"}


def test_every_model_is_in_the_admin() -> None:
    models = {m for m in apps.get_models() if m._meta.app_label in OWN_APPS}
    assert models and models <= set(admin.site._registry)


def test_admin_is_vietnamese(admin_client: Any) -> None:
    body = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Kế hoạch" in body


def test_tenant_admin_sees_only_its_tenants_rows(client: Any) -> None:
    user = User.objects.create_user("laocai.admin", password="x", is_staff=True)
    RoleAssignment.objects.create(user=user, org_unit=OrgUnit.objects.get(code="laocai"), role="tenant_admin")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_plan", "view_indicator", "view_orgunit"]))
    client.force_login(user)
    for url in ("/admin/plans/plan/", "/admin/indicators/indicator/?q=BHYT", "/admin/healthplans/orgunit/"):
        body = client.get(url).content.decode()
        assert "Quảng Ngãi" not in body and "Bắc Kạn" not in body, url
