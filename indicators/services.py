"""Writes of actual figures: entry, the draft → submitted → approved | returned path, unlocking.

Every write checks who may make it, keeps a history entry, and moves the value's version, so
that a save over a value that changed since it was read is refused rather than lost. Writes are
conditional UPDATEs (…WHERE version = read version), which hold on PostgreSQL and SQLite alike.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    pass

from healthplans.models import OrgUnit, Role, User
from healthplans.notifications import notification_send
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import roles_at
from healthplans.vnnumber import format_number
from healthplans.workflow import (
    Action,
    Conflict,
    Forbidden,
    Invalid,
    ReviewStatus,
    ServiceError,
    Wording,
    conditional_update,
)
from indicators.models import Actual, ActualEvent, EntryLevel, Indicator, UnitKind
from indicators.progress import figures_changed

WRITER_ROLES: set[str] = {Role.PLANNER, Role.STATION_REPORTER}


def is_entry_unit(indicator: Indicator, unit: OrgUnit) -> bool:
    """Whether the indicator's actuals are entered at this unit (its level, within the plan's area)."""
    level = indicator.entry_level
    if level == EntryLevel.STATION:
        right_level = unit.level == OrgUnit.Level.FACILITY and unit.facility_kind == OrgUnit.FacilityKind.STATION
    elif level == EntryLevel.FACILITY:
        right_level = unit.level == OrgUnit.Level.FACILITY and unit.facility_kind != OrgUnit.FacilityKind.STATION
    else:
        right_level = unit.level == level
    return right_level and unit.path.startswith(indicator.plan.issuer_org_unit.path)


def value_errors(indicator: Indicator, value: Decimal | None) -> list[str]:
    """What is wrong with a value for this indicator's unit, in the user's language."""
    if value is None:
        return []
    if indicator.unit_kind == UnitKind.PERCENT and not Decimal(0) <= value <= Decimal(100):
        return [_("A percentage lies between 0 and 100.")]
    if indicator.unit_kind == UnitKind.COUNT:
        if value < 0:
            return [_("A count cannot be negative.")]
        if value != value.to_integral_value():
            return [_("A count is a whole number.")]
    if indicator.unit_kind != UnitKind.OTHER and value < 0:
        return [_("This figure cannot be negative.")]
    return []


def resolve_value(
    indicator: Indicator, value: Decimal | None, numerator: Decimal | None, denominator: Decimal | None
) -> Decimal | None:
    """A rate given as numerator/denominator takes its value from them; check the parts either way."""
    errors: dict[str, list[str]] = {}
    if (numerator is None) != (denominator is None):
        errors["denominator" if denominator is None else "numerator"] = [
            _("Give both the numerator and the denominator, or neither.")
        ]
    elif denominator is not None and denominator <= 0:
        errors["denominator"] = [_("The denominator must be greater than zero.")]
    elif numerator is not None and denominator is not None:
        if numerator < 0:
            errors["numerator"] = [_("The numerator cannot be negative.")]
        elif value is None:
            value = numerator / denominator * indicator.rate_scale
            value = value.quantize(Decimal("0.000001"))
    if problems := value_errors(indicator, value):
        errors["value"] = problems
    if errors:
        raise Invalid(_("The figure was not saved."), fields=errors)
    return value


def plausibility_warnings_for(actuals: Sequence[Actual]) -> dict[int, list[str]]:
    """Warnings that ask for a note before submitting, but do not block: a jump far beyond the
    usual change against the last period, or a value outside the unit's historical range.
    For many figures at once, from one query of their approved history."""
    if not actuals:
        return {}
    approved = (
        Actual.objects.filter(
            status=ReviewStatus.APPROVED,
            indicator_id__in={actual.indicator_id for actual in actuals},
            org_unit_id__in={actual.org_unit_id for actual in actuals},
        )
        .exclude(value=None)
        .values_list("pk", "indicator_id", "org_unit_id", "period", "value")
    )
    history: dict[tuple[int, int], list[tuple[int, Period, Decimal]]] = {}
    for pk, indicator_id, org_unit_id, period, value in approved:
        if value is not None:
            history.setdefault((indicator_id, org_unit_id), []).append((pk, parse_period(period), value))
    warnings: dict[int, list[str]] = {}
    for actual in actuals:
        this = parse_period(actual.period)
        # Only periods of the same kind compare: a year against years, a half-year against half-years.
        same_kind = sorted(
            (period, value)
            for pk, period, value in history.get((actual.indicator_id, actual.org_unit_id), [])
            if pk != actual.pk and period.kind == this.kind
        )
        warnings[actual.pk] = _history_warnings(actual.value, this, same_kind)
    return warnings


def plausibility_warnings(actual: Actual) -> list[str]:
    return plausibility_warnings_for([actual])[actual.pk]


def _history_warnings(value: Decimal | None, this: Period, history: list[tuple[Period, Decimal]]) -> list[str]:
    if value is None:
        return []
    warnings: list[str] = []
    earlier = [before for period, before in history if period < this]
    values = [before for _period, before in history]
    if len(earlier) >= 2:
        steps = sorted(abs(later - before) for before, later in pairwise(earlier))
        usual = max(steps[len(steps) // 2], abs(earlier[-1]) * Decimal("0.1"), Decimal("0.000001"))
        if abs(value - earlier[-1]) > 3 * usual:
            warnings.append(_("Far from last period's value (%(value)s).") % {"value": _shown(earlier[-1])})
    if len(values) >= 3:
        low, high = min(values), max(values)
        margin = (high - low) * Decimal("0.5")
        if not low - margin <= value <= high + margin:
            warnings.append(
                _("Outside the range reported so far (%(low)s – %(high)s).")
                % {"low": _shown(low), "high": _shown(high)}
            )
    return warnings


def _shown(value: Decimal) -> str:
    """A number as people read it: "96,5", "1.250.197"."""
    return format_number(value.normalize())


def _require(user: User, unit: OrgUnit, roles: set[str], message: str) -> None:
    if not roles_at(user, unit) & roles:
        raise Forbidden(message)


def _record(actual: Actual, *, by: User, action: str, old: Decimal | None = None, message: str = "") -> None:
    ActualEvent.objects.create(
        actual=actual, by=by, action=action, old_value=old, new_value=actual.value, message=message
    )


FIGURE_WORDING = Wording(
    locked=gettext_lazy("This figure is approved and locked."),
    stale=gettext_lazy("Someone changed this figure after you opened it; its current value is shown."),
    status=gettext_lazy("This figure is %(status)s and cannot be changed that way."),
)


def _conditional_update(actual: Actual, *, version: int, expect_status: Collection[str], **changes: Any) -> Actual:
    figures = Actual.objects.select_related("indicator__plan__issuer_org_unit", "org_unit")
    return conditional_update(
        figures, actual, version=version, expect_status=expect_status, wording=FIGURE_WORDING, **changes
    )


def _check_writer(actual_or_unit: OrgUnit, by: User) -> None:
    _require(by, actual_or_unit, WRITER_ROLES, _("You may not enter figures for this unit."))


@dataclass(frozen=True)
class NewFigure:
    """What a new figure is entered with."""

    indicator: Indicator
    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    note: str = ""
    source: str = ""
    is_demo: bool = False


@transaction.atomic
def actual_create(
    *,
    indicator: Indicator,
    org_unit: OrgUnit,
    period: str,
    value: Decimal | None,
    numerator: Decimal | None = None,
    denominator: Decimal | None = None,
    note: str = "",
    source: str = "",
    by: User,
    is_demo: bool = False,
) -> Actual:
    figure = NewFigure(indicator, value, numerator, denominator, note, source, is_demo)
    (result,) = actual_create_many(org_unit=org_unit, period=period, figures=[figure], by=by)
    if isinstance(result, ServiceError):
        raise result
    return result


def new_figure_value(figure: NewFigure, org_unit: OrgUnit, parsed: Period | PeriodError) -> Decimal | None:
    """The value a new figure is stored with, once it passed the checks of a new figure (its unit's
    level, the plan's years, its range); Invalid names the fields at fault."""
    indicator = figure.indicator
    if not is_entry_unit(indicator, org_unit):
        raise Invalid(
            _("This indicator is not entered at this unit."),
            fields={
                "org_unit": [
                    _("This indicator is entered at the level: %(level)s.")
                    % {"level": indicator.get_entry_level_display()}
                ]
            },
        )
    if isinstance(parsed, PeriodError):
        raise Invalid(str(parsed), fields={"period": [str(parsed)]}) from parsed
    plan = indicator.plan
    if not plan.start_year <= parsed.target_year <= (plan.vision_year or plan.end_year):
        message = _("The plan runs from %(start)s to %(end)s.") % {"start": plan.start_year, "end": plan.end_year}
        raise Invalid(message, fields={"period": [message]})
    return resolve_value(indicator, figure.value, figure.numerator, figure.denominator)


@transaction.atomic
def actual_create_many(
    *, org_unit: OrgUnit, period: str, figures: Sequence[NewFigure], by: User
) -> list[Actual | ServiceError]:
    """New figures of one unit and period (a station's form) with the checks of one, in a fixed
    number of queries: each figure's refusal in its place, and nothing written for a refused one."""
    _check_writer(org_unit, by)
    parsed: Period | PeriodError
    try:
        parsed = parse_period(period)
    except PeriodError as exc:
        parsed = exc
    existing = (
        {}
        if isinstance(parsed, PeriodError)
        else {
            actual.indicator_id: actual
            for actual in Actual.objects.filter(
                org_unit=org_unit, period=parsed.code, indicator__in=[figure.indicator.pk for figure in figures]
            )
        }
    )
    results: list[Actual | ServiceError] = []
    for figure in figures:
        try:
            value = new_figure_value(figure, org_unit, parsed)
            if (current := existing.get(figure.indicator.pk)) is not None:
                raise Conflict(_("A figure for this unit and period exists already."), code="exists", current=current)
        except ServiceError as error:
            results.append(error)
            continue
        assert isinstance(parsed, Period)
        results.append(
            Actual(
                tenant_id=org_unit.tenant_id,
                indicator=figure.indicator,
                org_unit=org_unit,
                period=parsed.code,
                value=value,
                numerator=figure.numerator,
                denominator=figure.denominator,
                note=figure.note,
                source=figure.source,
                created_by=by,
                is_demo=figure.is_demo,
            )
        )
    created = Actual.objects.bulk_create([result for result in results if isinstance(result, Actual)])
    ActualEvent.objects.bulk_create(
        ActualEvent(actual=actual, by=by, action=Action.CREATE, new_value=actual.value, message=actual.note)
        for actual in created
    )
    return results


@transaction.atomic
def actual_update(
    *,
    actual: Actual,
    version: int,
    value: Decimal | None,
    numerator: Decimal | None = None,
    denominator: Decimal | None = None,
    note: str | None = None,
    by: User,
) -> Actual:
    _check_writer(actual.org_unit, by)
    value = resolve_value(actual.indicator, value, numerator, denominator)
    old = actual.value
    changes: dict[str, Any] = {"value": value, "numerator": numerator, "denominator": denominator}
    if note is not None:
        changes["note"] = note
    current = _conditional_update(
        actual, version=version, expect_status={ReviewStatus.DRAFT, ReviewStatus.RETURNED}, **changes
    )
    if old != current.value:
        _record(current, by=by, action=Action.CHANGE, old=old, message=note or "")
    return current


@transaction.atomic
def actual_submit(*, actual: Actual, version: int, by: User, note: str | None = None) -> Actual:
    _check_writer(actual.org_unit, by)
    if actual.value is None:
        raise Invalid(_("Enter a value before submitting."), fields={"value": [_("This field is required.")]})
    note = actual.note if note is None else note
    warnings = plausibility_warnings(actual)
    if warnings and not note.strip():
        raise Invalid(
            _("This value looks unusual: add a note explaining it before submitting."),
            fields={"note": warnings},
        )
    current = _conditional_update(
        actual,
        version=version,
        expect_status={ReviewStatus.DRAFT, ReviewStatus.RETURNED},
        status=ReviewStatus.SUBMITTED,
        note=note,
        submitted_by=by,
        submitted_at=timezone.now(),
    )
    _record(current, by=by, action=Action.SUBMIT, old=current.value, message=note)
    figures_changed(current.indicator.plan_id)
    return current


def _check_reviewer(actual: Actual, by: User) -> None:
    _require(by, actual.org_unit, {Role.REVIEWER.value}, _("Only a reviewer of a unit above may review this figure."))


@transaction.atomic
def actual_approve(*, actual: Actual, by: User, version: int | None = None) -> Actual:
    _check_reviewer(actual, by)
    current = _conditional_update(
        actual,
        version=actual.version if version is None else version,
        expect_status={ReviewStatus.SUBMITTED},
        status=ReviewStatus.APPROVED,
        message="",
        reviewed_by=by,
        reviewed_at=timezone.now(),
    )
    _record(current, by=by, action=Action.APPROVE, old=current.value)
    figures_changed(current.indicator.plan_id)
    return current


@transaction.atomic
def actual_return(*, actual: Actual, by: User, message: str, version: int | None = None) -> Actual:
    _check_reviewer(actual, by)
    if not message.strip():
        raise Invalid(_("Say why the figure is returned."), fields={"message": [_("This field is required.")]})
    current = _conditional_update(
        actual,
        version=actual.version if version is None else version,
        expect_status={ReviewStatus.SUBMITTED},
        status=ReviewStatus.RETURNED,
        message=message,
        reviewed_by=by,
        reviewed_at=timezone.now(),
    )
    _record(current, by=by, action=Action.RETURN, old=current.value, message=message)
    figures_changed(current.indicator.plan_id)
    if current.submitted_by_id:
        submitter = User.objects.get(pk=current.submitted_by_id)
        text = _("%(reviewer)s returned «%(indicator)s» (%(unit)s, %(period)s): %(message)s") % {
            "reviewer": by.get_username(),
            "indicator": current.indicator.name,
            "unit": current.org_unit.name,
            "period": current.period,
            "message": message,
        }
        notification_send(user=submitter, text=text, link=f"/figures/{current.org_unit.code}/{current.period}/")
    return current


@transaction.atomic
def actual_unlock(*, actual: Actual, by: User, reason: str, version: int | None = None) -> Actual:
    _check_reviewer(actual, by)
    if not reason.strip():
        raise Invalid(_("Say why the figure is unlocked."), fields={"reason": [_("This field is required.")]})
    current = _conditional_update(
        actual,
        version=actual.version if version is None else version,
        expect_status={ReviewStatus.APPROVED},
        status=ReviewStatus.DRAFT,
        reviewed_by=by,
        reviewed_at=timezone.now(),
    )
    _record(current, by=by, action=Action.UNLOCK, old=current.value, message=reason)
    figures_changed(current.indicator.plan_id)
    return current
