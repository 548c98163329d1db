"""Pages: a unit's period form (one row per indicator it enters), the forms a user can fill, and
one value's history.

Every write goes through indicators.services: one POST is one call of actual_save_many, which
writes all the rows or none, so a single bad value writes nothing and the form comes back with
what the user typed.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from healthplans.errors import refusal_on_row
from healthplans.models import OrgUnit, Role, User
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import org_unit_list, roles_at
from healthplans.workflow import ReviewStatus
from indicators.forms import FigureRowForm, figure_text
from indicators.models import WRITER_ROLES, Actual, Baseline, Indicator, Target, period_form_url
from indicators.selectors import (
    actual_get,
    actual_history,
    entry_indicators,
    fillable_forms,
    plans_entered_at,
    sheet_actuals,
)
from indicators.services import FigureEntry, RowsRefused, actual_save_many
from plans.models import Plan
from plans.selectors import plan_get_or_404

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


def _unit_or_404(user: User, code: str) -> OrgUnit:
    unit = org_unit_list(fetched_by=user).filter(code=code).first()
    if unit is None:
        raise Http404
    return unit


def _stored(user: User, sheet: Sheet) -> dict[tuple[int, str], Actual]:
    return sheet_actuals(fetched_by=user, plan=sheet.plan, unit=sheet.unit, period=sheet.period)


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
            target=indicator.target_for(sheet.period.target_year, sheet.unit),
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


def _entry(row: FigureRow, sheet: Sheet, *, submitting: bool) -> FigureEntry:
    cleaned = row.form.cleaned_data
    return FigureEntry(
        row.indicator,
        sheet.unit,
        sheet.period.code,
        cleaned["value"],
        note=cleaned["note"],
        # A row read without a stored figure is new, also where someone entered one meanwhile:
        # the service then answers "exists" with it.
        version=None if row.actual is None else cleaned["version"],
        submit=submitting and cleaned["value"] is not None,
    )


def _written(rows: list[FigureRow], sheet: Sheet, user: User, data: QueryDict, *, submitting: bool) -> int:
    """Save the rows (and submit them), all or nothing, through actual_save_many; how many figures
    were written (submitted, when submitting). Refusals go next to their rows."""
    # A new row left empty enters nothing.
    wanted = [
        row
        for row in rows
        if row.actual is not None or row.form.cleaned_data["value"] is not None or row.form.cleaned_data["note"]
    ]
    entries = [_entry(row, sheet, submitting=submitting) for row in wanted]
    before = {row.indicator.pk: row.actual.version if row.actual else None for row in wanted}
    try:
        saved = actual_save_many(entries=entries, by=user)
    except RowsRefused as refused:
        for index, error in refused.rows.items():
            refusal_on_row(wanted[index], error, data, fields=("value",))
        return 0
    if submitting:
        return sum(entry.submit for entry in entries)
    return sum(actual.version != before[actual.indicator_id] for actual in saved)


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
    rows = _rows(sheet, _stored(user, sheet), data)
    entered = [row for row in rows if row.posted]
    written = 0
    # A list, not a generator: every row is validated, not only those up to the first error.
    if all([row.form.is_valid() for row in entered]):
        written = _written(entered, sheet, user, data, submitting=submitting)
    if any(row.failed for row in rows):
        # Nothing was written: show what is stored now, with what the user typed and why it failed.
        fresh = _rows(sheet, _stored(user, sheet), data, earlier={row.indicator.pk: row for row in rows})
        return _render_sheet(request, sheet, fresh, status=409 if any(row.conflict for row in rows) else 400)
    if submitting:
        if written:
            messages.success(
                request,
                ngettext("Submitted %(count)s figure for review.", "Submitted %(count)s figures for review.", written)
                % {"count": written},
            )
        else:
            messages.warning(request, _("Nothing to submit: enter the values first."))
    elif written:
        messages.success(
            request,
            ngettext("Saved %(count)s figure as a draft.", "Saved %(count)s figures as drafts.", written)
            % {"count": written},
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
        plans = plans_entered_at(fetched_by=user, unit=unit, period=parsed)
        if not plans:
            raise Http404
        if len(plans) == 1:
            return redirect(period_form_url(unit, parsed.code, plans[0]))
        choices = [(plan, period_form_url(unit, parsed.code, plan)) for plan in plans]
        return render(request, "figures/choose_plan.html", {"unit": unit, "period": parsed, "choices": choices})
    plan = plan_get_or_404(fetched_by=user, slug=slug)
    if parsed.code not in {period.code for period in plan.periods()}:
        raise Http404
    indicators = entry_indicators(fetched_by=user, plan=plan, unit=unit, period=parsed)
    if not indicators:
        raise Http404
    sheet = Sheet(unit=unit, plan=plan, period=parsed, indicators=indicators)
    if request.method == "POST":
        return _post_sheet(request, sheet, user)
    return _render_sheet(request, sheet, _rows(sheet, _stored(user, sheet)))


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
        "history_headings": [_("Old value"), _("New value")],
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
