"""Reads of indicators: visible exactly when their plan is."""

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from django_filters import CharFilter, FilterSet, NumberFilter

from healthplans.models import OrgUnit, Role, User
from healthplans.periods import Period, parse_period
from healthplans.selectors import Actor, Reach, org_unit_list, paths_with_roles, reach_of, roles_at
from healthplans.territory import origin_paths
from healthplans.workflow import ReviewStatus
from indicators.models import (
    WRITER_ROLES,
    Actual,
    ActualEvent,
    EntryLevel,
    Indicator,
    Rollup,
    Target,
    TargetRevision,
    entry_level_q,
    entry_units_q,
    is_entry_unit,
    period_form_url,
    unit_entry_level,
)
from indicators.plausibility import plausibility_warnings_for
from indicators.progress import NO_TARGET, Figure, issuer_figures
from plans.models import Plan
from plans.selectors import plan_list


class IndicatorFilter(FilterSet):
    plan = NumberFilter(field_name="plan_id")
    plan_slug = CharFilter(field_name="plan__slug")
    catalogue = CharFilter(field_name="catalogue__code")

    class Meta:
        model = Indicator
        fields = ["plan", "plan_slug", "group", "catalogue"]


def indicator_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Indicator]:
    qs = (
        Indicator.objects.filter(plan__in=plan_list(fetched_by=fetched_by))
        .select_related("baseline", "catalogue")
        .prefetch_related(Prefetch("targets", queryset=Target.objects.select_related("org_unit").order_by("year")))
        .order_by("plan_id", "order")
    )
    return IndicatorFilter(filters or {}, qs).qs


def indicator_get_or_404(*, fetched_by: Actor, pk: int) -> Indicator:
    """An indicator of a plan within reach, with its plan and issuing unit; missing and out of reach
    are the same 404."""
    return get_object_or_404(indicator_list(fetched_by=fetched_by).select_related("plan__issuer_org_unit"), pk=pk)


def target_revisions(*, fetched_by: Actor, plan: Plan) -> QuerySet[TargetRevision]:
    """The revisions of a visible plan's targets, oldest first: what each was, became, why, by what decision."""
    return (
        TargetRevision.objects.filter(
            target__indicator__plan__in=plan_list(fetched_by=fetched_by), target__indicator__plan=plan
        )
        .select_related("target__indicator", "target__org_unit", "by")
        .order_by("at", "pk")
    )


class ActualFilter(FilterSet):
    plan = NumberFilter(field_name="indicator__plan_id")
    indicator = NumberFilter(field_name="indicator_id")
    org_unit = NumberFilter(field_name="org_unit_id")
    period = CharFilter(field_name="period")
    status = CharFilter(field_name="status")

    class Meta:
        model = Actual
        fields = ["plan", "indicator", "org_unit", "period", "status"]


def actual_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Actual]:
    """Actuals of units in the user's reach, under plans the user can see."""
    # Unit by unit in tree order, then each unit's figures by plan, indicator and period. The reach is
    # a condition on the joined unit's path, so that the database walks the units in reach along the
    # path index and reads each one's figures by the unit index, sorting only one unit's figures at a
    # time: a page costs the same whether the reach holds a thousand figures or millions.
    qs = (
        Actual.objects.filter(
            reach_of(fetched_by).subtree_q("org_unit__path"), indicator__plan__in=plan_list(fetched_by=fetched_by)
        )
        .select_related("indicator", "org_unit", "tenant", "submitted_by", "reviewed_by")
        .order_by("org_unit__path", "indicator__plan_id", "indicator__order", "period")
    )
    return ActualFilter(filters or {}, qs).qs


def actual_rows(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Actual]:
    """actual_list for the API's list, which shows of the related rows only the names of the users who
    submitted and reviewed each figure: read as two columns (submitted_by_name, reviewed_by_name),
    not as the indicator, unit, tenant and users of every figure of a page."""
    return (
        actual_list(fetched_by=fetched_by, filters=filters)
        .select_related(None)
        .annotate(submitted_by_name=F("submitted_by__username"), reviewed_by_name=F("reviewed_by__username"))
    )


def actual_get(*, fetched_by: Actor, pk: int) -> Actual | None:
    return (
        actual_list(fetched_by=fetched_by)
        .select_related("indicator__plan__issuer_org_unit", "submitted_by", "reviewed_by")
        .filter(pk=pk)
        .first()
    )


def actual_history(*, actual: Actual) -> QuerySet[ActualEvent]:
    return actual.events.select_related("by").order_by("at", "pk")


def review_queue(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Actual]:
    """Submitted figures under the units where the user is a reviewer."""
    if isinstance(fetched_by, AnonymousUser):
        return Actual.objects.none()
    paths = role_paths(fetched_by, {Role.REVIEWER})
    reviewer_q = Reach(everything=paths is None, paths=paths or ()).subtree_q("org_unit__path")
    return actual_list(fetched_by=fetched_by, filters=filters).filter(reviewer_q, status=ReviewStatus.SUBMITTED)


def role_paths(user: Actor, roles: set[str]) -> tuple[str, ...] | None:
    """The subtrees where the user holds one of these roles; None means everywhere (a superuser)."""
    if isinstance(user, User) and user.is_active and user.is_superuser:
        return None
    return tuple(paths_with_roles(user, roles))


def writer_paths(user: Actor) -> tuple[str, ...] | None:
    """The subtrees where the user may enter figures; None means everywhere (a superuser)."""
    return role_paths(user, WRITER_ROLES)


def may_write(paths: tuple[str, ...] | None, unit: OrgUnit) -> bool:
    """Whether a unit lies in the subtrees of `role_paths` (or `writer_paths`)."""
    return paths is None or unit.path.startswith(paths)


@dataclass
class QueueItem:
    """A submitted figure in the reviewer's queue."""

    actual: Actual
    target: Target | None
    warnings: list[str]
    # A return refused for want of a message: the error and what the reviewer typed.
    return_errors: list[str] = field(default_factory=list)
    typed_message: str = ""


@dataclass
class QueueGroup:
    unit: OrgUnit
    period: str
    items: list[QueueItem]


def review_queue_groups(*, fetched_by: Actor) -> list[QueueGroup]:
    """The reviewer's queue: submitted figures by (unit, period), each with its target and warnings."""
    actuals = list(
        review_queue(fetched_by=fetched_by)
        .select_related("indicator__plan", "submitted_by")
        .prefetch_related("indicator__targets")
    )
    warnings = plausibility_warnings_for(actuals)
    groups: dict[tuple[str, str], QueueGroup] = {}
    for actual in actuals:
        target = actual.indicator.target_for(parse_period(actual.period).target_year, actual.org_unit)
        group = groups.setdefault(
            (actual.org_unit.path, actual.period), QueueGroup(unit=actual.org_unit, period=actual.period, items=[])
        )
        group.items.append(QueueItem(actual=actual, target=target, warnings=warnings[actual.pk]))
    return [groups[key] for key in sorted(groups)]


def entry_indicators(*, fetched_by: Actor, plan: Plan, unit: OrgUnit, period: Period | None = None) -> list[Indicator]:
    """The plan's indicators whose figures are entered at this unit (in the period, if one is
    given), if the user may enter them."""
    if not roles_at(fetched_by, unit) & WRITER_ROLES:
        return []
    items = indicator_list(fetched_by=fetched_by, filters={"plan": plan.pk}).select_related("plan__issuer_org_unit")
    return [indicator for indicator in items if is_entry_unit(indicator, unit, period)]


def progress_unit(*, fetched_by: Actor, plan: Plan, org_unit_id: int | None) -> OrgUnit | None:
    """The unit a progress view is about: the one asked for if within reach, else the plan's issuer
    (or the user's own unit under it); None if the user reaches no part of the plan."""
    reach = reach_of(fetched_by)
    visible = OrgUnit.objects.filter(reach.subtree_q())
    if org_unit_id is not None:
        return visible.filter(pk=org_unit_id).first()
    issuer = plan.issuer_org_unit
    if visible.filter(pk=issuer.pk).exists():
        return issuer
    # The user's own unit within the plan's area (the units that hold its territory since its
    # issuing unit ended among them).
    within = Q(path__startswith=issuer.path) | plan.area_q()
    return visible.filter(within).order_by("depth", "path").first()


# Entry levels in the order their columns appear, from the province down to the facilities.
LEVEL_ORDER = [
    EntryLevel.PROVINCE,
    EntryLevel.DISTRICT,
    EntryLevel.COMMUNE,
    EntryLevel.STATION,
    EntryLevel.SITE,
    EntryLevel.FACILITY,
]


def visible_entry_units(
    *, fetched_by: Actor, plan: Plan, levels: Iterable[str], periods: Sequence[Period] = ()
) -> list[OrgUnit]:
    """Units in the user's reach at any of the entry levels, in column order, that exist in the
    periods (by default the plan's whole span) within the plan's area then."""
    levels = set(levels)
    if not levels:
        return []
    start = min((p.start for p in periods), default=date(plan.start_year, 1, 1))
    end = max((p.end for p in periods), default=date(plan.last_year, 12, 31))
    wanted = Q(pk__in=[])
    for level in levels:
        wanted |= entry_units_q(plan, level, start, end)
    units = org_unit_list(fetched_by=fetched_by).filter(wanted, OrgUnit.overlaps_q(start, end))
    return sorted(units, key=lambda unit: (LEVEL_ORDER.index(EntryLevel(unit_entry_level(unit))), unit.path))


def grid_indicators(*, fetched_by: Actor, plan: Plan) -> list[Indicator]:
    return list(
        indicator_list(fetched_by=fetched_by, filters={"plan": plan.pk}).select_related("plan__issuer_org_unit")
    )


def grid_actuals(
    *, fetched_by: Actor, plan: Plan, periods: list[str], indicator: Indicator | None = None
) -> dict[tuple[int, int, str], Actual]:
    """The plan's figures of some periods in the user's reach, by (indicator, unit, period)."""
    filters: dict[str, Any] = {"plan": plan.pk}
    if indicator is not None:
        filters["indicator"] = indicator.pk
    actuals = actual_list(fetched_by=fetched_by, filters=filters).filter(period__in=periods)
    return {(a.indicator_id, a.org_unit_id, a.period): a for a in actuals}


def cells_figures(
    *, fetched_by: Actor, plan: Plan, keys: Collection[tuple[int, int, str]]
) -> dict[tuple[int, int, str], Actual]:
    """The stored figures that cells of a grid's request refer to, as the user sees them."""
    actuals = (
        actual_list(fetched_by=fetched_by, filters={"plan": plan.pk})
        .filter(
            indicator_id__in={key[0] for key in keys},
            org_unit_id__in={key[1] for key in keys},
            period__in={key[2] for key in keys},
        )
        .select_related("indicator__plan__issuer_org_unit")
    )
    return {(a.indicator_id, a.org_unit_id, a.period): a for a in actuals}


# ---------------------------------------------------------------------------------------------
# The period form of a unit, and the forms a user can fill


def sheet_actuals(*, fetched_by: Actor, plan: Plan, unit: OrgUnit, period: Period) -> dict[tuple[int, str], Actual]:
    """A unit's figures of the plan for a period and the one before, by (indicator, period)."""
    stored = actual_list(fetched_by=fetched_by, filters={"plan": plan.pk, "org_unit": unit.pk}).filter(
        period__in=[period.code, period.previous().code]
    )
    return {(actual.indicator_id, actual.period): actual for actual in stored}


def plans_entered_at(*, fetched_by: Actor, unit: OrgUnit, period: Period) -> list[Plan]:
    """Plans with indicators entered at this unit that report this period (for links without ?plan=);
    a draft plan asks for no figures until it is issued."""
    indicators = (
        indicator_list(fetched_by=fetched_by)
        .filter(plan__issuer_org_unit__path__in=origin_paths(unit.path))
        .exclude(plan__status=Plan.Status.DRAFT)
        .prefetch_related(None)
        .select_related("plan__issuer_org_unit")
    )
    plans: dict[int, Plan] = {}
    for indicator in indicators:
        if indicator.plan_id not in plans and is_entry_unit(indicator, unit, period):
            plans[indicator.plan_id] = indicator.plan
    return [plan for plan in plans.values() if period.code in {p.code for p in plan.periods()}]


@dataclass
class FormEntry:
    """A form the user can fill: a plan, a unit entering some of its indicators, a period."""

    plan: Plan
    unit: OrgUnit
    period: Period
    indicator_count: int
    statuses: dict[str, int]

    @property
    def url(self) -> str:
        return period_form_url(self.unit, self.period.code, self.plan)

    @property
    def entered(self) -> int:
        return sum(self.statuses.values())


def fillable_forms(user: User, *, today: date | None = None) -> list[FormEntry]:
    """Every (plan, unit, period) form the user may fill, in a fixed number of queries.

    Units: those under the user's writer roles where some indicator of a visible plan is entered;
    periods: the plan's reporting periods that have begun.
    """
    today = today or timezone.localdate()
    paths = writer_paths(user)
    writer_reach = Reach(everything=paths is None, paths=paths or ())
    if not writer_reach.everything and not writer_reach.paths:
        return []
    groups: dict[tuple[int, str], list[Indicator]] = defaultdict(list)
    # A draft plan (the builder's, being set up) asks for no figures until it is issued.
    issued = indicator_list(fetched_by=user).exclude(plan__status=Plan.Status.DRAFT)
    for indicator in issued.prefetch_related(None).select_related("plan__issuer_org_unit"):
        groups[indicator.plan_id, indicator.entry_level].append(indicator)
    if not groups:
        return []
    entered_at = Q()
    for level in {level for _plan, level in groups}:
        entered_at |= entry_level_q(level)
    units = org_unit_list(fetched_by=user).filter(writer_reach.subtree_q(), entered_at)
    statuses: dict[tuple[int, int, str], Counter[str]] = defaultdict(Counter)
    counts = (
        actual_list(fetched_by=user)
        .order_by()
        .values_list("indicator__plan_id", "org_unit_id", "period", "status")
        .annotate(count=Count("pk"))
    )
    for plan_id, unit_id, period_code, status, count in counts:
        statuses[plan_id, unit_id, period_code][status] += count
    entries = []
    for unit in units:
        per_plan: dict[int, tuple[Plan, int]] = {}
        for (plan_id, _level), indicators in groups.items():
            if is_entry_unit(indicators[0], unit):
                plan, count = per_plan.get(plan_id, (indicators[0].plan, 0))
                per_plan[plan_id] = (plan, count + len(indicators))
        for plan, count in per_plan.values():
            for period in plan.periods():
                # A unit is asked only for the periods it exists in, within the plan's territory then.
                if period.start > today or not is_entry_unit(groups[plan.pk, unit_entry_level(unit)][0], unit, period):
                    continue
                entries.append(
                    FormEntry(
                        plan=plan,
                        unit=unit,
                        period=period,
                        indicator_count=count,
                        statuses=dict(statuses.get((plan.pk, unit.pk, period.code), {})),
                    )
                )
    entries.sort(key=lambda entry: (-entry.plan.start_year, entry.plan.title, entry.period.end, entry.unit.path))
    return entries


# ---------------------------------------------------------------------------------------------
# Child plans' contributions to their parent's indicators


@dataclass(frozen=True)
class ChildContribution:
    """A child plan's indicator: its plan and unit, its target of the year, its figure of the period."""

    indicator: Indicator
    target: Target | None
    figure: Figure

    @property
    def plan(self) -> Plan:
        return self.indicator.plan

    @property
    def unit(self) -> OrgUnit:
        return self.indicator.plan.issuer_org_unit


# How the children's targets stand against the parent's: they add up (EQUAL), fall SHORT of it or go
# OVER it; a rate or a figure that does not add up is NOT_ADDITIVE; without the parent's target of
# the year there is nothing to add up to (NO_TARGET); a user who does not see every child plan (its
# reach lies below the parent's issuer) sees only PARTIAL sums, which say nothing of the whole.
EQUAL, SHORT, OVER, NOT_ADDITIVE, PARTIAL = "equal", "short", "over", "not_additive", "partial"


@dataclass(frozen=True)
class Contributions:
    """The child plans' contributions to one of the parent plan's indicators for a period."""

    indicator: Indicator
    target: Target | None
    children: list[ChildContribution]
    additive: bool
    complete: bool

    @property
    def children_total(self) -> Decimal | None:
        """The sum of the children's targets (of those that set one), for a count."""
        if not self.additive:
            return None
        return sum((child.target.value for child in self.children if child.target is not None), Decimal(0))

    @property
    def untargeted(self) -> int:
        return sum(1 for child in self.children if child.target is None)

    @property
    def add_up(self) -> str:
        if not self.additive:
            return NOT_ADDITIVE
        if self.target is None:
            return NO_TARGET
        if not self.complete:
            return PARTIAL
        total = self.children_total or Decimal(0)
        return EQUAL if total == self.target.value else SHORT if total < self.target.value else OVER

    @property
    def difference(self) -> Decimal | None:
        """By how much the children's targets miss the parent's (positive, whichever way)."""
        if self.add_up not in {SHORT, OVER} or self.target is None or self.children_total is None:
            return None
        return abs(self.children_total - self.target.value)


def child_contributions(
    *, fetched_by: Actor, plan: Plan, indicators: Iterable[Indicator], period: Period, include_submitted: bool = False
) -> dict[int, Contributions]:
    """Parent indicator id → the contributions of the issued child plans the user sees, for those of
    `indicators` (the plan's, their targets prefetched) that child plans implement. Each child: its
    plan, unit, target of the period's year and figure at its unit for the period (approved, or
    submitted too when asked). Whether the children's targets add up to the parent's: a count's
    sum against the parent's plan-wide target; a rate's targets do not add up, and are not summed.
    A fixed number of queries, whatever the number of children."""
    by_id = {indicator.pk: indicator for indicator in indicators}
    children = list(
        indicator_list(fetched_by=fetched_by)
        .filter(parent_indicator__in=list(by_id), plan__parent=plan)
        .exclude(plan__status=Plan.Status.DRAFT)
        .select_related("plan__issuer_org_unit")
        .order_by("plan__issuer_org_unit__path", "plan__start_year", "plan_id")
    )
    if not children:
        return {}
    figures = issuer_figures(indicators=children, period=period.code, include_submitted=include_submitted)
    reach = reach_of(fetched_by)
    area = plan.issuer_org_unit.path
    complete = reach.everything or any(area.startswith(path) for path in reach.paths)
    found: dict[int, list[ChildContribution]] = defaultdict(list)
    for child in children:
        target = child.target_for(period.target_year)
        figure = figures.get(child.pk, Figure(None, 0, False))
        found[child.parent_indicator_id or 0].append(ChildContribution(child, target, figure))
    return {
        parent_id: Contributions(
            indicator=by_id[parent_id],
            target=by_id[parent_id].target_for(period.target_year),
            children=rows,
            additive=by_id[parent_id].rollup == Rollup.SUM,
            complete=complete,
        )
        for parent_id, rows in found.items()
    }


def figures_open_after(units: Sequence[int], day: date) -> tuple[str, int]:
    """A reorganisation's impact: figures at the units it ends, of periods after `day`, not yet
    approved (they could not be entered there any more: they belong at the successors)."""
    open_figures = Actual.objects.filter(org_unit_id__in=units).exclude(status=ReviewStatus.APPROVED)
    later = [code for code in open_figures.values_list("period", flat=True).distinct() if parse_period(code).end > day]
    return gettext("open figures of periods after the change"), open_figures.filter(period__in=later).count()
