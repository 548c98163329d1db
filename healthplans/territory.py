"""Whose territory is it now? A plan keeps applying within the territory it was issued for until
it is replaced, while the units it was issued over merge, divide and end.

The territory is followed commune by commune: an ended commune's successors hold its territory
(a divided one's, each its part), and a province's or district's is that of its communes — not
its own successor's, which may be much larger (Bắc Kạn's territory is the communes of Thái Nguyên
that were Bắc Kạn's, not the whole of Thái Nguyên). Successions are followed across as many
reorganisations as have happened.
"""

from collections.abc import Iterable
from datetime import date

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from healthplans.models import OrgUnit, UnitSuccession

# The units whose successions carry a territory; the levels above only group them.
_CARRIERS = (OrgUnit.Level.COMMUNE, OrgUnit.Level.FACILITY)


def top_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The paths not inside another one of them (a subtree within another adds nothing)."""
    ordered = sorted(set(paths))
    top: list[str] = []
    for path in ordered:
        if not top or not path.startswith(top[-1]):
            top.append(path)
    return tuple(top)


def _onward(successions: QuerySet[UnitSuccession], start: date, end: date) -> list[str]:
    """The paths of the successors in these successions that exist at some time from `start` to
    `end`, following the successors of those that ended before `end` (one query a step)."""
    found: list[str] = []
    seen: set[int] = set()
    rows = list(successions.values_list("successor_id", "successor__path", "successor__valid_to"))
    while rows:
        onward = []
        for pk, path, valid_to in rows:
            if pk in seen:
                continue
            seen.add(pk)
            if valid_to is None or valid_to >= start:
                found.append(path)
            if valid_to is not None and valid_to < end:
                onward.append(pk)
        successors = UnitSuccession.objects.filter(predecessor_id__in=onward)
        rows = list(successors.values_list("successor_id", "successor__path", "successor__valid_to")) if onward else []
    return found


def territory_paths(unit: OrgUnit, start: date, end: date) -> tuple[str, ...]:
    """The subtrees that hold `unit`'s territory at some time from `start` to `end`: the unit's own
    while it exists, and the successors of its communes (or of itself, a commune or a facility)
    that exist in the period once it has ended."""
    if unit.valid_to is None or unit.valid_to >= end:
        return (unit.path,)
    paths = [unit.path] if unit.valid_to >= start else []
    carriers = (
        Q(predecessor=unit)
        if unit.level in _CARRIERS
        else Q(predecessor__path__startswith=unit.path, predecessor__level=OrgUnit.Level.COMMUNE)
    )
    return top_paths(paths + _onward(UnitSuccession.objects.filter(carriers), start, end))


def successor_paths(unit: OrgUnit, start: date, end: date) -> tuple[str, ...]:
    """The units that took `unit`'s place and exist at some time from `start` to `end` (following
    successions onward): where what was entered at the unit itself is entered once it has ended —
    a province's own figures at the province that took it over."""
    if unit.valid_to is None or unit.valid_to >= end:
        return ()
    found = _onward(UnitSuccession.objects.filter(predecessor=unit), start, end)
    return tuple(sorted(found))


def origin_paths(path: str) -> list[str]:
    """The paths of the unit at `path`, of every unit above it, and of every unit above the units
    that any of these succeeded: where a plan that now applies at the unit may have been issued.
    One query per reorganisation behind it: a predecessor that existed since ever (the units of
    before 2025, which the package does not date) was created by none, so the walk stops there."""
    paths = set(path_ancestry(path))
    if len(path) <= 2 * OrgUnit.steplen:
        # The nation, or a province: the tree keeps the provinces a province took over beneath it
        # (healthplans.adminunits moves them there), so whatever it succeeded is in its subtree.
        return sorted(paths)
    frontier = set(paths)
    while frontier:
        earlier = UnitSuccession.objects.filter(successor__path__in=frontier).values_list(
            "predecessor__path", "predecessor__valid_from"
        )
        frontier = set()
        for found, valid_from in earlier:
            if valid_from is not None and found not in paths:
                frontier.add(found)  # itself made by an earlier reorganisation: look further back
            paths.update(path_ancestry(found))
    return sorted(paths)


def path_ancestry(path: str) -> list[str]:
    """The path and those of every unit above it."""
    return [path[:end] for end in range(OrgUnit.steplen, len(path) + 1, OrgUnit.steplen)]


def not_yet_refusal_text(unit: OrgUnit, day: date) -> str:
    return _("%(unit)s did not exist yet on %(day)s (it exists since %(start)s).") % {
        "unit": unit.name,
        "day": f"{day:%d/%m/%Y}",
        "start": f"{unit.valid_from:%d/%m/%Y}" if unit.valid_from else "",
    }


def ended_refusal_text(unit: OrgUnit, day: date) -> str:
    """“Trạm Y tế thị trấn Mường Khương ended on 30/06/2025; since then it is Trạm Y tế xã Mường
    Khương (điểm trạm thị trấn Mường Khương).” — what a figure entered too late at a unit is told."""
    successors = []
    rows = list(UnitSuccession.objects.filter(predecessor=unit).select_related("successor").order_by("-is_default"))
    for row in rows:
        successor = row.successor
        if successor.facility_kind == OrgUnit.FacilityKind.SITE:
            station = OrgUnit.objects.filter(path=successor.path[: -OrgUnit.steplen]).first()
            successors.append(f"{station.name} ({successor.name})" if station else successor.name)
        else:
            successors.append(successor.name)
    successors = [
        f"{name} ({_('from %(day)s') % {'day': f'{row.successor.valid_from:%d/%m/%Y}'}})"
        if row.successor.valid_from
        else name
        for name, row in zip(successors, rows, strict=True)
    ]
    ended = f"{unit.valid_to:%d/%m/%Y}" if unit.valid_to else ""
    if not successors:
        return _("%(unit)s no longer existed on %(day)s (it ended on %(ended)s).") % {
            "unit": unit.name,
            "day": f"{day:%d/%m/%Y}",
            "ended": ended,
        }
    return _("%(unit)s ended on %(ended)s; since then it is %(successors)s.") % {
        "unit": unit.name,
        "ended": ended,
        "successors": ", ".join(successors),
    }


def now_part_of(units: Iterable[OrgUnit], on: date) -> dict[int, str]:
    """Unit id → the unit of `on` that an ended unit is now part of (a facility through its
    commune): what a page or report of older periods adds to a unit's name as it was. Two queries."""
    ended = [unit for unit in units if unit.valid_to is not None and unit.valid_to < on]
    if not ended:
        return {}
    # A facility is now part of what its commune (the unit above it) went into.
    carriers = {
        unit.pk: unit.path[: -OrgUnit.steplen] if unit.level == OrgUnit.Level.FACILITY else unit.path for unit in ended
    }
    rows = UnitSuccession.objects.filter(predecessor__path__in=set(carriers.values()), is_default=True).values_list(
        "predecessor__path", "successor__name"
    )
    successor_of = dict(rows)
    return {pk: successor_of[path] for pk, path in carriers.items() if path in successor_of}
