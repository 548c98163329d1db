"""The quality checks of a plan's budget (registered with the core's healthplans.quality by
BudgetsConfig.ready()): a parent line against the sum of its children, and the amounts the tasks
name against the line that pays for them."""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.utils.translation import gettext as _

from budgets.models import BudgetLine
from healthplans.quality import BudgetLineFacts, Check, Place, PlanFacts, Severity, TaskFacts, register, register_reader
from healthplans.vnnumber import format_money
from plans.models import Section


@register_reader
def read_budget(plan: Any, facts: PlanFacts, loaded: Mapping[str, Iterable[Any]]) -> None:
    lines = loaded.get("budget_lines")
    if lines is None:
        lines = BudgetLine.objects.filter(plan=plan).order_by("order")
    lines = list(lines)
    codes = {line.pk: line.code for line in lines}
    # The sections, with their tasks, as the plan's page prefetches them; read only when a line
    # names the tasks it pays for.
    sections: list[Section] = list(plan.sections.all()) if any(line.task_section_id for line in lines) else []
    numbers = {section.pk: section.number for section in sections}
    facts.budget_lines = [
        BudgetLineFacts(
            code=line.code,
            name=line.name,
            amount=line.amount,
            amount_text=line.amount_text,
            parent=codes.get(line.parent_id, "") if line.parent_id else "",
            task_section=numbers.get(line.task_section_id, "") if line.task_section_id else "",
        )
        for line in lines
    ]
    facts.tasks = [
        TaskFacts(section=section.number, text=task.text, amount=task.amount, amount_text=task.amount_text)
        for section in sections
        for task in section.tasks.all()
    ]


@register
def parents_add_up(facts: PlanFacts) -> Iterator[Check]:
    children: dict[str, list[BudgetLineFacts]] = defaultdict(list)
    for line in facts.budget_lines:
        if line.parent:
            children[line.parent].append(line)
    for line in facts.budget_lines:
        parts = children.get(line.code)
        if not parts or line.amount is None or any(part.amount is None for part in parts):
            continue
        total = sum(part.amount or 0 for part in parts)
        if total != line.amount:
            yield Check(
                "budget_sum",
                Severity.ERROR,
                _("The lines under it add up to %(total)s đồng, it says %(amount)s.")
                % {"total": format_money(total), "amount": line.amount_text or format_money(line.amount)},
                Place("budget_line", line.code),
                line.amount_text,
            )


@register
def tasks_against_lines(facts: PlanFacts) -> Iterator[Check]:
    for line in facts.budget_lines:
        tasks = [task for task in facts.tasks if line.task_section and task.section == line.task_section]
        amounts = [task for task in tasks if task.amount is not None]
        if not amounts or line.amount is None:
            continue
        total = sum(task.amount or 0 for task in amounts)
        if total != line.amount:
            written = " + ".join(task.amount_text or format_money(task.amount or 0) for task in amounts)
            yield Check(
                "task_budget",
                Severity.ERROR,
                _(
                    "The tasks of section %(section)s name %(written)s = %(total)s đồng, "
                    "the budget line that pays for them %(amount)s."
                )
                % {
                    "section": line.task_section,
                    "written": written,
                    "total": format_money(total),
                    "amount": line.amount_text or format_money(line.amount),
                },
                Place("budget_line", line.code),
                written,
            )
