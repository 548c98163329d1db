"""The figures' sheets: the entry template of a period (`actuals`, exported and imported) and the
matrix of a plan's indicators × periods × units (export only)."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from healthplans.formatting import written
from healthplans.models import OrgUnit, User
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import Actor, org_unit_list
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
from healthplans.spreadsheets.registry import Checked, Progress
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.vnnumber import parse_number
from healthplans.workflow import OPEN_STATUSES, Conflict, Forbidden, Invalid, ReviewStatus, ServiceError
from indicators.models import Actual, Indicator, is_entry_unit
from indicators.selectors import grid_actuals, grid_indicators, may_write, visible_entry_units, writer_paths
from indicators.services import (
    FIGURE_WORDING,
    FigureEntry,
    NewFigure,
    RowsRefused,
    actual_save_many,
    new_figure_value,
)
from plans.models import Plan

# The headers are the file format, the same whatever the page's language.
COL_NUMBER = "Số TT"
COL_NAME = "Chỉ số"
COL_UNIT = "Đơn vị tính"
COL_TARGET = "Chỉ tiêu"
COL_ORG_CODE = "Mã đơn vị"
COL_ORG_NAME = "Tên đơn vị"
COL_VALUE = "Giá trị"
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
# How often (in rows) a running import reports its progress.
PROGRESS_EVERY = 500


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
        target = indicator.target_for(parsed.target_year)
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
                    written(actual.value) if actual is not None else "",
                    actual.get_status_display() if actual is not None else "",
                    str(actual.version) if actual is not None else "",
                ]
            )
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
            target = indicator.target_for(period.target_year)
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
                        written(actual.value) if actual is not None else "",
                        actual.get_status_display() if actual is not None else "",
                    ]
                )
    return rows


# ---------------------------------------------------------------------------------------------
# Import


def actuals_forbidden(plan: Plan, by: User) -> str | None:
    """Figures need a writer's role somewhere in the plan's area."""
    paths = writer_paths(by)
    area = plan.issuer_org_unit.path
    if paths is not None and not any(p.startswith(area) or area.startswith(p) for p in paths):
        return _("You may not enter figures for this plan.")
    return None


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
        return [], empty_file()
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


FIELD_COLUMNS = {"org_unit": COL_ORG_CODE, "period": COL_PERIOD, "value": COL_VALUE}


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


def row_changes(*, plan: Plan, rows: list[ActualRow], by: User) -> tuple[list[ActualChange], list[SheetError]]:
    """The rows as figures to write: each indicator, unit, period, value and version read, or
    what is wrong with it."""
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
    return changes, errors


def actuals_check(*, plan: Plan, rows: list[ActualRow], by: User, progress: Progress) -> Checked:
    """Check every row with the figure services' rules (actual_create's, actual_update's), applied
    to the whole file in memory, so that ten thousand rows take a few queries rather than ten for
    each; unchanged values are left alone."""
    changes, errors = row_changes(plan=plan, rows=rows, by=by)
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
                "value": written(change.value),
                "action": "unchanged" if unchanged else ("create" if existing is None else "update"),
            }
        )
        if not unchanged:
            errors += placement_errors(change, paths=paths) or (state_errors(change, existing) if existing else [])
            pending.append((change, existing))
        if done % PROGRESS_EVERY == 0:
            progress(done, 2 * len(changes))
    return Checked(preview, errors, pending)


def actuals_write(
    *, plan: Plan, changes: list[tuple[ActualChange, Actual | None]], by: User, progress: Progress
) -> list[SheetError]:
    """Create and change the checked figures through actual_save_many, all or nothing. The service
    reads the figures locked and checks them again: another save may have come since the check."""
    entries = [
        FigureEntry(
            change.indicator,
            change.unit,
            change.period.code,
            change.value,
            version=None if existing is None else change.version,
        )
        for change, existing in changes
    ]
    try:
        actual_save_many(entries=entries, by=by)
    except RowsRefused as refused:
        return [
            error
            for index, refusal in sorted(refused.rows.items())
            for error in refusal_errors(changes[index][0].row, refusal)
        ]
    progress(len(entries), len(entries))
    return []


def refusal_errors(row: int, refusal: ServiceError) -> list[SheetError]:
    """The service's refusal of a row, on the column at fault: a unit the user may not write, a
    field the checks name, a figure entered or changed meanwhile (its version), or its value."""
    if isinstance(refusal, Forbidden):
        return [SheetError(row, COL_ORG_CODE, refusal.message)]
    if isinstance(refusal, Conflict):
        column = COL_VERSION if refusal.code in {"exists", "stale_version"} else COL_VALUE
        return [SheetError(row, column, refusal.message)]
    if refusal.fields:
        return [
            SheetError(row, FIELD_COLUMNS.get(field, COL_VALUE), " ".join(messages))
            for field, messages in refusal.fields.items()
        ]
    return [SheetError(row, COL_VALUE, refusal.message)]
