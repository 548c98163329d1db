"""Pages: login in Vietnamese, the plan list and a plan as the document writes it."""

from typing import Any

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_login_page_is_vietnamese_and_logs_in(client: Any) -> None:
    page = client.get("/login/")
    assert "Đăng nhập" in page.content.decode()
    response = client.post("/login/", {"username": "laocai.planner", "password": settings.DEMO_PASSWORD})
    assert response.status_code == 302
    assert "Kế hoạch" in client.get("/").content.decode()


def test_pages_need_a_login(client: Any) -> None:
    assert client.get("/").status_code == 302
    assert client.get("/plans/laocai-city-de-an-07-2024/").status_code == 302


def test_plan_page_shows_targets_and_budget_the_vietnamese_way(login: Any) -> None:
    body = login("laocai.planner").get("/plans/laocai-city-de-an-07-2024/").content.decode()
    assert "14.676.220.000" in body
    assert "9,98" in body
    assert "Ngô Vũ Quốc" in body


def test_plan_page_of_another_tenant_is_404(login: Any) -> None:
    assert login("laocai.planner").get("/plans/quangngai-chi-thi-37/").status_code == 404


def test_schema_lists_the_read_api(login: Any) -> None:
    schema = (
        login("laocai.planner").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content.decode()
    )
    for path in ("/api/plans/{id}/", "/api/indicators/", "/api/budget-lines/", "/api/org-units/"):
        assert path in schema


def test_openapi_schema_has_no_warnings_and_validates(tmp_path: Any) -> None:
    from django.core.management import call_command

    # --fail-on-warn: components named alike (every nested "OutputSerializer") or views the
    # generator cannot read would make a wrong schema; --validate: it is valid OpenAPI 3.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))
    assert "ActualHistoryOutput" in (tmp_path / "schema.yaml").read_text()
