"""The budget executions API: entry, every transition and every refusal, history, isolation, query counts."""

from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from budgets.models import BudgetExecution, BudgetLine
from healthplans.models import Notification, User
from tests.conftest import CountQueries

pytestmark = pytest.mark.django_db

URL = "/api/budget-executions/"


def create(client: Any, line: BudgetLine, period: str = "2024", **amounts: Any) -> Any:
    return client.post(URL, {"budget_line": line.pk, "period": period, **amounts}, format="json")


def test_planner_records_and_walks_amounts_to_approval(planner: Any, reviewer: Any, line: Any) -> None:
    leaf = line("2.1.1")
    created = create(planner, leaf, allocated=2_500_000_000, disbursed=None, note="Quyết định giao dự toán")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["version"], body["allocated"], body["disbursed"]) == ("draft", 1, 2_500_000_000, None)
    assert (body["plan"], body["period"], body["rate"]) == (leaf.plan_id, "2024", None)
    pk = body["id"]

    changed = planner.patch(f"{URL}{pk}/", {"disbursed": 1_987_000_000, "version": 1}, format="json")
    assert changed.status_code == 200, changed.json()
    # An amount left out of the PATCH keeps its value.
    assert (changed.json()["allocated"], changed.json()["disbursed"]) == (2_500_000_000, 1_987_000_000)
    assert changed.json()["rate"] == "79.5"

    submitted = planner.post(f"{URL}{pk}/submit/", {}, format="json")
    assert submitted.json()["status"] == "submitted"
    approved = reviewer.post(f"{URL}{pk}/approve/", {}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert (approved.json()["submitted_by"], approved.json()["reviewed_by"]) == ("laocai.planner", "laocai.reviewer")

    history = planner.get(f"{URL}{pk}/history/").json()
    assert [step["action"] for step in history] == ["create", "change", "submit", "approve"]
    assert history[0]["new_allocated"] == 2_500_000_000
    assert history[0]["old_allocated"] is None
    assert (history[1]["old_disbursed"], history[1]["new_disbursed"], history[1]["by"]) == (
        None,
        1_987_000_000,
        "laocai.planner",
    )
    assert planner.get(f"{URL}{pk}/").json()["status"] == "approved"


@pytest.mark.parametrize(
    "amounts",
    [
        {"allocated": "2,5 tỷ"},  # the page reads Vietnamese amounts; the API takes integers
        {"allocated": "1.987.000.000"},
        {"allocated": 2.5},
        {"disbursed": -1},
        {"allocated": 10**16},
    ],
)
def test_api_amounts_are_whole_non_negative_dong(planner: Any, line: Any, amounts: dict[str, Any]) -> None:
    refused = create(planner, line("2.1.1"), **amounts)
    assert refused.status_code == 400
    assert set(refused.json()) >= set(amounts)
    assert not BudgetExecution.objects.exists()


@pytest.mark.parametrize("period", ["2023", "2025H1", "2021-2025", "2024Q1", ""])
def test_period_is_a_year_or_half_of_the_lines_year(planner: Any, line: Any, period: str) -> None:
    refused = create(planner, line("2.1.1"), period=period, allocated=1)
    assert refused.status_code == 400
    assert "period" in (refused.json().get("errors") or refused.json())
    assert not BudgetExecution.objects.exists()


def test_half_years_are_recorded_apart_and_twice_is_a_conflict(planner: Any, line: Any) -> None:
    leaf = line("2.2.1")
    assert create(planner, leaf, "2024H1", allocated=1).status_code == 201
    assert create(planner, leaf, "2024H2", allocated=2).json()["period"] == "2024H2"
    again = create(planner, leaf, "2024H1", allocated=3)
    assert (again.status_code, again.json()["code"]) == (409, "exists")
    assert again.json()["current"]["allocated"] == 1


def test_stale_version_is_a_conflict_showing_the_stored_amounts(planner: Any, line: Any) -> None:
    pk = create(planner, line("2.1.1"), allocated=100).json()["id"]
    assert planner.patch(f"{URL}{pk}/", {"allocated": 200, "version": 1}, format="json").status_code == 200
    stale = planner.patch(f"{URL}{pk}/", {"allocated": 300, "version": 1}, format="json")
    assert (stale.status_code, stale.json()["code"]) == (409, "stale_version")
    assert stale.json()["current"]["allocated"] == 200
    assert BudgetExecution.objects.get(pk=pk).allocated == 200


def test_submitted_and_approved_amounts_cannot_be_edited(planner: Any, reviewer: Any, line: Any) -> None:
    pk = create(planner, line("2.1.1"), allocated=100, disbursed=50).json()["id"]
    planner.post(f"{URL}{pk}/submit/", {}, format="json")
    waiting = planner.patch(f"{URL}{pk}/", {"allocated": 1, "version": 2}, format="json")
    assert (waiting.status_code, waiting.json()["code"]) == (409, "status_submitted")
    reviewer.post(f"{URL}{pk}/approve/", {}, format="json")
    locked = planner.patch(f"{URL}{pk}/", {"allocated": 1, "version": 3}, format="json")
    assert (locked.status_code, locked.json()["code"]) == (409, "locked")
    assert BudgetExecution.objects.get(pk=pk).allocated == 100


def test_disbursed_above_allocated_needs_a_note_to_submit(planner: Any, line: Any) -> None:
    pk = create(planner, line("2.2.2"), allocated=1_000_000, disbursed=1_200_000).json()["id"]
    draft = planner.get(f"{URL}{pk}/").json()
    assert draft["rate"] == "120.0"
    assert len(draft["warnings"]) == 1
    refused = planner.post(f"{URL}{pk}/submit/", {}, format="json")
    assert refused.status_code == 400
    assert "note" in refused.json()["errors"]
    assert BudgetExecution.objects.get(pk=pk).status == "draft"
    note = "Tạm ứng từ nguồn năm trước"
    submitted = planner.post(f"{URL}{pk}/submit/", {"note": note}, format="json")
    assert submitted.status_code == 200
    assert submitted.json()["note"] == note


def test_submit_needs_both_amounts_zero_being_one(planner: Any, line: Any) -> None:
    pk = create(planner, line("2.2.3"), allocated=2_037_000_000).json()["id"]
    refused = planner.post(f"{URL}{pk}/submit/", {}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["disbursed"]
    planner.patch(f"{URL}{pk}/", {"disbursed": 0, "version": 1}, format="json")
    submitted = planner.post(f"{URL}{pk}/submit/", {}, format="json").json()
    assert (submitted["status"], submitted["rate"]) == ("submitted", "0.0")


def test_return_needs_a_message_notifies_and_mails_the_planner(
    planner: Any, reviewer: Any, line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(username="laocai.planner").update(email="taichinh@laocai.example.vn")
    pk = create(planner, line("2.1.2"), allocated=3_999_220_000, disbursed=1_000_000_000).json()["id"]
    planner.post(f"{URL}{pk}/submit/", {}, format="json")
    empty = reviewer.post(f"{URL}{pk}/return/", {"message": "  "}, format="json")
    assert empty.status_code == 400
    assert "message" in empty.json()["errors"]
    with django_capture_on_commit_callbacks(execute=True):
        returned = reviewer.post(f"{URL}{pk}/return/", {"message": "Đối chiếu với Kho bạc"}, format="json")
    assert (returned.json()["status"], returned.json()["message"]) == ("returned", "Đối chiếu với Kho bạc")
    notification = Notification.objects.get(user__username="laocai.planner")
    assert "Đối chiếu với Kho bạc" in notification.text
    assert notification.link == "/plans/laocai-city-de-an-07-2024/budget/?period=2024"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["taichinh@laocai.example.vn"]
    fixed = planner.patch(
        f"{URL}{pk}/", {"disbursed": 999_000_000, "version": returned.json()["version"]}, format="json"
    )
    assert fixed.json()["status"] == "returned"
    assert planner.post(f"{URL}{pk}/submit/", {}, format="json").json()["status"] == "submitted"


def test_unlock_needs_a_reason_and_returns_the_amounts_to_draft(planner: Any, reviewer: Any, line: Any) -> None:
    pk = create(planner, line("2.1.1"), allocated=100, disbursed=10).json()["id"]
    planner.post(f"{URL}{pk}/submit/", {}, format="json")
    reviewer.post(f"{URL}{pk}/approve/", {}, format="json")
    assert reviewer.post(f"{URL}{pk}/unlock/", {"reason": ""}, format="json").status_code == 400
    unlocked = reviewer.post(f"{URL}{pk}/unlock/", {"reason": "Điều chỉnh dự toán"}, format="json")
    assert unlocked.json()["status"] == "draft"
    last = planner.get(f"{URL}{pk}/history/").json()[-1]
    assert (last["action"], last["message"], last["by"]) == ("unlock", "Điều chỉnh dự toán", "laocai.reviewer")
    edited = planner.patch(f"{URL}{pk}/", {"allocated": 120, "version": unlocked.json()["version"]}, format="json")
    assert edited.status_code == 200


@pytest.mark.parametrize(
    ("username", "action", "status"),
    [
        ("laocai.planner", "approve", 403),  # the planner records, a reviewer approves
        ("laocai.official", "approve", 403),
        ("laocai.station", "approve", 403),  # sees the city plan, reviews nothing
        ("national.viewer", "approve", 403),  # reads every tenant, writes nothing
        ("quangngai.reviewer", "approve", 404),  # another tenant's reviewer cannot even see it
        ("laocai.reviewer", "submit", 403),  # a reviewer does not submit for the planner
        ("laocai.official", "submit", 403),
        ("laocai.reviewer", "return", 409),  # a draft is not awaiting review
        ("laocai.reviewer", "unlock", 409),  # nor is it locked
    ],
)
def test_forbidden_transitions(planner: Any, api_as: Any, line: Any, username: str, action: str, status: int) -> None:
    pk = create(planner, line("2.1.1"), allocated=100, disbursed=10).json()["id"]
    if action in {"approve"}:
        planner.post(f"{URL}{pk}/submit/", {}, format="json")
    before = BudgetExecution.objects.get(pk=pk)
    body = {"message": "x", "reason": "x"}
    response = api_as(username).post(f"{URL}{pk}/{action}/", body, format="json")
    assert response.status_code == status, response.content
    after = BudgetExecution.objects.get(pk=pk)
    assert (after.status, after.version) == (before.status, before.version)


def test_approving_twice_is_a_clear_conflict(planner: Any, reviewer: Any, line: Any) -> None:
    pk = create(planner, line("2.1.1"), allocated=100, disbursed=10).json()["id"]
    planner.post(f"{URL}{pk}/submit/", {}, format="json")
    assert reviewer.post(f"{URL}{pk}/approve/", {"version": 2}, format="json").status_code == 200
    second = reviewer.post(f"{URL}{pk}/approve/", {"version": 2}, format="json")
    assert (second.status_code, second.json()["current"]["status"]) == (409, "approved")


@pytest.mark.parametrize("username", ["laocai.station", "laocai.official", "laocai.reviewer", "national.viewer"])
def test_only_planners_record_amounts(api_as: Any, line: Any, username: str) -> None:
    assert create(api_as(username), line("2.1.1"), allocated=1).status_code == 403
    assert not BudgetExecution.objects.exists()


def test_another_tenant_gets_404_everywhere(planner: Any, api_as: Any, line: Any) -> None:
    leaf = line("2.1.1")
    pk = create(planner, leaf, allocated=100, disbursed=10).json()["id"]
    other = api_as("quangngai.planner")
    assert other.get(URL).json()["count"] == 0
    for url in (f"{URL}{pk}/", f"{URL}{pk}/history/", f"/api/plans/{leaf.plan_id}/budget-summary/?period=2024"):
        assert other.get(url).status_code == 404, url
    assert other.patch(f"{URL}{pk}/", {"allocated": 1, "version": 1}, format="json").status_code == 404
    assert other.post(f"{URL}{pk}/submit/", {}, format="json").status_code == 404
    refused = create(other, leaf, "2024H1", allocated=1)
    assert refused.status_code == 400
    assert "budget_line" in refused.json()["errors"]
    assert BudgetExecution.objects.count() == 1
    # The national viewer reads every tenant.
    assert api_as("national.viewer").get(f"{URL}{pk}/").status_code == 200


def test_list_filters_by_line_plan_period_and_status(planner: Any, record: Any, line: Any) -> None:
    record("2.1.1", "2024", 10, 5)
    record("2.1.1", "2024H1", 10, 2, status="draft")
    record("2.2.1", "2024", 20, 5, status="submitted")
    plan_id = line("2.1.1").plan_id

    def codes(query: str) -> list[tuple[int, str]]:
        return [(row["budget_line"], row["period"]) for row in planner.get(f"{URL}?{query}").json()["results"]]

    leaf, other = line("2.1.1").pk, line("2.2.1").pk
    assert codes(f"budget_line={leaf}") == [(leaf, "2024"), (leaf, "2024H1")]
    assert codes(f"plan={plan_id}&period=2024") == [(leaf, "2024"), (other, "2024")]
    assert codes("status=submitted") == [(other, "2024")]
    assert codes(f"plan={plan_id + 10_000}") == []


def test_list_summary_and_history_queries_do_not_grow(
    planner: Any, record: Any, line: Any, grow_tree: Any, count_queries: CountQueries
) -> None:
    record("2.1.1", "2024", 10, 5)
    draft = create(planner, line("2.1.2"), allocated=1).json()
    plan_id = line("2.1.1").plan_id
    urls = [
        f"{URL}?plan={plan_id}",
        f"/api/plans/{plan_id}/budget-summary/?period=2024",
        f"{URL}{draft['id']}/history/",
    ]

    def counts() -> list[int]:
        result = []
        for url in urls:
            with count_queries() as captured:
                assert planner.get(url).status_code == 200
            result.append(len(captured))
        return result

    before = counts()
    grow_tree(8)
    for version, amount in enumerate([2, 3, 4, 5], start=1):
        planner.patch(f"{URL}{draft['id']}/", {"allocated": amount, "version": version}, format="json")
    assert planner.get(f"{URL}?plan={plan_id}").json()["count"] == 10
    assert len(planner.get(f"{URL}{draft['id']}/history/").json()) == 5
    assert counts() == before


def test_anonymous_requests_are_refused(client: Any, line: Any) -> None:
    anonymous = APIClient()
    assert anonymous.get(URL).status_code in (401, 403)
    assert create(anonymous, line("2.1.1"), allocated=1).status_code in (401, 403)
    assert anonymous.get(f"/api/plans/{line('2.1.1').plan_id}/budget-summary/?period=2024").status_code in (401, 403)
    assert client.get("/plans/laocai-city-de-an-07-2024/budget/").status_code == 302


def test_summary_api_answers_the_tree_and_the_rates(planner: Any, record: Any, line: Any) -> None:
    record("2.1.1", "2024", 2_500_000_000, 1_250_000_000)
    plan_id = line("2.1.1").plan_id
    body = planner.get(f"/api/plans/{plan_id}/budget-summary/?period=2024").json()
    assert (body["plan"], body["period"], body["awaiting_approval"]) == (plan_id, "2024", 0)
    assert body["total"] == {
        "key": "",
        "name": "Toàn kế hoạch",
        "planned": 14_676_220_000,
        "allocated": 2_500_000_000,
        "disbursed": 1_250_000_000,
        "rate": "50.0",
    }
    assert [(row["code"], row["depth"], row["planned"]) for row in body["lines"]][:3] == [
        ("2", 0, 14_676_220_000),
        ("2.1", 1, 6_499_220_000),
        ("2.1.1", 2, 2_500_000_000),
    ]
    assert {group["key"]: group["rate"] for group in body["by_agency"]} == {
        "laocai-city-ttyt": "50.0",
        "laocai-city-bvdk": None,
    }
    assert planner.get(f"/api/plans/{plan_id}/budget-summary/?period=2024Q1").status_code == 400
    assert planner.get(f"/api/plans/{plan_id}/budget-summary/").status_code == 400
