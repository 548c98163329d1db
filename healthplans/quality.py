"""Plan quality checks: what a plan (saved, or a draft read from its document) says that does not
hold together — a unit at odds with its values, a target moving the wrong way, a budget whose parts
do not add up. Each app registers the checkers of what it owns (in its AppConfig.ready()); a check
only reports, it never changes the plan, so a document's quirks are kept and shown.

A saved plan and an unsaved draft are checked alike: both are first read into `PlanFacts`, a plain
shape the checkers read (a saved plan by the readers the apps register, a draft by its reader)."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Severity(models.TextChoices):
    # An error is arithmetic that does not hold (sums, a percentage above 100); a warning is a
    # reading that looks wrong but may be what the document means.
    ERROR = "error", gettext_lazy("error")
    WARNING = "warning", gettext_lazy("warning")


@dataclass(frozen=True)
class Place:
    """Where in the plan a check points: an indicator (its number as written), one of its targets
    (a year, maybe a unit's), its baseline, a budget line (its code) or a task section."""

    kind: str  # "indicator" | "target" | "baseline" | "budget_line" | "section"
    ref: str
    year: int | None = None
    unit: str = ""

    def __str__(self) -> str:
        if self.kind == "budget_line":
            return _("budget line %(code)s") % {"code": self.ref}
        if self.kind == "section":
            return _("section %(number)s") % {"number": self.ref}
        label = _("indicator %(number)s") % {"number": self.ref}
        if self.kind == "baseline":
            return _("%(indicator)s, baseline %(year)s") % {"indicator": label, "year": self.year}
        if self.year is not None:
            label = _("%(indicator)s, target %(year)s") % {"indicator": label, "year": self.year}
        return f"{label} ({self.unit})" if self.unit else label

    @property
    def indicator(self) -> str | None:
        """The indicator's number when the place is an indicator or one of its figures."""
        return self.ref if self.kind in {"indicator", "target", "baseline"} else None


@dataclass(frozen=True)
class Check:
    code: str
    severity: str
    message: str
    where: Place
    source: str = ""  # the text as the document writes it, so the planner sees what was read


# ---- The plan-like shape the checkers read ------------------------------------------------------


@dataclass
class FigureFacts:
    year: int
    value: Decimal | None
    text: str = ""
    comparator: str = ""
    unit: str = ""  # the org unit a unit target is set for (its name or code); empty: plan-wide


@dataclass
class IndicatorFacts:
    number: str
    name: str
    unit: str  # as written
    unit_kind: str
    direction: str
    rollup: str = ""
    catalogue: str = ""  # the catalogue measure's code
    catalogue_unit_kind: str = ""
    baseline: FigureFacts | None = None
    targets: list[FigureFacts] = field(default_factory=list)


@dataclass
class BudgetLineFacts:
    code: str
    name: str
    amount: int | None
    amount_text: str = ""
    parent: str = ""  # the parent line's code
    task_section: str = ""  # the number of the task section the line pays for


@dataclass
class TaskFacts:
    section: str  # the number of its section
    text: str
    amount: int | None
    amount_text: str = ""


@dataclass
class PlanFacts:
    plan_id: int | None = None  # None for a draft not yet saved
    indicators: list[IndicatorFacts] = field(default_factory=list)
    budget_lines: list[BudgetLineFacts] = field(default_factory=list)
    tasks: list[TaskFacts] = field(default_factory=list)


class PlanLike(Protocol):
    pk: Any


Checker = Callable[[PlanFacts], Iterable[Check]]
# Fills its part of the facts from a saved plan, from the objects a page already loaded (by name:
# "indicators", "budget_lines") when given, so a page that shows them pays no query for its checks.
Reader = Callable[[Any, PlanFacts, Mapping[str, Iterable[Any]]], None]

_checkers: list[Checker] = []
_readers: list[Reader] = []


def register(checker: Checker) -> Checker:
    if checker not in _checkers:
        _checkers.append(checker)
    return checker


def register_reader(reader: Reader) -> Reader:
    if reader not in _readers:
        _readers.append(reader)
    return reader


def plan_facts(plan: PlanLike, *, loaded: Mapping[str, Iterable[Any]] | None = None) -> PlanFacts:
    facts = PlanFacts(plan_id=plan.pk)
    for reader in _readers:
        reader(plan, facts, loaded or {})
    return facts


def _figure(item: Mapping[str, Any]) -> FigureFacts:
    value = item.get("value")
    return FigureFacts(
        year=int(item["year"]),
        value=None if value in (None, "") else Decimal(str(value)),
        text=item.get("text") or "",
        comparator=item.get("comparator") or "",
        unit=item.get("org_unit") or "",
    )


def _tasks(sections: Iterable[Mapping[str, Any]]) -> Iterator[TaskFacts]:
    for section in sections:
        for task in section.get("tasks") or []:
            amount = task.get("amount")
            yield TaskFacts(section["number"], task.get("text") or "", amount, task.get("amount_text") or "")
        yield from _tasks(section.get("sections") or [])


def draft_facts(draft: Mapping[str, Any]) -> PlanFacts:
    """The facts of a draft read from a plan's document (healthplans.documents.draft's shape), so
    that the checks run on it before anything is saved. What the reader could not tell (a unit's
    kind, a direction) stays empty, and the checks that need it pass over it."""
    return PlanFacts(
        indicators=[
            IndicatorFacts(
                number=item.get("number") or "",
                name=item.get("name") or "",
                unit=item.get("unit") or "",
                unit_kind=item.get("unit_kind") or "",
                direction=item.get("direction") or "",
                rollup=item.get("rollup") or "",
                catalogue=item.get("catalogue") or "",
                baseline=_figure(item["baseline"]) if item.get("baseline") else None,
                targets=[_figure(target) for target in item.get("targets") or []],
            )
            for item in draft.get("indicators") or []
        ],
        budget_lines=[
            BudgetLineFacts(
                code=line.get("code") or "",
                name=line.get("name") or "",
                amount=line.get("amount"),
                amount_text=line.get("amount_text") or "",
                parent=line.get("parent") or "",
                task_section=line.get("task") or "",
            )
            for line in draft.get("budget_lines") or []
        ],
        tasks=list(_tasks(draft.get("sections") or [])),
    )


def checks_for(plan_like: PlanLike | PlanFacts) -> list[Check]:
    """Every check's findings on a saved plan, or on a draft (`checks_for(draft_facts(draft))`),
    errors first. The builder's services call it after each save; the plan's page lists them."""
    facts = plan_like if isinstance(plan_like, PlanFacts) else plan_facts(plan_like)
    found = [check for checker in _checkers for check in checker(facts)]
    return sorted(found, key=lambda check: check.severity != Severity.ERROR)


def checks_by_indicator(checks: Iterable[Check]) -> dict[str, list[Check]]:
    """The checks that point to each indicator (by its number), for a table of indicators."""
    by_number: dict[str, list[Check]] = {}
    for check in checks:
        if check.where.indicator is not None:
            by_number.setdefault(check.where.indicator, []).append(check)
    return by_number
