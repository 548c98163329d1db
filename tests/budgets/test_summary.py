"""Execution rates per line, agency, funding source and plan, from approved amounts; the sums of
Lào Cai city's 2024 tree; mismatches between a parent line and its children shown, not hidden."""

from decimal import Decimal
from typing import Any

import pytest

from budgets.models import BudgetLine
from budgets.selectors import BudgetSummary, budget_summary, execution_rate
from healthplans.models import User
from plans.models import Plan

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"


def summary(period: str = "2024", username: str = "laocai.official") -> BudgetSummary:
    plan = Plan.objects.get(slug=CITY_PLAN)
    return budget_summary(fetched_by=User.objects.get(username=username), plan=plan, period=period)


def by_code(result: BudgetSummary) -> dict[str, Any]:
    return {node.line.code: node for node in result.lines}


def test_laocai_city_2024_tree_adds_up_as_the_document_writes_it() -> None:
    result = summary()
    lines = by_code(result)
    assert [(node.line.code, node.depth) for node in result.lines] == [
        ("2", 0),
        ("2.1", 1),
        ("2.1.1", 2),
        ("2.1.2", 2),
        ("2.2", 1),
        ("2.2.1", 2),
        ("2.2.2", 2),
        ("2.2.3", 2),
    ]
    assert lines["2"].planned == lines["2"].planned_below == 14_676_220_000
    assert lines["2.1"].planned == lines["2.1"].planned_below == 6_499_220_000 == 2_500_000_000 + 3_999_220_000
    assert lines["2.2"].planned == lines["2.2"].planned_below == 8_177_000_000
    assert lines["2.2"].planned == 4_020_000_000 + 2_120_000_000 + 2_037_000_000
    assert result.total.planned == 14_676_220_000
    assert result.mismatches == []
    assert [(g.key, g.planned) for g in result.by_agency] == [
        ("laocai-city-ttyt", 6_499_220_000),
        ("laocai-city-bvdk", 8_177_000_000),
    ]
    assert {g.key: g.planned for g in result.by_funding_source} == {
        "target_programme": 3_999_220_000,
        "": 10_677_000_000,
    }
    # Lines without a funding source come last, under "not stated".
    assert result.by_funding_source[-1].key == ""
    assert (result.total.allocated, result.total.disbursed, result.total.rate) == (None, None, None)


def test_rates_per_line_agency_source_and_plan_count_approved_amounts_only(record: Any) -> None:
    record("2.1.1", "2024", 2_500_000_000, 1_250_000_000)
    record("2.1.2", "2024", 3_999_220_000, 3_999_220_000)
    record("2.2.1", "2024", 4_020_000_000, 2_010_000_000)
    record("2.2.2", "2024", 2_120_000_000, 0)
    record("2.2.3", "2024", 2_037_000_000, 1_000_000_000, status="submitted")
    record("2.2.3", "2024H1", 2_037_000_000, 2_037_000_000)  # another period
    result = summary()
    lines = by_code(result)

    assert (lines["2.1.1"].allocated, lines["2.1.1"].disbursed, lines["2.1.1"].rate) == (
        2_500_000_000,
        1_250_000_000,
        Decimal("50.0"),
    )
    assert lines["2.2.3"].allocated is None
    assert lines["2.2.3"].rate is None
    assert (lines["2.1"].allocated, lines["2.1"].disbursed, lines["2.1"].rate) == (
        6_499_220_000,
        5_249_220_000,
        Decimal("80.8"),
    )
    assert (lines["2.2"].allocated, lines["2.2"].disbursed) == (6_140_000_000, 2_010_000_000)
    assert (result.total.allocated, result.total.disbursed, result.total.rate) == (
        12_639_220_000,
        7_259_220_000,
        Decimal("57.4"),
    )
    assert lines["2"].amounts == result.total.amounts
    agencies = {g.key: (g.allocated, g.disbursed, g.rate) for g in result.by_agency}
    assert agencies == {
        "laocai-city-ttyt": (6_499_220_000, 5_249_220_000, Decimal("80.8")),
        "laocai-city-bvdk": (6_140_000_000, 2_010_000_000, Decimal("32.7")),
    }
    sources = {g.key: (g.allocated, g.disbursed, g.rate) for g in result.by_funding_source}
    assert sources == {
        "target_programme": (3_999_220_000, 3_999_220_000, Decimal("100.0")),
        "": (8_640_000_000, 3_260_000_000, Decimal("37.7")),
    }
    assert result.awaiting == 1
    assert result.mismatches == []


def test_amounts_recorded_on_a_parent_check_its_children_and_a_mismatch_is_shown(record: Any) -> None:
    record("2.1", "2024", 6_499_220_000, 5_000_000_000)  # the allocation decision for the health centre
    record("2.1.1", "2024", 2_500_000_000, 1_250_000_000)
    record("2.1.2", "2024", 3_999_220_000, 3_999_220_000)
    record("2.2", "2024", 8_177_000_000, 4_000_000_000)  # the hospital, not itemised
    result = summary()
    lines = by_code(result)
    health_centre = lines["2.1"]
    assert health_centre.execution_mismatch
    assert not health_centre.planned_mismatch
    # The children's sum counts; the parent's own record stays visible beside it.
    assert (health_centre.disbursed, health_centre.own.disbursed) == (5_249_220_000, 5_000_000_000)
    assert not lines["2.2"].execution_mismatch
    assert lines["2.2"].disbursed == 4_000_000_000
    assert [node.line.code for node in result.mismatches] == ["2.1"]
    assert (result.total.allocated, result.total.disbursed) == (14_676_220_000, 9_249_220_000)
    assert {g.key: g.disbursed for g in result.by_agency} == {
        "laocai-city-ttyt": 5_249_220_000,
        "laocai-city-bvdk": 4_000_000_000,
    }


def test_a_parent_whose_planned_amount_differs_from_its_children_is_marked() -> None:
    BudgetLine.objects.filter(plan__slug=CITY_PLAN, code="2.1.1").update(amount=2_400_000_000)
    result = summary()
    lines = by_code(result)
    assert lines["2.1"].planned_mismatch
    assert (lines["2.1"].planned, lines["2.1"].planned_below) == (6_499_220_000, 6_399_220_000)
    assert [node.line.code for node in result.mismatches] == ["2.1"]
    # Totals add up what the lines below say; the mismatch explains the difference.
    assert result.total.planned == 14_576_220_000


def test_half_year_and_five_year_periods(record: Any) -> None:
    record("2.1.1", "2024H1", 2_500_000_000, 500_000_000)
    record("2.1.1", "2024", 2_500_000_000, 2_000_000_000)
    assert summary("2024H1").total.disbursed == 500_000_000
    assert summary("2024H2").total.disbursed is None
    # A five-year review takes each line's yearly amounts.
    assert summary("2021-2025").total.disbursed == 2_000_000_000
    assert summary("2021-2025").total.planned == 14_676_220_000
    assert summary("2026").lines == []


def test_summary_shows_nothing_of_a_plan_the_user_cannot_see(record: Any) -> None:
    record("2.1.1", "2024", 1, 1)
    other = summary(username="quangngai.planner")
    assert other.lines == []
    assert other.total.planned == 0


@pytest.mark.parametrize(
    ("allocated", "disbursed", "rate"),
    [
        (3, 2, Decimal("66.7")),
        (16, 1, Decimal("6.3")),  # half up, as official statistics round
        (1_987_000_000, 1_987_000_000, Decimal("100.0")),
        (100, 120, Decimal("120.0")),
        (0, 0, None),
        (None, 5, None),
        (5, None, None),
    ],
)
def test_execution_rate(allocated: int | None, disbursed: int | None, rate: Decimal | None) -> None:
    assert execution_rate(allocated, disbursed) == rate
