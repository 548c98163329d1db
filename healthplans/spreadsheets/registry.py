"""The kinds of sheet, each registered by the app that owns its rows (in its AppConfig.ready()),
so that the import and export machinery names no app, and no app names another's sheets.

An import runs in three steps, all or nothing: `parse` reads the table's rows (headings, cell
shapes), `check` sets them against the stored data and the user's rights (the preview, every
problem by row and column, and the changes), and `write` makes the changes through the app's
services inside one transaction. A kind whose refusals only its services know (`rehearsed`)
writes on a dry run too, and the transaction is rolled back, so that the preview reports
exactly what the services would refuse.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from healthplans.models import User
from healthplans.selectors import Actor
from healthplans.spreadsheets.files import SheetError, write_csv, write_xlsx

Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """A synchronous import has nobody to tell."""


class SheetPlan(Protocol):
    """The plan a sheet belongs to (plans.models.Plan; the core names no app)."""

    @property
    def pk(self) -> Any: ...

    @property
    def slug(self) -> str: ...


@dataclass
class Checked:
    """What `check` found: the preview rows, every problem, and the changes to write."""

    preview: list[dict[str, Any]] = field(default_factory=list)
    errors: list[SheetError] = field(default_factory=list)
    changes: Any = None


@dataclass(frozen=True)
class SheetImport:
    # Why the user may not import this kind into the plan at all (answered before the file is
    # read), or None.
    forbidden: Callable[[Any, User], str | None]
    parse: Callable[[list[list[str]]], tuple[Any, list[SheetError]]]  # table → (rows, errors)
    check: Callable[..., Checked]  # (*, plan, rows, by, progress)
    write: Callable[..., list[SheetError]]  # (*, plan, changes, by, progress), in the import's transaction
    # The plan of an import a worker runs, within the user's reach (Http404 when out of it).
    plan_get: Callable[..., SheetPlan]  # (*, fetched_by, pk)
    rehearsed: bool = False


@dataclass(frozen=True)
class SheetKind:
    name: str
    # (*, fetched_by, plan[, period]) → the rows, headings first; `period` is passed unless "none".
    export: Callable[..., list[list[Any]]]
    # Whether an export is of one reporting period: required, optional (else each line in its
    # own year), or none.
    period: Literal["required", "optional", "none"] = "none"
    imports: SheetImport | None = None  # None: export only


_kinds: dict[str, SheetKind] = {}


def register(kind: SheetKind) -> None:
    if _kinds.get(kind.name, kind) != kind:
        raise ValueError(f"Another sheet kind is registered as {kind.name!r}.")
    _kinds[kind.name] = kind


def sheet_kind(name: str) -> SheetKind:
    return _kinds[name]


def sheet_import(name: str) -> SheetImport:
    imports = _kinds[name].imports
    if imports is None:
        raise KeyError(name)
    return imports


def export_kinds() -> tuple[str, ...]:
    return tuple(_kinds)


def import_kinds() -> tuple[str, ...]:
    return tuple(name for name, kind in _kinds.items() if kind.imports is not None)


def attachment_name(plan: SheetPlan, kind: str, period: str, fmt: str) -> str:
    suffix = f"-{period}" if period and sheet_kind(kind).period != "none" else ""
    return f"{plan.slug}-{kind}{suffix}.{fmt}"


def export_bytes(*, fetched_by: Actor, plan: SheetPlan, kind: str, fmt: str, period: str = "") -> bytes:
    sheet = sheet_kind(kind)
    by_period = {} if sheet.period == "none" else {"period": period}
    rows = sheet.export(fetched_by=fetched_by, plan=plan, **by_period)
    return write_xlsx(rows, title=kind) if fmt == "xlsx" else write_csv(rows)
