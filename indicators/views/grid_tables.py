"""The entry grid as a page shows it: its cells, rows and column groups, for one period (the plan's
indicators × the entry units in reach) or for one indicator over the years."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from healthplans.models import OrgUnit
from healthplans.periods import Period, parse_period
from healthplans.selectors import Actor
from healthplans.vnnumber import COMPARATOR_SYMBOLS, format_number
from healthplans.workflow import OPEN_STATUSES, ReviewStatus
from indicators.models import Actual, EntryLevel, Indicator, Target, is_entry_unit, unit_entry_level
from indicators.selectors import grid_actuals, grid_indicators, may_write, visible_entry_units, writer_paths
from plans.models import Plan


def status_label(status: str | None) -> str:
    """How a figure's state reads on a grid cell (shorter than the model's labels)."""
    labels: dict[str | None, str] = {
        None: pgettext("figure status", "not entered"),
        ReviewStatus.DRAFT: pgettext("figure status", "draft"),
        ReviewStatus.SUBMITTED: pgettext("figure status", "submitted"),
        ReviewStatus.APPROVED: pgettext("figure status", "approved (locked)"),
        ReviewStatus.RETURNED: pgettext("figure status", "returned"),
    }
    return labels.get(status, status or "")


def column_group_label(level: str) -> str:
    labels = {
        EntryLevel.PROVINCE: pgettext("grid columns", "Province"),
        EntryLevel.DISTRICT: pgettext("grid columns", "District / city"),
        EntryLevel.COMMUNE: pgettext("grid columns", "Communes and wards"),
        EntryLevel.STATION: pgettext("grid columns", "Commune health stations"),
        EntryLevel.SITE: pgettext("grid columns", "Station sites"),
        EntryLevel.FACILITY: pgettext("grid columns", "Hospitals and health centres"),
    }
    return labels.get(EntryLevel(level), level)


def vn_value(value: Decimal | None) -> str:
    return "" if value is None else format_number(value.normalize())


@dataclass
class GridCell:
    indicator: Indicator
    unit: OrgUnit
    period: str
    actual: Actual | None
    writable: bool

    @property
    def status(self) -> str | None:
        return self.actual.status if self.actual is not None else None

    @property
    def editable(self) -> bool:
        return self.writable and (self.status is None or self.status in OPEN_STATUSES)

    @property
    def value(self) -> str:
        return vn_value(self.actual.value) if self.actual is not None else ""

    @property
    def version(self) -> str:
        return str(self.actual.version) if self.actual is not None else ""

    @property
    def css(self) -> str:
        classes = [f"status-{self.status or 'empty'}"]
        if not self.editable:
            classes.append("readonly")
        return " ".join(classes)

    @property
    def title(self) -> str:
        return cell_title(self.actual, writable=self.writable)

    @property
    def label(self) -> str:
        return f"{self.indicator.number} · {self.unit.name} · {self.period}"


def cell_title(actual: Actual | None, *, writable: bool) -> str:
    parts = [status_label(actual.status if actual is not None else None)]
    if actual is not None and actual.status == ReviewStatus.RETURNED and actual.message:
        parts.append(actual.message)
    if not writable:
        parts.append(_("read only: you do not enter figures for this unit"))
    return " · ".join(parts)


@dataclass
class GridRow:
    cells: list[GridCell | None]
    indicator: Indicator | None = None
    unit: OrgUnit | None = None
    target: str = ""


@dataclass
class ColumnGroup:
    label: str
    span: int


@dataclass
class Grid:
    columns: list[str]
    rows: list[GridRow]
    groups: list[ColumnGroup] = field(default_factory=list)
    column_notes: list[str] = field(default_factory=list)


def target_text(target: Target | None) -> str:
    if target is None:
        return ""
    return f"{COMPARATOR_SYMBOLS.get(target.comparator, target.comparator)} {vn_value(target.value)}"


def period_grid(*, fetched_by: Actor, plan: Plan, period: Period) -> Grid:
    """The plan's indicators (rows) × the entry units in reach (columns) for one period."""
    indicators = grid_indicators(fetched_by=fetched_by, plan=plan)
    # The units that exist in the period, within the territory the plan then applies over: those
    # it was issued for until they ended, the units that took their place since.
    units = visible_entry_units(
        fetched_by=fetched_by, plan=plan, levels={i.entry_level for i in indicators}, periods=[period]
    )
    actuals = grid_actuals(fetched_by=fetched_by, plan=plan, periods=[period.code])
    writers = writer_paths(fetched_by)
    writable = {unit.pk: may_write(writers, unit) for unit in units}
    rows = [
        GridRow(
            indicator=indicator,
            target=target_text(indicator.target_for(period.target_year)),
            cells=[
                GridCell(
                    indicator, unit, period.code, actuals.get((indicator.pk, unit.pk, period.code)), writable[unit.pk]
                )
                if is_entry_unit(indicator, unit, period)
                else None
                for unit in units
            ],
        )
        for indicator in indicators
    ]
    groups: list[ColumnGroup] = []
    for unit in units:
        label = column_group_label(unit_entry_level(unit))
        if groups and groups[-1].label == label:
            groups[-1].span += 1
        else:
            groups.append(ColumnGroup(label, 1))
    return Grid(columns=[unit.name for unit in units], rows=rows, groups=groups)


def years_grid(*, fetched_by: Actor, plan: Plan, indicator: Indicator, years: list[int]) -> Grid:
    """One indicator: the entry units in reach (rows) × years (columns)."""
    periods = [parse_period(str(year)) for year in years]
    units = [
        unit
        for unit in visible_entry_units(
            fetched_by=fetched_by, plan=plan, levels={indicator.entry_level}, periods=periods
        )
        if is_entry_unit(indicator, unit)
    ]
    actuals = grid_actuals(fetched_by=fetched_by, plan=plan, periods=[p.code for p in periods], indicator=indicator)
    writers = writer_paths(fetched_by)
    rows = [
        GridRow(
            unit=unit,
            cells=[
                GridCell(
                    indicator, unit, p.code, actuals.get((indicator.pk, unit.pk, p.code)), may_write(writers, unit)
                )
                if is_entry_unit(indicator, unit, p)
                else None
                for p in periods
            ],
        )
        for unit in units
    ]
    return Grid(
        columns=[p.code for p in periods],
        rows=rows,
        column_notes=[target_text(indicator.target_for(year)) for year in years],
    )
