"""A province of its own, made by tests/factories.py: the pattern for a test that needs no seed.

Nothing here reads a demo user, plan or figure, so the seed may change without these tests noticing,
and their figures pass every rule of the figure services (entry level, roles, review path)."""

from decimal import Decimal
from typing import Any

import pytest

from healthplans.models import OrgUnit, Role
from healthplans.workflow import Action, ReviewStatus
from indicators.models import EntryLevel
from plans.models import Plan
from tests.factories import (
    FigureFactory,
    IndicatorFactory,
    OrgUnitFactory,
    RoleAssignmentFactory,
    StationFactory,
    figures_entered,
    reviewer_at,
)

pytestmark = pytest.mark.django_db


def test_a_factory_figure_takes_the_review_path_of_the_services() -> None:
    actual = FigureFactory.create(status=ReviewStatus.APPROVED, value=Decimal("95.5"))
    actual.refresh_from_db()
    assert (actual.status, actual.value) == (ReviewStatus.APPROVED, Decimal("95.5"))
    assert list(actual.events.order_by("pk").values_list("action", flat=True)) == [
        Action.CREATE,
        Action.SUBMIT,
        Action.APPROVE,
    ]
    # The review step renewed the plan's roll-ups, as an approval by a user does.
    assert Plan.objects.get(pk=actual.indicator.plan_id).figures_generation > 0


def test_station_figures_are_reviewed_in_their_province_and_unseen_in_another(login: Any, api_as: Any) -> None:
    province = OrgUnitFactory.create()
    station = StationFactory.create(parent=OrgUnitFactory.create(parent=province, level=OrgUnit.Level.COMMUNE))
    indicator = IndicatorFactory.create(plan__issuer_org_unit=province, entry_level=EntryLevel.STATION)
    reporter = RoleAssignmentFactory.create(org_unit=station, role=Role.STATION_REPORTER).user
    (actual,) = figures_entered(
        org_unit=station, period="2024H1", values=[(indicator, Decimal(88))], by=reporter, status=ReviewStatus.SUBMITTED
    )

    queue = login(reviewer_at(province)).get("/review/")
    assert queue.status_code == 200
    assert indicator.name in queue.content.decode()

    stranger = RoleAssignmentFactory.create(org_unit=OrgUnitFactory.create(), role=Role.PLANNER).user
    assert api_as(stranger.username).get(f"/api/actuals/{actual.pk}/").status_code == 404
    assert api_as(reporter.username).get(f"/api/actuals/{actual.pk}/").status_code == 200
