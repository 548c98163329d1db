"""The targets' sheet obeys the plan's life, since it writes through the plan builder's services: a
draft's targets are set, an issued plan's target changes only by a revision named in the row's own
columns (reason, decision number and date), a closed plan takes nothing; refusals by row and column,
and nothing written. Its writes take a fixed number of queries whatever the rows."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from healthplans.models import User
from indicators.definitions import (
    Decision,
    TargetEntry,
    indicator_create,
    target_revise_many,
    target_set_many,
    unit_kind_of,
)
from indicators.models import Indicator, Target, TargetRevision, UnitKind
from indicators.spreadsheets.targets import COL_DECISION_DATE, COL_DECISION_NUMBER, COL_REASON, REVISION_HEADERS
from plans.models import Plan
from plans.services import plan_close, plan_issue
from tests.conftest import CountQueries
from tests.workbooks import xlsx, xlsx_rows

pytestmark = pytest.mark.django_db

GSD_PLAN = "backan-gsd-2025-2030"  # issued, as every seed plan


def planner() -> User:
    return User.objects.get(username="backan.planner")


def upload(client: Any, rows: list[list[Any]], *, plan: Plan, dry_run: bool = False) -> Any:
    return client.post(
        "/api/imports/",
        {
            "file": SimpleUploadedFile("targets.xlsx", xlsx(rows)),
            "plan": plan.pk,
            "kind": "targets",
            "dry_run": str(dry_run).lower(),
        },
        format="multipart",
    )


def exported(client: Any, plan: Plan) -> list[list[Any]]:
    return xlsx_rows(client.get(f"/api/plans/{plan.pk}/export/", {"kind": "targets"}).content)


def stored_targets(plan: Plan) -> list[tuple[Any, ...]]:
    return list(
        Target.objects.filter(indicator__plan=plan)
        .order_by("pk")
        .values_list("pk", "comparator", "value", "text", "revision_count")
    )


def draft_plan(indicators: int = 2, *, slug: str = "backan-draft") -> Plan:
    """A draft of Bắc Kạn's planner with `indicators` percentages and their 2025 targets."""
    seed = Plan.objects.select_related("issuer_org_unit").get(slug=GSD_PLAN)
    plan = Plan.objects.create(
        tenant=seed.tenant,
        slug=slug,
        issuer=seed.issuer,
        issuer_org_unit=seed.issuer_org_unit,
        title="Kế hoạch nháp",
        start_year=2025,
        end_year=2030,
        status=Plan.Status.DRAFT,
    )
    for number in range(1, indicators + 1):
        indicator = indicator_create(plan=plan, number=str(number), name=f"Tỷ lệ {number}", unit="%", by=planner())
        target_set_many(plan=plan, entries=[TargetEntry(indicator, 2025, "≥80%")], by=planner())
    return plan


def changed_cell(rows: list[list[Any]], text: str = "≥ 99,5") -> tuple[int, str, Target]:
    """Changes a percentage's first target in the sheet; (sheet row, year column, the target)."""
    header = rows[0]
    targets = Target.objects.filter(
        indicator__plan__slug=GSD_PLAN, indicator__unit_kind=UnitKind.PERCENT, org_unit=None
    ).select_related("indicator")
    target = min(targets, key=lambda t: (t.indicator.order, t.year))
    index = next(i for i, row in enumerate(rows) if row[0] == target.indicator.number)
    rows[index][header.index(str(target.year))] = text
    return index + 1, str(target.year), target


# ---------------------------------------------------------------------------------------------
# An issued plan


def test_an_issued_plans_sheet_offers_the_revision_columns(api_as: Any) -> None:
    rows = exported(api_as("backan.planner"), Plan.objects.get(slug=GSD_PLAN))
    assert rows[0][-3:] == REVISION_HEADERS


def test_an_issued_plans_target_changed_without_a_revision_is_refused_and_nothing_written(api_as: Any) -> None:
    client = api_as("backan.planner")
    plan = Plan.objects.get(slug=GSD_PLAN)
    rows = exported(client, plan)
    row, year, _target = changed_cell(rows)
    before = stored_targets(plan)
    response = upload(client, rows, plan=plan)
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert [(error["row"], error["column"]) for error in errors] == [(row, year)]
    assert errors[0]["message"].startswith(f"Kế hoạch đã ban hành: chỉ tiêu năm {year} chỉ thay đổi bằng điều chỉnh")
    assert COL_REASON in errors[0]["message"]
    assert stored_targets(plan) == before
    assert not TargetRevision.objects.exists()


def test_an_issued_plans_target_is_revised_by_the_rows_decision(api_as: Any) -> None:
    client = api_as("backan.planner")
    plan = Plan.objects.get(slug=GSD_PLAN)
    rows = exported(client, plan)
    row, _year, target = changed_cell(rows)
    rows[row - 1][-3:] = ["Điều chỉnh theo kết quả giữa kỳ", "12/QĐ-UBND", date(2026, 3, 15)]  # a date cell

    preview = upload(client, rows, plan=plan, dry_run=True)
    assert preview.status_code == 200, preview.json()
    assert [r["action"] for r in preview.json()["rows"]] == ["revise"]
    response = client.post(f"/api/imports/{preview.json()['id']}/confirm/")
    assert response.status_code == 200, response.json()

    revision = TargetRevision.objects.get()
    assert (revision.target_id, revision.old_text, revision.new_text) == (target.pk, target.text, "≥ 99,5")
    assert (revision.reason, revision.decision_number) == ("Điều chỉnh theo kết quả giữa kỳ", "12/QĐ-UBND")
    assert revision.decision_date == date(2026, 3, 15)
    assert revision.by == planner()
    stored = Target.objects.get(pk=target.pk)
    assert (stored.comparator, stored.value, stored.text, stored.revision_count) == (">=", Decimal("99.5"), "≥ 99,5", 1)
    assert "12/QĐ-UBND" in stored.revised_by


def test_a_revision_written_day_first_is_read(api_as: Any) -> None:
    client = api_as("backan.planner")
    plan = Plan.objects.get(slug=GSD_PLAN)
    rows = exported(client, plan)
    row, _year, _target = changed_cell(rows)
    rows[row - 1][-3:] = ["Giữa kỳ", "12/QĐ-UBND", "5/3/2026"]
    assert upload(client, rows, plan=plan).status_code == 200
    assert TargetRevision.objects.get().decision_date == date(2026, 3, 5)


@pytest.mark.parametrize(
    ("revision", "column", "message"),
    [
        (["Giữa kỳ", "", "15/03/2026"], COL_DECISION_NUMBER, "nêu lý do và quyết định"),
        (["", "12/QĐ-UBND", "15/03/2026"], COL_REASON, "nêu lý do và quyết định"),
        (["Giữa kỳ", "12/QĐ-UBND", "giữa tháng ba"], COL_DECISION_DATE, "dd/mm/yyyy"),
        (["Giữa kỳ", "12/QĐ-UBND", "31/02/2026"], COL_DECISION_DATE, "dd/mm/yyyy"),
    ],
)
def test_an_incomplete_revision_is_refused_on_its_column(
    api_as: Any, revision: list[str], column: str, message: str
) -> None:
    client = api_as("backan.planner")
    plan = Plan.objects.get(slug=GSD_PLAN)
    rows = exported(client, plan)
    row, _year, _target = changed_cell(rows)
    rows[row - 1][-3:] = revision
    before = stored_targets(plan)
    response = upload(client, rows, plan=plan)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["row"], error["column"]) for error in errors] == [(row, column)]
    assert message in errors[0]["message"]
    assert stored_targets(plan) == before


def test_an_issued_plan_takes_no_new_indicator_nor_target(api_as: Any) -> None:
    client = api_as("backan.planner")
    plan = Plan.objects.get(slug=GSD_PLAN)
    rows = exported(client, plan)
    header = rows[0]
    rows.append(["99", "Chỉ số mới", "%", *("80" if heading.isdigit() else "" for heading in header[3:])])
    before = stored_targets(plan)
    response = upload(client, rows, plan=plan)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["row"], error["column"]) for error in errors] == [(len(rows), "Số TT")]
    assert errors[0]["message"].startswith("Kế hoạch đã ban hành")
    assert stored_targets(plan) == before
    assert not Indicator.objects.filter(plan=plan, number="99").exists()


def test_a_renamed_indicator_of_an_issued_plan_is_renamed(api_as: Any) -> None:
    """The wording changes once issued; what figures are read against does not."""
    client = api_as("backan.planner")
    plan = Plan.objects.get(slug=GSD_PLAN)
    rows = exported(client, plan)
    rows[1][1] = "Tên mới của chỉ số"
    assert upload(client, rows, plan=plan).status_code == 200
    assert Indicator.objects.get(plan=plan, number=rows[1][0]).name == "Tên mới của chỉ số"


# ---------------------------------------------------------------------------------------------
# A draft, a closed plan


def test_a_drafts_targets_are_set_and_no_revision_is_kept(api_as: Any) -> None:
    client = api_as("backan.planner")
    plan = draft_plan()
    rows = exported(client, plan)
    assert [heading for heading in rows[0] if heading in REVISION_HEADERS] == []
    rows[1][3], rows[2][4] = "≥ 85%", "≥ 90%"  # a changed target and a new one
    response = upload(client, rows, plan=plan)
    assert response.status_code == 200, response.json()
    assert {(t.indicator.number, t.year): t.text for t in Target.objects.filter(indicator__plan=plan)} == {
        ("1", 2025): "≥ 85%",
        ("2", 2025): "≥80%",
        ("2", 2026): "≥ 90%",
    }
    assert not TargetRevision.objects.exists()


def test_a_closed_plan_takes_no_change(api_as: Any) -> None:
    client = api_as("backan.planner")
    plan = draft_plan()
    plan_issue(plan=plan, by=planner())
    plan_close(plan=plan, by=planner())
    rows = exported(client, plan)
    rows[1][3] = "≥ 85%"
    rows[1].extend(["Giữa kỳ", "12/QĐ-UBND", "15/03/2026"])
    rows[0].extend(REVISION_HEADERS)
    before = stored_targets(plan)
    response = upload(client, rows, plan=plan)
    assert response.status_code == 400
    assert [error["message"] for error in response.json()["errors"]] == ["Kế hoạch đã kết thúc: không sửa được nữa."]
    assert stored_targets(plan) == before


# ---------------------------------------------------------------------------------------------
# A fixed number of queries


def test_an_imports_queries_do_not_grow_with_its_rows(api_as: Any, count_queries: CountQueries) -> None:
    client = api_as("backan.planner")
    counts = []
    for size in (2, 8):
        plan = draft_plan(size, slug=f"backan-draft-{size}")
        rows = exported(client, plan)
        for row in rows[1:]:
            row[3], row[4] = "≥ 85%", "≥ 90%"
        rows.append([f"{size + 1}", "Chỉ số mới", "Trạm", "3", "4"] + [""] * (len(rows[0]) - 5))
        with count_queries() as queries:
            assert upload(client, rows, plan=plan).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_bulk_services_queries_do_not_grow_with_their_entries(count_queries: CountQueries) -> None:
    plan = Plan.objects.get(slug=GSD_PLAN)
    indicators = list(plan.indicators.order_by("order"))
    decision = Decision("Giữa kỳ", "12/QĐ-UBND", date(2026, 3, 15))
    counts = []
    for chosen in (indicators[:1], indicators[1:3], indicators[3:11]):  # the first warms what is read once
        with count_queries() as queries:
            target_revise_many(
                plan=plan,
                revisions=[(TargetEntry(indicator, 2030, "≥ 1"), decision) for indicator in chosen],
                by=planner(),
            )
        counts.append(len(queries))
    assert counts[1] == counts[2]
    assert TargetRevision.objects.count() == 11


# ---------------------------------------------------------------------------------------------
# The kind a unit as written names (a new indicator's, a document's draft's)


@pytest.mark.parametrize(
    ("unit", "kind"),
    [
        ("%", UnitKind.PERCENT),
        ("/1000 trẻ đẻ sống (%)", UnitKind.PERMILLE),  # per thousand, whatever sign a document adds
        ("/1.000 dân", UnitKind.PERMILLE),
        ("‰", UnitKind.PERMILLE),
        ("/10.000 dân", UnitKind.PER_10000),
        ("/vạn dân", UnitKind.PER_10000),
        ("p100.000", UnitKind.PER_100000),
        ("1000 người", UnitKind.COUNT),
        ("trai/100 gái", UnitKind.RATIO),
    ],
)
def test_a_units_kind_is_read_from_its_words(unit: str, kind: str) -> None:
    assert unit_kind_of(unit) == kind
