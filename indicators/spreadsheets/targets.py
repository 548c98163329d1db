"""The targets' sheet: a plan's indicators × years, each cell the target as written ("≥80%").
Imported, it also creates a plan's indicators from a table shaped like the GSD appendix."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from healthplans.formatting import written
from healthplans.models import Role, User
from healthplans.selectors import Actor, roles_at
from healthplans.spreadsheets.files import SheetError, empty_file, header_errors, number_message
from healthplans.spreadsheets.registry import Checked, Progress
from healthplans.vnnumber import COMPARATOR_SYMBOLS, parse_figure
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.workflow import Forbidden, Invalid
from indicators.models import Direction, Indicator, Rollup, Target, UnitKind, unit_entry_level
from indicators.selectors import grid_indicators
from indicators.services import value_errors
from indicators.spreadsheets.figures import COL_NAME, COL_NUMBER, COL_UNIT
from plans.models import Plan

TARGET_LEAD_HEADERS = [COL_NUMBER, COL_NAME, COL_UNIT]
DEFAULT_COMPARATOR = {Direction.HIGHER: ">=", Direction.LOWER: "<=", Direction.KEEP: "="}


def target_years(plan: Plan, indicators: Iterable[Indicator]) -> list[int]:
    years = set(range(plan.start_year, plan.last_year + 1))
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
        return [], empty_file()
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
class TargetsChanges:
    indicators: list[Indicator] = field(default_factory=list)  # new ones and renamed ones
    targets: list[TargetChange] = field(default_factory=list)


def targets_forbidden(plan: Plan, by: User) -> str | None:
    """Targets are the issuing unit's planners'."""
    return None if may_plan(plan, by) else _("Only planners of the issuing unit may import targets.")


def targets_check(*, plan: Plan, rows: list[TargetRow], by: User, progress: Progress) -> Checked:
    """The changes a targets table makes: new indicators (a number the plan does not have, with a
    name), new names or units of known ones, and every target cell that differs from the stored one."""
    changes = TargetsChanges()
    check = Checked(changes=changes)
    if message := targets_forbidden(plan, by):
        check.errors.append(SheetError(None, None, message))
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
            if not plan.start_year <= year <= plan.last_year:
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
            changes.indicators.append(indicator)
            check.preview.append(
                {"row": row.row, "indicator": row.number, "year": "", "value": row.unit, "text": row.name}
                | {"action": "create"}
            )
        elif row.name and (row.name, row.unit) != (indicator.name, indicator.unit):
            indicator.name, indicator.unit = row.name, row.unit
            changes.indicators.append(indicator)
            check.preview.append(
                {"row": row.row, "indicator": row.number, "year": "", "value": row.unit, "text": row.name}
                | {"action": "update"}
            )
        for year, (text, figure) in figures.items():
            stored = indicator.target_for(year) if indicator.pk else None
            if stored is not None and stored.text == text:
                continue  # the text as stored changes nothing
            if problems := value_errors(indicator, figure.value):
                check.errors.append(SheetError(row.row, str(year), " ".join(problems)))
                continue
            comparator = figure.comparator or DEFAULT_COMPARATOR[Direction(indicator.direction)]
            changes.targets.append(TargetChange(indicator, year, comparator, figure.value, text))
            check.preview.append(
                {
                    "row": row.row,
                    "indicator": row.number,
                    "year": year,
                    "value": f"{COMPARATOR_SYMBOLS[comparator]} {written(figure.value)}",
                    "text": text,
                    "action": "create" if stored is None else "update",
                }
            )
    return check


def targets_write(*, plan: Plan, changes: TargetsChanges, by: User, progress: Progress) -> list[SheetError]:
    targets_import(plan=plan, indicators=changes.indicators, targets=changes.targets, by=by)
    return []


@transaction.atomic
def targets_import(
    *, plan: Plan, indicators: Sequence[Indicator], targets: Sequence[TargetChange], by: User
) -> list[Target]:
    """Add or rename the plan's indicators, then set the plan-wide targets of the given indicators
    and years; planners of the plan only."""
    if message := targets_forbidden(plan, by):
        raise Forbidden(message)
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
