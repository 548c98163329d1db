"""Figures and the units of their period: a unit ended by a reorganisation takes no figures after
it ended, and the plan issued before the change goes on over the units that hold its territory."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from healthplans.models import AuditEvent, AuditKind, OrgUnit, RoleAssignment, User
from healthplans.periods import parse_period
from healthplans.reorganisation import reorganisation_preview
from indicators.entries import FigureEntry, RowsRefused
from indicators.models import Actual, EntryLevel, Indicator
from indicators.progress import plan_progress
from indicators.services import actual_approve, actual_save_many, actual_submit
from plans.models import Plan
from tests.factories import IndicatorFactory, PlanFactory, two_communes_merged

pytestmark = pytest.mark.django_db


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


@pytest.fixture
def province_plan() -> Plan:
    """A plan of the former province of Lào Cai for 2025–2027, issued before the change."""
    return PlanFactory.create(
        issuer_org_unit=unit("laocai"), start_year=2025, end_year=2027, reporting_frequencies=["year"]
    )


@pytest.fixture
def station_indicator(province_plan: Plan) -> Indicator:
    return IndicatorFactory.create(plan=province_plan, entry_level=EntryLevel.STATION)


def save(indicator: Indicator, code: str, period: str, by: str) -> Any:
    entry = FigureEntry(indicator=indicator, org_unit=unit(code), period=period, value=Decimal(90))
    return actual_save_many(entries=[entry], by=User.objects.get(username=by))


def test_a_figure_after_its_station_ended_is_refused_naming_the_successor(station_indicator: Indicator) -> None:
    with pytest.raises(RowsRefused) as refused:
        save(station_indicator, "muongkhuong-tt-tyt", "2026", "muongkhuong.station")
    [error] = refused.value.rows.values()
    assert error.code == "unit_not_in_period"
    assert "Trạm Y tế thị trấn Mường Khương" in error.message
    assert "Trạm Y tế xã Mường Khương" in error.message
    assert "30/06/2025" in error.message


def test_the_same_figure_at_todays_station_is_accepted_reviewed_and_approved(station_indicator: Indicator) -> None:
    [actual] = save(station_indicator, "s02761", "2026", "muongkhuong.station")
    submitted = actual_submit(
        actual=actual, version=actual.version, by=User.objects.get(username="muongkhuong.station")
    )
    approved = actual_approve(actual=submitted, by=User.objects.get(username="laocai.reviewer"))
    assert approved.status == "approved"


def test_the_year_of_the_change_is_entered_at_both(station_indicator: Indicator) -> None:
    """2025 straddles 1 July 2025: the former station has its first half, today's its second."""
    assert save(station_indicator, "muongkhuong-tt-tyt", "2025", "muongkhuong.station")
    assert save(station_indicator, "s02761", "2025", "muongkhuong.station")


def test_a_station_of_today_takes_no_figure_before_it_existed(station_indicator: Indicator) -> None:
    with pytest.raises(RowsRefused) as refused:
        save(station_indicator, "s02761", "2024", "muongkhuong.station")
    [error] = refused.value.rows.values()
    assert error.code == "unit_not_in_period"
    assert "01/07/2025" in error.message


def test_a_plan_of_a_former_province_runs_over_its_own_communes_only(province_plan: Plan) -> None:
    """Lào Cai's plan of before the change reaches Mường Khương today, not Thái Nguyên's communes,
    and Yên Bái's communes (today's Lào Cai too) only where former Lào Cai's went into them."""
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    assert province_plan.covers(unit("s02761"), start, end)
    assert not unit("muongkhuong-tt-tyt").exists_between(start, end)
    thai_nguyen_commune = OrgUnit.objects.filter(
        level="commune", valid_from=date(2025, 7, 1), tenant__slug="thai-nguyen"
    ).first()
    assert thai_nguyen_commune is not None
    assert not province_plan.covers(thai_nguyen_commune, start, end)
    # Today's province stands in for the former one for the province's own figures.
    assert province_plan.covers(unit("laocai-2025"), start, end)


def test_gsd_plan_of_bac_kan_runs_over_the_communes_of_thai_nguyen_that_were_bac_kans() -> None:
    gsd = Plan.objects.get(slug="backan-gsd-2025-2030")
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    banh_trach = unit("backan-ba-be-banh-trach").successions.get().successor
    assert gsd.covers(OrgUnit.objects.get(path__startswith=banh_trach.path, facility_kind="station"), start, end)
    former_thai_nguyen = OrgUnit.objects.get(name="Tỉnh Thái Nguyên", valid_to=date(2025, 6, 30))
    commune = OrgUnit.objects.filter(path__startswith=former_thai_nguyen.path, level="commune").first()
    assert commune is not None
    successor = commune.successions.get(is_default=True).successor
    assert not gsd.covers(successor, start, end)


def test_the_gsd_dashboard_rolls_2026_up_from_todays_stations_of_former_bac_kan() -> None:
    """The GSD plan's figures of 2026 are entered at today's stations of the communes that were
    Bắc Kạn's, and its dashboard at Bắc Kạn rolls them up; 2025 still counts the former stations."""
    gsd = Plan.objects.get(slug="backan-gsd-2025-2030")
    built = gsd.indicators.filter(entry_level=EntryLevel.STATION).order_by("order").first()
    assert built is not None
    commune = unit("backan-ba-be-banh-trach").successions.get(is_default=True).successor
    station = OrgUnit.objects.get(path__startswith=commune.path, facility_kind="station")
    planner, reviewer = User.objects.get(username="backan.planner"), User.objects.get(username="backan.reviewer")
    entry = FigureEntry(indicator=built, org_unit=station, period="2026", value=Decimal(1))
    [actual] = actual_save_many(entries=[entry], by=planner)
    actual_approve(actual=actual_submit(actual=actual, version=actual.version, by=planner), by=reviewer)
    items = plan_progress(
        plan=gsd, indicators=gsd.indicators.filter(pk=built.pk), period=parse_period("2026"), unit=gsd.issuer_org_unit
    )
    [item] = items
    assert item.actual.value is not None
    assert item.actual.units >= 1


def test_a_commune_of_today_shows_the_half_years_before_it_recomputed_from_its_predecessors(
    login: Any,
) -> None:
    """Xã Hợp Thành of today took over the former Tả Phời and Hợp Thành: its trend's 2025H1 is
    their stations' figures added up, marked as recomputed, and 2026H1 is its own station's."""
    plan = PlanFactory.create(
        issuer_org_unit=unit("laocai-2025"), start_year=2024, end_year=2026, reporting_frequencies=["half_year"]
    )
    cases = IndicatorFactory.create(
        plan=plan, entry_level=EntryLevel.STATION, unit="ca", unit_kind="count", rollup="sum"
    )
    planner, reviewer = User.objects.get(username="laocai.planner"), User.objects.get(username="laocai.reviewer")
    for code, period, value in (
        ("laocai-city-ta-phoi-tyt", "2025H1", 3),
        ("laocai-city-hop-thanh-tyt", "2025H1", 4),
        ("s02680", "2026H1", 5),
    ):
        entry = FigureEntry(indicator=cases, org_unit=unit(code), period=period, value=Decimal(value))
        [actual] = actual_save_many(entries=[entry], by=planner)
        actual_approve(actual=actual_submit(actual=actual, version=actual.version, by=planner), by=reviewer)
    [item] = plan_progress(
        plan=plan, indicators=plan.indicators.all(), period=parse_period("2026H1"), unit=unit("c02680")
    )
    trend = dict(item.trend)
    assert trend["2025H1"] == Decimal(7)
    assert trend["2026H1"] == Decimal(5)
    assert "2025H1" in item.recomputed
    assert "2026H1" not in item.recomputed
    page = login("laocai.planner").get(f"/plans/{plan.slug}/dashboard/?period=2026H1&org_unit={unit('c02680').pk}")
    assert page.status_code == 200
    assert 'data-recomputed="' in page.content.decode()


def test_a_figure_entered_per_site_rolls_up_to_its_station() -> None:
    """Trạm Y tế xã Hợp Thành's sites (the former Tả Phời and Hợp Thành stations among them)."""
    plan = PlanFactory.create(
        issuer_org_unit=unit("laocai-2025"), start_year=2026, end_year=2026, reporting_frequencies=["year"]
    )
    visits = IndicatorFactory.create(
        plan=plan, entry_level=EntryLevel.SITE, unit="lượt", unit_kind="count", rollup="sum"
    )
    station = unit("s02680")
    sites = list(OrgUnit.objects.filter(path__startswith=station.path, facility_kind="site").order_by("path")[:2])
    assert len(sites) == 2
    planner, reviewer = User.objects.get(username="laocai.planner"), User.objects.get(username="laocai.reviewer")
    for site, value in zip(sites, (10, 15), strict=True):
        entry = FigureEntry(indicator=visits, org_unit=site, period="2026", value=Decimal(value))
        [actual] = actual_save_many(entries=[entry], by=planner)
        actual_approve(actual=actual_submit(actual=actual, version=actual.version, by=planner), by=reviewer)
    with pytest.raises(RowsRefused):  # the station itself is not where this indicator is entered
        save(visits, "s02680", "2026", "laocai.planner")
    [item] = plan_progress(plan=plan, indicators=plan.indicators.all(), period=parse_period("2026"), unit=station)
    assert item.actual.value == Decimal(25)


def test_a_future_merge_of_two_communes_keeps_old_figures_refuses_new_ones_and_the_trend_goes_on(
    admin_client: Any,
) -> None:
    """Phường Cam Đường and Xã Hợp Thành merged on 1 January 2027: the preview counts the open
    figures and plans; applied, the old figures stay readable, figures of 2027 at the ended
    stations are refused, and the new ward's trend carries 2026 over from the two."""
    plan = PlanFactory.create(
        issuer_org_unit=unit("laocai-2025"), start_year=2026, end_year=2027, reporting_frequencies=["year"]
    )
    cases = IndicatorFactory.create(
        plan=plan, entry_level=EntryLevel.STATION, unit="ca", unit_kind="count", rollup="sum"
    )
    planner, reviewer = User.objects.get(username="laocai.planner"), User.objects.get(username="laocai.reviewer")
    for code, value in (("s02680", 4), ("s02671", 6)):
        entry = FigureEntry(indicator=cases, org_unit=unit(code), period="2026", value=Decimal(value))
        [actual] = actual_save_many(entries=[entry], by=planner)
        actual_approve(actual=actual_submit(actual=actual, version=actual.version, by=planner), by=reviewer)
    save(cases, "s02680", "2027", "laocai.planner")  # a draft of 2027, open when the merge comes
    reorganisation = two_communes_merged(date(2027, 1, 1))
    impacts = dict(reorganisation_preview(reorganisation=reorganisation).impacts)
    assert impacts["số liệu chưa duyệt của các kỳ sau ngày sắp xếp"] == 1
    # Through the admin, as a superuser does it.
    response = admin_client.post(
        "/admin/healthplans/reorganisation/",
        {"action": "apply", "_selected_action": [reorganisation.pk]},
    )
    assert response.status_code == 302
    reorganisation.refresh_from_db()
    assert reorganisation.applied_at is not None
    assert Actual.objects.filter(indicator=cases, period="2026").count() == 2  # old figures kept
    with pytest.raises(RowsRefused) as refused:
        save(cases, "s02671", "2027", "laocai.planner")
    [error] = refused.value.rows.values()
    assert "Trạm Y tế phường Hợp Cam" in error.message
    [actual] = save(cases, "s99001", "2027", "laocai.planner")
    actual_approve(actual=actual_submit(actual=actual, version=actual.version, by=planner), by=reviewer)
    [item] = plan_progress(
        plan=plan, indicators=plan.indicators.all(), period=parse_period("2027"), unit=unit("c99001")
    )
    assert dict(item.trend) == {"2026": Decimal(10), "2027": Decimal(90)}
    assert item.recomputed == ("2026",)
    assert RoleAssignment.objects.get(user__username="camduong.station").org_unit.code == "s99001"


def test_an_admin_moves_a_role_left_on_an_ended_unit_to_its_successor(admin_client: Any) -> None:
    user = User.objects.get(username="muongkhuong.station")
    old = RoleAssignment.objects.get(user=user, org_unit__code="muongkhuong-tt-tyt")
    response = admin_client.post(
        "/admin/healthplans/roleassignment/", {"action": "move_to_successor", "_selected_action": [old.pk]}
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.org_unit.facility_kind == "site"
    assert old.org_unit.path.startswith(unit("s02761").path)
    event = AuditEvent.objects.filter(kind=AuditKind.ROLE_MOVED, username="muongkhuong.station").get()
    assert event.actor == "admin"
