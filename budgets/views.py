"""Pages: a plan's budget for a period (the line tree, with what was allocated and disbursed on
each line, the checks, the statuses and the execution rates), the review actions on it, and one
line's history.

Every write goes through budgets.services, and every read through budgets.selectors. A save or
a submission of the page is one transaction (the services' bulk writes): one refused line writes
nothing, and the page comes back with what the user typed and why each line failed. Other
refusals rise to the core's middleware (healthplans.errors).
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from budgets.models import BudgetExecution, BudgetLine
from budgets.selectors import (
    LineFigures,
    budget_execution_get_or_404,
    budget_execution_history,
    budget_years,
    build_tree,
    period_budget,
    summarise,
)
from budgets.services import (
    MAX_AMOUNT,
    REVIEWER_ROLES,
    WRITER_ROLES,
    AmountsEntry,
    budget_execution_approve,
    budget_execution_return,
    budget_execution_save_many,
    budget_execution_unlock,
    execution_warnings,
)
from healthplans.errors import refusal_on_row
from healthplans.models import User
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import roles_at
from healthplans.vnnumber import NumberTextError as MoneyTextError
from healthplans.vnnumber import format_money, parse_money
from healthplans.workflow import OPEN_STATUSES, Invalid, ServiceError
from plans.models import Plan
from plans.selectors import plan_get_or_404

# The entry inputs sit in the table and belong to this form by their `form` attribute, so that
# the reviewers' small forms can sit in the same rows.
ENTRY_FORM = "budget-entry"


def money_text(amount: int | None) -> str:
    return "" if amount is None else format_money(amount)


def parse_money_text(text: str) -> int | None:
    """The đồng a user typed ("2,5 tỷ", "1.987.000.000"), or None for an empty field."""
    text = text.strip()
    if not text:
        return None
    try:
        amount = parse_money(text)
    except MoneyTextError as exc:
        # The parser's messages are Vietnamese templates, translated like any other msgid.
        raise ValidationError(gettext(exc.template).format(text=exc.text), code="unreadable") from exc
    if amount > MAX_AMOUNT:
        raise ValidationError(gettext("This amount is too large."), code="too_large")
    return amount


def money_widget() -> forms.TextInput:
    return forms.TextInput(
        attrs={"inputmode": "decimal", "autocomplete": "off", "size": 16, "class": "money", "form": ENTRY_FORM}
    )


class ExecutionRowForm(forms.Form):
    """One budget line's row of the page; its prefix names the line."""

    allocated = forms.CharField(label=gettext_lazy("Allocated"), required=False, max_length=40, widget=money_widget())
    disbursed = forms.CharField(label=gettext_lazy("Disbursed"), required=False, max_length=40, widget=money_widget())
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 20, "class": "note", "form": ENTRY_FORM}),
    )
    # The version the user read: a save over amounts changed since then is refused, not lost.
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput(attrs={"form": ENTRY_FORM}))

    def clean_allocated(self) -> int | None:
        return parse_money_text(self.cleaned_data.get("allocated") or "")

    def clean_disbursed(self) -> int | None:
        return parse_money_text(self.cleaned_data.get("disbursed") or "")

    def clean_note(self) -> str:
        return str(self.cleaned_data.get("note") or "").strip()


@dataclass(frozen=True)
class Sheet:
    """A plan's budget page for one period, and what the user may do on it."""

    plan: Plan
    period: Period
    periods: list[str]
    can_write: bool
    can_review: bool

    @property
    def url(self) -> str:
        return budget_url(self.plan, self.period.code)


@dataclass
class BudgetRow:
    """A line as the page shows it; its sums and checks count every amount entered, approved or not."""

    node: LineFigures
    form: ExecutionRowForm | None
    posted: bool = False
    conflict: BudgetExecution | None = None
    errors: list[str] = field(default_factory=list)
    review_errors: list[str] = field(default_factory=list)
    typed_message: str = ""

    @property
    def line(self) -> BudgetLine:
        return self.node.line

    @property
    def execution(self) -> BudgetExecution | None:
        return self.node.execution

    @property
    def prefix(self) -> str:
        return f"l{self.line.pk}"

    @property
    def read_only(self) -> bool:
        return self.form is None or (self.execution is not None and self.execution.status not in OPEN_STATUSES)

    @property
    def warnings(self) -> list[str]:
        return execution_warnings(self.execution) if self.execution is not None else []

    @property
    def failed(self) -> bool:
        form_failed = self.form is not None and self.form.is_bound and bool(self.form.errors)
        return bool(self.errors or self.review_errors or self.conflict or form_failed)


def budget_url(plan: Plan, period: str) -> str:
    return f"{reverse('budget-page', args=[plan.slug])}?{urlencode({'period': period})}"


def _periods(years: list[int]) -> list[str]:
    return [code for year in years for code in (str(year), f"{year}H1", f"{year}H2")]


def _sheet(user: User, plan: Plan, period_code: str | None) -> Sheet:
    """The page's period (the one asked for, else the latest year begun) and the user's powers."""
    years = budget_years(fetched_by=user, plan=plan)
    periods = _periods(years)
    if not period_code:
        begun = [year for year in years if year <= timezone.localdate().year]
        period_code = str(begun[-1] if begun else years[0]) if years else str(plan.start_year)
    try:
        period = parse_period(period_code)
    except PeriodError as exc:
        raise Http404 from exc
    if periods and period.code not in periods:
        raise Http404
    roles = roles_at(user, plan.issuer_org_unit)
    return Sheet(
        plan=plan,
        period=period,
        periods=periods,
        can_write=bool(roles & WRITER_ROLES),
        can_review=bool(roles & REVIEWER_ROLES),
    )


def _read(user: User, sheet: Sheet) -> tuple[list[BudgetLine], list[BudgetExecution]]:
    return period_budget(fetched_by=user, plan=sheet.plan, period=sheet.period)


def _rows(
    sheet: Sheet,
    lines: list[BudgetLine],
    executions: list[BudgetExecution],
    data: QueryDict | None = None,
    earlier: dict[int, BudgetRow] | None = None,
) -> list[BudgetRow]:
    """One row per line; `earlier` rows (of a refused POST) keep their forms, errors and conflicts."""
    tree = build_tree(lines, {execution.budget_line_id: execution for execution in executions})
    rows = []
    for node in tree:
        execution = node.execution
        form = None
        if sheet.can_write:
            form = ExecutionRowForm(
                data,
                prefix=f"l{node.line.pk}",
                initial={
                    "allocated": money_text(execution.allocated) if execution else "",
                    "disbursed": money_text(execution.disbursed) if execution else "",
                    "note": execution.note if execution else "",
                    "version": execution.version if execution else None,
                },
            )
            label = f"{node.line.code} {node.line.name}"[:120]
            for name, text in (("allocated", _("Allocated")), ("disbursed", _("Disbursed")), ("note", _("Note"))):
                form.fields[name].widget.attrs["aria-label"] = f"{text}: {label}"
        row = BudgetRow(node=node, form=form)
        row.posted = form is not None and data is not None and f"{row.prefix}-allocated" in data
        before = (earlier or {}).get(node.line.pk)
        if before is not None:
            row.form, row.posted, row.conflict, row.errors = before.form, before.posted, before.conflict, before.errors
            row.review_errors, row.typed_message = before.review_errors, before.typed_message
        rows.append(row)
    return rows


def _render(
    request: HttpRequest,
    sheet: Sheet,
    lines: list[BudgetLine],
    executions: list[BudgetExecution],
    rows: list[BudgetRow],
    *,
    status: int = 200,
) -> HttpResponse:
    context = {
        "sheet": sheet,
        "plan": sheet.plan,
        "period": sheet.period,
        "rows": rows,
        "entry_form": ENTRY_FORM,
        "editable": any(not row.read_only for row in rows),
        "failed": any(row.failed for row in rows),
        "summary": summarise(plan=sheet.plan, period=sheet.period, lines=lines, executions=executions),
        "period_links": [(code, budget_url(sheet.plan, code)) for code in sheet.periods],
    }
    return render(request, "budgets/budget_page.html", context, status=status)


def _entry(row: BudgetRow, form: ExecutionRowForm, sheet: Sheet, *, submitting: bool) -> AmountsEntry | None:
    """What the row's (valid) form asks to store, and to submit for review, or None where it asks nothing."""
    cleaned = form.cleaned_data
    allocated, disbursed, note, version = (
        cleaned["allocated"],
        cleaned["disbursed"],
        cleaned["note"],
        cleaned["version"],
    )
    # Only amounts with something entered go to review (a note alone is a draft).
    submit = submitting and not (allocated is None and disbursed is None)
    execution = row.execution
    if execution is None or version is None:
        if allocated is None and disbursed is None and not note:
            return None
        # Also where someone else recorded the line meanwhile: the service answers "exists".
        return AmountsEntry(row.line, sheet.period.code, allocated, disbursed, note, submit=submit)
    submit = submit and execution.status in OPEN_STATUSES
    if not submit and (allocated, disbursed, note) == (execution.allocated, execution.disbursed, execution.note):
        return None
    return AmountsEntry(row.line, execution.period, allocated, disbursed, note, version, submit=submit)


def _post(request: HttpRequest, sheet: Sheet, user: User) -> HttpResponse:
    data = request.POST.copy()
    submitting = data.get("action") == "submit"
    lines, executions = _read(user, sheet)
    rows = _rows(sheet, lines, executions, data)
    # A row is posted only where the user may write, so with a form.
    entered = [(row, row.form) for row in rows if row.posted and row.form is not None]
    changes: list[tuple[BudgetRow, AmountsEntry]] = []
    # A list, not a generator: every row is validated, not only those up to the first error.
    if all([form.is_valid() for _row, form in entered]):
        changes = [(row, entry) for row, form in entered if (entry := _entry(row, form, sheet, submitting=submitting))]
        # All or nothing in the service: a refused row keeps the others out too.
        results = budget_execution_save_many(plan=sheet.plan, entries=[entry for _row, entry in changes], by=user)
        for row, result in zip([row for row, _asked in changes], results, strict=True):
            if isinstance(result, ServiceError):
                refusal_on_row(row, result, data, fields=("allocated", "disbursed"))
    saved, submitted = len(changes), sum(1 for _row, entry in changes if entry.submit)
    if any(row.failed for row in rows):
        # Nothing was written: show what is stored now, with what the user typed and why it failed.
        lines, executions = _read(user, sheet)
        fresh = _rows(sheet, lines, executions, data, earlier={row.line.pk: row for row in rows})
        status = 409 if any(row.conflict for row in rows) else 400
        return _render(request, sheet, lines, executions, fresh, status=status)
    if submitting:
        if submitted:
            text = ngettext(
                "Submitted the amounts of %(count)s line for review.",
                "Submitted the amounts of %(count)s lines for review.",
                submitted,
            )
            messages.success(request, text % {"count": submitted})
        else:
            messages.warning(request, _("Nothing to submit: enter the amounts first."))
    elif saved:
        text = ngettext(
            "Saved the amounts of %(count)s line as a draft.", "Saved the amounts of %(count)s lines as drafts.", saved
        )
        messages.success(request, text % {"count": saved})
    else:
        messages.info(request, _("No amount changed; nothing was saved."))
    return HttpResponseRedirect(sheet.url)


@login_required
def budget_page_view(request: HttpRequest, slug: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    plan = plan_get_or_404(fetched_by=user, slug=slug)
    sheet = _sheet(user, plan, request.GET.get("period"))
    if request.method == "POST":
        return _post(request, sheet, user)
    lines, executions = _read(user, sheet)
    return _render(request, sheet, lines, executions, _rows(sheet, lines, executions))


REVIEW_ACTIONS = {"approve", "return", "unlock"}


@login_required
@require_POST
def budget_review_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Approve, return (with a message) or unlock (with a reason) one line's amounts, then go back
    to the budget page; a missing message or reason shows there, at the line."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    if action not in REVIEW_ACTIONS:
        raise Http404
    execution = budget_execution_get_or_404(fetched_by=user, pk=pk)
    version_text = request.POST.get("version", "")
    version = int(version_text) if version_text.isdigit() else execution.version
    text = request.POST.get("message", "")
    line = {"code": execution.budget_line.code}
    try:
        if action == "approve":
            budget_execution_approve(execution=execution, by=user, version=version)
            messages.success(request, _("Approved the amounts of line %(code)s.") % line)
        elif action == "return":
            budget_execution_return(execution=execution, by=user, message=text, version=version)
            messages.success(request, _("Returned the amounts of line %(code)s.") % line)
        else:
            budget_execution_unlock(execution=execution, by=user, reason=text, version=version)
            messages.success(request, _("Unlocked the amounts of line %(code)s.") % line)
    except Invalid as exc:
        sheet = _sheet(user, execution.budget_line.plan, execution.period)
        lines, executions = _read(user, sheet)
        rows = _rows(sheet, lines, executions)
        for row in rows:
            if row.line.pk == execution.budget_line_id:
                row.review_errors = [exc.message, *(p for problems in exc.fields.values() for p in problems)]
                row.typed_message = text
        return _render(request, sheet, lines, executions, rows, status=exc.status)
    return HttpResponseRedirect(budget_url(execution.budget_line.plan, execution.period))


@login_required
def budget_history_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    execution = budget_execution_get_or_404(fetched_by=user, pk=pk)
    context = {
        "execution": execution,
        "line": execution.budget_line,
        "plan": execution.budget_line.plan,
        "events": budget_execution_history(execution=execution),
        "history_headings": [_("Allocated"), _("Disbursed")],
        "page_url": budget_url(execution.budget_line.plan, execution.period),
    }
    return render(request, "budgets/history.html", context)
