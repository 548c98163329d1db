"""A reorganisation of the administrative units as one operation: preview it, then apply it.

A `Reorganisation` row carries its changes (`Changes`, stored as JSON): units created (with their
parent), units ended, successions (predecessor → successor, with a share for a divided unit) and
subtrees moved to another parent. Applying it, in one transaction: creates the new units, ends
each ended unit and its open subtree on the day before it takes effect, records the successions,
moves the subtrees, and moves every role held on an ended unit to its default successor with an
audit entry. Nothing is deleted, so what was entered at the old units stays readable.

The 2025 change is loaded through this same service (`healthplans.adminunits`), and the apps
above the core tell the preview what else a change touches (plans, open figures) through
`register_impact`.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from healthplans.models import (
    AuditEvent,
    AuditKind,
    OrgUnit,
    Reorganisation,
    RoleAssignment,
    Tenant,
    UnitSuccession,
    User,
)
from healthplans.workflow import Invalid


@dataclass(frozen=True)
class NewUnit:
    code: str
    name: str
    level: str
    parent: str  # the code of its parent, existing or created by the same change
    unit_type: str = ""
    official_code: str = ""
    facility_kind: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    tenant: str = ""  # a tenant's slug; empty: the parent's tenant


@dataclass(frozen=True)
class Succession:
    predecessor: str
    successor: str
    share: Decimal = Decimal(1)
    is_default: bool = True


@dataclass(frozen=True)
class Move:
    unit: str
    parent: str


@dataclass
class Changes:
    created: list[NewUnit] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    successions: list[Succession] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)

    def as_json(self) -> list[dict[str, Any]]:
        def plain(row: Any, op: str) -> dict[str, Any]:
            return {"op": op, **{k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(row).items()}}

        return [
            *(plain(row, "create") for row in self.created),
            *({"op": "end", "unit": code} for code in self.ended),
            *(plain(row, "succeed") for row in self.successions),
            *(plain(row, "move") for row in self.moved),
        ]

    @classmethod
    def from_json(cls, rows: Iterable[dict[str, Any]]) -> "Changes":
        changes = cls()
        try:
            for row in rows:
                values = {k: v for k, v in row.items() if k != "op"}
                match row.get("op"):
                    case "create":
                        for name in ("latitude", "longitude"):
                            if values.get(name) is not None:
                                values[name] = Decimal(str(values[name]))
                        changes.created.append(NewUnit(**values))
                    case "end":
                        changes.ended.append(str(values["unit"]))
                    case "succeed":
                        values["share"] = Decimal(str(values.get("share", 1)))
                        changes.successions.append(Succession(**values))
                    case "move":
                        changes.moved.append(Move(**values))
                    case other:
                        raise Invalid(_("Unknown change “%(op)s”.") % {"op": other}, code="reorganisation_invalid")
        except (TypeError, KeyError, ArithmeticError) as exc:
            raise Invalid(
                _("A change of the reorganisation cannot be read: %(row)s") % {"row": row},
                code="reorganisation_invalid",
            ) from exc
        return changes


# What else a change touches, told by the apps above the core: a label and a count for the units
# that end on a day (plans issued by them, figures still open after the day, …).
ImpactCounter = Callable[[Sequence[int], date], tuple[str, int]]
_impacts: list[ImpactCounter] = []


def register_impact(counter: ImpactCounter) -> ImpactCounter:
    _impacts.append(counter)
    return counter


@dataclass
class Preview:
    created: int
    ended: int
    moved: int
    successions: int
    roles: int
    impacts: list[tuple[str, int]]
    problems: list[str]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _last_day(reorganisation: Reorganisation) -> date:
    return reorganisation.effective_on - timedelta(days=1)


def _chunks(values: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    # SQLite (the database of `make run`) takes at most 999 parameters in a query.
    return (values[i : i + size] for i in range(0, len(values), size))


def _units_by_code(codes: Iterable[str]) -> dict[str, OrgUnit]:
    wanted = sorted(set(codes))
    return {unit.code: unit for chunk in _chunks(wanted) for unit in OrgUnit.objects.filter(code__in=chunk)}


def _ended_subtrees(ended: Iterable[OrgUnit], day: date) -> list[int]:
    """The ids of the ended units and of every unit beneath them still open on `day`."""
    paths = sorted({unit.path for unit in ended})
    top = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    ids: list[int] = []
    for path in top:
        ids += OrgUnit.objects.filter(OrgUnit.valid_on_q(day), path__startswith=path).values_list("pk", flat=True)
    return ids


def _problems(changes: Changes, units: dict[str, OrgUnit], reorganisation: Reorganisation) -> list[str]:
    created = {row.code for row in changes.created}
    problems = [
        _("Unit “%(code)s” already exists.") % {"code": code}
        for code in sorted(created & set(units))
        if units[code].valid_from != reorganisation.effective_on
    ]
    named = (
        set(changes.ended)
        | {row.parent for row in changes.created}
        | {s.predecessor for s in changes.successions}
        | {s.successor for s in changes.successions}
        | {m.unit for m in changes.moved}
        | {m.parent for m in changes.moved}
    )
    problems += [
        _("No unit has the code “%(code)s”.") % {"code": code} for code in sorted(named - created - set(units))
    ]
    day = _last_day(reorganisation)
    problems += [
        _("%(unit)s had already ended on %(day)s.")
        % {"unit": units[code].name, "day": f"{units[code].valid_to:%d/%m/%Y}"}
        for code in changes.ended
        if code in units and (units[code].valid_to or day) < day
    ]
    shares: dict[str, Decimal] = defaultdict(Decimal)
    defaults: dict[str, int] = defaultdict(int)
    for row in changes.successions:
        shares[row.predecessor] += row.share
        defaults[row.predecessor] += int(row.is_default)
    problems += [
        _("The shares of %(code)s add up to %(total)s, not 1.") % {"code": code, "total": total}
        for code, total in shares.items()
        if abs(total - 1) > Decimal("0.0005")
    ]
    problems += [
        _("%(code)s needs exactly one default successor.") % {"code": code} for code, n in defaults.items() if n != 1
    ]
    return problems


def reorganisation_preview(*, reorganisation: Reorganisation) -> Preview:
    """What applying the reorganisation would do, and what stands in its way; changes nothing."""
    changes = Changes.from_json(reorganisation.changes)
    units = _units_by_code(
        [*changes.ended, *(m.unit for m in changes.moved), *(row.code for row in changes.created)]
        + [row.parent for row in changes.created]
        + [s.predecessor for s in changes.successions]
        + [s.successor for s in changes.successions]
        + [m.parent for m in changes.moved]
    )
    day = _last_day(reorganisation)
    ended_ids = _ended_subtrees([units[c] for c in changes.ended if c in units], day)
    return Preview(
        created=len(changes.created),
        ended=len(ended_ids),
        moved=len(changes.moved),
        successions=len(changes.successions),
        roles=RoleAssignment.objects.filter(org_unit_id__in=ended_ids).count(),
        impacts=[counter(ended_ids, day) for counter in _impacts],
        problems=_problems(changes, units, reorganisation),
    )


def units_create(rows: Sequence[NewUnit], *, valid_from: date | None, units: dict[str, OrgUnit] | None = None) -> None:
    """Creates units in bulk, each path the next free one under its parent (a parent may itself be
    among the rows: they are placed parents first). `units` holds units already read, by code."""
    units = units if units is not None else {}
    units.update(_units_by_code(row.parent for row in rows if row.parent not in units))
    pending = list(rows)
    next_step: dict[str, int] = {}
    added: Counter[str] = Counter()
    added_here: set[str] = set()
    while pending:
        ready = [row for row in pending if row.parent in units]
        if not ready:
            raise Invalid(
                _("The parent of %(code)s is neither an existing unit nor created by the change.")
                % {"code": pending[0].code},
                code="reorganisation_invalid",
            )
        # A parent created by this call has no children yet; others are asked for their last.
        for parent_path in {units[row.parent].path for row in ready} - set(next_step) - set(added_here):
            last = (
                OrgUnit.objects.filter(path__startswith=parent_path, depth=len(parent_path) // OrgUnit.steplen + 1)
                .order_by("-path")
                .values_list("path", flat=True)
                .first()
            )
            next_step[parent_path] = int(last[-OrgUnit.steplen :], 36) + 1 if last else 1
        tenants = dict(Tenant.objects.filter(slug__in={row.tenant for row in ready}).values_list("slug", "pk"))
        created = []
        for row in ready:
            parent = units[row.parent]
            step = next_step[parent.path]
            next_step[parent.path] = step + 1
            added[parent.path] += 1
            created.append(
                OrgUnit(
                    path=OrgUnit._get_path(parent.path, parent.depth + 1, step),
                    depth=parent.depth + 1,
                    numchild=0,
                    code=row.code,
                    name=row.name,
                    level=row.level,
                    unit_type=row.unit_type,
                    official_code=row.official_code,
                    facility_kind=row.facility_kind,
                    latitude=row.latitude,
                    longitude=row.longitude,
                    tenant_id=tenants[row.tenant] if row.tenant else parent.tenant_id,
                    valid_from=valid_from,
                )
            )
        for unit in OrgUnit.objects.bulk_create(created, batch_size=500):
            units[unit.code] = unit
            added_here.add(unit.path)
            next_step[unit.path] = 1
        done = {row.code for row in ready}
        pending = [row for row in pending if row.code not in done]
    _count_children(added)


def _count_children(added: Counter[str]) -> None:
    """treebeard's numchild, raised by the children added under each path (a few updates: the
    parents are grouped by how many they got)."""
    by_count: dict[int, list[str]] = defaultdict(list)
    for path, count in added.items():
        by_count[count].append(path)
    for count, paths in by_count.items():
        for chunk in _chunks(paths):
            OrgUnit.objects.filter(path__in=chunk).update(numchild=F("numchild") + count)


@transaction.atomic
def roles_move_to_successors(*, roles: QuerySet[RoleAssignment], on: date, by: User | None, reason: str) -> int:
    """Each of these roles held on a unit that has ended by `on` goes to the unit's default
    successor (a role on a unit with none stays: it simply ends with the unit), with an audit entry
    naming both and the reason (the reorganisation, or the admin's action). Returns how many moved."""
    defaults = dict(
        UnitSuccession.objects.filter(
            predecessor__in=roles.filter(org_unit__valid_to__lt=on).values("org_unit_id"), is_default=True
        ).values_list("predecessor_id", "successor_id")
    )
    moved = 0
    events = []
    successors = OrgUnit.objects.in_bulk(set(defaults.values()))
    for role in roles.filter(org_unit_id__in=defaults).select_related("user", "org_unit"):
        successor = successors[defaults[role.org_unit_id]]
        old = role.org_unit
        duplicate = RoleAssignment.objects.filter(user=role.user, role=role.role, org_unit=successor).exists()
        if not duplicate:
            RoleAssignment.objects.filter(pk=role.pk).update(org_unit=successor)
            moved += 1
        events.append(
            AuditEvent(
                kind=AuditKind.ROLE_MOVED,
                actor=by.get_username() if by is not None else "",
                username=role.user.get_username(),
                tenant_id=successor.tenant_id,
                details={
                    "role": role.role,
                    "org_unit": [f"{old.name} ({old.code})", f"{successor.name} ({successor.code})"],
                    "reason": reason,
                    "already_held": duplicate,
                },
            )
        )
    AuditEvent.objects.bulk_create(events)
    return moved


@transaction.atomic
def reorganisation_apply(*, reorganisation: Reorganisation, by: User | None) -> Preview:
    """Applies a recorded reorganisation as one transaction (see the module's docstring)."""
    reorganisation = Reorganisation.objects.select_for_update().get(pk=reorganisation.pk)
    if reorganisation.applied_at is not None:
        raise Invalid(_("This reorganisation has already been applied."), code="reorganisation_applied")
    preview = reorganisation_preview(reorganisation=reorganisation)
    if preview.problems:
        raise Invalid(" ".join(preview.problems), code="reorganisation_invalid")
    changes = Changes.from_json(reorganisation.changes)
    day = _last_day(reorganisation)
    units = _units_by_code(
        [*changes.ended, *(m.unit for m in changes.moved), *(m.parent for m in changes.moved)]
        + [row.parent for row in changes.created]
        + [s.predecessor for s in changes.successions]
        + [s.successor for s in changes.successions]
    )
    units_create(changes.created, valid_from=reorganisation.effective_on, units=units)
    ended_ids = _ended_subtrees([units[code] for code in changes.ended], day)
    OrgUnit.objects.filter(pk__in=ended_ids).update(valid_to=day)
    UnitSuccession.objects.bulk_create(
        [
            UnitSuccession(
                predecessor=units[row.predecessor],
                successor=units[row.successor],
                share=row.share,
                is_default=row.is_default,
                reorganisation=reorganisation,
            )
            for row in changes.successions
        ],
        batch_size=2000,
    )
    for move in changes.moved:
        # A moved subtree takes the tenant of its new place; treebeard rewrites its paths.
        unit = OrgUnit.objects.get(pk=units[move.unit].pk)
        target = OrgUnit.objects.get(pk=units[move.parent].pk)
        OrgUnit.objects.move(unit, target, "last-child")
        moved_unit = OrgUnit.objects.get(pk=unit.pk)
        OrgUnit.objects.filter(path__startswith=moved_unit.path).exclude(tenant_id=target.tenant_id).update(
            tenant_id=target.tenant_id
        )
    preview.roles = roles_move_to_successors(
        roles=RoleAssignment.objects.filter(org_unit_id__in=ended_ids),
        on=reorganisation.effective_on,
        by=by,
        reason=str(reorganisation),
    )
    reorganisation.applied_at = timezone.now()
    reorganisation.applied_by = by.get_username() if by is not None else ""
    reorganisation.summary = preview.as_json()
    reorganisation.save(update_fields=["applied_at", "applied_by", "summary"])
    return preview
