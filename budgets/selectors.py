"""Reads of budget lines and their executions: visible exactly when their plan is; and the
budget summary of a plan and period (execution rates per line, agency, funding source and plan)
that the budget page, the plan dashboard and the progress report show alike."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import CharFilter, FilterSet, NumberFilter

from budgets.models import BudgetExecution, BudgetExecutionEvent, BudgetLine, FundingSource
from healthplans.models import Agency
from healthplans.periods import Period, parse_period
from healthplans.selectors import Actor
from healthplans.workflow import ReviewStatus
from plans.models import Plan
from plans.selectors import plan_list


class BudgetLineFilter(FilterSet):
    plan = NumberFilter(field_name="plan_id")

    class Meta:
        model = BudgetLine
        fields = ["plan", "year"]


def budget_line_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[BudgetLine]:
    qs = (
        BudgetLine.objects.filter(plan__in=plan_list(fetched_by=fetched_by))
        .select_related("agency", "funding_source")
        .order_by("plan_id", "order")
    )
    return BudgetLineFilter(filters or {}, qs).qs


def budget_line_get_or_404(*, fetched_by: Actor, pk: int) -> BudgetLine:
    """A line of a plan within reach, with its plan and issuing unit; missing and out of reach are
    the same 404."""
    return get_object_or_404(budget_line_list(fetched_by=fetched_by).select_related("plan__issuer_org_unit"), pk=pk)


class BudgetExecutionFilter(FilterSet):
    budget_line = NumberFilter(field_name="budget_line_id")
    plan = NumberFilter(field_name="budget_line__plan_id")
    period = CharFilter(field_name="period")
    status = CharFilter(field_name="status")

    class Meta:
        model = BudgetExecution
        fields = ["budget_line", "plan", "period", "status"]


def budget_execution_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[BudgetExecution]:
    """Executions on the budget lines of the plans the user can see."""
    qs = (
        BudgetExecution.objects.filter(budget_line__plan__in=plan_list(fetched_by=fetched_by))
        .select_related("budget_line", "submitted_by", "reviewed_by")
        .order_by("budget_line__plan_id", "budget_line__order", "period")
    )
    return BudgetExecutionFilter(filters or {}, qs).qs


def budget_execution_get_or_404(*, fetched_by: Actor, pk: int) -> BudgetExecution:
    """One line's amounts for a period, with its plan and the plan's issuing unit; missing and out
    of reach are the same 404."""
    execution = (
        budget_execution_list(fetched_by=fetched_by)
        .select_related("budget_line__plan__issuer_org_unit")
        .filter(pk=pk)
        .first()
    )
    if execution is None:
        raise Http404
    return execution


def budget_years(*, fetched_by: Actor, plan: Plan) -> list[int]:
    """The years of a plan that have budget lines, in order."""
    return sorted(
        set(budget_line_list(fetched_by=fetched_by, filters={"plan": plan.pk}).values_list("year", flat=True))
    )


def budget_execution_history(*, execution: BudgetExecution) -> QuerySet[BudgetExecutionEvent]:
    return execution.events.select_related("by").order_by("at", "pk")


# ---------------------------------------------------------------------------------------------
# Execution rates


def execution_rate(allocated: int | None, disbursed: int | None) -> Decimal | None:
    """Disbursed as a percentage of allocated, to one decimal (half up); None without an allocation."""
    if not allocated or disbursed is None:
        return None
    return (Decimal(disbursed) * 100 / Decimal(allocated)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


@dataclass
class Amounts:
    """Allocated and disbursed đồng; None where nothing is recorded."""

    allocated: int | None = None
    disbursed: int | None = None

    def __add__(self, other: "Amounts") -> "Amounts":
        return Amounts(_add(self.allocated, other.allocated), _add(self.disbursed, other.disbursed))

    @property
    def recorded(self) -> bool:
        return self.allocated is not None or self.disbursed is not None

    @property
    def rate(self) -> Decimal | None:
        return execution_rate(self.allocated, self.disbursed)

    @property
    def bar(self) -> int:
        """The rate as the width of a bar, 0 to 100."""
        rate = self.rate
        return 0 if rate is None else max(0, min(100, int(rate)))


def amounts_of(execution: BudgetExecution | None) -> Amounts:
    return Amounts() if execution is None else Amounts(execution.allocated, execution.disbursed)


class HasAmounts(Protocol):
    @property
    def amounts(self) -> Amounts: ...


class ShowsAmounts:
    """Allocated, disbursed and the execution rate, read from the figures' `amounts` (a line's
    computed ones, a group's summed ones)."""

    @property
    def allocated(self: HasAmounts) -> int | None:
        return self.amounts.allocated

    @property
    def disbursed(self: HasAmounts) -> int | None:
        return self.amounts.disbursed

    @property
    def rate(self: HasAmounts) -> Decimal | None:
        return self.amounts.rate


@dataclass
class LineFigures(ShowsAmounts):
    """One budget line: its planned amount, the amounts recorded on it, and what its children add up to.

    A parent's amounts are its children's sum once any child has amounts; amounts recorded on the
    parent itself are then a check figure, and a difference is a mismatch to show."""

    line: BudgetLine
    depth: int
    execution: BudgetExecution | None
    children: list["LineFigures"] = field(default_factory=list)

    @property
    def planned(self) -> int:
        return self.line.amount

    @property
    def planned_below(self) -> int | None:
        """The children's planned amounts added up, for a parent line."""
        return sum(child.planned for child in self.children) if self.children else None

    @property
    def planned_mismatch(self) -> bool:
        return self.planned_below is not None and self.planned_below != self.planned

    @property
    def own(self) -> Amounts:
        return amounts_of(self.execution)

    @property
    def below(self) -> Amounts:
        total = Amounts()
        for child in self.children:
            total += child.amounts
        return total

    @property
    def amounts(self) -> Amounts:
        below = self.below
        return below if below.recorded else self.own

    @property
    def execution_mismatch(self) -> bool:
        own, below = self.own, self.below
        return own.recorded and below.recorded and own != below

    @property
    def mismatch(self) -> bool:
        return self.planned_mismatch or self.execution_mismatch

    def leaves(self) -> list["LineFigures"]:
        """The lines without children at or below this one (where planned amounts are counted)."""
        if not self.children:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def counted(self) -> list["LineFigures"]:
        """The lines whose own amounts make up this line's: the deepest ones with amounts."""
        if self.below.recorded:
            return [line for child in self.children for line in child.counted()]
        return [self] if self.own.recorded else []


@dataclass
class GroupFigures(ShowsAmounts):
    """A plan's total, or the lines of one agency or one funding source."""

    key: str
    label: str
    planned: int = 0
    amounts: Amounts = field(default_factory=Amounts)


@dataclass
class BudgetSummary:
    """A plan's budget for a period: the line tree in document order, and the totals per agency,
    per funding source and for the plan. `awaiting` counts amounts entered but not yet approved."""

    plan: Plan
    period: Period
    lines: list[LineFigures]
    total: GroupFigures
    by_agency: list[GroupFigures]
    by_funding_source: list[GroupFigures]
    awaiting: int = 0

    @property
    def mismatches(self) -> list[LineFigures]:
        return [line for line in self.lines if line.mismatch]


def line_period(line: BudgetLine, period: Period) -> str:
    """The execution period of a line within a reporting period: a five-year review takes each
    line's yearly amounts; a year or a half-year its own."""
    return str(line.year) if period.kind == "five_year" else period.code


def period_years(period: Period) -> range:
    return range(period.start.year, period.end.year + 1)


def build_tree(lines: Iterable[BudgetLine], executions: dict[int, BudgetExecution]) -> list[LineFigures]:
    """The lines in document order (each parent before its children), each with its execution."""
    lines = list(lines)
    present = {line.pk for line in lines}
    children: dict[int | None, list[BudgetLine]] = {}
    for line in lines:
        # A line whose parent is not shown (another year) starts a tree of its own.
        parent = line.parent_id if line.parent_id in present else None
        children.setdefault(parent, []).append(line)
    ordered: list[LineFigures] = []

    def walk(parent: int | None, depth: int) -> list[LineFigures]:
        nodes = []
        for line in sorted(children.get(parent, []), key=lambda line: (line.year, line.order)):
            node = LineFigures(line=line, depth=depth, execution=executions.get(line.pk))
            ordered.append(node)
            node.children = walk(line.pk, depth + 1)
            nodes.append(node)
        return nodes

    walk(None, 0)
    return ordered


def _grouped(roots: Sequence[LineFigures], attribute: str, fallback: str) -> list[GroupFigures]:
    """Planned amounts of the leaves and recorded amounts of the counted lines, per agency or
    funding source (`attribute` of the line); a line without one takes its nearest ancestor's,
    and lines with none at all come last under `fallback`."""
    owner: dict[int, Agency | FundingSource | None] = {}

    def inherit(node: LineFigures, above: Agency | FundingSource | None) -> None:
        owner[node.line.pk] = getattr(node.line, attribute) or above
        for child in node.children:
            inherit(child, owner[node.line.pk])

    for root in roots:
        inherit(root, None)
    groups: dict[str, GroupFigures] = {}

    def group_for(node: LineFigures) -> GroupFigures:
        found = owner[node.line.pk]
        key = found.code if found is not None else ""
        if key not in groups:
            groups[key] = GroupFigures(key=key, label=found.name if found is not None else fallback)
        return groups[key]

    for root in roots:
        for leaf in root.leaves():
            group_for(leaf).planned += leaf.planned
        for counted in root.counted():
            group = group_for(counted)
            group.amounts = group.amounts + counted.own
    return sorted(groups.values(), key=lambda group: group.key == "")


def summarise(
    *, plan: Plan, period: Period, lines: Iterable[BudgetLine], executions: Iterable[BudgetExecution]
) -> BudgetSummary:
    """The summary from lines and executions already read (a page that shows both reads them once)."""
    executions = list(executions)
    approved = {e.budget_line_id: e for e in executions if e.status == ReviewStatus.APPROVED}
    tree = build_tree(lines, approved)
    roots = [node for node in tree if node.depth == 0]
    total = GroupFigures(key="", label=_("Whole plan"))
    for root in roots:
        total.planned += sum(leaf.planned for leaf in root.leaves())
        total.amounts = total.amounts + root.amounts
    return BudgetSummary(
        plan=plan,
        period=period,
        lines=tree,
        total=total,
        by_agency=_grouped(roots, "agency", _("No agency stated")),
        by_funding_source=_grouped(roots, "funding_source", _("Funding source not stated")),
        awaiting=sum(1 for e in executions if e.status != ReviewStatus.APPROVED),
    )


def period_lines(*, fetched_by: Actor, plan: Plan, period: Period) -> QuerySet[BudgetLine]:
    return budget_line_list(fetched_by=fetched_by, filters={"plan": plan.pk}).filter(year__in=period_years(period))


def period_executions(*, fetched_by: Actor, lines: Sequence[BudgetLine], period: Period) -> list[BudgetExecution]:
    """The executions of each line in the period (for a five-year review, of each line's year),
    with the plan whose roles their writes are checked against."""
    wanted = {(line.pk, line_period(line, period)) for line in lines}
    executions = (
        budget_execution_list(fetched_by=fetched_by)
        .select_related("budget_line__plan__issuer_org_unit")
        .filter(budget_line__in=[line.pk for line in lines], period__in={code for _pk, code in wanted})
    )
    return [e for e in executions if (e.budget_line_id, e.period) in wanted]


def period_budget(*, fetched_by: Actor, plan: Plan, period: Period) -> tuple[list[BudgetLine], list[BudgetExecution]]:
    """A plan's lines in a period and their executions, in two queries."""
    lines = list(period_lines(fetched_by=fetched_by, plan=plan, period=period))
    return lines, period_executions(fetched_by=fetched_by, lines=lines, period=period)


def budget_summary(*, fetched_by: Actor, plan: Plan, period: Period | str) -> BudgetSummary:
    """Execution per line, agency, funding source and plan from approved amounts, in two queries.

    `period` is a year, a half-year or a five-year review ("2024", "2024H1", "2021-2025");
    an unknown code raises healthplans.periods.PeriodError."""
    parsed = period if isinstance(period, Period) else parse_period(period)
    lines, executions = period_budget(fetched_by=fetched_by, plan=plan, period=parsed)
    return summarise(plan=plan, period=parsed, lines=lines, executions=executions)
