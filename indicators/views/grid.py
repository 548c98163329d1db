"""The entry grid: a plan's indicators × the entry units in the user's reach for one period, or
one indicator × years, edited like a spreadsheet.

A save or a submission carries many cells and is all or nothing: every cell goes through the
figure services inside one transaction, and one refused cell rolls the others back, so the
page can show every problem at once and the database never holds half a grid.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_GET, require_POST

from healthplans.models import OrgUnit, RoleAssignment, User
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import Actor, org_unit_list
from healthplans.vnnumber import COMPARATOR_SYMBOLS, format_number, parse_number
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.workflow import Conflict, Forbidden, ReviewStatus, ServiceError
from indicators.models import WRITER_ROLES, Actual, EntryLevel, Indicator, Target
from indicators.selectors import actual_list, indicator_list
from indicators.services import actual_create, actual_submit, actual_update, is_entry_unit
from plans.models import Plan
from plans.selectors import plan_list

# Entry levels in the order their columns appear, from the province down to the facilities.
LEVEL_ORDER = [EntryLevel.PROVINCE, EntryLevel.DISTRICT, EntryLevel.COMMUNE, EntryLevel.STATION, EntryLevel.FACILITY]
EDITABLE_STATUSES = {ReviewStatus.DRAFT, ReviewStatus.RETURNED}


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
        EntryLevel.FACILITY: pgettext("grid columns", "Hospitals and health centres"),
    }
    return labels.get(EntryLevel(level), level)


def vn_value(value: Decimal | None) -> str:
    return "" if value is None else format_number(value.normalize())


# ---------------------------------------------------------------------------------------------
# Reading the grid


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
        return self.writable and (self.status is None or self.status in EDITABLE_STATUSES)

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


def plan_target(indicator: Indicator, year: int) -> Target | None:
    """The plan-wide target of a year (targets are prefetched with the indicator)."""
    return next((t for t in indicator.targets.all() if t.year == year and t.org_unit_id is None), None)


def unit_entry_level(unit: OrgUnit) -> str:
    if unit.level == OrgUnit.Level.FACILITY:
        return EntryLevel.STATION if unit.facility_kind == OrgUnit.FacilityKind.STATION else EntryLevel.FACILITY
    return unit.level


def visible_entry_units(*, fetched_by: Actor, plan: Plan, levels: Iterable[str]) -> list[OrgUnit]:
    """Units in the user's reach, within the plan's area, at any of the entry levels, in column order."""
    wanted = set(levels)
    unit_levels = {
        OrgUnit.Level.FACILITY if lvl in (EntryLevel.STATION, EntryLevel.FACILITY) else lvl for lvl in wanted
    }
    units = org_unit_list(fetched_by=fetched_by).filter(
        path__startswith=plan.issuer_org_unit.path, level__in=unit_levels
    )
    chosen = [unit for unit in units if unit_entry_level(unit) in wanted]
    return sorted(chosen, key=lambda unit: (LEVEL_ORDER.index(EntryLevel(unit_entry_level(unit))), unit.path))


def writer_paths(user: Actor) -> tuple[str, ...] | None:
    """The subtrees where the user may enter figures; None means everywhere (a superuser)."""
    if not isinstance(user, User) or not user.is_active:
        return ()
    if user.is_superuser:
        return None
    return tuple(
        RoleAssignment.objects.filter(user=user, role__in=WRITER_ROLES).values_list("org_unit__path", flat=True)
    )


def may_write(paths: tuple[str, ...] | None, unit: OrgUnit) -> bool:
    return paths is None or any(unit.path.startswith(p) for p in paths)


def grid_actuals(
    *, fetched_by: Actor, plan: Plan, periods: list[str], indicator: Indicator | None = None
) -> dict[tuple[int, int, str], Actual]:
    filters: dict[str, Any] = {"plan": plan.pk}
    if indicator is not None:
        filters["indicator"] = indicator.pk
    actuals = actual_list(fetched_by=fetched_by, filters=filters).filter(period__in=periods)
    return {(a.indicator_id, a.org_unit_id, a.period): a for a in actuals}


def grid_indicators(*, fetched_by: Actor, plan: Plan) -> list[Indicator]:
    return list(
        indicator_list(fetched_by=fetched_by, filters={"plan": plan.pk}).select_related("plan__issuer_org_unit")
    )


def period_grid(*, fetched_by: Actor, plan: Plan, period: Period) -> Grid:
    """The plan's indicators (rows) × the entry units in reach (columns) for one period."""
    indicators = grid_indicators(fetched_by=fetched_by, plan=plan)
    # Units abolished since (districts, merged provinces) keep their columns: the plan's figures
    # are still entered and reported at the units it was issued for.
    units = visible_entry_units(fetched_by=fetched_by, plan=plan, levels={i.entry_level for i in indicators})
    actuals = grid_actuals(fetched_by=fetched_by, plan=plan, periods=[period.code])
    writers = writer_paths(fetched_by)
    writable = {unit.pk: may_write(writers, unit) for unit in units}
    rows = [
        GridRow(
            indicator=indicator,
            target=target_text(plan_target(indicator, period.target_year)),
            cells=[
                GridCell(
                    indicator, unit, period.code, actuals.get((indicator.pk, unit.pk, period.code)), writable[unit.pk]
                )
                if is_entry_unit(indicator, unit)
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
        for unit in visible_entry_units(fetched_by=fetched_by, plan=plan, levels={indicator.entry_level})
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
                for p in periods
            ],
        )
        for unit in units
    ]
    return Grid(
        columns=[p.code for p in periods],
        rows=rows,
        column_notes=[target_text(plan_target(indicator, year)) for year in years],
    )


def last_year(plan: Plan) -> int:
    return plan.vision_year or plan.end_year


def year_param(request: HttpRequest, name: str, default: int, plan: Plan) -> int:
    text = request.GET.get(name) or str(default)
    if not text.isdigit() or not plan.start_year <= int(text) <= last_year(plan):
        raise Http404
    return int(text)


def js_text() -> dict[str, str]:
    """The script's messages, translated here so that the page carries them in its language."""
    return {
        "save": _("Save"),
        "saving": _("Saving…"),
        "submitting": _("Submitting…"),
        "saved_one": ngettext("%(n)s cell saved.", "%(n)s cells saved.", 1),
        "saved_other": ngettext("%(n)s cell saved.", "%(n)s cells saved.", 2),
        "submitted_one": ngettext("%(n)s figure submitted for review.", "%(n)s figures submitted for review.", 1),
        "submitted_other": ngettext("%(n)s figure submitted for review.", "%(n)s figures submitted for review.", 2),
        "nothing_to_save": _("Nothing to save: no cell was changed."),
        "nothing_to_submit": _("No draft figure to submit."),
        "confirm_submit": _("Submit %(n)s draft figures for review? They cannot be changed until reviewed."),
        "refused": _("Nothing was saved: correct the marked cells."),
        "refused_submit": _("Nothing was submitted: see the marked cells."),
        "conflict": _("Some figures changed since the page was opened; their current values are shown."),
        "network": _("The server could not be reached; nothing was saved."),
        "paste_skipped_one": ngettext(
            "%(n)s pasted value had no cell to go to.", "%(n)s pasted values had no cell to go to.", 1
        ),
        "paste_skipped_other": ngettext(
            "%(n)s pasted value had no cell to go to.", "%(n)s pasted values had no cell to go to.", 2
        ),
        "paste_skipped_cell": _("This cell cannot take a pasted value."),
        "unsaved": _("Some cells are not saved yet."),
        "changed": _("changed, not saved"),
    }


@login_required
@require_GET
def grid_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    plans = plan_list(fetched_by=user).select_related("issuer_org_unit").order_by("-start_year", "title")
    slug = request.GET.get("plan")
    if not slug:
        return render(request, "grid/pick.html", {"plans": plans})
    plan = plans.filter(slug=slug).first()
    if plan is None:
        raise Http404
    periods = plan.periods()
    context: dict[str, Any] = {
        "plans": plans,
        "plan": plan,
        "periods": periods,
        "years": list(range(plan.start_year, last_year(plan) + 1)),
        "text": js_text(),
    }
    if code := request.GET.get("period"):
        try:
            period = parse_period(code)
        except PeriodError as exc:
            raise Http404 from exc
        if period.code not in {p.code for p in periods}:
            raise Http404
        context |= {"mode": "period", "period": period, "grid": period_grid(fetched_by=user, plan=plan, period=period)}
    elif indicator_id := request.GET.get("indicator"):
        indicator = next(
            (i for i in grid_indicators(fetched_by=user, plan=plan) if str(i.pk) == indicator_id.strip()), None
        )
        if indicator is None:
            raise Http404
        first = year_param(request, "from", plan.start_year, plan)
        last = year_param(request, "to", last_year(plan), plan)
        if first > last:
            raise Http404
        years = list(range(first, last + 1))
        baseline = getattr(indicator, "baseline", None)
        context |= {
            "mode": "years",
            "indicator": indicator,
            "baseline": baseline,
            "year_from": first,
            "year_to": last,
            "grid": years_grid(fetched_by=user, plan=plan, indicator=indicator, years=years),
        }
    else:
        context["indicators"] = grid_indicators(fetched_by=user, plan=plan)
        return render(request, "grid/pick.html", context)
    return render(request, "grid/grid.html", context)


# ---------------------------------------------------------------------------------------------
# Writing many cells at once


class GridPayloadError(ValueError):
    pass


class GridRefused(Exception):
    """Some cells were refused; nothing of the request was written."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} cells refused")
        self.errors = errors

    @property
    def status(self) -> int:
        codes = {error["status"] for error in self.errors}
        # A conflict first (the page must take the stored values), then a refusal, then bad input.
        return next((code for code in (409, 403) if code in codes), 400)


@dataclass(frozen=True)
class CellInput:
    indicator_id: int
    org_unit_id: int
    period: str
    value: str
    version: int | None

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.indicator_id, self.org_unit_id, self.period)

    def error(self, message: str, *, status: int = 400, code: str = "invalid", current: Actual | None = None) -> dict:
        error: dict[str, Any] = {
            "indicator": self.indicator_id,
            "org_unit": self.org_unit_id,
            "period": self.period,
            "message": message,
            "code": code,
            "status": status,
        }
        if current is not None:
            error["current"] = cell_state(current)
        return error


def cell_state(actual: Actual) -> dict[str, Any]:
    """What the page needs to show a stored figure in its cell."""
    return {
        "indicator": actual.indicator_id,
        "org_unit": actual.org_unit_id,
        "period": actual.period,
        "value": vn_value(actual.value),
        "version": actual.version,
        "status": actual.status,
        "editable": actual.status in EDITABLE_STATUSES,
        "title": cell_title(actual, writable=True),
    }


def figure_message(exc: ServiceError) -> str:
    details = [message for messages in exc.fields.values() for message in messages]
    return " ".join(dict.fromkeys([exc.message, *details]))


def read_cells(request: HttpRequest, *, with_value: bool) -> tuple[str, list[CellInput]]:
    try:
        body = json.loads(request.body)
        slug = body["plan"]
        raw_cells = body["cells"]
        if not isinstance(slug, str) or not isinstance(raw_cells, list):
            raise TypeError
        cells = []
        for raw in raw_cells:
            version = raw.get("version")
            value = raw.get("value", "") if with_value else ""
            if not (isinstance(version, int) or version is None) or not isinstance(value, str):
                raise TypeError
            cells.append(CellInput(int(raw["indicator"]), int(raw["org_unit"]), str(raw["period"]), value, version))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise GridPayloadError(_("The request could not be read.")) from exc
    return slug, cells


@dataclass
class GridScope:
    """The indicators, units and stored figures a request's cells refer to, as the user sees them."""

    indicators: dict[int, Indicator]
    units: dict[int, OrgUnit]
    actuals: dict[tuple[int, int, str], Actual]

    @classmethod
    def of(cls, *, fetched_by: Actor, plan: Plan, cells: list[CellInput]) -> "GridScope":
        indicators = {i.pk: i for i in grid_indicators(fetched_by=fetched_by, plan=plan)}
        units = {u.pk: u for u in org_unit_list(fetched_by=fetched_by).filter(pk__in={c.org_unit_id for c in cells})}
        actuals = (
            actual_list(fetched_by=fetched_by, filters={"plan": plan.pk})
            .filter(
                indicator_id__in={c.indicator_id for c in cells},
                org_unit_id__in={c.org_unit_id for c in cells},
                period__in={c.period for c in cells},
            )
            .select_related("indicator__plan__issuer_org_unit")
        )
        return cls(indicators, units, {(a.indicator_id, a.org_unit_id, a.period): a for a in actuals})

    def check(self, cell: CellInput) -> tuple[Indicator, OrgUnit] | dict[str, Any]:
        """The cell's indicator and unit, or the error that refuses it."""
        indicator = self.indicators.get(cell.indicator_id)
        if indicator is None:
            return cell.error(_("This indicator is not part of the plan."))
        unit = self.units.get(cell.org_unit_id)
        if unit is None:
            return cell.error(_("You may not enter figures for this unit."), status=403, code=Forbidden.code)
        return indicator, unit


def figure_error(cell: CellInput, exc: ServiceError) -> dict[str, Any]:
    current = exc.current if isinstance(exc, Conflict) else None
    return cell.error(figure_message(exc), status=exc.status, code=exc.code, current=current)


def grid_save(*, plan: Plan, cells: list[CellInput], by: User) -> list[Actual]:
    """Create or update every non-empty cell through the figure services, all or nothing.

    A cell without a version is new and is created; a cell with one updates the figure it was
    read with, so a figure changed meanwhile answers a conflict with its current value.
    """
    cells = [cell for cell in cells if cell.value.strip()]  # an empty cell changes nothing
    scope = GridScope.of(fetched_by=by, plan=plan, cells=cells)
    errors: list[dict[str, Any]] = []
    saved: list[Actual] = []
    with transaction.atomic():
        for cell in cells:
            checked = scope.check(cell)
            if isinstance(checked, dict):
                errors.append(checked)
                continue
            indicator, unit = checked
            try:
                value = parse_number(cell.value)
            except NumberError as exc:
                errors.append(cell.error(_(exc.template).format(text=exc.text)))
                continue
            existing = scope.actuals.get(cell.key)
            try:
                if existing is None:
                    saved.append(
                        actual_create(indicator=indicator, org_unit=unit, period=cell.period, value=value, by=by)
                    )
                elif cell.version is None:
                    raise Conflict(
                        _("Someone entered this figure after you opened the page; its current value is shown."),
                        code="exists",
                        current=existing,
                    )
                else:
                    saved.append(actual_update(actual=existing, version=cell.version, value=value, by=by))
            except ServiceError as exc:
                errors.append(figure_error(cell, exc))
            except IntegrityError:
                # Another save created the same figure between our read and our insert.
                current = Actual.objects.filter(
                    indicator=indicator, org_unit=unit, period=parse_period(cell.period).code
                ).first()
                message = _("Someone entered this figure after you opened the page; its current value is shown.")
                errors.append(cell.error(message, status=409, code="exists", current=current))
        if errors:
            raise GridRefused(errors)
    return saved


def grid_submit(*, plan: Plan, cells: list[CellInput], by: User) -> list[Actual]:
    """Submit the given draft figures for review, all or nothing."""
    scope = GridScope.of(fetched_by=by, plan=plan, cells=cells)
    errors: list[dict[str, Any]] = []
    submitted: list[Actual] = []
    with transaction.atomic():
        for cell in cells:
            checked = scope.check(cell)
            if isinstance(checked, dict):
                errors.append(checked)
                continue
            actual = scope.actuals.get(cell.key)
            if actual is None:
                errors.append(cell.error(_("Enter and save a value before submitting.")))
                continue
            try:
                version = actual.version if cell.version is None else cell.version
                submitted.append(actual_submit(actual=actual, version=version, by=by))
            except ServiceError as exc:
                errors.append(figure_error(cell, exc))
        if errors:
            raise GridRefused(errors)
    return submitted


def cells_request(request: HttpRequest, *, with_value: bool) -> tuple[Plan, list[CellInput]] | JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"detail": _("Log in first.")}, status=403)
    try:
        slug, cells = read_cells(request, with_value=with_value)
    except GridPayloadError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    plan = plan_list(fetched_by=request.user, filters={"slug": slug}).select_related("issuer_org_unit").first()
    if plan is None:
        return JsonResponse({"detail": _("No such plan.")}, status=404)
    return plan, cells


def refused_response(exc: GridRefused) -> JsonResponse:
    return JsonResponse({"errors": exc.errors}, status=exc.status)


def cells_view(request: HttpRequest, *, with_value: bool, write: Callable[..., list[Actual]]) -> JsonResponse:
    """Save or submit the cells a grid sends: all of them through the services, or none."""
    parsed = cells_request(request, with_value=with_value)
    if isinstance(parsed, JsonResponse):
        return parsed
    plan, cells = parsed
    assert isinstance(request.user, User)
    try:
        written = write(plan=plan, cells=cells, by=request.user)
    except GridRefused as exc:
        return refused_response(exc)
    return JsonResponse({"cells": [cell_state(actual) for actual in written]})


@require_POST
def grid_save_view(request: HttpRequest) -> JsonResponse:
    return cells_view(request, with_value=True, write=grid_save)


@require_POST
def grid_submit_view(request: HttpRequest) -> JsonResponse:
    return cells_view(request, with_value=False, write=grid_submit)


urlpatterns: list[URLPattern] = [
    path("grid/", grid_view, name="grid"),
    path("grid/save/", grid_save_view, name="grid-save"),
    path("grid/submit/", grid_submit_view, name="grid-submit"),
]
