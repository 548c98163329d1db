"""Whether a figure looks plausible against the unit's approved history: warnings that ask for a
note before submitting (the submit service) and that the reviewer sees (the review queue)."""

from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise

from django.utils.translation import gettext as _

from healthplans.periods import Period, parse_period
from healthplans.vnnumber import format_number
from healthplans.workflow import ReviewStatus
from indicators.models import Actual


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
