"""The entry grid: a plan's indicators × the entry units in the user's reach for one period, or
one indicator × years, edited like a spreadsheet.

A save or a submission carries many cells and is all or nothing: the cells go to the bulk figure
services together, which write all of them or none, so the page can show every problem at once
and the database never holds half a grid. The grid's reads are indicators.selectors'.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from healthplans.models import OrgUnit, User
from healthplans.periods import PeriodError, parse_period
from healthplans.selectors import Actor, org_unit_list, signed_in_user
from healthplans.vnnumber import NumberTextError as NumberError
from healthplans.vnnumber import parse_number
from healthplans.workflow import OPEN_STATUSES, Conflict, Forbidden, ServiceError
from indicators.models import Actual, Indicator
from indicators.selectors import cells_figures, grid_indicators
from indicators.services import FigureEntry, FigureStep, RowsRefused, actual_save_many, actual_submit_many
from indicators.views.grid_tables import cell_title, period_grid, vn_value, years_grid
from plans.models import Plan
from plans.selectors import plan_get_or_404, plan_list


def year_param(request: HttpRequest, name: str, default: int, plan: Plan) -> int:
    text = request.GET.get(name) or str(default)
    if not text.isdigit() or not plan.start_year <= int(text) <= plan.last_year:
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
    plan = plan_get_or_404(fetched_by=user, slug=slug)
    periods = plan.periods()
    context: dict[str, Any] = {
        "plans": plans,
        "plan": plan,
        "periods": periods,
        "years": list(range(plan.start_year, plan.last_year + 1)),
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
        last = year_param(request, "to", plan.last_year, plan)
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
        "editable": actual.status in OPEN_STATUSES,
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
        actuals = cells_figures(fetched_by=fetched_by, plan=plan, keys=[cell.key for cell in cells])
        return cls(indicators, units, actuals)

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


def _written[Row](
    cells: list[CellInput], rows: list[Row], errors: list[dict[str, Any]], write: Callable[..., list[Actual]]
) -> list[Actual]:
    """Write the rows of the cells the page could read (`write(rows, check_only=…)`), all or
    nothing: the services' refusals join the page's own, and with any of those nothing is written
    (the services then only check, so that every refused cell is named at once)."""
    try:
        written = write(rows, check_only=bool(errors))
    except RowsRefused as refused:
        errors += [figure_error(cells[index], error) for index, error in refused.rows.items()]
    if errors:
        raise GridRefused(errors)
    return written


def grid_save(*, plan: Plan, cells: list[CellInput], by: User) -> list[Actual]:
    """Create or update every non-empty cell through actual_save_many, all or nothing.

    A cell without a version is new and is created; a cell with one updates the figure it was
    read with, so a figure changed meanwhile answers a conflict with its current value.
    """
    cells = [cell for cell in cells if cell.value.strip()]  # an empty cell changes nothing
    scope = GridScope.of(fetched_by=by, plan=plan, cells=cells)
    errors: list[dict[str, Any]] = []
    readable: list[CellInput] = []
    entries: list[FigureEntry] = []
    for cell in cells:
        checked = scope.check(cell)
        if isinstance(checked, dict):
            errors.append(checked)
            continue
        try:
            value = parse_number(cell.value)
        except NumberError as exc:
            errors.append(cell.error(_(exc.template).format(text=exc.text)))
            continue
        indicator, unit = checked
        readable.append(cell)
        entries.append(FigureEntry(indicator, unit, cell.period, value, version=cell.version))
    return _written(
        readable, entries, errors, lambda rows, check_only: actual_save_many(entries=rows, by=by, check_only=check_only)
    )


def grid_submit(*, plan: Plan, cells: list[CellInput], by: User) -> list[Actual]:
    """Submit the given draft figures for review through actual_submit_many, all or nothing."""
    scope = GridScope.of(fetched_by=by, plan=plan, cells=cells)
    errors: list[dict[str, Any]] = []
    readable: list[CellInput] = []
    steps: list[FigureStep] = []
    for cell in cells:
        checked = scope.check(cell)
        if isinstance(checked, dict):
            errors.append(checked)
            continue
        actual = scope.actuals.get(cell.key)
        if actual is None:
            errors.append(cell.error(_("Enter and save a value before submitting.")))
            continue
        readable.append(cell)
        steps.append(FigureStep(actual, cell.version))
    return _written(
        readable, steps, errors, lambda rows, check_only: actual_submit_many(steps=rows, by=by, check_only=check_only)
    )


def cells_request(request: HttpRequest, *, with_value: bool) -> tuple[Plan, list[CellInput]] | JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"detail": _("Log in first.")}, status=403)
    try:
        slug, cells = read_cells(request, with_value=with_value)
    except GridPayloadError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    plan = plan_list(fetched_by=request.user, filters={"slug": slug}).select_related("issuer_org_unit").first()
    if plan is None:  # the grid's script reads a JSON answer, not the 404 page
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
    try:
        written = write(plan=plan, cells=cells, by=signed_in_user(request.user))
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
