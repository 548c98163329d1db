"""Budget lines as a workbook: the export is the import's template (imported unchanged it changes
nothing), amounts are written through the budget services, and one bad row writes nothing."""

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from budgets.models import BudgetExecution, BudgetExecutionEvent, BudgetLine
from budgets.spreadsheets import BUDGET_HEADERS
from plans.models import Plan
from tests.budgets.conftest import CITY_PLAN
from tests.workbooks import xlsx, xlsx_rows

pytestmark = pytest.mark.django_db

ALLOCATED, DISBURSED, NOTE, STATUS, VERSION = 8, 9, 10, 11, 12


def plan_pk(slug: str = CITY_PLAN) -> int:
    return Plan.objects.get(slug=slug).pk


def export(client: Any, slug: str = CITY_PLAN, **params: str) -> Any:
    return client.get(f"/api/plans/{plan_pk(slug)}/export/", {"kind": "budget", **params})


def upload(client: Any, content: bytes, *, slug: str = CITY_PLAN, dry_run: bool = False, fmt: str = "xlsx") -> Any:
    return client.post(
        "/api/imports/",
        {
            "file": SimpleUploadedFile(f"budget.{fmt}", content),
            "plan": plan_pk(slug),
            "kind": "budget",
            "dry_run": str(dry_run).lower(),
        },
        format="multipart",
    )


def snapshot() -> tuple[list[tuple[Any, ...]], int]:
    executions = BudgetExecution.objects.order_by("pk").values_list("pk", "allocated", "disbursed", "version", "status")
    return list(executions), BudgetExecutionEvent.objects.count()


def line_row(rows: list[list[Any]], code: str) -> int:
    return next(i for i, row in enumerate(rows) if row[1] == code)


def test_budget_export_lists_the_lines_in_document_order_with_their_amounts(planner: Any, record: Any) -> None:
    record("2.1.1", "2024H1", 2_500_000_000, 1_000_000_000, status="approved")
    rows = xlsx_rows(export(planner, period="2024H1").content)
    assert rows[0] == BUDGET_HEADERS
    assert [row[1] for row in rows[1:]] == ["2", "2.1", "2.1.1", "2.1.2", "2.2", "2.2.1", "2.2.2", "2.2.3"]
    row = rows[line_row(rows, "2.1.1")]
    assert row[:8] == [
        CITY_PLAN,
        "2.1.1",
        "Sửa chữa, nâng cấp trụ sở 05 Trạm Y tế",
        2024,
        row[4],
        "",
        2_500_000_000,
        "2024H1",
    ]
    assert row[4]  # the agency's name
    assert row[ALLOCATED:] == [2_500_000_000, 1_000_000_000, "", "đã duyệt", 3]  # created, submitted, approved


def test_budget_export_without_a_period_takes_each_lines_year_and_as_csv(planner: Any) -> None:
    response = export(planner, format="csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == BUDGET_HEADERS
    assert {row[7] for row in rows[1:]} == {"2024"}
    assert rows[1][6] == "14676220000"


def test_budget_export_needs_a_period_of_the_plan_and_is_the_tenants_own(planner: Any, api_as: Any) -> None:
    assert export(planner, period="2031").status_code == 400
    assert export(api_as("quangngai.planner")).status_code == 404


@pytest.mark.parametrize("period", ["", "2024", "2024H1", "2024H2"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exported_budget_imported_unchanged_changes_nothing(planner: Any, record: Any, period: str, fmt: str) -> None:
    record("2.1.1", "2024H1", 2_500_000_000, 1_000_000_000, status="approved")
    record("2.2.1", "2024", 4_020_000_000, 100_000_000, status="draft", note="Quý I")
    lines = BudgetLine.objects.filter(plan__slug=CITY_PLAN).count()
    assert lines
    assert not BudgetLine.objects.exclude(plan__slug=CITY_PLAN).exists()
    content = export(planner, period=period, format=fmt).content
    before = snapshot()
    response = upload(planner, content, fmt=fmt)
    assert response.status_code == 200, response.json()
    assert response.json()["errors"] == []
    assert {row["action"] for row in response.json()["rows"]} <= {"unchanged"}
    assert snapshot() == before


def test_import_records_and_updates_amounts_through_the_services(planner: Any) -> None:
    rows = xlsx_rows(export(planner, period="2024H1").content)
    index = line_row(rows, "2.1.1")
    rows[index][ALLOCATED], rows[index][DISBURSED] = "2.500.000.000", "1,2 tỷ"
    response = upload(planner, xlsx(rows), dry_run=True)
    assert response.json()["status"] == "valid"
    assert response.json()["rows"] == [
        {"row": index + 1, "line": "2.1.1", "period": "2024H1", "allocated": 2_500_000_000, "disbursed": 1_200_000_000}
        | {"action": "create"}
    ]
    assert not BudgetExecution.objects.exists()
    confirmed = planner.post(f"/api/imports/{response.json()['id']}/confirm/")
    assert confirmed.json()["status"] == "imported"
    execution = BudgetExecution.objects.get(budget_line__code="2.1.1", period="2024H1")
    assert (execution.allocated, execution.disbursed, execution.version, execution.status) == (
        2_500_000_000,
        1_200_000_000,
        1,
        "draft",
    )

    rows = xlsx_rows(export(planner, period="2024H1").content)
    rows[index][DISBURSED] = 1_500_000_000
    assert upload(planner, xlsx(rows)).json()["status"] == "imported"
    execution.refresh_from_db()
    assert (execution.disbursed, execution.version) == (1_500_000_000, 2)
    assert list(execution.events.values_list("action", "old_disbursed", "new_disbursed")) == [
        ("create", None, 1_200_000_000),
        ("change", 1_200_000_000, 1_500_000_000),
    ]


def refused(client: Any, rows: list[list[Any]]) -> list[dict[str, Any]]:
    before = snapshot()
    response = upload(client, xlsx(rows))
    assert response.status_code == 400, response.json()
    assert snapshot() == before
    return response.json()["errors"]


def with_good_row(rows: list[list[Any]]) -> list[list[Any]]:
    """A valid change, to show that one bad row keeps the good ones out too."""
    index = line_row(rows, "2.2.2")
    rows[index][ALLOCATED], rows[index][DISBURSED] = 2_120_000_000, 0
    return rows


def test_row_level_errors_write_nothing(planner: Any) -> None:
    rows = with_good_row(xlsx_rows(export(planner, period="2024H1").content))
    rows[line_row(rows, "2.1.1")][ALLOCATED] = "hai tỷ"
    rows[line_row(rows, "2.1.2")][DISBURSED] = "-5"
    unknown = list(rows[line_row(rows, "2.2.1")])
    unknown[1], unknown[ALLOCATED] = "9.9", 1
    rows.append(unknown)
    duplicate = list(rows[line_row(rows, "2.2.2")])
    rows.append(duplicate)
    errors = refused(planner, rows)
    assert [(e["row"], e["column"]) for e in errors] == [
        (line_row(rows, "2.1.1") + 1, "Dự toán giao (đồng)"),
        (line_row(rows, "2.1.2") + 1, "Đã giải ngân (đồng)"),
        (len(rows) - 1, "Mã dòng"),
        (len(rows), None),
    ]
    assert errors[0]["message"] == "Không đọc được số tiền: «hai tỷ»"
    assert errors[1]["message"] == "Số tiền không được âm: «-5»"
    rows = with_good_row(xlsx_rows(export(planner, period="2024H1").content))
    rows[line_row(rows, "2.2.3")][7], rows[line_row(rows, "2.2.3")][ALLOCATED] = "2025", 1
    errors = refused(planner, rows)  # the service's own rule: the line's year
    assert [(e["row"], e["column"]) for e in errors] == [(line_row(rows, "2.2.3") + 1, "Kỳ báo cáo")]
    assert "2024" in errors[0]["message"]


def test_locked_and_stale_amounts_are_refused(planner: Any, record: Any) -> None:
    record("2.1.1", "2024H1", 2_500_000_000, 1_000_000_000, status="approved")
    record("2.1.2", "2024H1", 3_999_220_000, 0, status="draft")
    rows = with_good_row(xlsx_rows(export(planner, period="2024H1").content))
    rows[line_row(rows, "2.1.1")][DISBURSED] = 2_000_000_000
    rows[line_row(rows, "2.1.2")][DISBURSED] = 5
    rows[line_row(rows, "2.1.2")][VERSION] = 7
    errors = refused(planner, rows)
    assert [(e["row"], e["column"]) for e in errors] == [
        (line_row(rows, "2.1.1") + 1, "Dự toán giao (đồng)"),
        (line_row(rows, "2.1.2") + 1, "Dự toán giao (đồng)"),
    ]
    assert "khóa" in errors[0]["message"]


def test_only_the_plans_planners_import_amounts(reviewer: Any, api_as: Any) -> None:
    rows = with_good_row(xlsx_rows(export(api_as("laocai.planner"), period="2024H1").content))
    before = snapshot()
    response = upload(reviewer, xlsx(rows))
    assert response.status_code == 403
    assert snapshot() == before
    message = "Bạn không có quyền nhập kinh phí của kế hoạch này."
    assert response.json()["errors"] == [{"row": None, "column": None, "message": message}]
