"""Writes of budget executions: what was allocated and disbursed on a budget line for a period,
on the figures' path draft → submitted → approved | returned, with unlocking.

As with the figures, every write checks who may make it (planners of the plan's issuing unit
record, reviewers above approve), keeps a history entry, and moves the version by a conditional
UPDATE, so that a save over amounts changed since they were read is refused rather than lost.
Refusals are the figures' errors (indicators.services.ServiceError and its kinds), so pages and
the API report them alike.
"""

from collections.abc import Collection
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from budgets.models import BudgetExecution, BudgetExecutionEvent, BudgetLine
from healthplans.models import OrgUnit, Role, User
from healthplans.notifications import notification_send
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import roles_at
from healthplans.vnnumber import format_money
from healthplans.workflow import Action, Conflict, Forbidden, Invalid, ReviewStatus, Wording, conditional_update

# Finance work is a planner's: no separate finance role exists (yet).
WRITER_ROLES: set[str] = {Role.PLANNER}
REVIEWER_ROLES: set[str] = {Role.REVIEWER}
OPEN_STATUSES = {ReviewStatus.DRAFT, ReviewStatus.RETURNED}
# A thousand trillion đồng: far above any health budget, far below the column's limit.
MAX_AMOUNT = 10**15


def execution_warnings(execution: BudgetExecution) -> list[str]:
    """What needs explaining in a note before the amounts are submitted, in the user's language."""
    allocated, disbursed = execution.allocated, execution.disbursed
    if allocated is not None and disbursed is not None and disbursed > allocated:
        return [
            _("Disbursed (%(disbursed)s) is more than allocated (%(allocated)s).")
            % {"disbursed": format_money(disbursed), "allocated": format_money(allocated)}
        ]
    return []


def execution_period(line: BudgetLine, period: str) -> Period:
    """The period as stored: a year or a half-year of the line's own year."""
    try:
        parsed = parse_period(period)
    except PeriodError as exc:
        raise Invalid(str(exc), fields={"period": [str(exc)]}) from exc
    if parsed.kind == "five_year" or parsed.start.year != line.year:
        message = _("This budget line is for %(year)s: record %(year)s, %(year)sH1 or %(year)sH2.") % {
            "year": line.year
        }
        raise Invalid(message, fields={"period": [message]})
    return parsed


def _check_amounts(allocated: int | None, disbursed: int | None) -> None:
    errors: dict[str, list[str]] = {}
    for name, amount in (("allocated", allocated), ("disbursed", disbursed)):
        if amount is None:
            continue
        if amount < 0:
            errors[name] = [_("An amount cannot be negative.")]
        elif amount > MAX_AMOUNT:
            errors[name] = [_("This amount is too large.")]
    if errors:
        raise Invalid(_("The amounts were not saved."), fields=errors)


def _issuer(line: BudgetLine) -> OrgUnit:
    return line.plan.issuer_org_unit


def _check_writer(line: BudgetLine, by: User) -> None:
    if not roles_at(by, _issuer(line)) & WRITER_ROLES:
        raise Forbidden(_("You may not record the budget of this plan."))


def _check_reviewer(execution: BudgetExecution, by: User) -> None:
    if not roles_at(by, _issuer(execution.budget_line)) & REVIEWER_ROLES:
        raise Forbidden(_("Only a reviewer of the plan's unit or a unit above may review these amounts."))


def _record(
    execution: BudgetExecution,
    *,
    by: User,
    action: str,
    old: tuple[int | None, int | None] | None = None,
    message: str = "",
) -> None:
    """A history entry; `old` (allocated, disbursed) defaults to the amounts as they stand."""
    old_allocated, old_disbursed = (execution.allocated, execution.disbursed) if old is None else old
    BudgetExecutionEvent.objects.create(
        execution=execution,
        by=by,
        action=action,
        old_allocated=old_allocated,
        new_allocated=execution.allocated,
        old_disbursed=old_disbursed,
        new_disbursed=execution.disbursed,
        message=message,
    )


AMOUNTS_WORDING = Wording(
    locked=gettext_lazy("These amounts are approved and locked."),
    stale=gettext_lazy("Someone changed these amounts after you opened them; the current amounts are shown."),
    status=gettext_lazy("These amounts are %(status)s and cannot be changed that way."),
)


def _conditional_update(
    execution: BudgetExecution, *, version: int, expect_status: Collection[str], **changes: Any
) -> BudgetExecution:
    executions = BudgetExecution.objects.select_related("budget_line__plan__issuer_org_unit")
    return conditional_update(
        executions, execution, version=version, expect_status=expect_status, wording=AMOUNTS_WORDING, **changes
    )


@transaction.atomic
def budget_execution_create(
    *,
    budget_line: BudgetLine,
    period: str,
    allocated: int | None,
    disbursed: int | None,
    note: str = "",
    by: User,
) -> BudgetExecution:
    _check_writer(budget_line, by)
    parsed = execution_period(budget_line, period)
    _check_amounts(allocated, disbursed)
    existing = BudgetExecution.objects.filter(budget_line=budget_line, period=parsed.code).first()
    if existing is not None:
        raise Conflict(_("Amounts for this line and period exist already."), code="exists", current=existing)
    try:
        # A savepoint: another planner may record the same line and period between the check and here.
        with transaction.atomic():
            execution = BudgetExecution.objects.create(
                tenant_id=budget_line.tenant_id or budget_line.plan.tenant_id,
                budget_line=budget_line,
                period=parsed.code,
                allocated=allocated,
                disbursed=disbursed,
                note=note,
                created_by=by,
            )
    except IntegrityError as exc:
        current = BudgetExecution.objects.filter(budget_line=budget_line, period=parsed.code).first()
        raise Conflict(_("Amounts for this line and period exist already."), code="exists", current=current) from exc
    _record(execution, by=by, action=Action.CREATE, old=(None, None), message=note)
    return execution


@transaction.atomic
def budget_execution_update(
    *,
    execution: BudgetExecution,
    version: int,
    allocated: int | None,
    disbursed: int | None,
    note: str | None = None,
    by: User,
) -> BudgetExecution:
    _check_writer(execution.budget_line, by)
    _check_amounts(allocated, disbursed)
    changes: dict[str, Any] = {"allocated": allocated, "disbursed": disbursed}
    if note is not None:
        changes["note"] = note
    old = (execution.allocated, execution.disbursed)
    current = _conditional_update(execution, version=version, expect_status=OPEN_STATUSES, **changes)
    if old != (current.allocated, current.disbursed):
        _record(current, by=by, action=Action.CHANGE, old=old, message=note or "")
    return current


@transaction.atomic
def budget_execution_submit(
    *, execution: BudgetExecution, version: int, by: User, note: str | None = None
) -> BudgetExecution:
    _check_writer(execution.budget_line, by)
    missing = {
        name: [_("This field is required.")] for name in ("allocated", "disbursed") if getattr(execution, name) is None
    }
    if missing:
        raise Invalid(
            _("Enter both the allocated and the disbursed amount before submitting (0 if nothing yet)."),
            fields=missing,
        )
    note = execution.note if note is None else note
    warnings = execution_warnings(execution)
    if warnings and not note.strip():
        raise Invalid(
            _("Disbursed is above allocated: add a note explaining it before submitting."),
            fields={"note": warnings},
        )
    current = _conditional_update(
        execution,
        version=version,
        expect_status=OPEN_STATUSES,
        status=ReviewStatus.SUBMITTED,
        note=note,
        submitted_by=by,
        submitted_at=timezone.now(),
    )
    _record(current, by=by, action=Action.SUBMIT, message=note)
    return current


@transaction.atomic
def budget_execution_approve(*, execution: BudgetExecution, by: User, version: int | None = None) -> BudgetExecution:
    _check_reviewer(execution, by)
    current = _conditional_update(
        execution,
        version=execution.version if version is None else version,
        expect_status={ReviewStatus.SUBMITTED},
        status=ReviewStatus.APPROVED,
        message="",
        reviewed_by=by,
        reviewed_at=timezone.now(),
    )
    _record(current, by=by, action=Action.APPROVE)
    return current


def budget_page_url(execution: BudgetExecution) -> str:
    plan_slug = execution.budget_line.plan.slug
    return f"{reverse('budget-page', args=[plan_slug])}?{urlencode({'period': execution.period})}"


@transaction.atomic
def budget_execution_return(
    *, execution: BudgetExecution, by: User, message: str, version: int | None = None
) -> BudgetExecution:
    _check_reviewer(execution, by)
    if not message.strip():
        raise Invalid(_("Say why the amounts are returned."), fields={"message": [_("This field is required.")]})
    current = _conditional_update(
        execution,
        version=execution.version if version is None else version,
        expect_status={ReviewStatus.SUBMITTED},
        status=ReviewStatus.RETURNED,
        message=message,
        reviewed_by=by,
        reviewed_at=timezone.now(),
    )
    _record(current, by=by, action=Action.RETURN, message=message)
    if current.submitted_by_id:
        line = current.budget_line
        text = _("%(reviewer)s returned the budget of «%(line)s» (%(period)s): %(message)s") % {
            "reviewer": by.get_username(),
            "line": f"{line.code}. {line.name}",
            "period": current.period,
            "message": message,
        }
        submitter = User.objects.get(pk=current.submitted_by_id)
        notification_send(user=submitter, text=text, link=budget_page_url(current))
    return current


@transaction.atomic
def budget_execution_unlock(
    *, execution: BudgetExecution, by: User, reason: str, version: int | None = None
) -> BudgetExecution:
    _check_reviewer(execution, by)
    if not reason.strip():
        raise Invalid(_("Say why the amounts are unlocked."), fields={"reason": [_("This field is required.")]})
    current = _conditional_update(
        execution,
        version=execution.version if version is None else version,
        expect_status={ReviewStatus.APPROVED},
        status=ReviewStatus.DRAFT,
        reviewed_by=by,
        reviewed_at=timezone.now(),
    )
    _record(current, by=by, action=Action.UNLOCK, message=reason)
    return current
