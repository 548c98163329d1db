"""Writes of a plan's budget: its tree of lines (a line, its children), each with an amount as the
document writes it ("2,5 tỷ", "14.676.220.000 đồng", read into đồng by the one parser and kept as
written), its year, funding source, agency and the task section it pays for. (The amounts
allocated and disbursed on a line are budgets.services'.)

The plan builder's pages, its API and the document reader call these; keyword-only, atomic,
cleaned, by the plan's planners only (plans.services.plan_check_writable)."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max, ProtectedError
from django.utils.translation import gettext as _

from budgets.models import BudgetLine, FundingSource
from healthplans.models import Agency, User
from healthplans.services import clean_or_refuse
from healthplans.workflow import Conflict, Invalid
from plans.models import Plan, Section
from plans.services import money_or_refuse, plan_check_writable

# What budget_line_update may change.
LINE_FIELDS = frozenset({"code", "name", "year", "amount_text", "parent", "agency", "funding_source", "task_section"})


def _check_related(
    plan: Plan,
    *,
    parent: BudgetLine | None,
    agency: Agency | None,
    task_section: Section | None,
    line: BudgetLine | None = None,
) -> None:
    """A line's parent and the section it pays for are the plan's, its agency the plan's province's."""
    problems: dict[str, list[str]] = {}
    if parent is not None and parent.plan_id != plan.pk:
        problems["parent"] = [_("Not of this plan.")]
    if parent is not None and line is not None and line.pk is not None:
        ancestor: BudgetLine | None = parent
        while ancestor is not None:
            if ancestor.pk == line.pk:
                problems["parent"] = [_("A line cannot sit under itself.")]
                break
            ancestor = ancestor.parent
    if task_section is not None and task_section.plan_id != plan.pk:
        problems["task_section"] = [_("Not of this plan.")]
    if agency is not None and agency.tenant_id != plan.tenant_id:
        problems["agency"] = [_("This agency is not of the plan's province.")]
    if problems:
        raise Invalid(" ".join(message for messages in problems.values() for message in messages), fields=problems)


def _amount(text: str) -> int:
    amount = money_or_refuse(text)
    if amount is None:
        message = _("Give the amount as the document writes it (for example 2,5 tỷ).")
        raise Invalid(message, fields={"amount_text": [message]})
    return amount


@transaction.atomic
def budget_line_create(
    *,
    plan: Plan,
    code: str,
    name: str,
    year: int,
    amount_text: str,
    parent: BudgetLine | None = None,
    agency: Agency | None = None,
    funding_source: FundingSource | None = None,
    task_section: Section | None = None,
    order: int | None = None,
    by: User,
) -> BudgetLine:
    """A line of the plan's budget (under `parent`, a line of the plan), its code unique in the plan."""
    plan_check_writable(plan=plan, by=by)
    _check_related(plan, parent=parent, agency=agency, task_section=task_section)
    line = BudgetLine(
        tenant_id=plan.tenant_id,
        plan=plan,
        parent=parent,
        order=order or (plan.budget_lines.aggregate(last=Max("order"))["last"] or 0) + 1,
        code=code.strip(),
        name=name.strip(),
        year=year,
        agency=agency,
        funding_source=funding_source,
        amount=_amount(amount_text),
        amount_text=" ".join(amount_text.split()),
        task_section=task_section,
    )
    clean_or_refuse(line)
    line.save()
    return line


@transaction.atomic
def budget_line_update(*, line: BudgetLine, fields: Mapping[str, Any], by: User) -> BudgetLine:
    """Changes any of LINE_FIELDS; a new amount_text is read again into đồng."""
    plan_check_writable(plan=line.plan, by=by)
    unknown = set(fields) - LINE_FIELDS
    if unknown:
        raise Invalid(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    _check_related(
        line.plan,
        parent=fields.get("parent", line.parent),
        agency=fields.get("agency", line.agency),
        task_section=fields.get("task_section", line.task_section),
        line=line,
    )
    for name, value in fields.items():
        setattr(line, name, value.strip() if isinstance(value, str) else value)
    if "amount_text" in fields:
        line.amount = _amount(line.amount_text)
    clean_or_refuse(line)
    line.save()
    return line


@transaction.atomic
def budget_line_delete(*, line: BudgetLine, by: User) -> None:
    """A line with its children; refused once amounts are entered on any of them."""
    plan_check_writable(plan=line.plan, by=by)
    try:
        line.delete()
    except ProtectedError as exc:
        raise Conflict(
            _("The budget line has amounts entered: it cannot be deleted."), code="line_protected", current=line
        ) from exc
