"""Plan quality checks: each check fires on a plan built to have the quirk and stays silent on one
without it (plans of the factories, no seed); on the seed plans they find the documents' known
quirks; a draft read from a document is checked alike, before anything is saved."""

from decimal import Decimal
from typing import Any

import pytest

from budgets.models import BudgetLine
from healthplans.models import OrgUnit
from healthplans.quality import Check, checks_for, draft_facts
from indicators.models import Baseline, CatalogueMeasure, Direction, Indicator, Rollup, UnitKind
from plans.models import Plan, Section, Task
from tests.factories import IndicatorFactory, OrgUnitFactory, PlanFactory, TargetFactory

pytestmark = pytest.mark.django_db


def found(plan: Plan | Any, code: str) -> list[Check]:
    return [check for check in checks_for(plan) if check.code == code]


def places(plan: Plan, code: str) -> set[str]:
    return {check.where.ref for check in found(plan, code)}


def targets(indicator: Indicator, *values: tuple[int, str]) -> None:
    for year, value in values:
        TargetFactory.create(indicator=indicator, year=year, value=Decimal(value), text=value.replace(".", ","))


def baseline(indicator: Indicator, year: int, value: str) -> None:
    Baseline.objects.create(indicator=indicator, year=year, value=Decimal(value), text=value.replace(".", ","))


# ---- Units and scales ---------------------------------------------------------------------------


def test_a_percentage_of_a_per_mille_measure_is_flagged_and_a_per_mille_one_is_not() -> None:
    measure = CatalogueMeasure.objects.create(
        code="test-u5", name="Tử vong trẻ dưới 5 tuổi", unit_kind=UnitKind.PERMILLE
    )
    plan = PlanFactory.create()
    written_percent = IndicatorFactory.create(plan=plan, unit="%", unit_kind=UnitKind.PERMILLE, catalogue=measure)
    per_mille = IndicatorFactory.create(
        plan=plan, unit="‰", unit_kind=UnitKind.PERMILLE, name="Tử vong trẻ dưới 1 tuổi"
    )
    targets(written_percent, (2024, "18.5"))
    targets(per_mille, (2024, "12.5"))
    assert places(plan, "unit_scale") == {written_percent.number}


def test_a_unit_written_both_per_thousand_and_in_percent_is_flagged() -> None:
    indicator = IndicatorFactory.create(unit="/1000 trẻ đẻ sống (%)", unit_kind=UnitKind.PERMILLE)
    targets(indicator, (2024, "2"))
    [check] = found(indicator.plan, "unit_scale")
    assert check.where.ref == indicator.number
    assert check.source == "/1000 trẻ đẻ sống (%)"


def test_a_percentage_ten_times_the_same_measure_elsewhere_reads_like_per_mille() -> None:
    measure = CatalogueMeasure.objects.create(code="test-growth", name="Tăng dân số", unit_kind=UnitKind.PERCENT)
    elsewhere = IndicatorFactory.create(catalogue=measure)
    targets(elsewhere, (2024, "1.2"))
    plan = PlanFactory.create()
    like_per_mille = IndicatorFactory.create(plan=plan, catalogue=measure)
    targets(like_per_mille, (2024, "8.4"))
    plausible = IndicatorFactory.create(plan=PlanFactory.create(), catalogue=measure)
    targets(plausible, (2024, "1.1"))
    assert places(plan, "unit_scale") == {like_per_mille.number}
    assert found(plausible.plan, "unit_scale") == []


def test_a_count_in_thousands_with_values_in_persons_and_a_count_with_decimals_are_flagged() -> None:
    plan = PlanFactory.create()
    thousands = IndicatorFactory.create(plan=plan, unit="1000 người", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM)
    baseline(thousands, 2024, "1248643")
    decimals = IndicatorFactory.create(plan=plan, unit="giường", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM)
    targets(decimals, (2024, "14.5"))
    whole = IndicatorFactory.create(plan=plan, unit="nghìn người", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM)
    targets(whole, (2024, "1250"))
    assert places(plan, "unit_scale") == {thousands.number, decimals.number}


# ---- The same measure twice ---------------------------------------------------------------------


def test_the_same_measure_twice_by_name_or_catalogue_is_flagged_with_its_mixed_units() -> None:
    measure = CatalogueMeasure.objects.create(code="test-bhyt", name="BHYT", unit_kind=UnitKind.PERCENT)
    plan = PlanFactory.create()
    first = IndicatorFactory.create(plan=plan, name="Tỷ lệ tăng dân số tự nhiên", unit="%")
    again = IndicatorFactory.create(
        plan=plan, name="tỷ lệ tăng dân số  tự nhiên.", unit="‰", unit_kind=UnitKind.PERMILLE
    )
    IndicatorFactory.create(plan=plan, name="Tỷ lệ người dân có thẻ BHYT", catalogue=measure)
    linked = IndicatorFactory.create(plan=plan, name="Bao phủ bảo hiểm y tế", catalogue=measure)
    IndicatorFactory.create(plan=plan, name="Tỷ lệ tiêm chủng")
    for indicator in plan.indicators.all():
        targets(indicator, (2024, "1"))
    assert places(plan, "duplicate") == {again.number, linked.number}
    [mixed] = found(plan, "unit_scale")
    assert mixed.where.ref == again.number
    assert first.number in mixed.message


# ---- Targets ------------------------------------------------------------------------------------


def test_a_target_moving_against_the_direction_or_away_from_the_baseline_is_flagged() -> None:
    plan = PlanFactory.create(end_year=2030)
    falling_baseline = IndicatorFactory.create(plan=plan, direction=Direction.LOWER)
    baseline(falling_baseline, 2024, "2.07")
    targets(falling_baseline, (2025, "2.5"), (2030, "18"))
    rising_series = IndicatorFactory.create(plan=plan)
    targets(rising_series, (2025, "80"), (2026, "85"), (2027, "70"))
    good = IndicatorFactory.create(plan=plan, direction=Direction.LOWER)
    baseline(good, 2024, "20")
    targets(good, (2025, "18"), (2030, "12"))
    kept = IndicatorFactory.create(plan=plan, direction=Direction.KEEP)
    targets(kept, (2025, "5"), (2030, "9"))
    checks = found(plan, "wrong_direction")
    assert {(check.where.ref, check.where.year) for check in checks} == {
        (falling_baseline.number, 2025),
        (rising_series.number, 2027),
    }


def test_a_gap_in_a_yearly_series_is_flagged_but_milestones_are_not() -> None:
    plan = PlanFactory.create(end_year=2030)
    gappy = IndicatorFactory.create(plan=plan)
    targets(gappy, (2025, "80"), (2026, "81"), (2028, "83"))
    milestones = IndicatorFactory.create(plan=plan)
    targets(milestones, (2025, "80"), (2030, "90"))
    checks = found(plan, "series_gap")
    assert [(check.where.ref, check.where.year) for check in checks] == [(gappy.number, 2027)]
    assert milestones.number not in places(plan, "series_gap")


def test_a_percentage_above_100_is_flagged() -> None:
    plan = PlanFactory.create()
    over = IndicatorFactory.create(plan=plan)
    targets(over, (2024, "101"))
    full = IndicatorFactory.create(plan=plan)
    targets(full, (2024, "100"))
    count = IndicatorFactory.create(plan=plan, unit="người", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM)
    targets(count, (2024, "4818"))
    assert places(plan, "percent_over_100") == {over.number}


def test_an_indicator_without_a_target_is_flagged() -> None:
    plan = PlanFactory.create()
    bare = IndicatorFactory.create(plan=plan)
    targets(IndicatorFactory.create(plan=plan), (2024, "90"))
    assert places(plan, "no_target") == {bare.number}


def test_unit_targets_that_do_not_add_up_to_the_plans_are_flagged() -> None:
    province = OrgUnitFactory.create()
    a, b = (OrgUnitFactory.create(parent=province, level=OrgUnit.Level.DISTRICT) for _ in range(2))
    plan = PlanFactory.create(issuer_org_unit=province)
    short = IndicatorFactory.create(plan=plan, unit="ca", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM)
    even = IndicatorFactory.create(plan=plan, unit="ca", unit_kind=UnitKind.COUNT, rollup=Rollup.SUM)
    for indicator, parts in ((short, ("300", "100")), (even, ("300", "150"))):
        targets(indicator, (2024, "450"))
        for unit, value in zip((a, b), parts, strict=True):
            TargetFactory.create(indicator=indicator, org_unit=unit, year=2024, value=Decimal(value), text=value)
    [check] = found(plan, "unit_targets_sum")
    assert (check.where.ref, check.where.year) == (short.number, 2024)
    assert "400" in check.message


# ---- The budget ---------------------------------------------------------------------------------


def budget_line(plan: Plan, code: str, amount: int, parent: BudgetLine | None = None, **more: Any) -> BudgetLine:
    order = BudgetLine.objects.filter(plan=plan).count() + 1
    return BudgetLine.objects.create(
        plan=plan,
        tenant=plan.tenant,
        code=code,
        name=code,
        year=2024,
        amount=amount,
        order=order,
        parent=parent,
        **more,
    )


def test_a_budget_parent_that_differs_from_its_children_is_flagged() -> None:
    plan = PlanFactory.create()
    wrong = budget_line(plan, "1", 1000)
    budget_line(plan, "1.1", 600, wrong)
    budget_line(plan, "1.2", 300, wrong)
    right = budget_line(plan, "2", 900)
    budget_line(plan, "2.1", 900, right)
    [check] = found(plan, "budget_sum")
    assert check.where.ref == "1"
    assert check.where.kind == "budget_line"


def test_a_tasks_amounts_against_the_line_that_pays_for_them_are_flagged() -> None:
    plan = PlanFactory.create()
    hospital = Section.objects.create(plan=plan, order=1, number="1.1", title="Bệnh viện")
    centre = Section.objects.create(plan=plan, order=2, number="1.2", title="Trung tâm")
    Task.objects.create(section=hospital, order=1, text="PCCC", amount=1_987_000_000, amount_text="1.987.000.000 đồng")
    Task.objects.create(section=hospital, order=2, text="Tay vịn", amount=54_000_000, amount_text="54.000.000 đồng")
    Task.objects.create(section=centre, order=1, text="Trạm", amount=2_500_000_000, amount_text="2,5 tỷ VNĐ")
    budget_line(plan, "2.2.3", 2_037_000_000, task_section=hospital)
    budget_line(plan, "2.1.1", 2_500_000_000, task_section=centre)
    [check] = found(plan, "task_budget")
    assert check.where.ref == "2.2.3"
    assert "1.987.000.000 đồng + 54.000.000 đồng" in check.source


# ---- The seed plans -----------------------------------------------------------------------------


def seed_checks(slug: str) -> list[Check]:
    return checks_for(Plan.objects.get(slug=slug))


def test_the_seed_plans_known_quirks_are_found() -> None:
    laocai = seed_checks("laocai-city-de-an-07-2024")
    mismatch = next(check for check in laocai if check.code == "task_budget")
    assert mismatch.where.ref == "2.2.3"
    assert "2.041.000.000" in mismatch.message
    assert "2.037.000.000" in mismatch.message
    laocai_scale = {check.where.ref for check in laocai if check.code == "unit_scale"}
    assert {"II.2.10", "II.2.11", "III.9.8"} <= laocai_scale
    assert ("duplicate", "III.9.8") in {(check.code, check.where.ref) for check in laocai}

    quangngai = seed_checks("quangngai-chi-thi-37")
    assert {"12", "13", "14", "16"} <= {check.where.ref for check in quangngai if check.code == "unit_scale"}
    assert {"11", "12", "13"} <= {check.where.ref for check in quangngai if check.code == "wrong_direction"}
    # Every budget tree of the seeds adds up: only 000's task amounts are at odds with their line.
    everything = [check for plan in Plan.objects.filter(source__endswith=".txt") for check in checks_for(plan)]
    assert [check.where.ref for check in everything if check.code in {"budget_sum", "task_budget"}] == ["2.2.3"]


# ---- A draft, before anything is saved ----------------------------------------------------------


def test_a_documents_draft_is_checked_before_it_is_saved() -> None:
    draft = {
        "indicators": [
            {
                "number": "12",
                "name": "Tỷ suất chết trẻ em dưới 1 tuổi",
                "unit": "/1000 trẻ đẻ sống (%)",
                "direction": "lower",
                "baseline": {"year": 2024, "value": "2.07", "text": "2,07"},
                "targets": [{"year": 2025, "value": "2.5", "text": "2,5"}, {"year": 2030, "value": "18", "text": "18"}],
            },
            {"number": "13", "name": "Tỷ lệ tiêm chủng", "unit": "%", "targets": []},
        ],
        "sections": [
            {"number": "1.1", "tasks": [{"text": "PCCC", "amount": 1_987_000_000, "amount_text": "1.987.000.000"}]}
        ],
        "budget_lines": [
            {"code": "2", "parent": None, "amount": 100, "amount_text": "100"},
            {"code": "2.1", "parent": "2", "amount": 60, "amount_text": "60"},
            {"code": "2.2", "parent": "2", "amount": 30, "amount_text": "30", "task": "1.1"},
        ],
    }
    checks = checks_for(draft_facts(draft))
    assert {(check.code, check.where.ref) for check in checks} == {
        ("unit_scale", "12"),
        ("wrong_direction", "12"),
        ("no_target", "13"),
        ("budget_sum", "2"),
        ("task_budget", "2.2"),
    }
