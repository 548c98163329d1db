"""New figures are inserted by actual_save_many in one statement of its own (arrays of the figures'
columns, their history from the rows inserted) rather than by bulk_create: they are stored exactly
as their instances say, each with its "create" history entry, and a figure inserted meanwhile by
another save is still refused as entered meanwhile."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from healthplans.models import OrgUnit, User
from healthplans.workflow import Action, ReviewStatus
from indicators.entries import NewFigure
from indicators.models import Actual, ActualEvent, Indicator
from indicators.services import _insert_new, actual_create_many

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"


def fields(actual: Actual) -> dict[str, object]:
    return {field.attname: getattr(actual, field.attname) for field in Actual._meta.concrete_fields}


def new_figures() -> tuple[list[Actual], User]:
    planner = User.objects.get(username="laocai.planner")
    unit = OrgUnit.objects.get(code="laocai-city-ta-phoi-tyt")
    station = Indicator.objects.filter(plan__slug=CITY_PLAN, entry_level="station").order_by("order")
    count, rate = station.filter(unit_kind="count")[0], station.filter(unit_kind="percent")[0]
    figures = [
        NewFigure(count, Decimal(12), note="theo sổ A1", source="sổ"),
        NewFigure(rate, None, numerator=Decimal(45), denominator=Decimal(50)),
    ]
    return actual_create_many(org_unit=unit, period="2024H1", figures=figures, by=planner), planner


def test_new_figures_are_stored_as_their_instances_say_with_their_history() -> None:
    created, planner = new_figures()
    stored = {actual.pk: actual for actual in Actual.objects.filter(pk__in=[actual.pk for actual in created])}
    assert [fields(stored[actual.pk]) for actual in created] == [fields(actual) for actual in created]
    assert [(actual.status, actual.version, actual.created_by_id) for actual in created] == [
        (ReviewStatus.DRAFT, 1, planner.pk)
    ] * 2
    assert created[1].value == Decimal(90)
    assert not any(actual._state.adding for actual in created)
    history = ActualEvent.objects.filter(actual__in=created).order_by("actual_id")
    assert [
        (event.actual_id, event.action, event.by_id, event.old_value, event.new_value, event.message)
        for event in history
    ] == [
        (actual.pk, Action.CREATE, planner.pk, None, actual.value, actual.note)
        for actual in sorted(created, key=lambda a: a.pk)
    ]


def test_a_figure_inserted_meanwhile_breaks_the_insert() -> None:
    """What actual_save_many turns into "entered meanwhile": the unique figure per unit and period."""
    created, planner = new_figures()
    again = [Actual(**{**fields(actual), "id": None}) for actual in created]
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_new(again, by=planner)
