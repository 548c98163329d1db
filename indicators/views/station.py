"""Pages: a unit's period form (one row per indicator it enters), the forms a user can fill, and
one value's history.

Every write goes through indicators.services; one POST is one transaction, so a single bad value
writes nothing and the form comes back with what the user typed.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from healthplans.models import OrgUnit, Role, RoleAssignment, User
from healthplans.periods import Period, PeriodError, parse_period, plan_periods
from healthplans.selectors import Reach, ancestor_paths, org_unit_list, roles_at
from healthplans.workflow import Conflict, Forbidden, ReviewStatus, ServiceError
from indicators.forms import FigureRowForm, figure_text
from indicators.models import WRITER_ROLES, Actual, Baseline, EntryLevel, Indicator, Target
from indicators.selectors import actual_get, actual_history, actual_list, entry_indicators, indicator_list
from indicators.services import NewFigure, actual_create_many, actual_submit, actual_update, is_entry_unit
from plans.models import Plan
from plans.selectors import plan_list

# Submitted values wait for the reviewer and approved ones are locked: neither is edited here.
READ_ONLY_STATUSES = {ReviewStatus.SUBMITTED, ReviewStatus.APPROVED}
OPEN_STATUSES = {ReviewStatus.DRAFT, ReviewStatus.RETURNED}


@dataclass(frozen=True)
class Sheet:
    """The form of one unit, plan and period, and the indicators the user enters on it."""

    unit: OrgUnit
    plan: Plan
    period: Period
    indicators: list[Indicator]

    @property
    def url(self) -> str:
        return period_form_url(self.unit, self.period.code, self.plan)


@dataclass
class FigureRow:
    indicator: Indicator
    form: FigureRowForm
    actual: Actual | None
    previous: Actual | None
    target: Target | None
    baseline: Baseline | None
    posted: bool = False
    # The version the next write of this request expects (what the user read, then what we wrote).
    version: int | None = None
    conflict: Actual | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.form.prefix or ""

    @property
    def read_only(self) -> bool:
        return self.actual is not None and self.actual.status in READ_ONLY_STATUSES

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.conflict or (self.form.is_bound and self.form.errors))


def period_form_url(unit: OrgUnit, period: str, plan: Plan) -> str:
    return f"{reverse('figures-period', args=[unit.code, period])}?{urlencode({'plan': plan.slug})}"


def _unit_or_404(user: User, code: str) -> OrgUnit:
    unit = org_unit_list(fetched_by=user).filter(code=code).first()
    if unit is None:
        raise Http404
    return unit


def _period_codes(plan: Plan) -> set[str]:
    periods = plan_periods(
        start_year=plan.start_year, end_year=plan.end_year, frequencies=list(plan.reporting_frequencies or [])
    )
    return {period.code for period in periods}


def _plans_entered_at(user: User, unit: OrgUnit, period: Period) -> list[Plan]:
    """Plans with indicators entered at this unit that report this period (for links without ?plan=)."""
    indicators = (
        indicator_list(fetched_by=user)
        .filter(plan__issuer_org_unit__path__in=ancestor_paths(unit))
        .prefetch_related(None)
        .select_related("plan__issuer_org_unit")
    )
    plans: dict[int, Plan] = {}
    for indicator in indicators:
        if indicator.plan_id not in plans and is_entry_unit(indicator, unit):
            plans[indicator.plan_id] = indicator.plan
    return [plan for plan in plans.values() if period.code in _period_codes(plan)]


def _target_for(indicator: Indicator, unit: OrgUnit, year: int) -> Target | None:
    """The unit's own target of that year if the plan sets one, else the plan-wide target."""
    targets = [target for target in indicator.targets.all() if target.year == year]
    own = next((target for target in targets if target.org_unit_id == unit.pk), None)
    return own or next((target for target in targets if target.org_unit_id is None), None)


def _actuals(user: User, sheet: Sheet) -> dict[tuple[int, str], Actual]:
    periods = [sheet.period.code, sheet.period.previous().code]
    stored = actual_list(fetched_by=user, filters={"plan": sheet.plan.pk, "org_unit": sheet.unit.pk}).filter(
        period__in=periods
    )
    return {(actual.indicator_id, actual.period): actual for actual in stored}


def _rows(
    sheet: Sheet,
    actuals: dict[tuple[int, str], Actual],
    data: QueryDict | None = None,
    earlier: dict[int, FigureRow] | None = None,
) -> list[FigureRow]:
    """One row per indicator; `earlier` rows (of a failed POST) keep their forms, errors and conflicts."""
    previous_code = sheet.period.previous().code
    rows = []
    for indicator in sheet.indicators:
        actual = actuals.get((indicator.pk, sheet.period.code))
        prefix = f"i{indicator.pk}"
        row = FigureRow(
            indicator=indicator,
            form=FigureRowForm(
                data,
                prefix=prefix,
                initial={
                    "value": figure_text(actual.value) if actual else "",
                    "note": actual.note if actual else "",
                    "version": actual.version if actual else None,
                },
            ),
            actual=actual,
            previous=actuals.get((indicator.pk, previous_code)),
            target=_target_for(indicator, sheet.unit, sheet.period.target_year),
            baseline=getattr(indicator, "baseline", None),
            posted=data is not None and f"{prefix}-value" in data,
        )
        label = f"{indicator.number} {indicator.name}"[:120]
        row.form.fields["value"].widget.attrs["aria-label"] = f"{_('Value')}: {label}"
        row.form.fields["note"].widget.attrs["aria-label"] = f"{_('Note')}: {label}"
        if earlier and indicator.pk in earlier:
            before = earlier[indicator.pk]
            row.form, row.posted, row.conflict, row.errors = before.form, before.posted, before.conflict, before.errors
        rows.append(row)
    return rows


def _row_failed(row: FigureRow, exc: ServiceError, data: QueryDict, user: User) -> None:
    """Put a service's refusal next to the field it concerns."""
    if isinstance(exc, Forbidden):
        raise PermissionDenied(exc.message)
    if isinstance(exc, Conflict):
        row.conflict = exc.current
        row.errors.append(exc.message)
        if exc.current is not None:
            # The user now sees the current value; saving again means overwriting it knowingly.
            data[f"{row.prefix}-version"] = str(exc.current.version)
        return
    for name, problems in exc.fields.items():
        if name == "note":
            # Plausibility warnings: the service asks for a note explaining the value.
            row.form.add_error("note", [exc.message, *problems])
        elif name == "value":
            row.form.add_error("value", problems)
        else:
            row.errors.extend(problems)
    if not exc.fields:
        row.errors.append(exc.message)


def _is_new(row: FigureRow) -> bool:
    return row.actual is None or row.form.cleaned_data["version"] is None


def _create(rows: list[FigureRow], sheet: Sheet, user: User, data: QueryDict) -> int:
    """The rows without a stored figure, created together; how many were."""
    for row in rows:
        row.version = row.form.cleaned_data["version"]
    wanted = [row for row in rows if row.form.cleaned_data["value"] is not None or row.form.cleaned_data["note"]]
    if not wanted:
        return 0
    figures = [
        NewFigure(row.indicator, row.form.cleaned_data["value"], note=row.form.cleaned_data["note"]) for row in wanted
    ]
    try:
        # Also where someone else created a value meanwhile: the service answers "exists".
        results = actual_create_many(org_unit=sheet.unit, period=sheet.period.code, figures=figures, by=user)
    except ServiceError as exc:
        for row in wanted:
            _row_failed(row, exc, data, user)
        return 0
    created = 0
    for row, result in zip(wanted, results, strict=True):
        if isinstance(result, ServiceError):
            _row_failed(row, result, data, user)
            continue
        row.actual, row.version = result, result.version
        created += 1
    return created


def _save(row: FigureRow, user: User, data: QueryDict) -> bool:
    """A stored figure's new value or note."""
    cleaned = row.form.cleaned_data
    value, note, version = cleaned["value"], cleaned["note"], cleaned["version"]
    row.version = version
    actual = row.actual
    assert actual is not None and version is not None
    if value == actual.value and note == actual.note:
        return False
    try:
        row.actual = actual_update(actual=actual, version=version, value=value, note=note, by=user)
    except ServiceError as exc:
        _row_failed(row, exc, data, user)
        return False
    row.version = row.actual.version
    return True


def _submit(row: FigureRow, user: User, data: QueryDict) -> bool:
    actual = row.actual
    if actual is None or actual.value is None or actual.status not in OPEN_STATUSES or row.version is None:
        return False
    try:
        row.actual = actual_submit(actual=actual, version=row.version, by=user, note=row.form.cleaned_data["note"])
    except ServiceError as exc:
        _row_failed(row, exc, data, user)
        return False
    return True


def _render_sheet(request: HttpRequest, sheet: Sheet, rows: list[FigureRow], *, status: int = 200) -> HttpResponse:
    context = {
        "sheet": sheet,
        "unit": sheet.unit,
        "plan": sheet.plan,
        "period": sheet.period,
        "previous_period": sheet.period.previous(),
        "rows": rows,
        "editable": any(not row.read_only for row in rows),
        "failed": any(row.failed for row in rows),
    }
    return render(request, "figures/period_form.html", context, status=status)


def _post_sheet(request: HttpRequest, sheet: Sheet, user: User) -> HttpResponse:
    data = request.POST.copy()
    submitting = data.get("action") == "submit"
    rows = _rows(sheet, _actuals(user, sheet), data)
    entered = [row for row in rows if row.posted]
    saved = submitted = 0
    # A list, not a generator: every row is validated, not only those up to the first error.
    if all([row.form.is_valid() for row in entered]):
        with transaction.atomic():
            saved = _create([row for row in entered if _is_new(row)], sheet, user, data)
            saved += sum(_save(row, user, data) for row in entered if not _is_new(row))
            if submitting and not any(row.failed for row in entered):
                submitted = sum(_submit(row, user, data) for row in entered)
            if any(row.failed for row in entered):
                transaction.set_rollback(True)
    if any(row.failed for row in rows):
        # Nothing was written: show what is stored now, with what the user typed and why it failed.
        fresh = _rows(sheet, _actuals(user, sheet), data, earlier={row.indicator.pk: row for row in rows})
        return _render_sheet(request, sheet, fresh, status=409 if any(row.conflict for row in rows) else 400)
    if submitting:
        if submitted:
            messages.success(
                request,
                ngettext("Submitted %(count)s figure for review.", "Submitted %(count)s figures for review.", submitted)
                % {"count": submitted},
            )
        else:
            messages.warning(request, _("Nothing to submit: enter the values first."))
    elif saved:
        messages.success(
            request,
            ngettext("Saved %(count)s figure as a draft.", "Saved %(count)s figures as drafts.", saved)
            % {"count": saved},
        )
    else:
        messages.info(request, _("No value changed; nothing was saved."))
    return HttpResponseRedirect(sheet.url)


@login_required
def period_form_view(request: HttpRequest, code: str, period: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    unit = _unit_or_404(user, code)
    try:
        parsed = parse_period(period)
    except PeriodError as exc:
        raise Http404 from exc
    if not roles_at(user, unit) & WRITER_ROLES:
        raise PermissionDenied(_("You may not enter figures for this unit."))
    slug = request.GET.get("plan", "")
    if not slug:
        # Links in notifications name the unit and period only.
        plans = _plans_entered_at(user, unit, parsed)
        if not plans:
            raise Http404
        if len(plans) == 1:
            return redirect(period_form_url(unit, parsed.code, plans[0]))
        choices = [(plan, period_form_url(unit, parsed.code, plan)) for plan in plans]
        return render(request, "figures/choose_plan.html", {"unit": unit, "period": parsed, "choices": choices})
    plan = plan_list(fetched_by=user, filters={"slug": slug}).select_related("issuer_org_unit").first()
    if plan is None or parsed.code not in _period_codes(plan):
        raise Http404
    indicators = entry_indicators(fetched_by=user, plan=plan, unit=unit)
    if not indicators:
        raise Http404
    sheet = Sheet(unit=unit, plan=plan, period=parsed, indicators=indicators)
    if request.method == "POST":
        return _post_sheet(request, sheet, user)
    return _render_sheet(request, sheet, _rows(sheet, _actuals(user, sheet)))


@dataclass
class FormEntry:
    """A form the user can fill: a plan, a unit entering some of its indicators, a period."""

    plan: Plan
    unit: OrgUnit
    period: Period
    indicator_count: int
    statuses: dict[str, int]
    url: str

    @property
    def entered(self) -> int:
        return sum(self.statuses.values())


def _unit_levels(entry_level: str) -> str:
    return OrgUnit.Level.FACILITY if entry_level in {EntryLevel.STATION, EntryLevel.FACILITY} else entry_level


def fillable_forms(user: User, *, today: date | None = None) -> list[FormEntry]:
    """Every (plan, unit, period) form the user may fill, in a fixed number of queries.

    Units: those under the user's writer roles where some indicator of a visible plan is entered;
    periods: the plan's reporting periods that have begun.
    """
    today = today or date.today()
    writer_paths = RoleAssignment.objects.filter(user=user, role__in=WRITER_ROLES).values_list(
        "org_unit__path", flat=True
    )
    writer_reach = Reach(everything=user.is_superuser, paths=tuple(writer_paths))
    if not writer_reach.everything and not writer_reach.paths:
        return []
    groups: dict[tuple[int, str], list[Indicator]] = defaultdict(list)
    for indicator in indicator_list(fetched_by=user).prefetch_related(None).select_related("plan__issuer_org_unit"):
        groups[indicator.plan_id, indicator.entry_level].append(indicator)
    if not groups:
        return []
    units = org_unit_list(fetched_by=user).filter(
        writer_reach.subtree_q(), level__in={_unit_levels(level) for _plan, level in groups}
    )
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
            frequencies = list(plan.reporting_frequencies or [])
            for period in plan_periods(start_year=plan.start_year, end_year=plan.end_year, frequencies=frequencies):
                if period.start > today:
                    continue
                entries.append(
                    FormEntry(
                        plan=plan,
                        unit=unit,
                        period=period,
                        indicator_count=count,
                        statuses=dict(statuses.get((plan.pk, unit.pk, period.code), {})),
                        url=period_form_url(unit, period.code, plan),
                    )
                )
    entries.sort(key=lambda entry: (-entry.plan.start_year, entry.plan.title, entry.period.end, entry.unit.path))
    return entries


@login_required
def figures_home_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    return render(request, "figures/home.html", {"entries": fillable_forms(user)})


def render_history(
    request: HttpRequest, actual: Actual, *, unlock_errors: list[str] | None = None, status: int = 200
) -> HttpResponse:
    """The history page; the unlock view renders it again when the reason is missing."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    roles = roles_at(user, actual.org_unit)
    context: dict[str, Any] = {
        "actual": actual,
        "events": actual_history(actual=actual),
        "can_unlock": actual.status == ReviewStatus.APPROVED and Role.REVIEWER in roles,
        "form_url": period_form_url(actual.org_unit, actual.period, actual.indicator.plan)
        if roles & WRITER_ROLES
        else "",
        "unlock_errors": unlock_errors or [],
        "reason": request.POST.get("reason", "") if request.method == "POST" else "",
    }
    return render(request, "figures/history.html", context, status=status)


@login_required
def actual_history_view(request: HttpRequest, pk: int) -> HttpResponse:
    actual = actual_get(fetched_by=request.user, pk=pk)
    if actual is None:
        raise Http404
    return render_history(request, actual)


urlpatterns = [
    path("figures/", figures_home_view, name="figures-home"),
    path("figures/actuals/<int:pk>/history/", actual_history_view, name="figures-history"),
    path("figures/<slug:code>/<str:period>/", period_form_view, name="figures-period"),
]
