"""A parent plan's dashboard shows its child plans' contributions: each child's unit, target and
approved figure, and whether the children's targets add up to the parent's (a count's do or
miss it by so much; a rate's are not summed), in a fixed number of queries whatever the number of
children, and only of the children the user sees."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client

from healthplans.models import OrgUnit, Role, User
from healthplans.periods import parse_period
from healthplans.workflow import ReviewStatus
from indicators.children import plan_create_child
from indicators.definitions import indicator_create, target_set
from indicators.entries import NewFigure
from indicators.models import EntryLevel, Rollup, UnitKind
from indicators.selectors import EQUAL, NOT_ADDITIVE, OVER, PARTIAL, SHORT, Contributions, child_contributions
from plans.models import Plan
from plans.services import plan_create, plan_issue
from tests.conftest import CountQueries, Login
from tests.factories import OrgUnitFactory, RoleAssignmentFactory, StationFactory, figures_entered, writer_at

pytestmark = pytest.mark.django_db

PERIOD = parse_period("2025")


class Province:
    """A province of six communes, each with its station, a planner, and an issued plan: a count
    entered by the stations (100 cases in 2025) and a rate entered by the communes (≥ 80 %)."""

    def __init__(self) -> None:
        self.unit = OrgUnitFactory.create()
        self.communes = []
        for n in range(6):
            commune = OrgUnitFactory.create(parent=self.unit, level=OrgUnit.Level.COMMUNE, name=f"Xã thử {n}")
            StationFactory.create(parent=commune, name=f"Trạm Y tế xã thử {n}")
            self.communes.append(commune)
        self.planner = writer_at(self.unit)
        plan = plan_create(
            issuer_org_unit=self.unit,
            fields={"title": "Kế hoạch tỉnh", "start_year": 2025, "end_year": 2025, "reporting_frequencies": ["year"]},
            by=self.planner,
        )
        self.count = indicator_create(
            plan=plan,
            number="1",
            name="Số ca khám",
            unit="ca",
            unit_kind=UnitKind.COUNT,
            rollup=Rollup.SUM,
            entry_level=EntryLevel.STATION,
            by=self.planner,
        )
        self.rate = indicator_create(
            plan=plan, number="2", name="Tỷ lệ tiêm chủng", unit="%", entry_level=EntryLevel.COMMUNE, by=self.planner
        )
        target_set(indicator=self.count, year=2025, text="100", by=self.planner)
        target_set(indicator=self.rate, year=2025, text="≥80%", by=self.planner)
        self.plan = plan_issue(plan=plan, by=self.planner)

    def child(self, n: int, count_target: str | None, *, issue: bool = True) -> Plan:
        """The n-th commune's plan (its count's target as given), issued, with approved figures:
        10 + n cases at its station, a rate of 90 % at the commune."""
        commune = self.communes[n]
        child = plan_create_child(
            parent=self.plan,
            org_unit=commune,
            fields={"title": f"Kế hoạch xã thử {n}", "reporting_frequencies": ["year"]},
            indicators=[self.count, self.rate],
            by=self.planner,
        )
        count, rate = child.indicators.order_by("order")
        if count_target is not None:
            target_set(indicator=count, year=2025, text=count_target, by=self.planner)
        if not issue:
            return child
        plan_issue(plan=child, by=self.planner)
        station = OrgUnit.objects.get(path__startswith=commune.path, depth=commune.depth + 1)
        figures_entered(
            org_unit=station,
            period="2025",
            values=[(count, Decimal(10 + n))],
            by=self.planner,
            status=ReviewStatus.APPROVED,
        )
        rate_figure = NewFigure(rate, None, numerator=Decimal(9), denominator=Decimal(10))
        figures_entered(
            org_unit=commune, period="2025", values=[rate_figure], by=self.planner, status=ReviewStatus.APPROVED
        )
        return child

    def contributions(self, user: User | None = None) -> dict[int, Contributions]:
        indicators = list(self.plan.indicators.prefetch_related("targets"))
        return child_contributions(
            fetched_by=user or self.planner, plan=self.plan, indicators=indicators, period=PERIOD
        )


@pytest.fixture
def province() -> Province:
    return Province()


def test_each_child_contributes_its_unit_target_and_approved_figure(province: Province) -> None:
    first, second = province.child(0, "30"), province.child(1, "40")
    found = province.contributions()
    count = found[province.count.pk]
    assert [(c.plan, c.unit, c.target.value if c.target else None) for c in count.children] == [
        (first, province.communes[0], Decimal(30)),
        (second, province.communes[1], Decimal(40)),
    ]
    # The stations' figures roll up to each child's commune; the rate is each commune's own.
    assert [c.figure.value for c in count.children] == [Decimal(10), Decimal(11)]
    assert [c.figure.value for c in found[province.rate.pk].children] == [Decimal(90), Decimal(90)]


def test_counts_that_fall_short_of_the_parent_say_by_how_much(province: Province) -> None:
    province.child(0, "30")
    province.child(1, "40")
    count = province.contributions()[province.count.pk]
    assert (count.add_up, count.children_total, count.difference) == (SHORT, Decimal(70), Decimal(30))


def test_counts_that_add_up_or_exceed_the_parent(province: Province) -> None:
    province.child(0, "60")
    province.child(1, "40")
    assert province.contributions()[province.count.pk].add_up == EQUAL
    province.child(2, "5")
    count = province.contributions()[province.count.pk]
    assert (count.add_up, count.difference) == (OVER, Decimal(5))


def test_a_child_without_a_target_adds_nothing_and_is_counted(province: Province) -> None:
    province.child(0, "60")
    province.child(1, None)
    count = province.contributions()[province.count.pk]
    assert (count.add_up, count.children_total, count.untargeted) == (SHORT, Decimal(60), 1)


def test_rates_are_not_summed(province: Province) -> None:
    province.child(0, "30")
    rate = province.contributions()[province.rate.pk]
    assert (rate.add_up, rate.children_total, rate.difference) == (NOT_ADDITIVE, None, None)
    assert [c.target.value for c in rate.children if c.target] == [Decimal(80)]  # the parent's, taken over


def test_draft_children_do_not_count_yet(province: Province) -> None:
    province.child(0, "100", issue=False)
    assert province.contributions() == {}


def test_a_commune_sees_its_own_child_and_no_verdict_on_the_whole(province: Province) -> None:
    province.child(0, "60")
    province.child(1, "40")
    commune_planner = writer_at(province.communes[0])
    count = province.contributions(commune_planner)[province.count.pk]
    assert [c.unit for c in count.children] == [province.communes[0]]
    assert count.add_up == PARTIAL


def test_another_provinces_planner_sees_no_child(province: Province) -> None:
    province.child(0, "60")
    stranger = writer_at(OrgUnitFactory.create())
    assert province.contributions(stranger) == {}


def test_contributions_read_the_same_queries_for_two_and_six_children(
    province: Province, count_queries: CountQueries
) -> None:
    for n in range(2):
        province.child(n, "10")
    with count_queries() as two:
        province.contributions()
    for n in range(2, 6):
        province.child(n, "10")
    with count_queries() as six:
        found = province.contributions()
    assert len(found[province.count.pk].children) == 6
    assert len(six) == len(two)


# ---- the dashboard ----------------------------------------------------------------------------


def dashboard(plan: Plan) -> str:
    return f"/plans/{plan.slug}/dashboard/?period=2025"


def test_dashboard_shows_each_child_and_the_shortfall(province: Province, login: Login) -> None:
    province.child(0, "30")
    province.child(1, "40")
    page = login(province.planner).get(dashboard(province.plan)).content.decode()
    assert 'id="child-contributions"' in page
    assert "Xã thử 0" in page
    assert "Kế hoạch xã thử 1" in page
    assert 'data-add-up="short"' in page
    assert "Chỉ tiêu các kế hoạch con thiếu 30 so với chỉ tiêu của kế hoạch." in page
    assert 'data-add-up="not_additive"' in page  # the rate's children are not summed


def test_dashboard_without_children_has_no_contributions(province: Province, login: Login) -> None:
    page = login(province.planner).get(dashboard(province.plan)).content.decode()
    assert "child-contributions" not in page


def test_dashboard_reads_the_same_queries_for_two_and_six_children(
    province: Province, login: Login, queries_for: Callable[[Client, str], int]
) -> None:
    client = login(province.planner)
    for n in range(2):
        province.child(n, "10")
    # Each count after a first request: the parent's roll-ups are then cached alike.
    queries_for(client, dashboard(province.plan))
    two = queries_for(client, dashboard(province.plan))
    for n in range(2, 6):
        province.child(n, "10")
    queries_for(client, dashboard(province.plan))
    assert queries_for(client, dashboard(province.plan)) == two


def test_station_reporter_sees_its_commune_child_only(province: Province, login: Login) -> None:
    province.child(0, "30")
    province.child(1, "40")
    station = OrgUnit.objects.get(path__startswith=province.communes[0].path, depth=province.communes[0].depth + 1)
    reporter = RoleAssignmentFactory.create(role=Role.STATION_REPORTER, org_unit=station).user
    response = login(reporter).get(dashboard(province.plan))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Kế hoạch xã thử 0" in page
    assert "Kế hoạch xã thử 1" not in page
    assert 'data-add-up="partial"' in page
