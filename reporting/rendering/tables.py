"""The report's tables: results by indicator group, the targets and figures over the periods and
over the reporting units, the budget, the agencies and the units' submissions (reads only)."""

from dataclasses import dataclass

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import pgettext

from budgets.models import BudgetExecution, BudgetLine
from budgets.selectors import BudgetSummary, line_period, period_years, summarise
from healthplans.formatting import compared_text, short_period_label, shown
from healthplans.models import Agency, OrgUnit
from healthplans.periods import Period, parse_period
from healthplans.territory import now_part_of
from healthplans.vnnumber import format_money, format_number
from healthplans.workflow import ReviewStatus
from indicators.models import Actual, Indicator
from indicators.progress import IndicatorProgress, UnitCompleteness
from plans.models import Assignment, Plan, Task
from reporting.formatting import ACHIEVEMENT_LABELS, baseline_text, figure_places, group_heading, group_rank, unit_of

UNITS_PER_APPENDIX_TABLE = 10
# Periods of the roadmap per table: each takes a target and an actual column of the landscape page.
PERIODS_PER_APPENDIX_TABLE = 3


@dataclass(frozen=True)
class ResultRow:
    number: int
    name: str
    unit: str
    baseline: str
    target: str
    actual: str
    provisional: bool
    status: str
    status_label: str
    progress: str


@dataclass(frozen=True)
class ResultGroup:
    heading: str
    rows: list[ResultRow]
    counts: dict[str, int]


@dataclass(frozen=True)
class MatrixTable:
    """Rows of indicators against columns (periods or units), one table of an appendix."""

    columns: list[str]
    rows: list[tuple[int, str, str, list[tuple[str, str]]]]  # number, name, unit, [(target, actual)]
    with_targets: bool
    recomputed: bool = False  # some actuals (marked †) are recomputed on today's boundaries
    notes: tuple[str, ...] = ()  # what the units of the columns are now, where they have ended


@dataclass(frozen=True)
class BudgetRow:
    code: str
    name: str
    depth: int
    agency: str
    source: str
    amount: str
    allocated: str
    disbursed: str
    rate: str


@dataclass(frozen=True)
class AgencyRow:
    name: str
    roles: str
    assignments: int
    tasks: int
    amount: str


@dataclass(frozen=True)
class CompletenessRow:
    unit: str
    expected: int
    approved: int
    submitted: int
    returned: int
    draft: int
    state_label: str


def result_groups(items: list[IndicatorProgress]) -> list[ResultGroup]:
    by_group: dict[str, list[ResultRow]] = {}
    for number, item in enumerate(items, start=1):
        indicator = item.indicator
        places = figure_places(indicator)
        row = ResultRow(
            number=number,
            name=indicator.name,
            unit=unit_of(indicator),
            baseline=baseline_text(indicator),
            target=compared_text(item.target),
            actual=shown(item.actual.value, places),
            provisional=item.actual.provisional and item.actual.value is not None,
            status=item.status,
            status_label=str(ACHIEVEMENT_LABELS[item.status]),
            progress=format_number(item.progress) if item.progress is not None else "",
        )
        by_group.setdefault(indicator.group, []).append(row)
    # Headings only where the plan groups its indicators (input / activity / output).
    grouped = len(by_group) > 1
    return [
        ResultGroup(
            heading=group_heading(group) if grouped else "",
            rows=by_group[group],
            counts={status: sum(row.status == status for row in by_group[group]) for status in ACHIEVEMENT_LABELS},
        )
        for group in sorted(by_group, key=group_rank)
    ]


def period_matrices(items: list[IndicatorProgress], period: Period, unit: OrgUnit) -> list[MatrixTable]:
    """Every indicator's targets over the whole plan (its roadmap), with the actuals up to the
    reported period, in tables of a few periods each (a target such as "= 1.250.197" needs its
    column's width)."""
    codes = [code for code, _value in items[0].trend] if items else []
    if len(codes) < 2:
        return []
    reported = {code for code in codes if parse_period(code).end <= period.end}
    rows = []
    for number, item in enumerate(items, start=1):
        indicator = item.indicator
        places = figure_places(indicator)
        values = dict(item.trend)
        cells = [
            (
                compared_text(indicator.target_for(parse_period(code).target_year, unit)),
                (shown(values.get(code), places) + (" †" if code in item.recomputed else ""))
                if code in reported
                else "",
            )
            for code in codes
        ]
        rows.append((number, indicator.name, unit_of(indicator), cells))
    return [
        MatrixTable(
            [short_period_label(code) for code in codes[start : start + PERIODS_PER_APPENDIX_TABLE]],
            [(n, name, unit, cells[start : start + PERIODS_PER_APPENDIX_TABLE]) for n, name, unit, cells in rows],
            with_targets=True,
            recomputed=any(item.recomputed for item in items),
        )
        for start in range(0, len(codes), PERIODS_PER_APPENDIX_TABLE)
    ]


def unit_matrices(plan: Plan, indicators: list[Indicator], period: Period, unit: OrgUnit) -> list[MatrixTable]:
    """Each indicator's figure at each unit that reported one, in tables of a few units each."""
    actuals = (
        Actual.objects.filter(
            indicator__plan=plan,
            period=period.code,
            org_unit__path__startswith=unit.path,
            status__in=[ReviewStatus.APPROVED, ReviewStatus.SUBMITTED],
            value__isnull=False,
        )
        .select_related("org_unit")
        .only(
            "indicator_id",
            "value",
            "status",
            "org_unit__name",
            "org_unit__path",
            "org_unit__level",
            "org_unit__valid_to",
        )
    )
    cells: dict[tuple[int, int], Actual] = {}
    units: dict[int, OrgUnit] = {}
    for actual in actuals:
        cells[(actual.indicator_id, actual.org_unit_id)] = actual
        units[actual.org_unit_id] = actual.org_unit
    if len(units) < 2:
        return []
    columns = sorted(units.values(), key=lambda u: u.path)
    now = now_part_of(columns, timezone.localdate())
    numbered = [(n, i) for n, i in enumerate(indicators, start=1) if any((i.pk, u.pk) in cells for u in columns)]
    tables = []
    for start in range(0, len(columns), UNITS_PER_APPENDIX_TABLE):
        chunk = columns[start : start + UNITS_PER_APPENDIX_TABLE]
        rows = []
        for number, indicator in numbered:
            places = figure_places(indicator)
            row_cells = []
            for column in chunk:
                cell = cells.get((indicator.pk, column.pk))
                text = shown(cell.value, places) if cell is not None else ""
                if cell is not None and cell.status == ReviewStatus.SUBMITTED:
                    text += "*"
                row_cells.append(("", text))
            rows.append((number, indicator.name, unit_of(indicator), row_cells))
        notes = tuple(
            pgettext("report", "%(unit)s is now part of %(successor)s.") % {"unit": u.name, "successor": now[u.pk]}
            for u in chunk
            if u.pk in now
        )
        tables.append(MatrixTable([u.name for u in chunk], rows, with_targets=False, notes=notes))
    return tables


def budget_rows(plan: Plan, period: Period) -> tuple[list[BudgetRow], BudgetSummary | None]:
    """The plan's budget lines of the period with what was allocated and disbursed (approved
    amounts), as the budget page and the dashboard count them."""
    lines = list(
        BudgetLine.objects.filter(plan=plan, year__in=period_years(period))
        .select_related("agency", "funding_source")
        .order_by("order")
    )
    if not lines:
        return [], None
    wanted = {(line.pk, line_period(line, period)) for line in lines}
    executions = [
        execution
        for execution in BudgetExecution.objects.filter(budget_line__in=lines, status=ReviewStatus.APPROVED)
        if (execution.budget_line_id, execution.period) in wanted
    ]
    summary = summarise(plan=plan, period=period, lines=lines, executions=executions)
    rows = [
        BudgetRow(
            code=figures.line.code,
            name=figures.line.name,
            depth=figures.depth,
            agency=figures.line.agency.name if figures.line.agency else "",
            source=figures.line.funding_source.name if figures.line.funding_source else "",
            amount=format_money(figures.planned),
            allocated=money_or_blank(figures.allocated),
            disbursed=money_or_blank(figures.disbursed),
            rate=f"{format_number(figures.rate)} %" if figures.rate is not None else "",
        )
        for figures in summary.lines
    ]
    return rows, summary


def money_or_blank(amount: int | None) -> str:
    return "" if amount is None else format_money(amount)


def agency_rows(plan: Plan) -> list[AgencyRow]:
    """Who leads and who coordinates, with the tasks each agency leads and their planned cost."""
    assignments = list(Assignment.objects.filter(plan=plan).select_related("agency").order_by("order"))
    led: dict[int, tuple[int, int | None]] = {
        row["lead_id"]: (row["n"], row["amount"])
        for row in Task.objects.filter(section__plan=plan, lead__isnull=False)
        .values("lead_id")
        .annotate(n=Count("id"), amount=Sum("amount"))
    }
    agencies: dict[int, Agency] = {}
    roles: dict[int, list[str]] = {}
    counts: dict[int, int] = {}
    for assignment in assignments:
        agencies.setdefault(assignment.agency_id, assignment.agency)
        role = (
            pgettext("report", "lead") if assignment.role == Assignment.Role.LEAD else pgettext("report", "coordinate")
        )
        if role not in roles.setdefault(assignment.agency_id, []):
            roles[assignment.agency_id].append(role)
        counts[assignment.agency_id] = counts.get(assignment.agency_id, 0) + 1
    missing = [agency_id for agency_id in led if agency_id not in agencies]
    for agency in Agency.objects.filter(pk__in=missing).order_by("name"):
        agencies[agency.pk] = agency
        roles[agency.pk] = [pgettext("report", "lead")]
    return [
        AgencyRow(
            name=agency.name,
            roles=", ".join(roles.get(agency_id, [])),
            assignments=counts.get(agency_id, 0),
            tasks=led.get(agency_id, (0, None))[0],
            amount=format_money(amount) if (amount := led.get(agency_id, (0, None))[1]) else "",
        )
        for agency_id, agency in agencies.items()
    ]


def completeness_rows(entries: list[UnitCompleteness]) -> list[CompletenessRow]:
    labels = completeness_labels()
    return [
        CompletenessRow(
            unit=entry.unit.name,
            expected=entry.expected,
            approved=entry.counts.get(ReviewStatus.APPROVED, 0),
            submitted=entry.counts.get(ReviewStatus.SUBMITTED, 0),
            returned=entry.counts.get(ReviewStatus.RETURNED, 0),
            draft=entry.counts.get(ReviewStatus.DRAFT, 0),
            state_label=labels[entry.state],
        )
        for entry in entries
    ]


def completeness_labels() -> dict[str, str]:
    """A unit's submissions in the report's prose (the completeness page has shorter ones)."""
    return {
        "approved": pgettext("report", "approved"),
        "submitted": pgettext("report", "submitted, awaiting approval"),
        "returned": pgettext("report", "returned for correction"),
        "in_progress": pgettext("report", "being entered"),
        "late": pgettext("report", "late"),
        "not_started": pgettext("report", "not started"),
    }
