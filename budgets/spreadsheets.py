"""A plan's budget lines as a workbook: each line of the period (its code, name, year, agency,
funding source and planned amount) with what was allocated and disbursed on it, and the import
of those amounts through the budget services (roles, periods, versions, workflow status,
history), all or nothing. Amounts are whole đồng, read with the Vietnamese parser
("1.248.643", "2,5 tỷ")."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from budgets.models import BudgetExecution, BudgetLine
from budgets.selectors import budget_execution_list, budget_line_list, build_tree, line_period, period_years
from budgets.services import WRITER_ROLES, budget_execution_create, budget_execution_update
from healthplans.models import User
from healthplans.periods import PeriodError, parse_period
from healthplans.selectors import Actor, roles_at
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.vnnumber import parse_money
from healthplans.workflow import ServiceError
from indicators.spreadsheets import (
    COL_PERIOD,
    COL_PLAN,
    COL_STATUS,
    COL_VERSION,
    SheetError,
    header_errors,
    number_message,
)
from plans.models import Plan

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


def budget_rows(
    table: list[list[str]], *, by: User, plan: Plan
) -> tuple[list[BudgetChange], list[dict], list[SheetError]]:
    """The rows that change amounts, the preview, and what is wrong with the file."""
    if not table:
        return [], [], [SheetError(None, None, _("The file is empty."))]
    if errors := header_errors(table[0], BUDGET_HEADERS):
        return [], [], errors
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
    for number, cells in enumerate(table[1:], start=2):

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
    return changes, preview, errors


def budget_import(
    *, plan: Plan, table: list[list[str]], by: User, dry_run: bool
) -> tuple[list[dict], list[SheetError]]:
    """Record the changed amounts through the budget services, all or nothing; a dry run rolls the
    writes back, so it reports exactly what the services would refuse."""
    if not roles_at(by, plan.issuer_org_unit) & WRITER_ROLES:
        return [], [SheetError(None, None, _("You may not record the budget of this plan."))]
    changes, preview, errors = budget_rows(table, by=by, plan=plan)
    if errors:
        return preview, errors
    with transaction.atomic():
        for change in changes:
            try:
                if change.existing is None:
                    budget_execution_create(
                        budget_line=change.line,
                        period=change.period,
                        allocated=change.allocated,
                        disbursed=change.disbursed,
                        note=change.note,
                        by=by,
                    )
                elif change.version is None:
                    message = _("Amounts for this line and period exist already: give their version (export again).")
                    errors.append(SheetError(change.row, COL_VERSION, message))
                else:
                    budget_execution_update(
                        execution=change.existing,
                        version=change.version,
                        allocated=change.allocated,
                        disbursed=change.disbursed,
                        note=change.note,
                        by=by,
                    )
            except ServiceError as exc:
                errors += service_errors(change.row, exc)
        if errors or dry_run:
            transaction.set_rollback(True)
    return preview, errors


def service_errors(row: int, exc: ServiceError) -> list[SheetError]:
    """A service's refusal, on the columns of the fields it names (or on the amounts)."""
    if not exc.fields:
        return [SheetError(row, COL_ALLOCATED, exc.message)]
    return [
        SheetError(row, FIELD_COLUMNS.get(name, COL_ALLOCATED), " ".join(messages))
        for name, messages in exc.fields.items()
    ]
