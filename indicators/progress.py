"""How a plan stands against its targets: actuals rolled up the org-unit tree by each
indicator's rule, compared with the target by comparator and direction.

A count sums over the units. A rate pools its numerators and denominators (the rate of the
whole, never the mean of the unit rates). A figure that does not aggregate is shown only
where exactly one unit reported it. An actual entered at the unit itself wins over a roll-up.
"""

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from healthplans.models import OrgUnit, UnitSuccession
from healthplans.periods import Period, parse_period
from healthplans.workflow import ReviewStatus
from indicators.models import Actual, Baseline, Direction, Indicator, Rollup, Target, entry_units_q
from plans.models import Plan

MET, NOT_MET, NO_DATA, NO_TARGET = "met", "not_met", "no_data", "no_target"


@dataclass(frozen=True)
class Figure:
    value: Decimal | None
    units: int
    provisional: bool  # includes submitted, not yet approved values
    # Computed from the units a unit of today succeeded, for a period before it existed (value
    # None: their figures cannot be combined by the indicator's rule, so it is not comparable).
    recomputed: bool = False


@dataclass(frozen=True)
class IndicatorProgress:
    indicator: Indicator
    target: Target | None
    actual: Figure
    status: str
    progress: Decimal | None
    trend: list[tuple[str, Decimal | None]]
    recomputed: tuple[str, ...] = ()  # the periods recomputed on today's boundaries, in order


def achieved(value: Decimal, comparator: str, target: Decimal) -> bool:
    return {
        ">": value > target,
        ">=": value >= target,
        "<": value < target,
        "<=": value <= target,
        "=": value == target,
    }[comparator]


def progress_towards(
    indicator: Indicator, value: Decimal, target: Decimal, baseline: Baseline | None
) -> Decimal | None:
    """Per cent of the way from the baseline to the target (or of the target, without a baseline)."""
    if baseline is not None and baseline.value != target:
        share = (value - baseline.value) / (target - baseline.value)
    elif indicator.direction == Direction.LOWER:
        share = target / value if value else Decimal(1)
    elif target:
        share = value / target
    else:
        return None
    return (share * 100).quantize(Decimal("0.1"))


def _roll(indicator: Indicator, row: Mapping[str, Any]) -> Decimal | None:
    if row["n"] == 0:
        return None
    if indicator.rollup == Rollup.SUM:
        return row["total"]
    if indicator.rollup == Rollup.POOLED and row["den"]:
        return (row["num"] / row["den"] * indicator.rate_scale).quantize(Decimal("0.000001"))
    # Not aggregable (or a rate without its parts): only a single report stands for the whole.
    return row["any_value"] if row["n"] == 1 else None


def _contributors(indicator: Indicator, row: Mapping[str, Any]) -> int:
    """How many units' figures make the rolled-up one: a pooled rate counts only the units that
    gave its numerator and denominator."""
    if indicator.rollup == Rollup.POOLED and row["den"]:
        return int(row["pooled_n"])
    return int(row["n"]) if _roll(indicator, row) is not None else 0


# Roll-ups are cached for settings.FIGURES_CACHE_SECONDS (0: not at all) under their plans'
# figures generation, which every service that moves a figure into or out of the approved or
# submitted ones increments in its own transaction (figures_changed), and under the indicators'
# roll-up rules, so that a changed rule applies at once. The generation lives in PostgreSQL, not
# in the cache: a reader sees the new one as soon as the step commits, whatever Redis went through
# meanwhile. Figures change only through those services (the admin shows them read-only).


def figures_changed(plan_id: int) -> None:
    """A figure of the plan entered or left the approved or submitted ones: every cached roll-up of
    the plan is out of date once this transaction commits."""
    Plan.objects.filter(pk=plan_id).update(figures_generation=F("figures_generation") + 1)


# Where a plan's figures of a period are rolled up when its issuing unit has ended: the subtrees
# that hold its territory then and the units that stand in for the issuer itself (see
# Plan.area_paths and Plan.stand_in_paths); by period code.
Areas = Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]


def plan_areas(plan: Plan, periods: list[str]) -> Areas | None:
    """The plan's area for each period, or None while its issuing unit covers them all (the
    issuer's subtree is then the area: the roll-up reads it as it always has)."""
    issuer = plan.issuer_org_unit
    parsed = [parse_period(code) for code in periods]
    if issuer.valid_to is None or all(period.end <= issuer.valid_to for period in parsed):
        return None
    return {
        period.code: (plan.area_paths(period.start, period.end), plan.stand_in_paths(period.start, period.end))
        for period in parsed
    }


def _rollup_key(
    indicators: list[Indicator], unit: OrgUnit, periods: list[str], include_submitted: bool, areas: Areas | None
) -> str:
    generations = sorted(
        Plan.objects.filter(pk__in={indicator.plan_id for indicator in indicators}).values_list(
            "pk", "figures_generation"
        )
    )
    rules = sorted((i.pk, i.rollup, i.unit_kind, i.unit) for i in indicators)
    where = sorted(areas.items()) if areas else ""
    scope = f"{rules}{sorted(periods)}{unit.pk}:{include_submitted}:{generations}:{where}"
    return f"figures:rollup:{connection.settings_dict['NAME']}:{hashlib.sha256(scope.encode()).hexdigest()}"


def rolled_up(
    *,
    indicators: list[Indicator],
    unit: OrgUnit,
    periods: list[str],
    include_submitted: bool,
    areas: Areas | None = None,
) -> dict[tuple[int, str], Figure]:
    """(indicator id, period) → the figure of `unit`: its own actual, else its subtree's roll-up;
    with `areas` (the unit is a plan's ended issuer), the roll-up of each period's area instead."""
    seconds = getattr(settings, "FIGURES_CACHE_SECONDS", 0)
    key = _rollup_key(indicators, unit, periods, include_submitted, areas) if seconds else None
    stored = cache.get(key) if key else None
    if stored is not None:
        return {
            code: Figure(None if value is None else Decimal(value), units, provisional)
            for code, (value, units, provisional) in stored.items()
        }
    figures = _rolled_up(
        indicators=indicators, unit=unit, periods=periods, include_submitted=include_submitted, areas=areas
    )
    if key:
        # Compact: a text per value unpickles far faster than Decimals in dataclasses.
        compact = {
            code: (None if f.value is None else str(f.value), f.units, f.provisional) for code, f in figures.items()
        }
        cache.set(key, compact, seconds)
    return figures


def _rolled_up(
    *, indicators: list[Indicator], unit: OrgUnit, periods: list[str], include_submitted: bool, areas: Areas | None
) -> dict[tuple[int, str], Figure]:
    if areas is None:
        rows, own_rows = _rollup_rows(indicators, unit, periods, include_submitted)
    else:
        rows, own_rows = _area_rollup_rows(indicators, unit, periods, include_submitted, areas)
    by_id = {indicator.pk: indicator for indicator in indicators}
    figures = {
        (row["indicator_id"], row["period"]): Figure(
            _roll(by_id[row["indicator_id"]], row), _contributors(by_id[row["indicator_id"]], row), row["submitted"] > 0
        )
        for row in rows
    }
    for own in own_rows:
        figures[(own["indicator_id"], own["period"])] = Figure(own["value"], 1, own["status"] == ReviewStatus.SUBMITTED)
    return figures


def _rollup_rows(
    indicators: list[Indicator], unit: OrgUnit, periods: list[str], include_submitted: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The subtree's sums per indicator and period, and the unit's own figures."""
    statuses = [ReviewStatus.APPROVED, ReviewStatus.SUBMITTED] if include_submitted else [ReviewStatus.APPROVED]
    # No ordering (the model's would join the plan); the subtree as a list of unit ids, so that
    # the database reads each unit's figures of these periods from the (unit, period) index
    # whatever the number of units elsewhere.
    base = Actual.objects.filter(
        indicator__in=[i.pk for i in indicators], period__in=periods, status__in=statuses, value__isnull=False
    ).order_by()
    rows = base.filter(org_unit__in=subtree_ids(unit)).values("indicator_id", "period").annotate(**_rollup_columns())
    own = base.filter(org_unit=unit).values("indicator_id", "period", "value", "status")
    return [dict(row) for row in rows], [dict(row) for row in own]


def _area_rollup_rows(
    indicators: list[Indicator], unit: OrgUnit, periods: list[str], include_submitted: bool, areas: Areas
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """As _rollup_rows, each period over its own area: one query per distinct area (before and
    after a reorganisation, and the year that straddles it), whatever the number of units."""
    statuses = [ReviewStatus.APPROVED, ReviewStatus.SUBMITTED] if include_submitted else [ReviewStatus.APPROVED]
    by_area: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = defaultdict(list)
    for code in periods:
        by_area[areas[code]].append(code)
    rows: list[dict[str, Any]] = []
    own: list[dict[str, Any]] = []
    for (paths, stand_ins), codes in by_area.items():
        base = Actual.objects.filter(
            indicator__in=[i.pk for i in indicators], period__in=codes, status__in=statuses, value__isnull=False
        ).order_by()
        within = Q(pk__in=[])
        for path in paths:
            within |= Q(path__startswith=path)
        # The issuer holds its own figures; the units standing in for it since it ended (today's
        # province, a city's successor wards) roll up with the rest of its territory.
        owners = Q(pk=unit.pk)
        units = (
            OrgUnit.objects.filter(within | Q(path__in=stand_ins))
            .exclude(owners)
            .order_by()
            .values_list("pk", flat=True)
        )
        grouped = base.filter(org_unit__in=units).values("indicator_id", "period").annotate(**_rollup_columns())
        rows += [dict(row) for row in grouped]
        owned = OrgUnit.objects.filter(owners).values_list("pk", flat=True)
        own += [
            dict(row) for row in base.filter(org_unit__in=owned).values("indicator_id", "period", "value", "status")
        ]
    return rows, own


def recomputed_figures(
    *, indicators: list[Indicator], unit: OrgUnit, periods: list[str], include_submitted: bool
) -> dict[tuple[int, str], Figure]:
    """For a unit of today, the periods that began before it existed, from the units it succeeded
    by each indicator's rule: counts sum (a divided predecessor by its share), rates pool their
    parts (not comparable where a predecessor was divided), other figures stand only when one
    whole predecessor reported them. A period that straddles the unit's start adds the unit's own
    figures of it. One query per depth of the predecessors (one, for communes)."""
    if unit.valid_from is None:
        return {}
    early = [code for code in periods if parse_period(code).start < unit.valid_from]
    if not early:
        return {}
    shares = dict(UnitSuccession.objects.filter(successor=unit).values_list("predecessor__path", "share"))
    if not shares:
        return {}
    straddling = [code for code in early if parse_period(code).end >= unit.valid_from]
    statuses = [ReviewStatus.APPROVED, ReviewStatus.SUBMITTED] if include_submitted else [ReviewStatus.APPROVED]
    base = Actual.objects.filter(
        indicator__in=[i.pk for i in indicators], period__in=early, status__in=statuses, value__isnull=False
    ).order_by()
    parts: dict[tuple[int, str], list[tuple[Decimal, dict[str, Any]]]] = defaultdict(list)
    by_length: dict[int, list[str]] = defaultdict(list)
    for path in shares:
        by_length[len(path)].append(path)
    for length, paths in by_length.items():
        within = Q(pk__in=[])
        for path in paths:
            within |= Q(org_unit__path__startswith=path)
        grouped = (
            base.filter(within)
            .annotate(prefix=Substr("org_unit__path", 1, length))
            .values("indicator_id", "period", "prefix")
            .annotate(**_rollup_columns())
        )
        for row in grouped:
            parts[row["indicator_id"], row["period"]].append((shares[row["prefix"]], dict(row)))
    if straddling:
        own = base.filter(period__in=straddling, org_unit__path__startswith=unit.path)
        for unit_row in own.values("indicator_id", "period").annotate(**_rollup_columns()):
            parts[unit_row["indicator_id"], unit_row["period"]].append((Decimal(1), dict(unit_row)))
    by_id = {indicator.pk: indicator for indicator in indicators}
    return {key: _combined(by_id[key[0]], found) for key, found in parts.items()}


def _combined(indicator: Indicator, parts: list[tuple[Decimal, dict[str, Any]]]) -> Figure:
    provisional = any(row["submitted"] for _share, row in parts)
    whole = all(share == 1 for share, _row in parts)
    value: Decimal | None = None
    if indicator.rollup == Rollup.SUM:
        value = sum(((row["total"] or Decimal(0)) * share for share, row in parts), Decimal(0))
    elif indicator.rollup == Rollup.POOLED and whole:
        num = sum((row["num"] or Decimal(0) for _share, row in parts), Decimal(0))
        den = sum((row["den"] or Decimal(0) for _share, row in parts), Decimal(0))
        value = (num / den * indicator.rate_scale).quantize(Decimal("0.000001")) if den else None
    elif whole and len(parts) == 1:
        value = _roll(indicator, parts[0][1])
    units = sum(int(row["n"]) for _share, row in parts) if value is not None else 0
    return Figure(value, units, provisional, recomputed=True)


def _rollup_columns(among: Q | None = None) -> dict[str, Aggregate]:
    """What _roll and _contributors read of a group of figures (those matching `among`)."""
    among = among or Q()
    return {
        "total": Sum("value", filter=among),
        "num": Sum("numerator", filter=among & Q(denominator__isnull=False)),
        "den": Sum("denominator", filter=among & Q(numerator__isnull=False)),
        "n": Count("id", filter=among),
        "pooled_n": Count("id", filter=among & Q(numerator__isnull=False, denominator__isnull=False)),
        "any_value": Max("value", filter=among),
        "submitted": Count("id", filter=among & Q(status=ReviewStatus.SUBMITTED)),
    }


def issuer_figures(*, indicators: list[Indicator], period: str, include_submitted: bool) -> dict[int, Figure]:
    """Indicator id → its figure of a period at its own plan's issuing unit (the unit's own actual,
    else its subtree's roll-up), in one query whatever the plans and their units: the figures of
    child plans issued by different communes, side by side on their parent's dashboard."""
    statuses = [ReviewStatus.APPROVED, ReviewStatus.SUBMITTED] if include_submitted else [ReviewStatus.APPROVED]
    own = Q(org_unit_id=F("indicator__plan__issuer_org_unit_id"))
    rows = (
        Actual.objects.filter(
            indicator__in=[indicator.pk for indicator in indicators],
            period=period,
            status__in=statuses,
            value__isnull=False,
            org_unit__path__startswith=F("indicator__plan__issuer_org_unit__path"),
        )
        .order_by()
        .values("indicator_id")
        .annotate(
            **_rollup_columns(~own),
            own_n=Count("id", filter=own),
            own_value=Max("value", filter=own),
            own_submitted=Count("id", filter=own & Q(status=ReviewStatus.SUBMITTED)),
        )
    )
    by_id = {indicator.pk: indicator for indicator in indicators}
    figures = {}
    for values in rows:
        row: dict[str, Any] = dict(values)
        indicator = by_id[row["indicator_id"]]
        if row["own_n"]:
            figures[indicator.pk] = Figure(row["own_value"], 1, row["own_submitted"] > 0)
        else:
            figures[indicator.pk] = Figure(_roll(indicator, row), _contributors(indicator, row), row["submitted"] > 0)
    return figures


def subtree_ids(unit: OrgUnit, *, include_self: bool = False) -> QuerySet[OrgUnit, int]:
    """The ids of the units below `unit` (and of itself if asked), as a subquery."""
    units = OrgUnit.objects.filter(path__startswith=unit.path)
    if not include_self:
        units = units.filter(depth__gt=unit.depth)
    return units.order_by().values_list("pk", flat=True)


def plan_progress(
    *,
    plan: Plan,
    indicators: QuerySet[Indicator],
    period: Period,
    unit: OrgUnit,
    include_submitted: bool = False,
    with_trend: bool = True,
) -> list[IndicatorProgress]:
    """Every indicator of the plan for one period at one unit, with a trend over the plan's periods
    (an empty one without `with_trend`: the figures of one period are read, not of all)."""
    items = list(indicators.select_related("baseline").prefetch_related("targets"))
    trend_periods = [p.code for p in plan.periods() if p.kind == period.kind] if with_trend else []
    codes = sorted(set(trend_periods) | {period.code})
    # At the plan's own issuing unit, each period over the territory the plan then applies over.
    areas = plan_areas(plan, codes) if unit.pk == plan.issuer_org_unit_id else None
    figures = rolled_up(indicators=items, unit=unit, periods=codes, include_submitted=include_submitted, areas=areas)
    # A unit of today: the periods before it existed, from the units it succeeded.
    figures.update(recomputed_figures(indicators=items, unit=unit, periods=codes, include_submitted=include_submitted))
    result = []
    for indicator in items:
        figure = figures.get((indicator.pk, period.code), Figure(None, 0, False))
        target = indicator.target_for(period.target_year, unit)
        baseline = getattr(indicator, "baseline", None)
        progress = None
        if target is None:
            status = NO_TARGET if figure.value is not None else NO_DATA
        elif figure.value is None:
            status = NO_DATA
        else:
            status = MET if achieved(figure.value, target.comparator, target.value) else NOT_MET
            progress = progress_towards(indicator, figure.value, target.value, baseline)
        trend = [(code, figures.get((indicator.pk, code), Figure(None, 0, False)).value) for code in trend_periods]
        recomputed = tuple(
            code for code in codes if figures.get((indicator.pk, code), Figure(None, 0, False)).recomputed
        )
        result.append(IndicatorProgress(indicator, target, figure, status, progress, trend, recomputed))
    return result


@dataclass(frozen=True)
class UnitFigure:
    unit: OrgUnit
    value: Decimal
    status: str


def indicator_comparison(*, indicator: Indicator, period: str, unit: OrgUnit) -> list[UnitFigure]:
    """One indicator and period across the reporting units under `unit`, best first."""
    actuals = (
        Actual.objects.filter(indicator=indicator, period=period, org_unit__in=subtree_ids(unit, include_self=True))
        .exclude(value=None)
        .select_related("org_unit")
        .order_by("org_unit_id")
    )
    figures = [UnitFigure(a.org_unit, a.value, a.status) for a in actuals if a.value is not None]
    if indicator.direction == Direction.KEEP:
        # "Keep at": the closest to the target ranks first.
        target = indicator.target_for(parse_period(period).target_year, unit)
        if target is not None:
            return sorted(figures, key=lambda f: abs(f.value - target.value))
    return sorted(figures, key=lambda f: f.value, reverse=indicator.direction != Direction.LOWER)


def entry_units(*, plan: Plan, level: str, within: OrgUnit, period: Period | None = None) -> QuerySet[OrgUnit]:
    """The units that enter figures at `level` for the plan, inside `within`: for a period, those
    that exist in it within the plan's area then (healthplans.territory), else over its whole span."""
    start, end = (period.start, period.end) if period is not None else (None, None)
    units = OrgUnit.objects.filter(entry_units_q(plan, level, start, end))
    if period is not None:
        units = units.filter(OrgUnit.overlaps_q(period.start, period.end))
    if not plan.issuer_org_unit.path.startswith(within.path):
        units = units.filter(path__startswith=within.path)
    return units


@dataclass
class UnitCompleteness:
    unit: OrgUnit
    expected: int
    counts: dict[str, int]
    state: str  # approved, submitted, returned, in_progress, late, not_started


def completeness(*, plan: Plan, period: Period, within: OrgUnit, today: date | None = None) -> list[UnitCompleteness]:
    """Which units submitted, were approved, are late or missing for a period, against its deadline."""
    today = today or timezone.localdate()
    expected_by_level: dict[str, int] = {}
    for level in plan.indicators.values_list("entry_level", flat=True):
        expected_by_level[level] = expected_by_level.get(level, 0) + 1
    units: dict[int, UnitCompleteness] = {}
    for level, expected in expected_by_level.items():
        for unit in entry_units(plan=plan, level=level, within=within, period=period).order_by("path"):
            entry = units.setdefault(unit.pk, UnitCompleteness(unit, 0, {}, ""))
            entry.expected += expected
    counts = (
        Actual.objects.filter(indicator__plan=plan, period=period.code, org_unit__in=list(units))
        .values("org_unit_id", "status")
        .annotate(n=Count("id"))
    )
    for row in counts:
        units[row["org_unit_id"]].counts[row["status"]] = row["n"]
    for entry in units.values():
        c = entry.counts
        done = c.get(ReviewStatus.APPROVED, 0)
        sent = done + c.get(ReviewStatus.SUBMITTED, 0)
        if done >= entry.expected:
            entry.state = "approved"
        elif c.get(ReviewStatus.RETURNED):
            entry.state = "returned"
        elif sent >= entry.expected:
            entry.state = "submitted"
        elif today > period.deadline:
            entry.state = "late"
        elif sum(c.values()):
            entry.state = "in_progress"
        else:
            entry.state = "not_started"
    return sorted(units.values(), key=lambda e: e.unit.path)
