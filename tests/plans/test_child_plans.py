"""Child plans' service: a planner of the province's territory sets up a commune's plan that
implements the province's; its indicators are the parent's, linked to them and to the catalogue;
its targets are the parent's where the parent says what falls to the commune, and nothing is
invented where it does not."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from healthplans.models import OrgUnit, Role, User
from healthplans.workflow import Conflict, Forbidden, Invalid
from indicators.children import plan_create_child
from indicators.definitions import indicator_create, target_set
from indicators.models import CatalogueMeasure, EntryLevel, Indicator, Rollup, UnitKind
from plans.models import Plan
from plans.services import plan_create, plan_issue
from tests.factories import OrgUnitFactory, RoleAssignmentFactory, writer_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def province() -> OrgUnit:
    unit = OrgUnitFactory.create()
    for n in range(3):
        OrgUnitFactory.create(parent=unit, level=OrgUnit.Level.COMMUNE, code=f"{unit.code}-xa-{n}", name=f"Xã {n}")
    return OrgUnit.objects.get(pk=unit.pk)


@pytest.fixture
def communes(province: OrgUnit) -> list[OrgUnit]:
    return list(OrgUnit.objects.filter(path__startswith=province.path, depth=province.depth + 1).order_by("path"))


@pytest.fixture
def planner(province: OrgUnit) -> User:
    return writer_at(province)


@pytest.fixture
def parent(province: OrgUnit, communes: list[OrgUnit], planner: User) -> Plan:
    """The province's issued plan of 2025–2026: a count (100 in 2025, 40 of it for the first commune)
    and a rate (≥ 80 % in 2025, ≥ 90 % at the second commune, ≥ 85 % in 2026), in the catalogue."""
    plan = plan_create(
        issuer_org_unit=province, fields={"title": "Kế hoạch tỉnh", "start_year": 2025, "end_year": 2026}, by=planner
    )
    measure = CatalogueMeasure.objects.create(code="child-test-vaccinated", name="Tiêm chủng", unit_kind="percent")
    count = indicator_create(
        plan=plan, number="1", name="Số ca khám", unit="ca", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM, by=planner
    )
    rate = indicator_create(
        plan=plan, number="2", name="Tỷ lệ tiêm chủng", unit="%", catalogue=measure, group="output", by=planner
    )
    target_set(indicator=count, year=2025, text="100", by=planner)
    target_set(indicator=count, year=2025, text="40", org_unit=communes[0], by=planner)
    target_set(indicator=rate, year=2025, text="≥80%", by=planner)
    target_set(indicator=rate, year=2025, text="≥90%", org_unit=communes[1], by=planner)
    target_set(indicator=rate, year=2026, text="≥85%", by=planner)
    return plan_issue(plan=plan, by=planner)


def child_of(parent: Plan, unit: OrgUnit, by: User, **fields: object) -> Plan:
    return plan_create_child(
        parent=parent,
        org_unit=unit,
        fields={"title": f"Kế hoạch {unit.name}", **fields},
        indicators=list(parent.indicators.all()),
        by=by,
    )


def targets_of(indicator: Indicator) -> dict[int, tuple[str, Decimal]]:
    return {t.year: (t.comparator, t.value) for t in indicator.targets.all() if t.org_unit_id is None}


def test_child_is_a_draft_of_the_commune_implementing_the_parent(
    parent: Plan, communes: list[OrgUnit], planner: User
) -> None:
    child = child_of(parent, communes[0], planner, document_number="5/KH-UBND")
    assert (child.status, child.parent_id, child.issuer_org_unit_id) == (Plan.Status.DRAFT, parent.pk, communes[0].pk)
    assert (child.start_year, child.end_year) == (2025, 2026)  # the parent's, unless given
    assert child.tenant_id == parent.tenant_id
    assert child.document_number == "5/KH-UBND"


def test_child_indicators_are_linked_to_the_parents_and_measured_alike(
    parent: Plan, communes: list[OrgUnit], planner: User
) -> None:
    child = child_of(parent, communes[0], planner)
    copies = list(child.indicators.select_related("parent_indicator").order_by("order"))
    assert [copy.number for copy in copies] == ["1", "2"]
    assert [copy.parent_indicator for copy in copies] == list(parent.indicators.order_by("order"))
    measured = ["number", "name", "unit", "unit_kind", "direction", "rollup", "value_type", "group", "catalogue_id"]
    for copy in copies:
        assert [getattr(copy, f) for f in measured] == [getattr(copy.parent_indicator, f) for f in measured]
    rate = copies[1]
    assert rate.catalogue is not None
    assert rate.catalogue.code == "child-test-vaccinated"
    # The province enters at its own level; the commune's plan at the commune.
    assert {copy.entry_level for copy in copies} == {EntryLevel.COMMUNE}


def test_count_takes_the_parents_target_for_the_unit_and_a_rate_the_parents_target(
    parent: Plan, communes: list[OrgUnit], planner: User
) -> None:
    child = child_of(parent, communes[0], planner)
    count, rate = child.indicators.order_by("order")
    assert targets_of(count) == {2025: (">=", Decimal(40))}  # 2026: no unit target, none invented
    assert targets_of(rate) == {2025: (">=", Decimal(80)), 2026: (">=", Decimal(85))}
    assert [t.text for t in rate.targets.order_by("year")] == ["≥80%", "≥85%"]


def test_count_without_a_unit_target_is_left_for_the_planner(
    parent: Plan, communes: list[OrgUnit], planner: User
) -> None:
    child = child_of(parent, communes[1], planner)
    count, rate = child.indicators.order_by("order")
    assert targets_of(count) == {}  # never the 100 of the province, nor a share of it
    assert targets_of(rate) == {2025: (">=", Decimal(90)), 2026: (">=", Decimal(85))}  # the commune's own 90


def test_child_of_the_parents_own_unit_takes_the_plan_wide_count(
    parent: Plan, province: OrgUnit, planner: User
) -> None:
    child = child_of(parent, province, planner, title="Kế hoạch của Sở Y tế")
    count, _rate = child.indicators.order_by("order")
    assert targets_of(count) == {2025: (">=", Decimal(100))}


def test_only_chosen_indicators_are_taken_over(parent: Plan, communes: list[OrgUnit], planner: User) -> None:
    rate = parent.indicators.get(number="2")
    child = plan_create_child(
        parent=parent, org_unit=communes[2], fields={"title": "Kế hoạch xã"}, indicators=[rate], by=planner
    )
    assert [i.parent_indicator_id for i in child.indicators.all()] == [rate.pk]


def test_unit_outside_the_parents_territory_is_refused(parent: Plan, planner: User) -> None:
    elsewhere = OrgUnitFactory.create()
    RoleAssignmentFactory.create(user=planner, org_unit=elsewhere, role=Role.PLANNER)
    plans = Plan.objects.count()
    with pytest.raises(Invalid) as refused:
        child_of(parent, elsewhere, planner)
    assert "nằm ngoài địa bàn" in refused.value.message
    assert set(refused.value.fields) == {"org_unit"}
    assert Plan.objects.count() == plans


def test_a_commune_planner_sets_up_its_own_child_only(parent: Plan, communes: list[OrgUnit]) -> None:
    commune_planner = writer_at(communes[0])
    child = child_of(parent, communes[0], commune_planner)
    assert child.issuer_org_unit_id == communes[0].pk
    with pytest.raises(Forbidden):
        child_of(parent, communes[1], commune_planner)


def test_station_reporter_and_reviewer_cannot_set_up_a_child(parent: Plan, communes: list[OrgUnit]) -> None:
    for role in (Role.STATION_REPORTER, Role.REVIEWER):
        someone = RoleAssignmentFactory.create(role=role, org_unit=communes[0]).user
        with pytest.raises(Forbidden):
            child_of(parent, communes[0], someone)
    assert not parent.children.exists()


def test_another_provinces_planner_cannot_implement_a_plan_it_does_not_see(
    parent: Plan, communes: list[OrgUnit]
) -> None:
    stranger = writer_at(OrgUnitFactory.create())
    with pytest.raises(Forbidden):
        child_of(parent, communes[0], stranger)
    assert not parent.children.exists()


def test_a_draft_plan_has_no_children_yet(province: OrgUnit, communes: list[OrgUnit], planner: User) -> None:
    draft = plan_create(
        issuer_org_unit=province, fields={"title": "Dự thảo", "start_year": 2025, "end_year": 2025}, by=planner
    )
    with pytest.raises(Conflict):
        child_of(draft, communes[0], planner)


def test_child_runs_within_the_parents_period(parent: Plan, communes: list[OrgUnit], planner: User) -> None:
    with pytest.raises(Invalid) as refused:
        child_of(parent, communes[0], planner, start_year=2025, end_year=2027)
    assert set(refused.value.fields) == {"start_year", "end_year"}


def test_indicators_of_another_plan_are_refused(parent: Plan, communes: list[OrgUnit], planner: User) -> None:
    other = plan_create(
        issuer_org_unit=parent.issuer_org_unit,
        fields={"title": "Kế hoạch khác", "start_year": 2025, "end_year": 2025},
        by=planner,
    )
    stray = indicator_create(plan=other, number="9", name="Chỉ tiêu khác", unit="%", by=planner)
    with pytest.raises(Invalid):
        plan_create_child(
            parent=parent, org_unit=communes[0], fields={"title": "Kế hoạch xã"}, indicators=[stray], by=planner
        )
    assert not parent.children.exists()


def test_a_link_to_an_indicator_not_of_the_parent_plan_does_not_clean(
    parent: Plan, communes: list[OrgUnit], planner: User
) -> None:
    child = child_of(parent, communes[0], planner)
    unrelated = plan_create(
        issuer_org_unit=parent.issuer_org_unit,
        fields={"title": "Kế hoạch khác", "start_year": 2025, "end_year": 2025},
        by=planner,
    )
    stray = indicator_create(plan=unrelated, number="9", name="Chỉ tiêu khác", unit="%", by=planner)
    indicator = child.indicators.get(number="2")
    indicator.parent_indicator = stray
    with pytest.raises(ValidationError) as refused:
        indicator.full_clean()
    assert "parent_indicator" in refused.value.message_dict
