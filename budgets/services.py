"""Writes of budget executions: what was allocated and disbursed on a budget line for a period,
on the figures' path draft → submitted → approved | returned, with unlocking.

As with the figures, every write checks who may make it (planners of the plan's issuing unit
record, reviewers above approve), keeps a history entry, and moves the version by a conditional
UPDATE, so that a save over amounts changed since they were read is refused rather than lost.
Refusals are the core's (healthplans.workflow), worded for amounts, so pages and the API report
them as they report a figure's; the steps of the review path are the core's `review_step`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from budgets.models import BudgetExecution, BudgetExecutionEvent, BudgetLine
from healthplans import workflow
from healthplans.models import Role, User
from healthplans.notifications import notification_send
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import roles_at
from healthplans.vnnumber import format_money
from healthplans.workflow import OPEN_STATUSES, Action, Conflict, Forbidden, Invalid, ServiceError, Wording
from plans.models import Plan
from plans.services import plan_not_issued

# Finance work is a planner's: no separate finance role exists (yet).
WRITER_ROLES: set[str] = {Role.PLANNER}
REVIEWER_ROLES: set[str] = {Role.REVIEWER}
Amounts = tuple[int | None, int | None]
WRITE_REFUSED = gettext_lazy("You may not record the budget of this plan.")
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


def _require(lines: Iterable[BudgetLine], by: User, roles: set[str], message: str) -> None:
    """The roles on the issuing unit of each plan the lines belong to (one query per plan)."""
    for line in {line.plan_id: line for line in lines}.values():
        if not roles_at(by, line.plan.issuer_org_unit) & roles:
            raise Forbidden(message)


def _check_writers(executions: Sequence[BudgetExecution], by: User) -> None:
    lines = (execution.budget_line for execution in executions)
    _require(lines, by, WRITER_ROLES, str(WRITE_REFUSED))


def _check_reviewers(executions: Sequence[BudgetExecution], by: User) -> None:
    lines = (execution.budget_line for execution in executions)
    _require(
        lines, by, REVIEWER_ROLES, _("Only a reviewer of the plan's unit or a unit above may review these amounts.")
    )


def _event(
    execution: BudgetExecution, *, by: User, action: str, old: Amounts | None = None, message: str = ""
) -> BudgetExecutionEvent:
    """A history entry (unsaved); `old` (allocated, disbursed) defaults to the amounts as they stand."""
    old_allocated, old_disbursed = (execution.allocated, execution.disbursed) if old is None else old
    return BudgetExecutionEvent(
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


def _executions() -> QuerySet[BudgetExecution]:
    return BudgetExecution.objects.select_related("budget_line__plan__issuer_org_unit")


AMOUNTS_FLOW = workflow.Workflow(
    records=_executions,
    wording=AMOUNTS_WORDING,
    check_writer=_check_writers,
    check_reviewer=_check_reviewers,
    history=_event,
    return_needs=gettext_lazy("Say why the amounts are returned."),
    unlock_needs=gettext_lazy("Say why the amounts are unlocked."),
)


@dataclass(frozen=True)
class AmountsEntry:
    """Amounts typed for a line and period: new ones (no version), or a change of the stored ones
    read at `version`; a note of None keeps the stored note."""

    budget_line: BudgetLine
    period: str
    allocated: int | None
    disbursed: int | None
    note: str | None = None
    version: int | None = None
    # Submitted for review too, with the note (None: the stored one), whether the amounts changed or not.
    submit: bool = False


def _exists(current: BudgetExecution | None) -> Conflict:
    return Conflict(_("Amounts for this line and period exist already."), code="exists", current=current)


def _entry_period(entry: AmountsEntry, plan: Plan) -> str:
    """The period the entry is stored under, once its line, period and amounts passed (Invalid)."""
    if entry.budget_line.plan_id != plan.pk:
        # The writer's roles were checked on this plan only.
        raise Invalid(
            _("The amounts were not saved."), fields={"budget_line": [_("Not found among what you may see.")]}
        )
    code = execution_period(entry.budget_line, entry.period).code
    _check_amounts(entry.allocated, entry.disbursed)
    return code


def _amounts_applied(
    entry: AmountsEntry, code: str, existing: BudgetExecution | None, plan: Plan, by: User
) -> tuple[BudgetExecution, BudgetExecutionEvent | None]:
    """The record as the entry leaves its amounts (not yet written) and the history entry of a
    change; a Conflict where they cannot change. Amounts that are only submitted, unchanged at the
    version read, are left as they are (the submission writes them)."""
    if existing is None:
        execution = BudgetExecution(
            tenant_id=entry.budget_line.tenant_id or plan.tenant_id,
            budget_line=entry.budget_line,
            period=code,
            allocated=entry.allocated,
            disbursed=entry.disbursed,
            note=entry.note or "",
            created_by=by,
        )
        return execution, None
    if entry.version is None:
        raise _exists(existing)
    old = (existing.allocated, existing.disbursed)
    note = existing.note if entry.note is None else entry.note
    if entry.submit and (entry.version, entry.allocated, entry.disbursed, note) == (
        existing.version,
        *old,
        existing.note,
    ):
        return existing, None
    amounts = {"allocated": entry.allocated, "disbursed": entry.disbursed, "note": note}
    current = workflow.changed_if_current(
        existing, version=entry.version, expect_status=OPEN_STATUSES, wording=AMOUNTS_WORDING, changes=amounts
    )
    if isinstance(current, ServiceError):
        raise current
    if old == (current.allocated, current.disbursed):
        return current, None
    return current, _event(current, by=by, action=Action.CHANGE, old=old, message=entry.note or "")


def _submitted(execution: BudgetExecution, note: str, by: User) -> BudgetExecution:
    """The record as its submission leaves it (not yet written), or the refusal raised."""
    _check_submittable(execution, note)
    current = workflow.changed_if_current(
        execution,
        version=execution.version,
        expect_status=workflow.SUBMIT.expect_status,
        wording=AMOUNTS_WORDING,
        changes=workflow.step_changes(workflow.SUBMIT, by=by, text=note),
    )
    if isinstance(current, ServiceError):
        raise current
    return current


@transaction.atomic
def budget_execution_save_many(
    *, plan: Plan, entries: Sequence[AmountsEntry], by: User
) -> list[BudgetExecution | ServiceError]:
    """Amounts of many lines of a plan (the budget page, an imported workbook), and their submission
    for review where asked, with the checks of one, in a fixed number of queries whatever the number
    of lines. All or nothing: each refusal in its place, and nothing written if there is any. New
    amounts where none are stored (amounts stored already and no version: "exists"); otherwise a
    change of the stored amounts at the version read, refused if they changed meanwhile, are under
    review or approved."""
    if not roles_at(by, plan.issuer_org_unit) & WRITER_ROLES:
        raise Forbidden(str(WRITE_REFUSED))
    if refusal := plan_not_issued(plan):
        return [refusal for _entry in entries]
    periods: list[str | ServiceError] = []
    for entry in entries:
        try:
            periods.append(_entry_period(entry, plan))
        except ServiceError as error:
            periods.append(error)
    wanted = [
        (entry.budget_line.pk, code) for entry, code in zip(entries, periods, strict=True) if isinstance(code, str)
    ]
    stored = (
        {
            (execution.budget_line_id, execution.period): execution
            for execution in workflow.locked(_executions()).filter(
                budget_line__in={line for line, _code in wanted}, period__in={code for _line, code in wanted}
            )
        }
        if wanted
        else {}
    )
    read_versions = {execution.pk: execution.version for execution in stored.values()}
    results: list[BudgetExecution | ServiceError] = []
    changes: list[BudgetExecutionEvent] = []
    submissions: list[BudgetExecutionEvent] = []
    for entry, code in zip(entries, periods, strict=True):
        try:
            if isinstance(code, ServiceError):
                raise code
            execution, change = _amounts_applied(entry, code, stored.get((entry.budget_line.pk, code)), plan, by)
            if entry.submit:
                note = execution.note if entry.note is None else entry.note
                execution = _submitted(execution, note, by)
                submissions.append(_event(execution, by=by, action=Action.SUBMIT, message=note))
        except ServiceError as error:
            results.append(error)
            continue
        results.append(execution)
        changes += [change] if change else []
    if any(isinstance(result, ServiceError) for result in results):
        return results
    saved = [result for result in results if isinstance(result, BudgetExecution)]
    new = [execution for execution in saved if execution.pk is None]
    try:
        if new:
            # A savepoint: another planner may record the same line and period after the read above.
            with transaction.atomic():
                BudgetExecution.objects.bulk_create(new)
    except IntegrityError as exc:
        keys = {(execution.budget_line_id, execution.period) for execution in new}
        recorded = _executions().filter(
            budget_line__in={line for line, _code in keys}, period__in={c for _l, c in keys}
        )
        raise _exists(next((e for e in recorded if (e.budget_line_id, e.period) in keys), None)) from exc
    changed = [e for e in saved if e.pk in read_versions and e.version != read_versions[e.pk]]
    submit_fields = workflow.step_changes(workflow.SUBMIT, by=by, text="") if submissions else {}
    workflow.save_changed(changed, ["allocated", "disbursed", "note", *submit_fields])
    created = [_event(e, by=by, action=Action.CREATE, old=(None, None), message=e.note) for e in new]
    # In the order they happened: amounts recorded or changed, then submitted.
    BudgetExecutionEvent.objects.bulk_create([*changes, *created, *submissions])
    return results


def _one(plan: Plan, entry: AmountsEntry, by: User) -> BudgetExecution:
    """One entry saved (`budget_execution_save_many` of one, atomic itself); a refusal is raised."""
    (result,) = budget_execution_save_many(plan=plan, entries=[entry], by=by)
    if isinstance(result, ServiceError):
        raise result
    return result


def budget_execution_create(
    *,
    budget_line: BudgetLine,
    period: str,
    allocated: int | None,
    disbursed: int | None,
    note: str = "",
    by: User,
) -> BudgetExecution:
    return _one(budget_line.plan, AmountsEntry(budget_line, period, allocated, disbursed, note), by)


def budget_execution_update(
    *,
    execution: BudgetExecution,
    version: int,
    allocated: int | None,
    disbursed: int | None,
    note: str | None = None,
    by: User,
) -> BudgetExecution:
    line = execution.budget_line
    return _one(line.plan, AmountsEntry(line, execution.period, allocated, disbursed, note, version), by)


def _check_submittable(execution: BudgetExecution, note: str) -> None:
    missing = {
        name: [_("This field is required.")] for name in ("allocated", "disbursed") if getattr(execution, name) is None
    }
    if missing:
        raise Invalid(
            _("Enter both the allocated and the disbursed amount before submitting (0 if nothing yet)."),
            fields=missing,
        )
    warnings = execution_warnings(execution)
    if warnings and not note.strip():
        raise Invalid(
            _("Disbursed is above allocated: add a note explaining it before submitting."),
            fields={"note": warnings},
        )


@transaction.atomic
def budget_execution_submit(
    *, execution: BudgetExecution, version: int, by: User, note: str | None = None
) -> BudgetExecution:
    text = execution.note if note is None else note
    return workflow.review_step(
        AMOUNTS_FLOW, execution, step=workflow.SUBMIT, by=by, version=version, text=text, check=_check_submittable
    )


@transaction.atomic
def budget_execution_approve(*, execution: BudgetExecution, by: User, version: int | None = None) -> BudgetExecution:
    return workflow.review_step(AMOUNTS_FLOW, execution, step=workflow.APPROVE, by=by, version=version)


def budget_page_url(execution: BudgetExecution) -> str:
    plan_slug = execution.budget_line.plan.slug
    return f"{reverse('budget-page', args=[plan_slug])}?{urlencode({'period': execution.period})}"


@transaction.atomic
def budget_execution_return(
    *, execution: BudgetExecution, by: User, message: str, version: int | None = None
) -> BudgetExecution:
    current = workflow.review_step(AMOUNTS_FLOW, execution, step=workflow.RETURN, by=by, version=version, text=message)
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
    return workflow.review_step(AMOUNTS_FLOW, execution, step=workflow.UNLOCK, by=by, version=version, text=reason)
