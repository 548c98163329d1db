"""Workbooks in and out: the actuals of a period, the targets of a plan (which also creates a
plan's indicators from a table shaped like the GSD appendix), a plan's budget lines, and the
matrix of a plan's indicators × periods × units, as .xlsx or .csv.

Plain openpyxl and csv rather than django-import-export Resources: a Resource saves model
instances row by row through `save()`, while every figure here must go through the figure
services' rules (roles, workflow status, versions, history) in one transaction, its errors must
be reported by row and column in Vietnamese, and the targets sheet is wide (one column per year),
which a Resource's one-row-one-instance mapping does not model.

An export is the template of its import: imported unchanged it reports no error and writes
nothing (an unchanged cell is skipped, not rewritten). Imports of more rows than
settings.IMPORT_ASYNC_ROWS run as a Celery task (indicators.tasks.import_run); the state of an
import (its table, status, progress and result) lives in the cache, per user.
"""

import csv
import io
import logging
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from budgets.services import WRITER_ROLES as BUDGET_WRITERS
from healthplans.models import OrgUnit, Role, User
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import Actor, org_unit_list, roles_at
from healthplans.vnnumber import COMPARATOR_SYMBOLS, format_number, parse_figure, parse_number
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.workflow import Action, Forbidden, Invalid, ReviewStatus
from indicators.models import Actual, ActualEvent, Direction, Indicator, Rollup, Target, UnitKind
from indicators.services import FIGURE_WORDING, NewFigure, is_entry_unit, new_figure_value, value_errors
from indicators.views.grid import (
    grid_actuals,
    grid_indicators,
    last_year,
    may_write,
    plan_target,
    unit_entry_level,
    visible_entry_units,
    writer_paths,
)
from plans.models import Plan

logger = logging.getLogger(__name__)

MAX_ROWS = 20_000
XLSX_SIGNATURE = b"PK\x03\x04"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Cells a spreadsheet would run as a formula (CSV injection); OWASP adds tab and carriage return.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
PREVIEW_SECONDS = 60 * 60
DEFAULT_COMPARATOR = {Direction.HIGHER: ">=", Direction.LOWER: "<=", Direction.KEEP: "="}
# How often (in rows) a running import reports its progress.
PROGRESS_EVERY = 500

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
MATRIX_HEADERS = [
    COL_NUMBER,
    COL_NAME,
    COL_UNIT,
    COL_PERIOD,
    COL_ORG_CODE,
    COL_ORG_NAME,
    COL_TARGET,
    COL_VALUE,
    COL_STATUS,
]
IMPORT_KINDS = ("actuals", "targets", "budget")
EXPORT_KINDS = (*IMPORT_KINDS, "matrix")
FORMATS = ("xlsx", "csv")
# An import's status: queued and running while a worker has it; then valid (a dry run that would
# succeed), imported, invalid (row errors, nothing written), refused (not a readable file) or
# failed (the worker broke off; nothing written).
PENDING = ("queued", "running")
STATUSES = (*PENDING, "valid", "imported", "invalid", "refused", "failed")

Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """A synchronous import has nobody to tell."""


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
    status: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[SheetError] = field(default_factory=list)
    progress: int = 100  # percent done

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "rows": self.rows,
            "errors": [asdict(error) for error in self.errors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImportResult":
        errors = [SheetError(**error) for error in data["errors"]]
        return cls(data["id"], data["status"], data["rows"], errors, data["progress"])


def refusal(message: str) -> ImportResult:
    return ImportResult(uuid.uuid4().hex, "refused", [], [SheetError(None, None, message)])


def too_large_message() -> str:
    return _("The file is too large: %(mb)s MB at most.") % {
        "mb": format_number(Decimal(settings.IMPORT_MAX_BYTES) / (1024 * 1024), 1).removesuffix(",0")
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


def matrix_table(*, fetched_by: Actor, plan: Plan) -> list[list[Any]]:
    """Every indicator × reporting period × entry unit the user sees, with the period's target,
    the figure and its workflow status (empty where nothing was entered)."""
    indicators = grid_indicators(fetched_by=fetched_by, plan=plan)
    periods = plan.periods()
    units = visible_entry_units(fetched_by=fetched_by, plan=plan, levels={i.entry_level for i in indicators})
    actuals = grid_actuals(fetched_by=fetched_by, plan=plan, periods=[p.code for p in periods])
    rows: list[list[Any]] = [list(MATRIX_HEADERS)]
    for indicator in indicators:
        entry_units = [unit for unit in units if is_entry_unit(indicator, unit)]
        for period in periods:
            target = plan_target(indicator, period.target_year)
            for unit in entry_units:
                actual = actuals.get((indicator.pk, unit.pk, period.code))
                rows.append(
                    [
                        indicator.number,
                        indicator.name,
                        indicator.unit,
                        period.code,
                        unit.code,
                        unit.name,
                        target.text if target is not None else "",
                        vn_value(actual.value) if actual is not None else "",
                        actual.get_status_display() if actual is not None else "",
                    ]
                )
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


def not_a_spreadsheet() -> SheetRefused:
    return SheetRefused(_("The file is not a spreadsheet: only .xlsx or .csv (UTF-8) files are accepted."))


def read_table(content: bytes, *, name: str = "") -> list[list[str]]:
    """The rows of an uploaded .xlsx (a zip that openpyxl reads) or UTF-8 .csv, as text. The
    content decides, not the name: a picture or a PDF renamed .xlsx is refused."""
    if len(content) > settings.IMPORT_MAX_BYTES:
        raise SheetRefused(too_large_message())
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if content.startswith(XLSX_SIGNATURE):
        if extension == "csv":
            raise SheetRefused(_("The file is named .csv but is not a CSV file."))
        return read_xlsx(content)
    if extension == "xlsx":
        raise not_a_spreadsheet()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_a_spreadsheet() from exc
    if "\x00" in text or text.startswith("%PDF"):
        raise not_a_spreadsheet()
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


@dataclass
class ActualChange:
    row: int
    indicator: Indicator
    unit: OrgUnit
    period: Period
    value: Decimal
    version: int | None

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.indicator.pk, self.unit.pk, self.period.code)


def placement_errors(change: ActualChange, *, paths: tuple[str, ...] | None) -> list[SheetError]:
    """A new figure's checks (actual_create's): the user's units, then the indicator's entry level,
    the plan's years and the unit's range, each against its column."""
    if not may_write(paths, change.unit):
        return [SheetError(change.row, COL_ORG_CODE, _("You may not enter figures for this unit."))]
    try:
        new_figure_value(NewFigure(change.indicator, change.value), change.unit, change.period)
    except Invalid as error:
        return [
            SheetError(change.row, FIELD_COLUMNS.get(field, COL_VALUE), " ".join(messages))
            for field, messages in (error.fields or {"value": [error.message]}).items()
        ]
    return []


FIELD_COLUMNS = {"org_unit": COL_ORG_CODE, "period": COL_PERIOD, "value": COL_VALUE}


def state_errors(change: ActualChange, existing: Actual) -> list[SheetError]:
    """actual_update's conditional update: only an open figure, only at the version the file was
    exported with."""
    if existing.status == ReviewStatus.APPROVED:
        return [SheetError(change.row, COL_VALUE, str(FIGURE_WORDING.locked))]
    if existing.status not in OPEN_STATUSES:
        message = str(FIGURE_WORDING.status) % {"status": existing.get_status_display()}
        return [SheetError(change.row, COL_VALUE, message)]
    if change.version is None:
        message = _("A figure for this unit and period exists already: give its version (export the template again).")
        return [SheetError(change.row, COL_VERSION, message)]
    if change.version != existing.version:
        return [SheetError(change.row, COL_VERSION, str(FIGURE_WORDING.stale))]
    return []


OPEN_STATUSES = {ReviewStatus.DRAFT, ReviewStatus.RETURNED}
WRITE_BATCH = 1000


def actuals_import(
    *, plan: Plan, rows: list[ActualRow], by: User, dry_run: bool, progress: Progress = no_progress
) -> tuple[list[dict], list[SheetError]]:
    """Check every row, then write the changed ones, all or nothing.

    The rules are the figure services' (actual_create, actual_update), applied to the whole file
    in memory and written in bulk, so that ten thousand rows take a few queries rather than ten
    for each: the same roles, entry levels, plan years and ranges, versions, workflow statuses
    and history entries."""
    errors: list[SheetError] = []
    indicators = {i.number: i for i in grid_indicators(fetched_by=by, plan=plan)}
    units = {u.code: u for u in org_unit_list(fetched_by=by).filter(code__in={r.org_unit for r in rows})}
    seen: dict[tuple[str, str, str], int] = {}
    changes: list[ActualChange] = []
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
            period = parse_period(row.period)
        except PeriodError as exc:
            errors.append(SheetError(row.row, COL_PERIOD, str(exc)))
            continue
        key = (row.number, row.org_unit, period.code)
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
            version = int(row.version) if row.version else None
            changes.append(ActualChange(row.row, indicator, unit, period, value, version))

    stored = grid_actuals(fetched_by=by, plan=plan, periods=sorted({c.period.code for c in changes}))
    paths = writer_paths(by)
    preview: list[dict[str, Any]] = []
    pending: list[tuple[ActualChange, Actual | None]] = []
    for done, change in enumerate(changes, start=1):
        existing = stored.get(change.key)
        unchanged = existing is not None and existing.value == change.value
        preview.append(
            {
                "row": change.row,
                "indicator": change.indicator.number,
                "org_unit": change.unit.code,
                "period": change.period.code,
                "value": vn_value(change.value),
                "action": "unchanged" if unchanged else ("create" if existing is None else "update"),
            }
        )
        if not unchanged:
            errors += placement_errors(change, paths=paths) or (state_errors(change, existing) if existing else [])
            pending.append((change, existing))
        if done % PROGRESS_EVERY == 0:
            progress(done, 2 * len(changes))
    if errors or dry_run:
        return preview, errors
    return preview, actuals_write(pending, by=by, progress=lambda done, total: progress(total + done, 2 * total))


def actuals_write(
    pending: list[tuple[ActualChange, Actual | None]], *, by: User, progress: Progress
) -> list[SheetError]:
    """Create and update the checked figures with their history entries, in batches. The figures
    to update are locked and checked again: another save may have come since they were read."""
    with transaction.atomic():
        locked = Actual.objects.select_for_update().in_bulk([e.pk for _c, e in pending if e is not None])
        errors: list[SheetError] = []
        created: list[Actual] = []
        updated: list[Actual] = []
        events: list[ActualEvent] = []
        for change, existing in pending:
            if existing is None:
                created.append(
                    Actual(
                        tenant_id=change.unit.tenant_id,
                        indicator=change.indicator,
                        org_unit=change.unit,
                        period=change.period.code,
                        value=change.value,
                        created_by=by,
                    )
                )
                continue
            current = locked[existing.pk]
            if problems := state_errors(change, current):
                errors += problems
                continue
            events.append(
                ActualEvent(
                    actual=current, by=by, action=Action.CHANGE, old_value=current.value, new_value=change.value
                )
            )
            current.value, current.numerator, current.denominator = change.value, None, None
            current.version += 1
            updated.append(current)
        if errors:
            return errors
        total = len(created) + len(updated)
        try:
            with transaction.atomic():
                for start in range(0, len(created), WRITE_BATCH):
                    batch = Actual.objects.bulk_create(created[start : start + WRITE_BATCH])
                    events += [ActualEvent(actual=a, by=by, action=Action.CREATE, new_value=a.value) for a in batch]
                    progress(start + len(batch), total)
                for start in range(0, len(updated), WRITE_BATCH):
                    batch = updated[start : start + WRITE_BATCH]
                    Actual.objects.bulk_update(batch, ["value", "numerator", "denominator", "version"])
                    progress(len(created) + start + len(batch), total)
                ActualEvent.objects.bulk_create(events, batch_size=WRITE_BATCH)
        except IntegrityError:
            # Another save created one of these figures between our read and our insert.
            return [SheetError(None, None, _("Someone entered figures of this file meanwhile: check the file again."))]
    return []


# ---------------------------------------------------------------------------------------------
# Importing targets, and plans from a table


@dataclass
class TargetRow:
    row: int
    number: str
    name: str
    unit: str
    texts: dict[int, str]  # year → the cell as written


@dataclass(frozen=True)
class TargetChange:
    indicator: Indicator
    year: int
    comparator: str
    value: Decimal
    text: str


def parse_target_rows(table: list[list[str]]) -> tuple[list[TargetRow], list[SheetError]]:
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

    def get(row: list[str], position: int) -> str:
        return row[position] if position < len(row) else ""

    lead = len(TARGET_LEAD_HEADERS)
    rows = [
        TargetRow(
            number, get(row, 0), get(row, 1), get(row, 2), {year: get(row, lead + i) for i, year in enumerate(years)}
        )
        for number, row in enumerate(table[1:], start=2)
        if any(row)
    ]
    return rows, []


# The unit as written names the kind of a new indicator's values; the longest marks first.
UNIT_KIND_MARKS = [
    ("%", UnitKind.PERCENT),
    ("‰", UnitKind.PERMILLE),
    ("100.000", UnitKind.PER_100000),
    ("10.000", UnitKind.PER_10000),
    ("vạn", UnitKind.PER_10000),
    ("năm", UnitKind.YEARS),
    ("tuổi", UnitKind.YEARS),
]
ROLLUP_OF_KIND: dict[str, str] = {UnitKind.COUNT: Rollup.SUM, UnitKind.YEARS: Rollup.NONE, UnitKind.OTHER: Rollup.NONE}


def unit_kind_of(unit: str) -> str:
    """A unit written "%" is a percentage, "/vạn dân" per 10,000, "Lượt/ người" a ratio, "Trạm Y tế" a count."""
    text = unit.lower()
    for mark, kind in UNIT_KIND_MARKS:
        if mark in text:
            return kind
    return UnitKind.RATIO if "/" in text else UnitKind.COUNT


def direction_of(comparators: Iterable[str | None]) -> str:
    """A table's comparators say which way a new indicator should move: "≤"/"<" down, "=" keep."""
    stated = {c for c in comparators if c}
    if stated & {"<", "<="}:
        return Direction.LOWER
    return Direction.KEEP if stated == {"="} else Direction.HIGHER


def new_indicator(plan: Plan, row: TargetRow, *, order: int, comparators: Iterable[str | None]) -> Indicator:
    """An indicator a table brings to the plan, entered at the issuing unit's level until a planner
    says otherwise."""
    kind = unit_kind_of(row.unit)
    return Indicator(
        tenant_id=plan.tenant_id,
        plan=plan,
        order=order,
        number=row.number,
        name=row.name,
        unit=row.unit,
        unit_kind=kind,
        direction=direction_of(comparators),
        rollup=ROLLUP_OF_KIND.get(kind, Rollup.POOLED),
        entry_level=unit_entry_level(plan.issuer_org_unit),
    )


def may_plan(plan: Plan, by: User) -> bool:
    return bool(roles_at(by, plan.issuer_org_unit) & {Role.PLANNER.value})


@dataclass
class TargetsCheck:
    indicators: list[Indicator] = field(default_factory=list)  # new ones and renamed ones
    targets: list[TargetChange] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    errors: list[SheetError] = field(default_factory=list)


def targets_check(*, plan: Plan, rows: list[TargetRow], by: User) -> TargetsCheck:
    """The changes a targets table makes: new indicators (a number the plan does not have, with a
    name), new names or units of known ones, and every target cell that differs from the stored one."""
    check = TargetsCheck()
    if not may_plan(plan, by):
        check.errors.append(SheetError(None, None, _("Only planners of the issuing unit may import targets.")))
        return check
    indicators = {i.number: i for i in grid_indicators(fetched_by=by, plan=plan)}
    next_order = (Indicator.objects.filter(plan=plan).aggregate(top=Max("order"))["top"] or 0) + 1
    first_row: dict[str, int] = {}
    for row in rows:
        if not row.number:
            check.errors.append(SheetError(row.row, COL_NUMBER, _("Give the indicator's number.")))
            continue
        if row.number in first_row:
            message = _("This row repeats row %(row)s (same indicator).") % {"row": first_row[row.number]}
            check.errors.append(SheetError(row.row, COL_NUMBER, message))
            continue
        first_row[row.number] = row.row
        figures = {}
        for year, text in row.texts.items():
            if not text:
                continue  # an empty cell changes nothing
            if not plan.start_year <= year <= last_year(plan):
                message = _("The year %(y)s lies outside the plan's period.") % {"y": year}
                check.errors.append(SheetError(row.row, str(year), message))
                continue
            try:
                figures[year] = (text, parse_figure(text))
            except NumberError as exc:
                check.errors.append(SheetError(row.row, str(year), number_message(exc)))
        indicator = indicators.get(row.number)
        if indicator is None:
            if not row.name:
                message = _("This plan has no indicator «%(n)s»: give its name to add it.") % {"n": row.number}
                check.errors.append(SheetError(row.row, COL_NAME, message))
                continue
            comparators = [figure.comparator for _text, figure in figures.values()]
            indicator = new_indicator(plan, row, order=next_order, comparators=comparators)
            next_order += 1
            check.indicators.append(indicator)
            check.preview.append(
                {"row": row.row, "indicator": row.number, "year": "", "value": row.unit, "text": row.name}
                | {"action": "create"}
            )
        elif row.name and (row.name, row.unit) != (indicator.name, indicator.unit):
            indicator.name, indicator.unit = row.name, row.unit
            check.indicators.append(indicator)
            check.preview.append(
                {"row": row.row, "indicator": row.number, "year": "", "value": row.unit, "text": row.name}
                | {"action": "update"}
            )
        for year, (text, figure) in figures.items():
            stored = plan_target(indicator, year) if indicator.pk else None
            if stored is not None and stored.text == text:
                continue  # the text as stored changes nothing
            if problems := value_errors(indicator, figure.value):
                check.errors.append(SheetError(row.row, str(year), " ".join(problems)))
                continue
            comparator = figure.comparator or DEFAULT_COMPARATOR[Direction(indicator.direction)]
            check.targets.append(TargetChange(indicator, year, comparator, figure.value, text))
            check.preview.append(
                {
                    "row": row.row,
                    "indicator": row.number,
                    "year": year,
                    "value": f"{COMPARATOR_SYMBOLS[comparator]} {vn_value(figure.value)}",
                    "text": text,
                    "action": "create" if stored is None else "update",
                }
            )
    return check


@transaction.atomic
def targets_import(
    *, plan: Plan, indicators: Sequence[Indicator], targets: Sequence[TargetChange], by: User
) -> list[Target]:
    """Add or rename the plan's indicators, then set the plan-wide targets of the given indicators
    and years; planners of the plan only."""
    if not may_plan(plan, by):
        raise Forbidden(_("Only planners of the issuing unit may import targets."))
    for indicator in indicators:
        if indicator.plan_id != plan.pk:
            raise Invalid(_("The indicator does not belong to this plan."))
        indicator.full_clean()
        indicator.save()
    saved = []
    for change in targets:
        if change.indicator.plan_id != plan.pk:
            raise Invalid(_("The indicator does not belong to this plan."))
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


def state_key(import_id: str, user: User) -> str:
    return f"sheets-import:{import_id}:{user.pk}"


def progress_key(import_id: str, user: User) -> str:
    return f"{state_key(import_id, user)}:progress"


def run_import(
    *,
    plan: Plan,
    kind: str,
    table: list[list[str]],
    by: User,
    dry_run: bool,
    import_id: str,
    progress: Progress = no_progress,
) -> ImportResult:
    if kind == "actuals":
        actual_rows, errors = parse_actual_rows(table)
        preview: list[dict[str, Any]] = []
        if not errors:
            preview, errors = actuals_import(plan=plan, rows=actual_rows, by=by, dry_run=dry_run, progress=progress)
    elif kind == "budget":
        # budgets builds on indicators, so it is imported here rather than at the top.
        from budgets.spreadsheets import budget_import

        preview, errors = budget_import(plan=plan, table=table, by=by, dry_run=dry_run)
    else:
        target_rows, errors = parse_target_rows(table)
        preview = []
        if not errors:
            check = targets_check(plan=plan, rows=target_rows, by=by)
            preview, errors = check.preview, check.errors
            if not errors and not dry_run:
                targets_import(plan=plan, indicators=check.indicators, targets=check.targets, by=by)
    status = "invalid" if errors else "valid" if dry_run else "imported"
    return ImportResult(import_id, status, preview, errors)


@dataclass
class ImportJob:
    """What the cache keeps of an import: enough to run it (in a worker) or confirm it, and its result."""

    plan: int
    kind: str
    dry_run: bool
    table: list[list[str]]
    result: dict[str, Any]
    language: str = ""

    def save(self, by: User) -> None:
        # A finished import keeps its result for the status endpoint, and only a clean dry run
        # its table, for the confirmation.
        keep_table = self.result["status"] in {*PENDING, "valid"}
        cache.set(
            state_key(self.result["id"], by),
            asdict(self) | {"table": self.table if keep_table else []},
            PREVIEW_SECONDS,
        )
        cache.delete(progress_key(self.result["id"], by))


def import_job(import_id: str, by: User) -> ImportJob | None:
    stored = cache.get(state_key(import_id, by))
    return ImportJob(**stored) if stored is not None else None


def import_start(
    *, plan: Plan, kind: str, table: list[list[str]], by: User, dry_run: bool, import_id: str
) -> ImportResult:
    """Run an import now, or hand a large one to a worker and answer "queued"."""
    if len(table) - 1 > settings.IMPORT_ASYNC_ROWS:
        result = ImportResult(import_id, "queued", progress=0)
        ImportJob(plan.pk, kind, dry_run, table, result.as_dict(), get_language() or "").save(by)
        # A worker finds the import in the cache; while Redis is away there is neither cache nor
        # broker, and the import runs in this request instead, slower but whole.
        if import_job(import_id, by) is not None:
            user_id = by.pk
            transaction.on_commit(lambda: import_hand_over(import_id, user_id))
            return result
        logger.warning("The cache is unavailable: import %s runs in its request", import_id)
    result = run_import(plan=plan, kind=kind, table=table, by=by, dry_run=dry_run, import_id=import_id)
    ImportJob(plan.pk, kind, dry_run, table, result.as_dict()).save(by)
    return result


def import_hand_over(import_id: str, user_id: int) -> None:
    """Give a queued import to a worker, or run it here when the broker refuses it."""
    from indicators.tasks import import_run

    try:
        import_run.apply_async((import_id, user_id), retry=False)
    except (KombuOperationalError, OSError):
        logger.warning("The broker is unavailable: import %s runs in its request", import_id)
        import_work(import_id=import_id, user_id=user_id)


def import_work(*, import_id: str, user_id: int) -> None:
    """A worker's part of a large import: run it, telling its progress, and keep its result.
    Nothing to do when the import expired or has run already (a message delivered twice)."""
    from plans.selectors import plan_list

    user = User.objects.get(pk=user_id)
    job = import_job(import_id, user)
    if job is None or job.result["status"] not in PENDING:
        return
    plan = plan_list(fetched_by=user).select_related("issuer_org_unit").filter(pk=job.plan).first()

    def progress(done: int, total: int) -> None:
        percent = min(99, done * 100 // max(total, 1))
        cache.set(progress_key(import_id, user), {"status": "running", "progress": percent}, PREVIEW_SECONDS)

    progress(0, 1)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        if plan is None:
            result = ImportResult(
                import_id, "failed", [], [SheetError(None, None, _("This plan is no longer visible."))]
            )
        else:
            try:
                result = run_import(
                    plan=plan,
                    kind=job.kind,
                    table=job.table,
                    by=user,
                    dry_run=job.dry_run,
                    import_id=import_id,
                    progress=progress,
                )
            except Exception:
                # Whatever broke, the transaction wrote nothing; the person waiting is told so.
                logger.exception("Import %s failed", import_id)
                message = _("The import broke off and nothing was written. Try again, or tell the administrator.")
                result = ImportResult(import_id, "failed", [], [SheetError(None, None, message)])
    job.result = result.as_dict()
    job.save(user)


def import_status(*, import_id: str, by: User) -> ImportResult | None:
    """Where an import of this user's stands; None if there is none (or it expired)."""
    job = import_job(import_id, by)
    if job is None:
        return None
    result = ImportResult.from_dict(job.result)
    if result.status in PENDING and (running := cache.get(progress_key(import_id, by))):
        result.status, result.progress = running["status"], running["progress"]
    return result


def import_forbidden(*, plan: Plan, kind: str, by: User) -> str | None:
    """Why the user may not import this kind into the plan at all (answered before the file is
    read), or None: targets and budget amounts are the issuing unit's planners'; figures need a
    writer's role somewhere in the plan's area."""
    if kind == "targets" and not may_plan(plan, by):
        return _("Only planners of the issuing unit may import targets.")
    if kind == "budget" and not roles_at(by, plan.issuer_org_unit) & BUDGET_WRITERS:
        return _("You may not record the budget of this plan.")
    if kind == "actuals":
        paths = writer_paths(by)
        area = plan.issuer_org_unit.path
        if paths is not None and not any(p.startswith(area) or area.startswith(p) for p in paths):
            return _("You may not enter figures for this plan.")
    return None


def import_upload(*, plan: Plan, kind: str, content: bytes, name: str = "", by: User, dry_run: bool) -> ImportResult:
    try:
        table = read_table(content, name=name)
    except SheetRefused as exc:
        return refusal(exc.message)
    return import_start(plan=plan, kind=kind, table=table, by=by, dry_run=dry_run, import_id=uuid.uuid4().hex)


def import_confirm(*, import_id: str, by: User, plans: QuerySet[Plan]) -> ImportResult | None:
    """Write a previewed import; None if there is no such clean preview of this user's (or its
    plan is no longer visible). The rows are checked again: the data may have changed meanwhile."""
    job = import_job(import_id, by)
    if job is None or job.result["status"] != "valid":
        return None
    plan = plans.filter(pk=job.plan).select_related("issuer_org_unit").first()
    if plan is None:
        return None
    return import_start(plan=plan, kind=job.kind, table=job.table, by=by, dry_run=False, import_id=import_id)


# ---------------------------------------------------------------------------------------------
# Export


def attachment_name(plan: Plan, kind: str, period: str, fmt: str) -> str:
    suffix = f"-{period}" if period and kind in {"actuals", "budget"} else ""
    return f"{plan.slug}-{kind}{suffix}.{fmt}"


def export_bytes(*, fetched_by: Actor, plan: Plan, kind: str, fmt: str, period: str = "") -> bytes:
    if kind == "actuals":
        rows = actuals_table(fetched_by=fetched_by, plan=plan, period=period)
    elif kind == "targets":
        rows = targets_table(fetched_by=fetched_by, plan=plan)
    elif kind == "matrix":
        rows = matrix_table(fetched_by=fetched_by, plan=plan)
    else:
        from budgets.spreadsheets import budget_table

        rows = budget_table(fetched_by=fetched_by, plan=plan, period=period)
    return write_xlsx(rows, title=kind) if fmt == "xlsx" else write_csv(rows)
