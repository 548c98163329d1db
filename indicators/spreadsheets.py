"""Workbooks in and out: the actuals of a period and the targets of a plan, as .xlsx or .csv.

Plain openpyxl and csv rather than django-import-export Resources: a Resource saves model
instances row by row through `save()`, while every figure here must go through the figure
services (roles, workflow status, versions, history) in one transaction, its errors must be
reported by row and column in Vietnamese, and the targets sheet is wide (one column per year),
which a Resource's one-row-one-instance mapping does not model.

An export is the template of its import: imported unchanged it reports no error and writes
nothing (an unchanged cell is skipped, not rewritten).
"""

import csv
import io
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from healthplans.models import OrgUnit, Role, User
from healthplans.selectors import Actor, org_unit_list, roles_at
from healthplans.vnnumber import COMPARATOR_SYMBOLS, format_number, parse_figure, parse_number
from healthplans.vnnumber import FigureError as NumberError
from indicators.models import Direction, Indicator, Target
from indicators.periods import PeriodError, parse_period
from indicators.services import FigureForbidden, FigureInvalid, is_entry_unit, value_errors
from indicators.views.grid import (
    CellInput,
    GridRefused,
    grid_actuals,
    grid_indicators,
    grid_save,
    last_year,
    plan_target,
    visible_entry_units,
)
from plans.models import Plan

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
XLSX_SIGNATURE = b"PK\x03\x04"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Cells a spreadsheet would run as a formula (CSV injection); OWASP adds tab and carriage return.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
PREVIEW_SECONDS = 60 * 60
DEFAULT_COMPARATOR = {Direction.HIGHER: ">=", Direction.LOWER: "<=", Direction.KEEP: "="}

# The headers are the file format, the same whatever the page's language.
COL_PLAN = "Kế hoạch"
COL_NUMBER = "Số TT"
COL_NAME = "Chỉ số"
COL_UNIT = "Đơn vị tính"
COL_TARGET = "Chỉ tiêu"
COL_ORG_CODE = "Mã đơn vị"
COL_ORG_NAME = "Tên đơn vị"
COL_PERIOD = "Kỳ báo cáo"
COL_VALUE = "Giá trị"
COL_STATUS = "Trạng thái"
COL_VERSION = "Phiên bản"
ACTUAL_HEADERS = [
    COL_PLAN,
    COL_NUMBER,
    COL_NAME,
    COL_UNIT,
    COL_TARGET,
    COL_ORG_CODE,
    COL_ORG_NAME,
    COL_PERIOD,
    COL_VALUE,
    COL_STATUS,
    COL_VERSION,
]
TARGET_LEAD_HEADERS = [COL_NUMBER, COL_NAME, COL_UNIT]
KINDS = ("actuals", "targets")
FORMATS = ("xlsx", "csv")


class SheetRefused(Exception):
    """The file as a whole cannot be read (too big, not a spreadsheet, damaged)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class SheetError:
    row: int | None
    column: str | None
    message: str


@dataclass
class ImportResult:
    id: str
    status: str  # "valid" (a dry run that would succeed), "imported", "invalid", "refused"
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[SheetError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "rows": self.rows,
            "errors": [asdict(error) for error in self.errors],
        }


# ---------------------------------------------------------------------------------------------
# Cells


def safe_cell(value: Any) -> Any:
    """A text a spreadsheet would take for a formula gets a leading apostrophe; a negative
    number stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        try:
            number = parse_number(value)
        except NumberError:
            return "'" + value
        return number if number < 0 else "'" + value
    return value


def cell_text(value: Any) -> str:
    """A read cell as the text a person wrote, undoing `safe_cell`'s apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal):
        return format_number(Decimal(value))
    if isinstance(value, float):
        return format_number(Decimal(repr(value)).normalize())
    text = str(value).strip()
    return text[1:] if text.startswith("'") else text


def vn_value(value: Decimal | None) -> str:
    return "" if value is None else format_number(value.normalize())


# ---------------------------------------------------------------------------------------------
# Export


def actuals_table(*, fetched_by: Actor, plan: Plan, period: str) -> list[list[Any]]:
    """The entry template of a period: every indicator × entry unit the user sees, filled with
    the stored figures."""
    parsed = parse_period(period)
    indicators = grid_indicators(fetched_by=fetched_by, plan=plan)
    units = visible_entry_units(fetched_by=fetched_by, plan=plan, levels={i.entry_level for i in indicators})
    actuals = grid_actuals(fetched_by=fetched_by, plan=plan, periods=[parsed.code])
    rows: list[list[Any]] = [list(ACTUAL_HEADERS)]
    for indicator in indicators:
        target = plan_target(indicator, parsed.target_year)
        for unit in units:
            if not is_entry_unit(indicator, unit):
                continue
            actual = actuals.get((indicator.pk, unit.pk, parsed.code))
            rows.append(
                [
                    plan.slug,
                    indicator.number,
                    indicator.name,
                    indicator.unit,
                    target.text if target is not None else "",
                    unit.code,
                    unit.name,
                    parsed.code,
                    vn_value(actual.value) if actual is not None else "",
                    actual.get_status_display() if actual is not None else "",
                    str(actual.version) if actual is not None else "",
                ]
            )
    return rows


def target_years(plan: Plan, indicators: Iterable[Indicator]) -> list[int]:
    years = set(range(plan.start_year, last_year(plan) + 1))
    years |= {t.year for i in indicators for t in i.targets.all() if t.org_unit_id is None}
    return sorted(years)


def targets_table(*, fetched_by: Actor, plan: Plan) -> list[list[Any]]:
    """The plan's indicators × years, each cell the target as written ("≥80%")."""
    indicators = grid_indicators(fetched_by=fetched_by, plan=plan)
    years = target_years(plan, indicators)
    rows: list[list[Any]] = [[*TARGET_LEAD_HEADERS, *(str(year) for year in years)]]
    for indicator in indicators:
        texts = {t.year: t.text for t in indicator.targets.all() if t.org_unit_id is None}
        rows.append([indicator.number, indicator.name, indicator.unit, *(texts.get(year, "") for year in years)])
    return rows


def write_xlsx(rows: Sequence[Sequence[Any]], *, title: str) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs published

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([cell_text(value) if isinstance(value, Decimal) else value for value in map(safe_cell, row)])
    # The byte order mark makes Excel open the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Reading a file


def read_table(content: bytes) -> list[list[str]]:
    """The rows of an uploaded .xlsx (recognised by its zip signature) or UTF-8 .csv, as text."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise SheetRefused(_("The file is too large: 5 MB at most."))
    if content.startswith(XLSX_SIGNATURE):
        return read_xlsx(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetRefused(_("The file is not a spreadsheet: only .xlsx or .csv (UTF-8) files are accepted.")) from exc
    if "\x00" in text:
        raise SheetRefused(_("The file is not a spreadsheet: only .xlsx or .csv (UTF-8) files are accepted."))
    try:
        rows = [[cell_text(value) for value in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise SheetRefused(_("The CSV file cannot be read.")) from exc
    return trim(rows)


def read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([cell_text(value) for value in row])
            if len(rows) > MAX_ROWS + 1:
                raise SheetRefused(_("The file has too many rows: %(n)s at most.") % {"n": MAX_ROWS})
        workbook.close()
    except SheetRefused:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError, EOFError) as exc:
        raise SheetRefused(_("The .xlsx file is damaged or incomplete and cannot be read.")) from exc
    return trim(rows)


def trim(rows: list[list[str]]) -> list[list[str]]:
    """Drop trailing empty cells and rows: spreadsheets keep formatting past the data."""
    trimmed = []
    for row in rows:
        while row and not row[-1]:
            row.pop()
        trimmed.append(row)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    if len(trimmed) > MAX_ROWS + 1:
        raise SheetRefused(_("The file has too many rows: %(n)s at most.") % {"n": MAX_ROWS})
    return trimmed


def header_errors(found: list[str], expected: list[str]) -> list[SheetError]:
    errors = []
    for index, name in enumerate(expected):
        seen = found[index] if index < len(found) else ""
        if seen != name:
            errors.append(
                SheetError(
                    1,
                    name,
                    _("Wrong heading in column %(n)s: expected «%(want)s», found «%(seen)s».")
                    % {
                        "n": index + 1,
                        "want": name,
                        "seen": seen,
                    },
                )
            )
    return errors


def number_message(exc: NumberError) -> str:
    return _(exc.template).format(text=exc.text)


# ---------------------------------------------------------------------------------------------
# Importing actuals


@dataclass
class ActualRow:
    row: int
    number: str
    org_unit: str
    period: str
    value: str
    version: str


def parse_actual_rows(table: list[list[str]]) -> tuple[list[ActualRow], list[SheetError]]:
    if not table:
        return [], [SheetError(None, None, _("The file is empty."))]
    if errors := header_errors(table[0], ACTUAL_HEADERS):
        return [], errors
    index = {name: position for position, name in enumerate(ACTUAL_HEADERS)}

    def get(row: list[str], name: str) -> str:
        position = index[name]
        return row[position] if position < len(row) else ""

    rows = [
        ActualRow(
            row=number,
            number=get(row, COL_NUMBER),
            org_unit=get(row, COL_ORG_CODE),
            period=get(row, COL_PERIOD),
            value=get(row, COL_VALUE),
            version=get(row, COL_VERSION),
        )
        for number, row in enumerate(table[1:], start=2)
        if any(row)
    ]
    return rows, []


ERROR_COLUMNS = {"forbidden": COL_ORG_CODE}


def actuals_import(
    *, plan: Plan, rows: list[ActualRow], by: User, dry_run: bool
) -> tuple[list[dict], list[SheetError]]:
    """Check every row, then write the changed ones through the grid's all-or-nothing save;
    a dry run rolls the writes back, so it reports exactly what the services would refuse."""
    errors: list[SheetError] = []
    indicators = {i.number: i for i in grid_indicators(fetched_by=by, plan=plan)}
    units = {u.code: u for u in org_unit_list(fetched_by=by).filter(code__in={r.org_unit for r in rows})}
    seen: dict[tuple[str, str, str], int] = {}
    candidates: list[tuple[ActualRow, Indicator, OrgUnit, str, Decimal]] = []
    for row in rows:
        if not row.value:
            continue  # an empty value cell changes nothing, whatever unit its row names
        indicator = indicators.get(row.number)
        if indicator is None:
            errors.append(SheetError(row.row, COL_NUMBER, _("This plan has no indicator «%(n)s».") % {"n": row.number}))
        unit = units.get(row.org_unit)
        if unit is None:
            # The same answer for a unit that does not exist and one outside the user's reach.
            errors.append(
                SheetError(
                    row.row,
                    COL_ORG_CODE,
                    _("There is no unit «%(code)s», or you may not enter figures for it.") % {"code": row.org_unit},
                )
            )
        try:
            period = parse_period(row.period).code
        except PeriodError as exc:
            errors.append(SheetError(row.row, COL_PERIOD, str(exc)))
            continue
        key = (row.number, row.org_unit, period)
        if key in seen:
            errors.append(
                SheetError(
                    row.row,
                    None,
                    _("This row repeats row %(row)s (same indicator, unit and period).") % {"row": seen[key]},
                )
            )
            continue
        seen[key] = row.row
        try:
            value = parse_number(row.value)
        except NumberError as exc:
            errors.append(SheetError(row.row, COL_VALUE, number_message(exc)))
            continue
        if row.version and not row.version.isdigit():
            errors.append(
                SheetError(row.row, COL_VERSION, _("The version must be a whole number: «%(v)s».") % {"v": row.version})
            )
            continue
        if indicator is not None and unit is not None:
            candidates.append((row, indicator, unit, period, value))

    stored = grid_actuals(fetched_by=by, plan=plan, periods=sorted({c[3] for c in candidates}))
    cells: list[CellInput] = []
    row_of: dict[tuple[int, int, str], int] = {}
    preview: list[dict[str, Any]] = []
    for row, indicator, unit, period, value in candidates:
        existing = stored.get((indicator.pk, unit.pk, period))
        unchanged = existing is not None and existing.value == value
        preview.append(
            {
                "row": row.row,
                "indicator": indicator.number,
                "org_unit": unit.code,
                "period": period,
                "value": vn_value(value),
                "action": "unchanged" if unchanged else ("create" if existing is None else "update"),
            }
        )
        if unchanged:
            continue
        cell = CellInput(indicator.pk, unit.pk, period, vn_value(value), int(row.version) if row.version else None)
        cells.append(cell)
        row_of[cell.key] = row.row
    if errors:
        return preview, errors
    with transaction.atomic():
        try:
            grid_save(plan=plan, cells=cells, by=by)
        except GridRefused as exc:
            for error in exc.errors:
                cell_key = (error["indicator"], error["org_unit"], error["period"])
                errors.append(
                    SheetError(row_of.get(cell_key), ERROR_COLUMNS.get(error["code"], COL_VALUE), error["message"])
                )
        if dry_run:
            transaction.set_rollback(True)
    return preview, errors


# ---------------------------------------------------------------------------------------------
# Importing targets


@dataclass
class TargetCell:
    row: int
    number: str
    year: int
    text: str


@dataclass(frozen=True)
class TargetChange:
    indicator: Indicator
    year: int
    comparator: str
    value: Decimal
    text: str


def parse_target_rows(table: list[list[str]], plan: Plan) -> tuple[list[TargetCell], list[SheetError]]:
    if not table:
        return [], [SheetError(None, None, _("The file is empty."))]
    header = table[0]
    errors = header_errors(header, TARGET_LEAD_HEADERS)
    years: list[int] = []
    for position, text in enumerate(header[len(TARGET_LEAD_HEADERS) :], start=len(TARGET_LEAD_HEADERS) + 1):
        if not (len(text) == 4 and text.isdigit()):
            errors.append(
                SheetError(
                    1,
                    text,
                    _("Column %(n)s must be a year (e.g. 2025), found «%(seen)s».") % {"n": position, "seen": text},
                )
            )
        else:
            years.append(int(text))
    if len(set(years)) != len(years):
        errors.append(SheetError(1, None, _("A year appears in two columns.")))
    if errors:
        return [], errors
    cells = []
    for number, row in enumerate(table[1:], start=2):
        if not any(row):
            continue
        code = row[0] if row else ""
        for offset, year in enumerate(years):
            position = len(TARGET_LEAD_HEADERS) + offset
            cells.append(TargetCell(number, code, year, row[position] if position < len(row) else ""))
    return cells, []


def targets_check(
    *, plan: Plan, cells: list[TargetCell], by: User
) -> tuple[list[TargetChange], list[dict], list[SheetError]]:
    errors: list[SheetError] = []
    if not roles_at(by, plan.issuer_org_unit) & {Role.PLANNER.value}:
        return [], [], [SheetError(None, None, _("Only planners of the issuing unit may import targets."))]
    indicators = {i.number: i for i in grid_indicators(fetched_by=by, plan=plan)}
    first_row: dict[str, int] = {}
    changes: list[TargetChange] = []
    preview: list[dict[str, Any]] = []
    for cell in cells:
        indicator = indicators.get(cell.number)
        if indicator is None:
            if first_row.setdefault(cell.number, cell.row) == cell.row and cell.year == cells[0].year:
                errors.append(
                    SheetError(cell.row, COL_NUMBER, _("This plan has no indicator «%(n)s».") % {"n": cell.number})
                )
            continue
        if first_row.setdefault(cell.number, cell.row) != cell.row:
            if cell.year == cells[0].year:
                errors.append(
                    SheetError(
                        cell.row,
                        COL_NUMBER,
                        _("This row repeats row %(row)s (same indicator).") % {"row": first_row[cell.number]},
                    )
                )
            continue
        if not (plan.start_year <= cell.year <= last_year(plan)) and cell.text:
            errors.append(
                SheetError(
                    cell.row, str(cell.year), _("The year %(y)s lies outside the plan's period.") % {"y": cell.year}
                )
            )
            continue
        stored = plan_target(indicator, cell.year)
        if not cell.text or (stored is not None and stored.text == cell.text):
            continue  # an empty cell or the text as stored changes nothing
        try:
            figure = parse_figure(cell.text)
        except NumberError as exc:
            errors.append(SheetError(cell.row, str(cell.year), number_message(exc)))
            continue
        if problems := value_errors(indicator, figure.value):
            errors.append(SheetError(cell.row, str(cell.year), " ".join(problems)))
            continue
        comparator = figure.comparator or DEFAULT_COMPARATOR[Direction(indicator.direction)]
        changes.append(TargetChange(indicator, cell.year, comparator, figure.value, cell.text))
        preview.append(
            {
                "row": cell.row,
                "indicator": indicator.number,
                "year": cell.year,
                "value": f"{COMPARATOR_SYMBOLS[comparator]} {vn_value(figure.value)}",
                "text": cell.text,
                "action": "create" if stored is None else "update",
            }
        )
    return changes, preview, errors


@transaction.atomic
def targets_import(*, plan: Plan, rows: Sequence[TargetChange], by: User) -> list[Target]:
    """Set the plan-wide targets of the given indicators and years; planners of the plan only."""
    if not roles_at(by, plan.issuer_org_unit) & {Role.PLANNER.value}:
        raise FigureForbidden(_("Only planners of the issuing unit may import targets."))
    saved = []
    for change in rows:
        if change.indicator.plan_id != plan.pk:
            raise FigureInvalid(_("The indicator does not belong to this plan."))
        target = Target.objects.filter(indicator=change.indicator, year=change.year, org_unit=None).first()
        if target is None:
            target = Target(tenant_id=plan.tenant_id, indicator=change.indicator, year=change.year, org_unit=None)
        target.comparator = change.comparator
        target.value = change.value
        target.text = change.text
        target.full_clean()
        target.save()
        saved.append(target)
    return saved


# ---------------------------------------------------------------------------------------------
# One import, from upload to confirmation


def cache_key(import_id: str, user: User) -> str:
    return f"sheets-import:{import_id}:{user.pk}"


def run_import(
    *, plan: Plan, kind: str, table: list[list[str]], by: User, dry_run: bool, import_id: str | None = None
) -> ImportResult:
    import_id = import_id or uuid.uuid4().hex
    if kind == "actuals":
        actual_rows, errors = parse_actual_rows(table)
        preview: list[dict[str, Any]] = []
        if not errors:
            preview, errors = actuals_import(plan=plan, rows=actual_rows, by=by, dry_run=dry_run)
    else:
        target_cells, errors = parse_target_rows(table, plan)
        preview = []
        if not errors:
            changes, preview, errors = targets_check(plan=plan, cells=target_cells, by=by)
            if not errors and not dry_run:
                targets_import(plan=plan, rows=changes, by=by)
    if errors:
        return ImportResult(import_id, "invalid", preview, errors)
    if dry_run:
        cache.set(cache_key(import_id, by), {"plan": plan.pk, "kind": kind, "table": table}, PREVIEW_SECONDS)
        return ImportResult(import_id, "valid", preview)
    return ImportResult(import_id, "imported", preview)


def import_upload(*, plan: Plan, kind: str, content: bytes, by: User, dry_run: bool) -> ImportResult:
    try:
        table = read_table(content)
    except SheetRefused as exc:
        return ImportResult(uuid.uuid4().hex, "refused", [], [SheetError(None, None, exc.message)])
    return run_import(plan=plan, kind=kind, table=table, by=by, dry_run=dry_run)


def import_confirm(*, import_id: str, by: User, plans: Any) -> ImportResult | None:
    """Write a previewed import; None if there is no such preview of this user's (or its plan
    is no longer visible). The rows are checked again: the data may have changed meanwhile."""
    stored = cache.get(cache_key(import_id, by))
    if stored is None:
        return None
    plan = plans.filter(pk=stored["plan"]).select_related("issuer_org_unit").first()
    if plan is None:
        return None
    result = run_import(
        plan=plan, kind=stored["kind"], table=stored["table"], by=by, dry_run=False, import_id=import_id
    )
    if result.status == "imported":
        cache.delete(cache_key(import_id, by))
    return result


def attachment_name(plan: Plan, kind: str, period: str, fmt: str) -> str:
    suffix = f"-{period}" if kind == "actuals" else ""
    return f"{plan.slug}-{kind}{suffix}.{fmt}"


def export_bytes(*, fetched_by: Actor, plan: Plan, kind: str, fmt: str, period: str = "") -> bytes:
    rows = (
        actuals_table(fetched_by=fetched_by, plan=plan, period=period)
        if kind == "actuals"
        else targets_table(fetched_by=fetched_by, plan=plan)
    )
    return write_xlsx(rows, title=kind) if fmt == "xlsx" else write_csv(rows)
