"""One write path for budget amounts: a rule added to the budget services (here, a refused
amount) holds on the budget page, the API and the workbook import alike, each of which then
writes nothing; so does the services' own rule that a plan still a draft takes no amounts; and the
page's save and submission take a fixed number of queries."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets import services
from budgets.models import BudgetLine
from budgets.services import AmountsEntry
from healthplans.models import User
from healthplans.workflow import Conflict, Invalid
from plans.models import Plan
from tests.budgets.test_spreadsheets import ALLOCATED, export, line_row, refused, snapshot
from tests.workbooks import xlsx_rows

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"
PAGE = f"/plans/{CITY_PLAN}/budget/"
REFUSED = 13_000_000


@pytest.fixture
def new_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule the services gain: an allocation of exactly REFUSED đồng is refused."""
    checked = services._check_amounts

    def check_amounts(allocated: int | None, disbursed: int | None) -> None:
        if allocated == REFUSED:
            raise Invalid("A new rule refuses this amount.", fields={"allocated": ["Refused by the new rule."]})
        checked(allocated, disbursed)

    monkeypatch.setattr(services, "_check_amounts", check_amounts)


def row(line: BudgetLine, allocated: str, disbursed: str = "", version: int | None = None) -> dict[str, str]:
    prefix = f"l{line.pk}"
    return {
        f"{prefix}-allocated": allocated,
        f"{prefix}-disbursed": disbursed,
        f"{prefix}-note": "",
        f"{prefix}-version": "" if version is None else str(version),
    }


@pytest.mark.usefixtures("new_rule")
def test_a_rule_of_the_services_holds_on_the_page(login: Any, line: Any) -> None:
    before = snapshot()
    data = {**row(line("2.1.1"), "20000000", "0"), **row(line("2.2.1"), str(REFUSED), "0"), "action": "save"}
    response = login("laocai.planner").post(f"{PAGE}?period=2024", data)
    assert response.status_code == 400
    assert "Refused by the new rule." in response.content.decode()
    assert snapshot() == before  # the good row is not written either


@pytest.mark.usefixtures("new_rule")
def test_a_rule_of_the_services_holds_on_the_api(planner: Any, line: Any, record: Any) -> None:
    before = snapshot()
    body = {"budget_line": line("2.2.1").pk, "period": "2024", "allocated": REFUSED, "disbursed": 0}
    created = planner.post("/api/budget-executions/", body, format="json")
    assert created.status_code == 400
    assert created.json()["errors"] == {"allocated": ["Refused by the new rule."]}
    assert snapshot() == before
    execution = record("2.1.1", "2024", 10, 5, status="draft")
    before = snapshot()
    changed = planner.patch(
        f"/api/budget-executions/{execution.pk}/", {"version": execution.version, "allocated": REFUSED}, format="json"
    )
    assert changed.status_code == 400
    assert snapshot() == before


@pytest.mark.usefixtures("new_rule")
def test_a_rule_of_the_services_holds_on_the_import(planner: Any) -> None:
    rows = xlsx_rows(export(planner, period="2024H1").content)
    rows[line_row(rows, "2.2.2")][ALLOCATED] = 2_000_000
    rows[line_row(rows, "2.2.1")][ALLOCATED] = REFUSED
    errors = refused(planner, rows)  # nothing written, not even the good row
    assert [error["message"] for error in errors] == ["Refused by the new rule."]


def test_saving_and_submitting_the_page_takes_the_same_queries_for_more_lines(login: Any, line: Any) -> None:
    client = login("laocai.planner")

    def queries(codes: list[str], action: str, amount: str) -> int:
        data: dict[str, str] = {"action": action}
        for code in codes:
            stored = services.BudgetExecution.objects.filter(budget_line=line(code), period="2024").first()
            data |= row(line(code), amount, "0", version=stored.version if stored else None)
        with CaptureQueriesContext(connection) as captured:
            assert client.post(f"{PAGE}?period=2024", data).status_code == 302
        return len(captured)

    few, more = ["2.1.1"], ["2.1.2", "2.2.1", "2.2.2", "2.2.3"]
    assert queries(few, "save", "100") == queries(more, "save", "100")  # new amounts
    assert queries(few, "save", "200") == queries(more, "save", "200")  # changed amounts
    assert queries(few, "submit", "300") == queries(more, "submit", "300")  # changed and submitted


# ---------------------------------------------------------------------------------------------
# A rule the services have: no amount is recorded against a plan still a draft (not issued).

DRAFT_REFUSAL = "Kế hoạch chưa ban hành:"


@pytest.fixture
def unissued() -> None:
    """The city plan as a draft (the builder does not reopen an issued plan: here only to see every
    path refuse)."""
    Plan.objects.filter(slug=CITY_PLAN).update(status=Plan.Status.DRAFT)


@pytest.mark.usefixtures("unissued")
def test_a_drafts_amounts_are_refused_on_the_page(login: Any, line: Any) -> None:
    before = snapshot()
    data = {**row(line("2.1.1"), "20000000", "0"), "action": "save"}
    response = login("laocai.planner").post(f"{PAGE}?period=2024", data)
    assert response.status_code == 400
    assert DRAFT_REFUSAL in response.content.decode()
    assert snapshot() == before


@pytest.mark.usefixtures("unissued")
def test_a_drafts_amounts_are_refused_on_the_api(planner: Any, line: Any) -> None:
    before = snapshot()
    body = {"budget_line": line("2.2.1").pk, "period": "2024", "allocated": 1_000_000, "disbursed": 0}
    created = planner.post("/api/budget-executions/", body, format="json")
    assert created.status_code == 409
    assert created.json()["code"] == "plan_draft"
    assert created.json()["detail"].startswith(DRAFT_REFUSAL)
    assert snapshot() == before


def test_a_drafts_amounts_are_refused_on_the_import(planner: Any) -> None:
    rows = xlsx_rows(export(planner, period="2024H1").content)
    rows[line_row(rows, "2.2.2")][ALLOCATED] = 2_000_000
    Plan.objects.filter(slug=CITY_PLAN).update(status=Plan.Status.DRAFT)
    errors = refused(planner, rows)
    assert [error["message"][: len(DRAFT_REFUSAL)] for error in errors] == [DRAFT_REFUSAL]


def test_a_drafts_amounts_are_refused_by_the_service(line: Any) -> None:
    plan = Plan.objects.get(slug=CITY_PLAN)
    plan.status = Plan.Status.DRAFT
    entries = [AmountsEntry(line(code), "2024", allocated=1_000_000, disbursed=0) for code in ("2.1.1", "2.2.1")]
    planner = User.objects.get(username="laocai.planner")
    before = snapshot()
    results = services.budget_execution_save_many(plan=plan, entries=entries, by=planner)
    assert [(type(result), getattr(result, "code", None)) for result in results] == [(Conflict, "plan_draft")] * 2
    assert snapshot() == before
