"""Demo figures for the local run: a believable set of actuals for the seed plans' past periods,
entered, submitted and reviewed through the same services as real ones (so each has its
history), and marked as demo data. Deterministic: the same seed gives the same figures.
"""

import random
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from healthplans.models import OrgUnit, Role, RoleAssignment, User
from healthplans.periods import Period
from indicators.models import Actual, Direction, Indicator, Rollup, UnitKind
from indicators.progress import entry_units
from indicators.services import FigureEntry, FigureStep, actual_approve_many, actual_return_many, actual_save_many
from plans.models import Plan

# A typical denominator per unit for rates (people, births, residents).
DENOMINATOR = {
    UnitKind.PERCENT: (400, 3000),
    UnitKind.PERMILLE: (150, 600),
    UnitKind.PER_10000: (8000, 20000),
    UnitKind.PER_100000: (8000, 20000),
}


def _tenant_user(plan: Plan, role: str) -> User | None:
    assignment = (
        RoleAssignment.objects.filter(role=role, org_unit__tenant=plan.tenant, org_unit__level=OrgUnit.Level.PROVINCE)
        .select_related("user")
        .first()
    )
    return assignment.user if assignment else None


def _reference(indicator: Indicator, year: int) -> Decimal | None:
    """What a unit's figure sits near: the baseline in its own year, else the target of the year
    (or the nearest one), else the baseline."""
    baseline = getattr(indicator, "baseline", None)
    if baseline is not None and baseline.year == year:
        return baseline.value
    targets = sorted(indicator.targets.all(), key=lambda t: abs(t.year - year))
    if targets:
        return targets[0].value
    return baseline.value if baseline else None


def _figure(
    indicator: Indicator, reference: Decimal, units: int, period: Period, rng: random.Random
) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """(value, numerator, denominator) for one unit, near its share of the reference."""
    # Most figures land near the target, some miss it on the wrong side of its comparator.
    drift = Decimal(
        str(rng.uniform(-0.08, 0.06) if indicator.direction != Direction.LOWER else rng.uniform(-0.06, 0.08))
    )
    if indicator.rollup == Rollup.SUM:
        share = reference / units / (2 if period.kind == "half_year" else 1)
        return max(Decimal(0), (share * (1 + drift)).to_integral_value()), None, None
    value = reference * (1 + drift)
    if indicator.unit_kind == UnitKind.PERCENT:
        value = min(value, Decimal(100))
    if indicator.rollup == Rollup.POOLED and indicator.unit_kind in DENOMINATOR:
        low, high = DENOMINATOR[UnitKind(indicator.unit_kind)]
        denominator = Decimal(rng.randint(low, high))
        numerator = (value * denominator / indicator.rate_scale).to_integral_value()
        return numerator * indicator.rate_scale / denominator, numerator, denominator
    if indicator.unit_kind == UnitKind.COUNT:
        return value.to_integral_value(), None, None
    return value.quantize(Decimal("0.1")), None, None


@transaction.atomic
def demo_figures_load(*, today: date | None = None, seed: int = 2024) -> int:
    """Enter the demo figures of every closed period of the seed plans; returns how many were added."""
    today = today or timezone.localdate()
    rng = random.Random(seed)  # noqa: S311  # repeatable demo data, not a secret
    added = 0
    for plan in Plan.objects.filter(source__endswith=".txt").select_related("issuer_org_unit").order_by("slug"):
        planner, reviewer = _tenant_user(plan, Role.PLANNER), _tenant_user(plan, Role.REVIEWER)
        if planner is None or reviewer is None:
            continue
        periods = [period for period in plan.periods() if period.deadline < today]
        indicators = list(
            plan.indicators.select_related("baseline", "plan__issuer_org_unit").prefetch_related("targets")
        )
        existing = set(Actual.objects.filter(indicator__plan=plan).values_list("indicator_id", "org_unit_id", "period"))
        entries: list[FigureEntry] = []
        rolls: list[float] = []
        units_of: dict[tuple[str, str], list[OrgUnit]] = {}
        for indicator in indicators:
            for period in periods:
                reference = _reference(indicator, period.target_year)
                if reference is None:
                    continue
                # The units of the period: those the plan was issued over until they ended, the
                # units that hold its territory since (a station of today, its sites rolled in).
                key = (indicator.entry_level, period.code)
                if key not in units_of:
                    units_of[key] = list(
                        entry_units(plan=plan, level=indicator.entry_level, within=plan.issuer_org_unit, period=period)
                    )
                units = units_of[key]
                for unit in units:
                    if (indicator.pk, unit.pk, period.code) in existing:
                        continue
                    value, numerator, denominator = _figure(indicator, reference, len(units), period, rng)
                    entries.append(
                        FigureEntry(
                            indicator,
                            unit,
                            period.code,
                            value,
                            numerator,
                            denominator,
                            note="Số liệu minh họa (demo)",
                            is_demo=True,
                            # Some stay drafts; the others go to review.
                            submit=(roll := rng.random()) >= 0.04,
                        )
                    )
                    rolls.append(roll)
        # The whole plan's figures in a few statements, through the services as the pages write them.
        figures = actual_save_many(entries=entries, by=planner)
        reviewed = [(actual, roll) for actual, roll in zip(figures, rolls, strict=True) if roll >= 0.08]
        returned = [FigureStep(actual) for actual, roll in reviewed if roll < 0.1]
        if returned:
            actual_return_many(steps=returned, message="Đề nghị kiểm tra lại số liệu (demo)", by=reviewer)
        approved = [FigureStep(actual) for actual, roll in reviewed if roll >= 0.1]
        if approved:
            actual_approve_many(steps=approved, by=reviewer)
        added += len(figures)
    return added
