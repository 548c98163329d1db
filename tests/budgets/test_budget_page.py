"""The budget page: the tree with Vietnamese amounts, saving and submitting all or nothing, the
checks, the reviewer's actions, isolation and query counts."""

from typing import Any

import pytest

from budgets.models import BudgetExecution, BudgetLine
from tests.conftest import CountQueries, Login

pytestmark = pytest.mark.django_db

PAGE = "/plans/laocai-city-de-an-07-2024/budget/"


def row(line: BudgetLine, allocated: str = "", disbursed: str = "", note: str = "", version: int | None = None) -> dict:
    prefix = f"l{line.pk}"
    return {
        f"{prefix}-allocated": allocated,
        f"{prefix}-disbursed": disbursed,
        f"{prefix}-note": note,
        f"{prefix}-version": "" if version is None else str(version),
    }


def stored(line: BudgetLine, period: str = "2024") -> BudgetExecution | None:
    return BudgetExecution.objects.filter(budget_line=line, period=period).first()


def test_planner_sees_the_tree_in_vietnamese_amounts(login: Login, record: Any) -> None:
    record("2.1.1", "2024", 2_500_000_000, 1_250_000_000)
    body = login("laocai.planner").get(f"{PAGE}?period=2024", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "14.676.220.000" in body
    assert "6.499.220.000" in body
    assert "8.177.000.000" in body
    assert 'data-line-code="2.2.3"' in body
    assert "Giải ngân" in body
    assert "Dự toán giao" in body
    assert "50%" in body  # the approved line's execution rate
    assert 'class="money"' in body  # entry inputs for the planner


def test_saving_reads_vietnamese_amounts_and_stores_whole_dong(login: Login, line: Any) -> None:
    client = login("laocai.planner")
    data = {
        **row(line("2.1.1"), "2,5 tỷ", "1.987.000.000"),
        **row(line("2.2.1"), "300 triệu", "", "Chưa giải ngân"),
        "action": "save",
    }
    response = client.post(f"{PAGE}?period=2024", data)
    assert response.status_code == 302
    first, second = stored(line("2.1.1")), stored(line("2.2.1"))
    assert first is not None
    assert (first.allocated, first.disbursed, first.status) == (
        2_500_000_000,
        1_987_000_000,
        "draft",
    )
    assert second is not None
    assert (second.allocated, second.disbursed, second.note) == (
        300_000_000,
        None,
        "Chưa giải ngân",
    )
    page = client.get(f"{PAGE}?period=2024").content.decode()
    assert 'value="2.500.000.000"' in page
    assert 'value="1.987.000.000"' in page
    assert "79,5%" in page  # the draft's rate on its row


def test_one_unreadable_amount_writes_nothing_and_says_where(login: Login, line: Any) -> None:
    client = login("laocai.planner")
    data = {**row(line("2.1.1"), "2,5 tỷ", "1.987.000.000"), **row(line("2.2.1"), "ba tỷ"), "action": "save"}
    response = client.post(f"{PAGE}?period=2024", data, HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Không đọc được số tiền: «ba tỷ»" in body
    assert 'value="ba tỷ"' in body
    assert 'value="2,5 tỷ"' in body
    assert not BudgetExecution.objects.exists()


def test_submit_with_disbursed_above_allocated_asks_for_a_note(login: Login, line: Any) -> None:
    client = login("laocai.planner")
    leaf = line("2.2.2")
    refused = client.post(f"{PAGE}?period=2024", {**row(leaf, "1 tỷ", "1,2 tỷ"), "action": "submit"})
    assert refused.status_code == 400
    assert "1.200.000.000" in refused.content.decode()  # the warning names the amounts
    assert not BudgetExecution.objects.exists()  # the save of the same POST is rolled back too
    accepted = client.post(
        f"{PAGE}?period=2024", {**row(leaf, "1 tỷ", "1,2 tỷ", "Tạm ứng năm trước"), "action": "submit"}
    )
    assert accepted.status_code == 302
    execution = stored(leaf)
    assert execution is not None
    assert (execution.status, execution.note) == ("submitted", "Tạm ứng năm trước")
    page = client.get(f"{PAGE}?period=2024").content.decode()
    assert "data-warning" in page


def test_stale_version_is_a_conflict_that_shows_the_stored_amounts(login: Login, line: Any, record: Any) -> None:
    execution = record("2.1.1", "2024", 100, 10, status="draft")
    client = login("laocai.planner")
    client.post(f"{PAGE}?period=2024", {**row(line("2.1.1"), "200", "10", version=1), "action": "save"})
    stale = client.post(f"{PAGE}?period=2024", {**row(line("2.1.1"), "300", "10", version=1), "action": "save"})
    assert stale.status_code == 409
    assert "data-current" in stale.content.decode()
    execution.refresh_from_db()
    assert execution.allocated == 200


def test_reviewer_approves_returns_and_unlocks_on_the_page(login: Login, line: Any, record: Any) -> None:
    first = record("2.1.1", "2024", 2_500_000_000, 1_250_000_000, status="submitted")
    second = record("2.1.2", "2024", 1_000, 500, status="submitted")
    client = login("laocai.reviewer")
    page = client.get(f"{PAGE}?period=2024").content.decode()
    assert f"/budgets/executions/{first.pk}/approve/" in page
    assert 'class="money"' not in page  # a reviewer records nothing

    assert client.post(f"/budgets/executions/{first.pk}/approve/", {"version": first.version}).status_code == 302
    first.refresh_from_db()
    assert first.status == "approved"
    assert "50%" in client.get(f"{PAGE}?period=2024").content.decode()

    empty = client.post(f"/budgets/executions/{second.pk}/return/", {"version": second.version, "message": ""})
    assert empty.status_code == 400
    assert f'data-line-code="{second.budget_line.code}"' in empty.content.decode()
    client.post(f"/budgets/executions/{second.pk}/return/", {"version": second.version, "message": "Sai số liệu"})
    second.refresh_from_db()
    assert (second.status, second.message) == ("returned", "Sai số liệu")

    client.post(f"/budgets/executions/{first.pk}/unlock/", {"version": first.version, "message": "Điều chỉnh"})
    first.refresh_from_db()
    assert first.status == "draft"


@pytest.mark.parametrize("username", ["laocai.planner", "laocai.official", "laocai.station"])
def test_only_reviewers_review_on_the_page(login: Login, record: Any, username: str) -> None:
    execution = record("2.1.1", "2024", 1, 1, status="submitted")
    response = login(username).post(f"/budgets/executions/{execution.pk}/approve/", {})
    assert response.status_code == 403
    execution.refresh_from_db()
    assert execution.status == "submitted"


def test_officials_read_without_inputs(login: Login, record: Any) -> None:
    record("2.2.1", "2024", 4_020_000_000, 2_010_000_000)
    client = login("laocai.official")
    page = client.get(f"{PAGE}?period=2024").content.decode()
    assert 'class="money"' not in page
    assert "4.020.000.000" in page
    assert client.post(f"{PAGE}?period=2024", {"action": "save"}).status_code == 403


def test_another_tenant_and_unknown_periods_get_404(login: Login, record: Any) -> None:
    execution = record("2.1.1", "2024", 1, 1, status="submitted")
    other = login("quangngai.reviewer")
    assert other.get(f"{PAGE}?period=2024").status_code == 404
    assert other.get(f"/budgets/executions/{execution.pk}/history/").status_code == 404
    assert other.post(f"/budgets/executions/{execution.pk}/approve/", {}).status_code == 404
    planner = login("laocai.planner")
    for period in ("2023", "2024Q3", "2021-2025"):
        assert planner.get(f"{PAGE}?period={period}").status_code == 404, period


def test_default_period_and_history_page(login: Login, record: Any) -> None:
    execution = record("2.1.1", "2024", 2_500_000_000, 1_000_000_000)
    client = login("laocai.planner")
    assert 'aria-current="page">2024<' in client.get(PAGE).content.decode()
    history = client.get(f"/budgets/executions/{execution.pk}/history/").content.decode()
    assert history.count("data-action=") == 3
    assert "2.500.000.000" in history


def test_a_parent_that_does_not_add_up_is_marked_on_the_page(login: Login, line: Any) -> None:
    BudgetLine.objects.filter(pk=line("2.2.3").pk).update(amount=2_000_000_000)
    body = login("laocai.planner").get(f"{PAGE}?period=2024", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "≠" in body
    assert "8.140.000.000" in body


def test_page_queries_do_not_grow_with_lines(
    login: Login, count_queries: CountQueries, record: Any, grow_tree: Any
) -> None:
    record("2.1.1", "2024", 10, 5)
    client = login("laocai.reviewer")

    def count() -> int:
        with count_queries() as captured:
            assert client.get(f"{PAGE}?period=2024").status_code == 200
        return len(captured)

    before = count()
    grow_tree(6)
    assert count() == before
