"""The targets' sheet: a plan's indicators × years, each cell the target as written ("≥80%").
Imported, it also creates a plan's indicators from a table shaped like the GSD appendix.

It writes through the plan builder's services, so it obeys the plan's life: a draft's targets are
set (target_set_many); an issued plan's target changes only by a revision that names its reason and
decision, given in the row's own columns «Lý do điều chỉnh», «Số quyết định», «Ngày quyết định»
(target_revise_many), and an issued plan takes no new indicator or target; a closed plan takes
nothing."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from healthplans.formatting import written
from healthplans.models import Role, User
from healthplans.selectors import Actor, roles_at
from healthplans.spreadsheets.files import SheetError, empty_file, header_errors
from healthplans.spreadsheets.registry import Checked, Progress
from healthplans.vnnumber import COMPARATOR_SYMBOLS, parse_figure
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.workflow import Invalid, ServiceError
from indicators.definitions import (
    ROLLUP_OF_KIND,
    Decision,
    TargetEntry,
    indicator_save_many,
    read_target,
    target_revise_many,
    target_set_many,
    unit_kind_of,
)
from indicators.entries import RowsRefused
from indicators.models import Direction, Indicator, Rollup, unit_entry_level
from indicators.selectors import grid_indicators
from indicators.spreadsheets.figures import COL_NAME, COL_NUMBER, COL_UNIT
from plans.models import Plan

TARGET_LEAD_HEADERS = [COL_NUMBER, COL_NAME, COL_UNIT]
# An issued plan's revision, in the row's own columns (after the years; optional, in any order).
COL_REASON = "Lý do điều chỉnh"
COL_DECISION_NUMBER = "Số quyết định"
COL_DECISION_DATE = "Ngày quyết định"
REVISION_HEADERS = [COL_REASON, COL_DECISION_NUMBER, COL_DECISION_DATE]
# A decision's date as written (15/6/2025, 15-06-2025, 15.06.2025) or as a spreadsheet's date cell reads.
DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T][\d:.]+)?")
# The service's fields of a refused row, on the sheet's columns.
FIELD_COLUMNS = {
    "number": COL_NUMBER,
    "name": COL_NAME,
    "unit": COL_UNIT,
    "reason": COL_REASON,
    "decision_number": COL_DECISION_NUMBER,
    "decision_date": COL_DECISION_DATE,
}


def target_years(plan: Plan, indicators: Iterable[Indicator]) -> list[int]:
    years = set(range(plan.start_year, plan.last_year + 1))
    years |= {t.year for i in indicators for t in i.targets.all() if t.org_unit_id is None}
    return sorted(years)


def targets_table(*, fetched_by: Actor, plan: Plan) -> list[list[Any]]:
    """The plan's indicators × years, each cell the target as written ("≥80%"); an issued plan's
    sheet has the empty columns of a revision after the years."""
    indicators = grid_indicators(fetched_by=fetched_by, plan=plan)
    years = target_years(plan, indicators)
    revision = REVISION_HEADERS if plan.status == Plan.Status.ACTIVE else []
    rows: list[list[Any]] = [[*TARGET_LEAD_HEADERS, *(str(year) for year in years), *revision]]
    for indicator in indicators:
        texts = {t.year: t.text for t in indicator.targets.all() if t.org_unit_id is None}
        rows.append(
            [
                indicator.number,
                indicator.name,
                indicator.unit,
                *(texts.get(year, "") for year in years),
                *("" for _column in revision),
            ]
        )
    return rows


@dataclass
class TargetRow:
    row: int
    number: str
    name: str
    unit: str
    texts: dict[int, str]  # year → the cell as written
    revision: dict[str, str] = field(default_factory=dict)  # revision column → the cell as written


@dataclass(frozen=True)
class TargetChange:
    row: int
    entry: TargetEntry
    decision: Decision | None = None  # an issued plan's revision


def parse_target_rows(table: list[list[str]]) -> tuple[list[TargetRow], list[SheetError]]:
    if not table:
        return [], empty_file()
    header = table[0]
    errors = header_errors(header, TARGET_LEAD_HEADERS)
    years: dict[int, int] = {}  # position → year
    revision: dict[int, str] = {}  # position → revision column
    for position, text in enumerate(header[len(TARGET_LEAD_HEADERS) :], start=len(TARGET_LEAD_HEADERS)):
        if text in REVISION_HEADERS and text not in revision.values():
            revision[position] = text
        elif len(text) == 4 and text.isdigit():
            years[position] = int(text)
        else:
            message = _(
                "Column %(n)s must be a year (e.g. 2025) or a revision's «%(reason)s», «%(number)s» or "
                "«%(date)s», found «%(seen)s»."
            ) % {
                "n": position + 1,
                "seen": text,
                "reason": COL_REASON,
                "number": COL_DECISION_NUMBER,
                "date": COL_DECISION_DATE,
            }
            errors.append(SheetError(1, text, message))
    if len(set(years.values())) != len(years):
        errors.append(SheetError(1, None, _("A year appears in two columns.")))
    if errors:
        return [], errors

    def get(row: list[str], position: int) -> str:
        return row[position] if position < len(row) else ""

    rows = [
        TargetRow(
            number,
            get(row, 0),
            get(row, 1),
            get(row, 2),
            {year: get(row, position) for position, year in years.items()},
            {column: get(row, position) for position, column in revision.items()},
        )
        for number, row in enumerate(table[1:], start=2)
        if any(row)
    ]
    return rows, []


def direction_of(comparators: Iterable[str | None]) -> str:
    """A table's comparators say which way a new indicator should move: "≤"/"<" down, "=" keep."""
    stated = {c for c in comparators if c}
    if stated & {"<", "<="}:
        return Direction.LOWER
    return Direction.KEEP if stated == {"="} else Direction.HIGHER


def comparator_of(text: str) -> str | None:
    try:
        return parse_figure(text).comparator
    except NumberError:
        return None  # the target's own check says what is wrong with it


def new_indicator(plan: Plan, row: TargetRow, *, comparators: Iterable[str | None]) -> Indicator:
    """An indicator a table brings to the plan, entered at the issuing unit's level until a planner
    says otherwise (numbered after the plan's others when saved)."""
    kind = unit_kind_of(row.unit)
    return Indicator(
        tenant_id=plan.tenant_id,
        plan=plan,
        number=row.number,
        name=row.name,
        unit=row.unit,
        unit_kind=kind,
        direction=direction_of(comparators),
        rollup=ROLLUP_OF_KIND.get(kind, Rollup.POOLED),
        entry_level=unit_entry_level(plan.issuer_org_unit),
    )


def read_date(text: str) -> date | None:
    """A decision's date as written (15/6/2025) or as a date cell reads (2025-06-15 00:00:00)."""
    if match := DAY_FIRST.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := ISO_DATE.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def read_decision(row: TargetRow) -> tuple[Decision | None, list[SheetError]]:
    """The revision a row names in its columns, or None if they are empty; a column left out or a
    date not understood is an error of its own."""
    cells = {column: " ".join(row.revision.get(column, "").split()) for column in REVISION_HEADERS}
    if not any(cells.values()):
        return None, []
    errors = [
        SheetError(row.row, column, _("A revision names its reason and the decision that authorises it."))
        for column, text in cells.items()
        if not text
    ]
    decided = read_date(cells[COL_DECISION_DATE]) if cells[COL_DECISION_DATE] else None
    if cells[COL_DECISION_DATE] and decided is None:
        message = _("Write the decision's date as dd/mm/yyyy, found «%(seen)s».") % {"seen": cells[COL_DECISION_DATE]}
        errors.append(SheetError(row.row, COL_DECISION_DATE, message))
    if errors or decided is None:
        return None, errors
    return Decision(cells[COL_REASON], cells[COL_DECISION_NUMBER], decided), []


def may_plan(plan: Plan, by: User) -> bool:
    return bool(roles_at(by, plan.issuer_org_unit) & {Role.PLANNER.value})


@dataclass
class TargetsChanges:
    indicators: list[tuple[int, Indicator]] = field(default_factory=list)  # (row, new or renamed one)
    targets: list[TargetChange] = field(default_factory=list)


def targets_forbidden(plan: Plan, by: User) -> str | None:
    """Targets are the issuing unit's planners'."""
    return None if may_plan(plan, by) else _("Only planners of the issuing unit may import targets.")


def targets_check(*, plan: Plan, rows: list[TargetRow], by: User, progress: Progress) -> Checked:
    """The changes a targets table makes: new indicators (a number the plan does not have, with a
    name), new names or units of known ones, and every target cell that differs from the stored one
    — as the plan's life allows them (see the module's docstring)."""
    changes = TargetsChanges()
    check = Checked(changes=changes)
    if message := targets_forbidden(plan, by):
        check.errors.append(SheetError(None, None, message))
        return check
    if plan.status == Plan.Status.CLOSED:
        check.errors.append(SheetError(None, None, _("The plan is closed: it changes no more.")))
        return check
    issued = plan.status == Plan.Status.ACTIVE
    indicators = {i.number: i for i in grid_indicators(fetched_by=by, plan=plan)}
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
        cells = {}
        for year, text in row.texts.items():
            if not text:
                continue  # an empty cell changes nothing
            if not plan.start_year <= year <= plan.last_year:
                message = _("The year %(y)s lies outside the plan's period.") % {"y": year}
                check.errors.append(SheetError(row.row, str(year), message))
                continue
            cells[year] = " ".join(text.split())
        indicator = indicators.get(row.number)
        if indicator is None:
            if not row.name:
                message = _("This plan has no indicator «%(n)s»: give its name to add it.") % {"n": row.number}
                check.errors.append(SheetError(row.row, COL_NAME, message))
                continue
            if issued:
                message = _("The plan is issued: it takes no new indicator («%(n)s»).") % {"n": row.number}
                check.errors.append(SheetError(row.row, COL_NUMBER, message))
                continue
            indicator = new_indicator(plan, row, comparators=[comparator_of(text) for text in cells.values()])
            changes.indicators.append((row.row, indicator))
            check.preview.append(
                {"row": row.row, "indicator": row.number, "year": "", "value": row.unit, "text": row.name}
                | {"action": "create"}
            )
        elif row.name and (row.name, row.unit) != (indicator.name, indicator.unit):
            indicator.name, indicator.unit = row.name, row.unit
            changes.indicators.append((row.row, indicator))
            check.preview.append(
                {"row": row.row, "indicator": row.number, "year": "", "value": row.unit, "text": row.name}
                | {"action": "update"}
            )
        check_targets(plan, row, indicator, cells, check)
    return check


def check_targets(plan: Plan, row: TargetRow, indicator: Indicator, cells: dict[int, str], check: Checked) -> None:
    """The row's target cells that differ from the stored ones: a draft's set, an issued plan's
    revised by the row's decision, or refused."""
    issued = plan.status == Plan.Status.ACTIVE
    decision, decision_read = None, False
    for year, text in cells.items():
        stored = indicator.target_for(year) if indicator.pk else None
        if stored is not None and stored.text == text:
            continue  # the text as stored changes nothing
        try:
            comparator, value = read_target(indicator, text)
        except Invalid as exc:
            check.errors.append(SheetError(row.row, str(year), exc.message))
            continue
        if issued and stored is None:
            message = _(
                "The plan is issued: it takes no new target (%(y)s); a revision changes only a target the plan has."
            ) % {"y": year}
            check.errors.append(SheetError(row.row, str(year), message))
            continue
        if issued and not decision_read:
            decision, errors = read_decision(row)
            decision_read = True
            check.errors.extend(errors)
            if errors:
                continue
        if issued and decision is None:
            if not any(error.row == row.row and error.column in REVISION_HEADERS for error in check.errors):
                message = _(
                    "The plan is issued: the target of %(y)s changes only by a revision. Fill in this row's "
                    "«%(reason)s», «%(number)s» and «%(date)s», or revise the target on the plan's page."
                ) % {"y": year, "reason": COL_REASON, "number": COL_DECISION_NUMBER, "date": COL_DECISION_DATE}
                check.errors.append(SheetError(row.row, str(year), message))
            continue
        check.changes.targets.append(TargetChange(row.row, TargetEntry(indicator, year, text), decision))
        check.preview.append(
            {
                "row": row.row,
                "indicator": row.number,
                "year": year,
                "value": f"{COMPARATOR_SYMBOLS[comparator]} {written(value)}",
                "text": text,
                "action": "revise" if issued else "create" if stored is None else "update",
            }
        )


def refusal_errors(row: int, column: str, refusal: ServiceError) -> list[SheetError]:
    """A service's refusal of a row, on the columns its fields name (else on `column`)."""
    if refusal.fields:
        return [
            SheetError(row, FIELD_COLUMNS.get(name, column), " ".join(messages))
            for name, messages in refusal.fields.items()
        ]
    return [SheetError(row, column, refusal.message)]


def targets_write(*, plan: Plan, changes: TargetsChanges, by: User, progress: Progress) -> list[SheetError]:
    """The indicators, then the targets, through the builder's bulk services (a fixed number of
    queries whatever the rows): a draft's targets set, an issued plan's revised. The services check
    the plan's life again: it may have been issued or closed since the check."""
    places: list[tuple[int, str]] = []  # (row, column) of each item sent to the service at hand
    try:
        if changes.indicators:
            places = [(row, COL_NUMBER) for row, _indicator in changes.indicators]
            indicator_save_many(plan=plan, indicators=[indicator for _row, indicator in changes.indicators], by=by)
        revisions = [change for change in changes.targets if change.decision is not None]
        targets = [change for change in changes.targets if change.decision is None]
        if targets:
            places = [(change.row, str(change.entry.year)) for change in targets]
            target_set_many(plan=plan, entries=[change.entry for change in targets], by=by)
        if revisions:
            places = [(change.row, str(change.entry.year)) for change in revisions]
            target_revise_many(
                plan=plan,
                revisions=[(change.entry, change.decision) for change in revisions if change.decision is not None],
                by=by,
            )
    except RowsRefused as refused:
        return [
            error
            for index, refusal in sorted(refused.rows.items())
            for error in refusal_errors(*places[index], refusal)
        ]
    except ServiceError as refusal:
        return [SheetError(None, None, refusal.message)]
    progress(len(changes.targets), len(changes.targets))
    return []
