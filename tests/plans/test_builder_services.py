"""The plan builder's services: a planner sets up a plan from nothing; no one else may; an issued
plan's targets change only by a revision; a plan with figures is not deleted."""

from datetime import date
from decimal import Decimal

import pytest

from budgets.lines import budget_line_create, budget_line_delete, budget_line_update
from budgets.models import FundingSource
from healthplans.models import OrgUnit, Role, User
from healthplans.workflow import Conflict, Forbidden, Invalid, ReviewStatus
from indicators.definitions import (
    baseline_set,
    indicator_create,
    indicator_delete,
    target_delete,
    target_revise,
    target_set,
    target_split,
)
from indicators.models import Target, TargetRevision, UnitKind, ValueType
from indicators.selectors import fillable_forms
from plans.models import Assignment, Plan
from plans.services import (
    agency_pick_or_add,
    assignment_create,
    objective_create,
    plan_close,
    plan_create,
    plan_delete,
    plan_issue,
    plan_update,
    section_create,
    task_create,
)
from tests.factories import FigureFactory, OrgUnitFactory, RoleAssignmentFactory, StationFactory, writer_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def province() -> OrgUnit:
    unit = OrgUnitFactory.create()
    for n in range(3):
        OrgUnitFactory.create(parent=unit, level=OrgUnit.Level.COMMUNE, code=f"{unit.code}-xa-{n}")
    return OrgUnit.objects.get(pk=unit.pk)


@pytest.fixture
def planner(province: OrgUnit) -> User:
    return writer_at(province)


def new_plan(province: OrgUnit, planner: User) -> Plan:
    return plan_create(
        issuer_org_unit=province,
        fields={"title": "Kế hoạch thử", "start_year": 2025, "end_year": 2026, "document_number": "12/KH-UBND"},
        by=planner,
    )


def someone(role: str, unit: OrgUnit) -> User:
    return RoleAssignmentFactory.create(role=role, org_unit=unit).user


def test_planner_builds_a_plan_from_nothing(province: OrgUnit, planner: User) -> None:
    plan = new_plan(province, planner)
    assert plan.status == Plan.Status.DRAFT
    assert plan.tenant_id == province.tenant_id
    objective_create(plan=plan, kind="general", text="Nâng cao sức khỏe", by=planner)
    section = section_create(plan=plan, number="1", title="Nhiệm vụ", by=planner)
    lead = agency_pick_or_add(plan=plan, name="Sở Y tế", by=planner)
    assert agency_pick_or_add(plan=plan, name="sở y tế", by=planner) == lead  # picked, not added twice
    task = task_create(section=section, text="Tiêm chủng", lead=lead, amount_text="2,5 tỷ", by=planner)
    assert (task.amount, task.amount_text) == (2_500_000_000, "2,5 tỷ")
    assignment = assignment_create(plan=plan, agency=lead, role=Assignment.Role.LEAD, text="Chủ trì", by=planner)
    assert assignment.order == 1

    rate = indicator_create(plan=plan, number="1", name="Tỷ lệ tiêm chủng", unit="%", by=planner)
    assert (rate.unit_kind, rate.rollup) == (UnitKind.PERCENT, "pooled")
    baseline = baseline_set(indicator=rate, year=2024, text="94,15", by=planner)
    assert (baseline.comparator, baseline.value) == ("", Decimal("94.15"))
    target = target_set(indicator=rate, year=2025, text="≥80%", by=planner)
    assert (target.comparator, target.value, target.text) == (">=", Decimal(80), "≥80%")
    falling = indicator_create(plan=plan, number="2", name="Tỷ lệ SDD", unit="%", direction="lower", by=planner)
    assert target_set(indicator=falling, year=2025, text="còn dưới 9,98%", by=planner).comparator == "<"
    yes_no = indicator_create(plan=plan, number="3", name="Có kế hoạch", value_type=ValueType.YES_NO, by=planner)
    assert target_set(indicator=yes_no, year=2025, text="Đạt", by=planner).value == Decimal(1)

    source = FundingSource.objects.first()
    parent = budget_line_create(plan=plan, code="I", name="Tổng", year=2025, amount_text="3 tỷ", by=planner)
    child = budget_line_create(
        plan=plan, code="I.1", name="Tiêm", year=2025, amount_text="300 triệu", parent=parent,
        funding_source=source, agency=lead, task_section=section, by=planner,
    )  # fmt: skip
    assert (parent.amount, child.amount) == (3_000_000_000, 300_000_000)
    child = budget_line_update(line=child, fields={"amount_text": "1.000.000 đồng"}, by=planner)
    assert child.amount == 1_000_000

    plan_update(plan=plan, fields={"place": "Lào Cai", "reporting_frequencies": ["year"]}, by=planner)
    plan_issue(plan=plan, by=planner)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.ACTIVE
    plan_close(plan=plan, by=planner)
    with pytest.raises(Conflict):
        objective_create(plan=plan, kind="general", text="Sau khi đóng", by=planner)


def test_amounts_and_targets_as_written_are_read_or_refused(province: OrgUnit, planner: User) -> None:
    plan = new_plan(province, planner)
    section = section_create(plan=plan, number="1", title="Nhiệm vụ", by=planner)
    with pytest.raises(Invalid) as refused:
        task_create(section=section, text="x", amount_text="hai tỷ", by=planner)
    assert "amount_text" in refused.value.fields
    rate = indicator_create(plan=plan, number="1", name="Tỷ lệ", unit="%", by=planner)
    with pytest.raises(Invalid):
        target_set(indicator=rate, year=2025, text="120%", by=planner)  # a percentage above 100
    with pytest.raises(Invalid):
        target_set(indicator=rate, year=2031, text="80%", by=planner)  # outside the plan's years


@pytest.mark.parametrize("who", ["other-tenant planner", "reviewer", "station reporter"])
def test_only_the_issuing_units_planners_create_or_change_plans(province: OrgUnit, planner: User, who: str) -> None:
    plan = new_plan(province, planner)
    commune = OrgUnit.objects.filter(path__startswith=province.path, level=OrgUnit.Level.COMMUNE).first()
    assert commune is not None
    actor = {
        "other-tenant planner": lambda: writer_at(OrgUnitFactory.create()),
        "reviewer": lambda: someone(Role.REVIEWER, province),
        "station reporter": lambda: someone(Role.STATION_REPORTER, commune),
    }[who]()
    with pytest.raises(Forbidden):
        plan_create(issuer_org_unit=province, fields={"title": "x", "start_year": 2025, "end_year": 2025}, by=actor)
    with pytest.raises(Forbidden):
        plan_update(plan=plan, fields={"title": "Đổi tên"}, by=actor)
    with pytest.raises(Forbidden):
        indicator_create(plan=plan, number="9", name="x", by=actor)
    with pytest.raises(Forbidden):
        budget_line_create(plan=plan, code="X", name="x", year=2025, amount_text="1 tỷ", by=actor)
    with pytest.raises(Forbidden):
        plan_issue(plan=plan, by=actor)
    with pytest.raises(Forbidden):
        agency_pick_or_add(plan=plan, name="Cơ quan lạ", by=actor)
    assert Plan.objects.get(pk=plan.pk).title == "Kế hoạch thử"


def test_issued_target_changes_only_by_a_revision(province: OrgUnit, planner: User) -> None:
    plan = new_plan(province, planner)
    rate = indicator_create(plan=plan, number="1", name="Tỷ lệ", unit="%", by=planner)
    target = target_set(indicator=rate, year=2025, text="≥80%", by=planner)
    target = target_set(indicator=rate, year=2025, text="≥82%", by=planner)  # a draft changes freely
    plan_issue(plan=plan, by=planner)
    rate.plan.refresh_from_db()

    with pytest.raises(Conflict) as refused:
        target_set(indicator=rate, year=2025, text="≥90%", by=planner)
    assert refused.value.code == "plan_issued"
    assert refused.value.message.startswith("Kế hoạch đã ban hành")
    with pytest.raises(Conflict):
        target_delete(target=target, by=planner)
    with pytest.raises(Conflict):
        indicator_delete(indicator=rate, by=planner)
    with pytest.raises(Invalid) as no_reason:
        target_revise(target=target, text="≥85%", reason=" ", decision_number="", decision_date=date(2025, 6, 1),
                      by=planner)  # fmt: skip
    assert set(no_reason.value.fields) == {"reason", "decision_number"}

    revision = target_revise(
        target=target, text="≥85%", reason="Dịch bệnh", decision_number="45/QĐ-UBND",
        decision_date=date(2025, 6, 1), by=planner,
    )  # fmt: skip
    assert (revision.old_text, revision.new_text, revision.by) == ("≥82%", "≥85%", planner)
    stored = Target.objects.get(pk=target.pk)
    assert (stored.value, stored.text, stored.revision_count) == (Decimal(85), "≥85%", 1)
    assert "45/QĐ-UBND" in stored.revised_by
    in_force = type(rate).objects.prefetch_related("targets").get(pk=rate.pk).target_for(2025)
    assert in_force is not None
    assert in_force.text == "≥85%"
    assert TargetRevision.objects.filter(target=target).count() == 1
    with pytest.raises(Forbidden):
        target_revise(target=target, text="≥1%", reason="x", decision_number="1", decision_date=date(2025, 6, 2),
                      by=someone(Role.REVIEWER, province))  # fmt: skip


def test_a_provinces_target_splits_across_its_communes(province: OrgUnit, planner: User) -> None:
    plan = new_plan(province, planner)
    count = indicator_create(plan=plan, number="1", name="Số trạm", unit="Trạm", by=planner)
    assert count.unit_kind == UnitKind.COUNT
    target_set(indicator=count, year=2025, text="10", by=planner)
    split = target_split(indicator=count, year=2025, by=planner)
    assert [t.value for t in split] == [Decimal(4), Decimal(3), Decimal(3)]
    communes = [t.org_unit for t in split if t.org_unit is not None]
    with pytest.raises(Invalid) as refused:
        target_split(indicator=count, year=2025, values={communes[0]: "5", communes[1]: "4"}, by=planner)
    assert "9" in refused.value.message
    assert "10" in refused.value.message
    split = target_split(indicator=count, year=2025, values={communes[0]: "6", communes[1]: "4"}, by=planner)
    assert [t.text for t in split] == ["6", "4"]

    rate = indicator_create(plan=plan, number="2", name="Tỷ lệ", unit="%", by=planner)
    target_set(indicator=rate, year=2025, text="≥80%", by=planner)
    assert {t.text for t in target_split(indicator=rate, year=2025, by=planner)} == {"≥80%"}


def test_a_plan_with_figures_cannot_be_deleted(province: OrgUnit, planner: User) -> None:
    plan = new_plan(province, planner)
    rate = indicator_create(plan=plan, number="1", name="Tỷ lệ", unit="%", by=planner)
    line = budget_line_create(plan=plan, code="I", name="Tổng", year=2025, amount_text="1 tỷ", by=planner)
    plan_issue(plan=plan, by=planner)  # figures are entered against an issued plan only
    FigureFactory.create(indicator=rate, org_unit=province, period="2025", status=ReviewStatus.DRAFT)
    with pytest.raises(Conflict) as refused:
        plan_delete(plan=plan, by=planner)
    assert refused.value.code == "plan_protected"
    assert Plan.objects.filter(pk=plan.pk).exists()
    budget_line_delete(line=line, by=planner)

    empty = new_plan(province, planner)
    plan_delete(plan=empty, by=planner)
    assert not Plan.objects.filter(pk=empty.pk).exists()


def test_a_draft_asks_stations_for_no_figures_until_issued(province: OrgUnit, planner: User) -> None:
    commune = OrgUnit.objects.filter(path__startswith=province.path, level=OrgUnit.Level.COMMUNE).first()
    station_unit = StationFactory.create(parent=commune)
    station = someone(Role.STATION_REPORTER, station_unit)
    plan = plan_create(
        issuer_org_unit=province,
        fields={"title": "KH", "start_year": 2025, "end_year": 2025, "reporting_frequencies": ["year"]},
        by=planner,
    )
    indicator_create(plan=plan, number="1", name="Tỷ lệ", unit="%", entry_level="station", by=planner)
    assert [entry.plan for entry in fillable_forms(station, today=date(2026, 1, 15))] == []
    plan_issue(plan=plan, by=planner)
    assert [entry.plan for entry in fillable_forms(station, today=date(2026, 1, 15))] == [plan]
