"""A plan's live progress: the dashboard against its targets, the comparison of units and the
completeness of reporting, each for one period at one unit of the plan's area."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from budgets.selectors import budget_summary
from healthplans.formatting import period_label, rounded
from healthplans.models import OrgUnit
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.quality import Check, checks_by_indicator, checks_for, plan_facts
from healthplans.selectors import Actor, ancestor_paths, org_unit_list
from healthplans.templatetags.charts import Bar
from healthplans.workflow import ReviewStatus
from indicators.models import Indicator
from indicators.progress import (
    MET,
    NO_TARGET,
    NOT_MET,
    IndicatorProgress,
    UnitFigure,
    achieved,
    completeness,
    indicator_comparison,
    plan_progress,
)
from indicators.selectors import (
    ChildContribution,
    Contributions,
    child_contributions,
    indicator_list,
    progress_unit,
)
from plans.models import Plan
from plans.selectors import plan_get_or_404
from reporting.formatting import ACHIEVEMENT_LABELS, figure_places, group_heading, group_rank

COMPLETENESS_LABELS = {
    "approved": pgettext_lazy("completeness", "approved"),
    "submitted": pgettext_lazy("completeness", "submitted"),
    "returned": pgettext_lazy("completeness", "returned"),
    "in_progress": pgettext_lazy("completeness", "in progress"),
    "late": pgettext_lazy("completeness", "late"),
    "not_started": pgettext_lazy("completeness", "not started"),
}


@dataclass(frozen=True)
class ProgressScope:
    """What a progress page is about: a visible plan, one of its periods, a unit in reach."""

    plan: Plan
    periods: list[Period]
    period: Period
    unit: OrgUnit
    units: list[OrgUnit]
    include_submitted: bool

    @property
    def period_label(self) -> str:
        return period_label(self.period)

    @property
    def period_choices(self) -> list[tuple[Period, str]]:
        return [(period, period_label(period)) for period in self.periods]

    @property
    def unit_choices(self) -> list[tuple[OrgUnit, str]]:
        """The unit picker's options, indented by depth below the plan's issuer."""
        top = min((unit.depth for unit in self.units), default=0)
        return [(unit, "\u00a0\u00a0" * (unit.depth - top) + unit.name) for unit in self.units]

    def query(self, **extra: object) -> str:
        """The query string that keeps this scope on a link to another progress page."""
        params: dict[str, object] = {"period": self.period.code, "org_unit": self.unit.pk}
        if self.include_submitted:
            params["include_submitted"] = 1
        params.update(extra)
        return urlencode(params)


def default_period(periods: list[Period], today: date) -> Period:
    """The latest period whose figures are due; of those ending together, the longest (the year
    rather than its second half, since targets are set for years); else the plan's first."""
    due = [period for period in periods if period.deadline < today]
    if not due:
        return periods[0]
    return max(due, key=lambda period: (period.end, -period.start.toordinal()))


def progress_scope(request: HttpRequest, slug: str) -> ProgressScope:
    """Read plan, period, unit and the submitted switch from the request; 404 when out of reach."""
    user = request.user
    # The plan alone (not its sections and tasks: the progress pages do not show them).
    plan = plan_get_or_404(fetched_by=user, slug=slug)
    periods = plan.periods()
    code = request.GET.get("period")
    if code:
        try:
            period = parse_period(code)
        except PeriodError:
            raise Http404 from None
        if period not in periods:
            raise Http404
    else:
        period = default_period(periods, timezone.localdate())
    unit = progress_unit(fetched_by=user, plan=plan, org_unit_id=_int_param(request, "org_unit"))
    issuer = plan.issuer_org_unit
    # The plan's area over its whole span: the issuer's subtree, and the units that hold its
    # territory once the issuer has ended (healthplans.territory).
    if unit is None or not (unit.path.startswith(issuer.path) or plan.covers(unit)):
        raise Http404
    units = unit_choices(user, plan, unit, period)
    return ProgressScope(
        plan=plan,
        periods=periods,
        period=period,
        unit=unit,
        units=units,
        include_submitted=request.GET.get("include_submitted") in {"1", "on", "true"},
    )


def unit_choices(user: Actor, plan: Plan, unit: OrgUnit, period: Period) -> list[OrgUnit]:
    """The unit picker's units, a few dozen rather than a province's thousands: the plan's issuer
    and the units that hold its territory in the period, the units above the one shown, and those
    right below it that exist in the period."""
    issuer = plan.issuer_org_unit
    tops = (
        Q(pk=issuer.pk)
        | Q(path__in=plan.area_paths(period.start, period.end))
        | Q(path__in=plan.stand_in_paths(period.start, period.end))
    )
    below = Q(path__startswith=unit.path, depth=unit.depth + 1) & OrgUnit.overlaps_q(period.start, period.end)
    within = Q(path__startswith=issuer.path) | plan.area_q()
    return list(org_unit_list(fetched_by=user).filter(within).filter(tops | Q(path__in=ancestor_paths(unit)) | below))


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Http404 from None


@dataclass(frozen=True)
class DashboardRow:
    item: IndicatorProgress
    places: int
    actual: Decimal | None
    status_label: str
    flags: str

    @property
    def target_value(self) -> Decimal | None:
        return self.item.target.value if self.item.target is not None else None


def dashboard_row(item: IndicatorProgress, checks: dict[str, list[Check]]) -> DashboardRow:
    indicator = item.indicator
    places = figure_places(indicator)
    found = [check.message for check in checks.get(indicator.number, [])]
    return DashboardRow(
        item=item,
        places=places,
        actual=rounded(item.actual.value, places),
        status_label=str(ACHIEVEMENT_LABELS[item.status]),
        flags=f"{_('The document is inconsistent here')}: {'; '.join(found)}" if found else "",
    )


def indicator_checks(plan: Plan, indicators: Iterable[Indicator]) -> dict[str, list[Check]]:
    """The plan quality checks of each indicator, read from the indicators the page loaded; the
    budget's checks are the plan page's, so its lines are not read here."""
    return checks_by_indicator(checks_for(plan_facts(plan, loaded={"indicators": indicators, "budget_lines": []})))


@dataclass(frozen=True)
class ContributionBlock:
    """One of the plan's indicators with its child plans' contributions, figures rounded as its own."""

    contributions: Contributions
    actuals: list[tuple[ChildContribution, Decimal | None]]


def contribution_block(contributions: Contributions) -> ContributionBlock:
    places = figure_places(contributions.indicator)
    return ContributionBlock(
        contributions, [(child, rounded(child.figure.value, places)) for child in contributions.children]
    )


@login_required
def plan_dashboard_view(request: HttpRequest, slug: str) -> HttpResponse:
    scope = progress_scope(request, slug)
    indicators = indicator_list(fetched_by=request.user, filters={"plan": scope.plan.pk})
    items = plan_progress(
        plan=scope.plan,
        indicators=indicators,
        period=scope.period,
        unit=scope.unit,
        include_submitted=scope.include_submitted,
    )
    # The indicators as plan_progress loaded them (targets, baseline, catalogue): not read again.
    checks = indicator_checks(scope.plan, [item.indicator for item in items])
    rows = [dashboard_row(item, checks) for item in items]
    contributions = child_contributions(
        fetched_by=request.user,
        plan=scope.plan,
        indicators=[item.indicator for item in items],
        period=scope.period,
        include_submitted=scope.include_submitted,
    )
    by_group: dict[str, list[DashboardRow]] = {}
    for row in rows:
        by_group.setdefault(row.item.indicator.group, []).append(row)
    # Headings only where the plan groups its indicators (input / activity / output).
    grouped = len(by_group) > 1
    groups = [(group_heading(group) if grouped else "", by_group[group]) for group in sorted(by_group, key=group_rank)]
    summary = Counter(item.status for item in items)
    context = {
        "scope": scope,
        "plan": scope.plan,
        "groups": groups,
        "summary": [(status, ACHIEVEMENT_LABELS[status], summary.get(status, 0)) for status in ACHIEVEMENT_LABELS],
        "budget_summary": budget_summary(fetched_by=request.user, plan=scope.plan, period=scope.period),
        "contributions": [
            contribution_block(contributions[item.indicator.pk]) for item in items if item.indicator.pk in contributions
        ],
    }
    return render(request, "plans/dashboard.html", context)


@dataclass(frozen=True)
class ComparisonRow:
    rank: int
    unit: OrgUnit
    value: Decimal
    status: str  # met / not_met against the unit's target; no_target without one
    status_label: str
    provisional: bool


def comparison_rows(
    indicator: Indicator, figures: list[UnitFigure], period: Period, places: int
) -> list[ComparisonRow]:
    """Ranked figures, each judged against its unit's own target for the year, else the plan's."""
    rows = []
    for rank, figure in enumerate(figures, start=1):
        target = indicator.target_for(period.target_year, figure.unit)
        if target is None:
            status = NO_TARGET
        else:
            status = MET if achieved(figure.value, target.comparator, target.value) else NOT_MET
        rows.append(
            ComparisonRow(
                rank=rank,
                unit=figure.unit,
                value=rounded(figure.value, places),
                status=status,
                status_label=str(ACHIEVEMENT_LABELS[status]),
                provisional=figure.status == ReviewStatus.SUBMITTED,
            )
        )
    return rows


@login_required
def plan_compare_view(request: HttpRequest, slug: str) -> HttpResponse:
    scope = progress_scope(request, slug)
    indicators = indicator_list(fetched_by=request.user, filters={"plan": scope.plan.pk})
    choices = list(indicators)
    indicator_id = _int_param(request, "indicator")
    indicator = next((i for i in choices if i.pk == indicator_id), None) if indicator_id else None
    if indicator is None:
        if indicator_id is not None or not choices:
            raise Http404
        indicator = choices[0]
    (overall,) = plan_progress(
        plan=scope.plan,
        indicators=indicators.filter(pk=indicator.pk),
        period=scope.period,
        unit=scope.unit,
        include_submitted=scope.include_submitted,
        with_trend=False,
    )
    # A draft or a returned figure is not reported yet; submitted ones only when asked for.
    reported = {ReviewStatus.APPROVED, ReviewStatus.SUBMITTED} if scope.include_submitted else {ReviewStatus.APPROVED}
    figures = [
        figure
        for figure in indicator_comparison(indicator=indicator, period=scope.period.code, unit=scope.unit)
        if figure.status in reported
    ]
    places = figure_places(indicator)
    rows = comparison_rows(indicator, figures, scope.period, places)
    context = {
        "scope": scope,
        "plan": scope.plan,
        "indicator": indicator,
        "indicators": choices,
        "overall": dashboard_row(overall, indicator_checks(scope.plan, choices)),
        "rows": rows,
        "bars": [Bar(row.unit.name, row.value, row.status) for row in rows],
        "places": places,
    }
    return render(request, "plans/compare.html", context)


@login_required
def plan_completeness_view(request: HttpRequest, slug: str) -> HttpResponse:
    scope = progress_scope(request, slug)
    entries = completeness(plan=scope.plan, period=scope.period, within=scope.unit)
    statuses = [ReviewStatus.APPROVED, ReviewStatus.SUBMITTED, ReviewStatus.RETURNED, ReviewStatus.DRAFT]
    rows = [
        {
            "unit": entry.unit,
            "expected": entry.expected,
            "counts": [entry.counts.get(status, 0) for status in statuses],
            "state": entry.state,
            "state_label": COMPLETENESS_LABELS[entry.state],
        }
        for entry in entries
    ]
    states = Counter(entry.state for entry in entries)
    context = {
        "scope": scope,
        "plan": scope.plan,
        "statuses": [ReviewStatus(status).label for status in statuses],
        "rows": rows,
        "totals": {
            "expected": sum(entry.expected for entry in entries),
            "counts": [sum(entry.counts.get(status, 0) for entry in entries) for status in statuses],
        },
        "states": [(label, states.get(state, 0)) for state, label in COMPLETENESS_LABELS.items()],
        "deadline": scope.period.deadline,
    }
    return render(request, "plans/completeness.html", context)
