"""The quality checks of a plan's indicators, targets and baselines (registered with the core's
healthplans.quality by IndicatorsConfig.ready())."""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from healthplans.formatting import written
from healthplans.quality import (
    Check,
    FigureFacts,
    IndicatorFacts,
    Place,
    PlanFacts,
    Severity,
    register,
    register_reader,
)
from indicators.models import RATE_SCALE, Direction, Indicator, Rollup, Target, UnitKind

# A unit written per thousand ("‰", "/1000 trẻ đẻ sống") or in percent ("%").
PER_MILLE_WRITTEN = re.compile(r"‰|/\s*1\.?000\b")
PERCENT_WRITTEN = re.compile(r"%")
# A count written in thousands or more ("1000 người", "nghìn người", "triệu đồng").
MULTIPLIERS = [
    (re.compile(r"\b1\.?000\.?000\b|triệu", re.IGNORECASE), Decimal(1_000_000)),
    (re.compile(r"\b1\.?000\b|nghìn|ngàn", re.IGNORECASE), Decimal(1000)),
]
# More people than the country has: a count "in thousands" beyond it was written in persons.
MOST_PEOPLE = Decimal(200_000_000)
# A percentage this many times the same measure's values in other plans reads like per mille.
PER_MILLE_FACTOR = Decimal(5)


def indicator_facts(indicator: Indicator) -> IndicatorFacts:
    """An indicator as the checks read it (its targets, baseline and catalogue prefetched)."""
    baseline = getattr(indicator, "baseline", None)
    return IndicatorFacts(
        number=indicator.number,
        name=indicator.name,
        unit=indicator.unit,
        unit_kind=indicator.unit_kind,
        direction=indicator.direction,
        rollup=indicator.rollup,
        catalogue=indicator.catalogue.code if indicator.catalogue else "",
        catalogue_unit_kind=indicator.catalogue.unit_kind if indicator.catalogue else "",
        baseline=None if baseline is None else FigureFacts(baseline.year, baseline.value, baseline.text),
        targets=[
            FigureFacts(target.year, target.value, target.text, target.comparator, _unit_name(target))
            for target in indicator.targets.all()
        ],
    )


def _unit_name(target: Target) -> str:
    return target.org_unit.name if target.org_unit_id and target.org_unit else ""


@register_reader
def read_indicators(plan: Any, facts: PlanFacts, loaded: Mapping[str, Iterable[Any]]) -> None:
    indicators = loaded.get("indicators")
    if indicators is None:
        indicators = (
            Indicator.objects.filter(plan=plan)
            .select_related("baseline", "catalogue")
            .prefetch_related(Prefetch("targets", queryset=Target.objects.select_related("org_unit")))
            .order_by("order")
        )
    facts.indicators = [indicator_facts(indicator) for indicator in indicators]


def _figures(indicator: IndicatorFacts) -> Iterator[tuple[Place, FigureFacts]]:
    if indicator.baseline is not None:
        yield Place("baseline", indicator.number, indicator.baseline.year), indicator.baseline
    for target in indicator.targets:
        yield Place("target", indicator.number, target.year, target.unit), target


def _warning(code: str, message: str, where: Place, source: str = "") -> Check:
    return Check(code, Severity.WARNING, message, where, source)


def _error(code: str, message: str, where: Place, source: str = "") -> Check:
    return Check(code, Severity.ERROR, message, where, source)


# ---- A unit or scale at odds with the values ----------------------------------------------------


def _similar_percentages(facts: PlanFacts) -> dict[str, Decimal]:
    """For each catalogue measure of the plan's percentages, the largest value (in %) the same
    measure has in other plans: what "similar indicators" write, in one query."""
    codes = {i.catalogue for i in facts.indicators if i.catalogue and i.unit_kind == UnitKind.PERCENT}
    if not codes:
        return {}
    others = Target.objects.filter(indicator__catalogue__code__in=codes)
    if facts.plan_id is not None:
        others = others.exclude(indicator__plan_id=facts.plan_id)
    largest: dict[str, Decimal] = {}
    rows = others.values_list("indicator__catalogue__code", "indicator__unit_kind", "indicator__unit", "value")
    for code, unit_kind, unit, value in rows:
        # Only values whose written unit agrees with their kind are a reference.
        if unit_kind in RATE_SCALE and not _unit_disagrees(unit, unit_kind):
            percent = value * 100 / RATE_SCALE[unit_kind]
            largest[code] = max(largest.get(code, percent), percent)
    return largest


def _written_kinds(unit: str) -> set[str]:
    kinds: set[str] = set()
    if PER_MILLE_WRITTEN.search(unit):
        kinds.add(UnitKind.PERMILLE)
    if PERCENT_WRITTEN.search(unit):
        kinds.add(UnitKind.PERCENT)
    return kinds


def _unit_disagrees(unit: str, unit_kind: str) -> bool:
    written = _written_kinds(unit)
    return len(written) > 1 or (bool(written) and unit_kind in RATE_SCALE and unit_kind not in written)


@register
def unit_scale(facts: PlanFacts) -> Iterator[Check]:
    similar = _similar_percentages(facts)
    for indicator in facts.indicators:
        where = Place("indicator", indicator.number)
        values = [figure.value for _place, figure in _figures(indicator) if figure.value is not None]
        kinds = _written_kinds(indicator.unit)
        if len(kinds) > 1:
            yield _warning(
                "unit_scale", _("The unit is written both per thousand and in percent."), where, indicator.unit
            )
        elif _unit_disagrees(indicator.unit, indicator.unit_kind) or (
            UnitKind.PERCENT in kinds and indicator.catalogue_unit_kind in {UnitKind.PERMILLE, UnitKind.PER_10000}
        ):
            yield _warning(
                "unit_scale",
                _("The unit is written «%(unit)s» but the measure is counted %(kind)s: the values read like ‰.")
                % {
                    "unit": indicator.unit,
                    "kind": UnitKind(indicator.catalogue_unit_kind or indicator.unit_kind).label,
                },
                where,
                indicator.unit,
            )
        elif indicator.unit_kind == UnitKind.PERCENT and indicator.catalogue in similar and values:
            reference = similar[indicator.catalogue]
            if reference > 0 and min(values) >= reference * PER_MILLE_FACTOR:
                yield _warning(
                    "unit_scale",
                    _(
                        "In percent, %(value)s is far above what other plans set for this measure "
                        "(at most %(reference)s%%): the values read like ‰."
                    )
                    % {"value": written(min(values)), "reference": written(reference)},
                    where,
                    indicator.unit,
                )
        if indicator.unit_kind == UnitKind.COUNT:
            multiplier = next((m for pattern, m in MULTIPLIERS if pattern.search(indicator.unit)), None)
            if multiplier is not None and values and max(values) * multiplier > MOST_PEOPLE:
                yield _warning(
                    "unit_scale",
                    _("The unit is «%(unit)s» but the values read like single units (%(value)s).")
                    % {"unit": indicator.unit, "value": written(max(values))},
                    where,
                    indicator.unit,
                )
            for place, figure in _figures(indicator):
                if figure.value is not None and figure.value != figure.value.to_integral_value():
                    yield _warning("unit_scale", _("A count with decimals."), place, figure.text)


def _units_mixed(indicator: IndicatorFacts, other: IndicatorFacts) -> bool:
    return bool(_written_kinds(indicator.unit) ^ _written_kinds(other.unit)) or indicator.unit_kind != other.unit_kind


# ---- The same measure twice ---------------------------------------------------------------------


def normalised_name(name: str) -> str:
    """A name compared without case, accents, punctuation or spacing."""
    decomposed = unicodedata.normalize("NFD", name.casefold().replace("đ", "d"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


@register
def duplicates(facts: PlanFacts) -> Iterator[Check]:
    first_seen: dict[str, IndicatorFacts] = {}
    for indicator in facts.indicators:
        keys = [f"name:{normalised_name(indicator.name)}"] + (
            [f"catalogue:{indicator.catalogue}"] if indicator.catalogue else []
        )
        earlier = next((first_seen[key] for key in keys if key in first_seen), None)
        for key in keys:
            first_seen.setdefault(key, indicator)
        if earlier is None:
            continue
        where = Place("indicator", indicator.number)
        yield _warning(
            "duplicate",
            _("The same measure as indicator %(number)s.") % {"number": earlier.number},
            where,
            indicator.name,
        )
        if _units_mixed(indicator, earlier):
            yield _warning(
                "unit_scale",
                _("Written «%(unit)s» here and «%(other)s» in indicator %(number)s: one of them has the wrong scale.")
                % {"unit": indicator.unit, "other": earlier.unit, "number": earlier.number},
                where,
                indicator.unit,
            )


# ---- Targets: direction, series, percentages, units, presence -----------------------------------


def _against(direction: str, before: Decimal, after: Decimal) -> bool:
    return (direction == Direction.HIGHER and after < before) or (direction == Direction.LOWER and after > before)


@register
def wrong_direction(facts: PlanFacts) -> Iterator[Check]:
    for indicator in facts.indicators:
        if indicator.direction not in {Direction.HIGHER, Direction.LOWER}:
            continue
        series = sorted((t for t in indicator.targets if not t.unit and t.value is not None), key=lambda t: t.year)
        baseline = indicator.baseline
        if baseline is not None and baseline.value is not None and series:
            target = next(
                (t for t in series if t.value is not None and _against(indicator.direction, baseline.value, t.value)),
                None,
            )
            if target is not None:
                yield _warning(
                    "wrong_direction",
                    _(
                        "The target %(target)s moves away from the baseline %(baseline)s, "
                        "against the indicator's direction (%(direction)s)."
                    )
                    % {
                        "target": target.text,
                        "baseline": baseline.text,
                        "direction": Direction(indicator.direction).label,
                    },
                    Place("target", indicator.number, target.year),
                    target.text,
                )
                continue
        for before, after in pairwise(series):
            if before.value is None or after.value is None:
                continue
            if _against(indicator.direction, before.value, after.value):
                yield _warning(
                    "wrong_direction",
                    _(
                        "The target moves from %(before)s (%(year)s) to %(after)s, "
                        "against the indicator's direction (%(direction)s)."
                    )
                    % {
                        "before": before.text,
                        "year": before.year,
                        "after": after.text,
                        "direction": Direction(indicator.direction).label,
                    },
                    Place("target", indicator.number, after.year),
                    after.text,
                )
                break


@register
def series_gaps(facts: PlanFacts) -> Iterator[Check]:
    for indicator in facts.indicators:
        years = sorted({t.year for t in indicator.targets if not t.unit})
        # Milestones (2025, 2030) are not a yearly series; a series with two years in a row is.
        if not any(later == before + 1 for before, later in pairwise(years)):
            continue
        missing = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        for year in missing:
            yield _warning(
                "series_gap",
                _("The yearly targets skip %(year)s.") % {"year": year},
                Place("target", indicator.number, year),
            )


@register
def percent_over_100(facts: PlanFacts) -> Iterator[Check]:
    for indicator in facts.indicators:
        if indicator.unit_kind != UnitKind.PERCENT:
            continue
        for place, figure in _figures(indicator):
            if figure.value is not None and figure.value > 100:
                yield _error("percent_over_100", _("A percentage above 100."), place, figure.text)


@register
def without_target(facts: PlanFacts) -> Iterator[Check]:
    for indicator in facts.indicators:
        if not indicator.targets:
            yield _warning(
                "no_target", _("The indicator has no target."), Place("indicator", indicator.number), indicator.name
            )


@register
def unit_targets_sum(facts: PlanFacts) -> Iterator[Check]:
    """Counts summed over units: the units' targets of a year must add up to the plan's."""
    for indicator in facts.indicators:
        if indicator.rollup != Rollup.SUM:
            continue
        by_year: dict[int, list[FigureFacts]] = defaultdict(list)
        plan_wide: dict[int, FigureFacts] = {}
        for target in indicator.targets:
            if target.unit:
                by_year[target.year].append(target)
            else:
                plan_wide[target.year] = target
        for year, targets in sorted(by_year.items()):
            whole = plan_wide.get(year)
            if whole is None or whole.value is None or any(t.value is None for t in targets):
                continue
            total = sum((t.value for t in targets if t.value is not None), Decimal(0))
            if total != whole.value:
                yield _error(
                    "unit_targets_sum",
                    _("The units' targets add up to %(total)s, the plan's is %(whole)s.")
                    % {"total": written(total), "whole": whole.text},
                    Place("target", indicator.number, year),
                    whole.text,
                )
