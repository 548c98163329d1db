"""A plan's budget lines as a workbook: each line of the period (its code, name, year, agency,
funding source and planned amount) with what was allocated and disbursed on it, and the import
of those amounts through budget_execution_save_many (roles, periods, versions, workflow status,
history), all or nothing. Amounts are whole đồng, read with the Vietnamese parser
("1.248.643", "2,5 tỷ"). Registered with the core's spreadsheet registry by BudgetsConfig.ready()."""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from budgets.models import BudgetExecution, BudgetLine
from budgets.selectors import budget_execution_list, budget_line_list, build_tree, line_period, period_years
from budgets.services import WRITER_ROLES, AmountsEntry, budget_execution_save_many
from healthplans.models import User
from healthplans.periods import PeriodError, parse_period
from healthplans.selectors import Actor, roles_at
from healthplans.spreadsheets.files import (
    COL_PERIOD,
    COL_PLAN,
    COL_STATUS,
    COL_VERSION,
    SheetError,
    empty_file,
    header_errors,
    number_message,
)
from healthplans.spreadsheets.registry import Checked, Progress, SheetImport, SheetKind, register
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.vnnumber import parse_money
from healthplans.workflow import ServiceError
from plans.models import Plan
from plans.selectors import plan_get_or_404

COL_LINE = "Mã dòng"
COL_LINE_NAME = "Nội dung"
COL_YEAR = "Năm"
COL_AGENCY = "Cơ quan"
COL_FUNDING = "Nguồn kinh phí"
COL_PLANNED = "Kinh phí kế hoạch (đồng)"
COL_ALLOCATED = "Dự toán giao (đồng)"
COL_DISBURSED = "Đã giải ngân (đồng)"
COL_NOTE = "Ghi chú"
BUDGET_HEADERS = [
    COL_PLAN,
    COL_LINE,
    COL_LINE_NAME,
    COL_YEAR,
    COL_AGENCY,
    COL_FUNDING,
    COL_PLANNED,
    COL_PERIOD,
    COL_ALLOCATED,
    COL_DISBURSED,
    COL_NOTE,
    COL_STATUS,
    COL_VERSION,
]
# Where a service's refusal of a field is shown.
FIELD_COLUMNS = {"period": COL_PERIOD, "allocated": COL_ALLOCATED, "disbursed": COL_DISBURSED, "note": COL_NOTE}


def budget_table(*, fetched_by: Actor, plan: Plan, period: str) -> list[list[Any]]:
    """The plan's budget lines in document order with their amounts: of a reporting period when
    one is given, else each line in its own year."""
    lines = budget_line_list(fetched_by=fetched_by, filters={"plan": plan.pk})
    parsed = parse_period(period) if period else None
    if parsed is not None:
        lines = lines.filter(year__in=period_years(parsed))
    executions = {
        (e.budget_line_id, e.period): e for e in budget_execution_list(fetched_by=fetched_by, filters={"plan": plan.pk})
    }
    rows: list[list[Any]] = [list(BUDGET_HEADERS)]
    for node in build_tree(lines, {}):
        line = node.line
        code = line_period(line, parsed) if parsed is not None else str(line.year)
        execution = executions.get((line.pk, code))
        rows.append(
            [
                plan.slug,
                line.code,
                line.name,
                line.year,
                line.agency.name if line.agency else "",
                line.funding_source.name if line.funding_source else "",
                line.amount,
                code,
                *amount_cells(execution),
            ]
        )
    return rows


def amount_cells(execution: BudgetExecution | None) -> list[Any]:
    if execution is None:
        return ["", "", "", "", ""]
    return [
        "" if execution.allocated is None else execution.allocated,
        "" if execution.disbursed is None else execution.disbursed,
        execution.note,
        execution.get_status_display(),
        execution.version,
    ]


@dataclass
class BudgetChange:
    row: int
    line: BudgetLine
    period: str
    allocated: int | None
    disbursed: int | None
    note: str
    version: int | None
    existing: BudgetExecution | None


def money_cell(text: str, row: int, column: str, errors: list[SheetError]) -> int | None:
    if not text:
        return None
    try:
        return parse_money(text)
    except NumberError as exc:
        errors.append(SheetError(row, column, number_message(exc)))
        return None


def budget_forbidden(plan: Plan, by: User) -> str | None:
    """Budget amounts are the issuing unit's planners'."""
    if not roles_at(by, plan.issuer_org_unit) & WRITER_ROLES:
        return _("You may not record the budget of this plan.")
    return None


def parse_budget_rows(table: list[list[str]]) -> tuple[list[list[str]], list[SheetError]]:
    """The rows below the headings, once the headings are the template's."""
    if not table:
        return [], empty_file()
    return table[1:], header_errors(table[0], BUDGET_HEADERS)


def budget_check(*, plan: Plan, rows: list[list[str]], by: User, progress: Progress) -> Checked:
    """The rows that change amounts, the preview, and what is wrong with the file."""
    if message := budget_forbidden(plan, by):
        return Checked(errors=[SheetError(None, None, message)])
    errors: list[SheetError] = []
    index = {name: position for position, name in enumerate(BUDGET_HEADERS)}
    lines = {
        line.code: line
        for line in budget_line_list(fetched_by=by, filters={"plan": plan.pk}).select_related("plan__issuer_org_unit")
    }
    executions = {
        (e.budget_line_id, e.period): e
        for e in budget_execution_list(fetched_by=by, filters={"plan": plan.pk}).select_related(
            "budget_line__plan__issuer_org_unit"
        )
    }
    seen: dict[tuple[str, str], int] = {}
    changes: list[BudgetChange] = []
    preview: list[dict[str, Any]] = []
    for number, cells in enumerate(rows, start=2):

        def get(name: str, cells: list[str] = cells) -> str:
            position = index[name]
            return cells[position] if position < len(cells) else ""

        if not (get(COL_ALLOCATED) or get(COL_DISBURSED)):
            continue  # a line without amounts changes nothing
        code = get(COL_LINE)
        line = lines.get(code)
        if line is None:
            message = _("This plan has no budget line «%(code)s».") % {"code": code}
            errors.append(SheetError(number, COL_LINE, message))
        try:
            period = parse_period(get(COL_PERIOD)).code
        except PeriodError as exc:
            errors.append(SheetError(number, COL_PERIOD, str(exc)))
            continue
        if (code, period) in seen:
            message = _("This row repeats row %(row)s (same budget line and period).") % {"row": seen[code, period]}
            errors.append(SheetError(number, None, message))
            continue
        seen[code, period] = number
        count = len(errors)
        allocated = money_cell(get(COL_ALLOCATED), number, COL_ALLOCATED, errors)
        disbursed = money_cell(get(COL_DISBURSED), number, COL_DISBURSED, errors)
        version = get(COL_VERSION)
        if version and not version.isdigit():
            message = _("The version must be a whole number: «%(v)s».") % {"v": version}
            errors.append(SheetError(number, COL_VERSION, message))
        if line is None or len(errors) > count:
            continue
        existing = executions.get((line.pk, period))
        note = get(COL_NOTE)
        unchanged = existing is not None and (existing.allocated, existing.disbursed, existing.note) == (
            allocated,
            disbursed,
            note,
        )
        preview.append(
            {
                "row": number,
                "line": line.code,
                "period": period,
                "allocated": allocated,
                "disbursed": disbursed,
                "action": "unchanged" if unchanged else ("create" if existing is None else "update"),
            }
        )
        if not unchanged:
            changes.append(
                BudgetChange(
                    number, line, period, allocated, disbursed, note, int(version) if version else None, existing
                )
            )
    return Checked(preview, errors, changes)


def budget_write(*, plan: Plan, changes: list[BudgetChange], by: User, progress: Progress) -> list[SheetError]:
    """Record the changed amounts through budget_execution_save_many. A dry run writes too, and the
    import's transaction is rolled back, so it reports exactly what the services would refuse."""
    errors: list[SheetError] = []
    recorded: list[BudgetChange] = []
    for change in changes:
        if change.existing is not None and change.version is None:
            message = _("Amounts for this line and period exist already: give their version (export again).")
            errors.append(SheetError(change.row, COL_VERSION, message))
        else:
            recorded.append(change)
    entries = [
        AmountsEntry(
            change.line,
            change.period,
            change.allocated,
            change.disbursed,
            change.note,
            None if change.existing is None else change.version,
        )
        for change in recorded
    ]
    try:
        results = budget_execution_save_many(plan=plan, entries=entries, by=by)
    except ServiceError as exc:
        # Refused as a whole: amounts of one of these lines were recorded meanwhile.
        return errors + service_errors(None, exc)
    for change, result in zip(recorded, results, strict=True):
        if isinstance(result, ServiceError):
            errors += service_errors(change.row, result)
    return sorted(errors, key=lambda error: error.row or 0)


def service_errors(row: int | None, exc: ServiceError) -> list[SheetError]:
    """A service's refusal, on the columns of the fields it names (or on the amounts)."""
    if not exc.fields:
        return [SheetError(row, COL_ALLOCATED, exc.message)]
    return [
        SheetError(row, FIELD_COLUMNS.get(name, COL_ALLOCATED), " ".join(messages))
        for name, messages in exc.fields.items()
    ]


BUDGET = SheetKind(
    name="budget",
    export=budget_table,
    period="optional",
    imports=SheetImport(
        forbidden=budget_forbidden,
        parse=parse_budget_rows,
        check=budget_check,
        write=budget_write,
        plan_get=plan_get_or_404,
        rehearsed=True,
    ),
)


def register_kinds() -> None:
    register(BUDGET)
