"""Reads of the core. Every read of tenant data takes the acting user and returns only what
that user may see; a missing object and a forbidden one both raise Http404."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django_filters import CharFilter, DateFilter, FilterSet, NumberFilter

from healthplans.models import Agency, OrgUnit, Reorganisation, Role, RoleAssignment, Tenant, UnitSuccession, User
from healthplans.territory import origin_paths, path_ancestry

# Whoever makes a request: a user, or nobody yet (who reaches nothing).
Actor = User | AnonymousUser


@dataclass(frozen=True)
class Reach:
    """The org units a user's roles reach: each assigned unit and its subtree."""

    everything: bool
    paths: tuple[str, ...]

    def subtree_q(self, path_field: str = "path") -> Q:
        """Rows whose unit lies in a reached subtree."""
        if self.everything:
            return Q()
        q = Q(pk__in=[])
        for path in self.paths:
            q |= Q(**{f"{path_field}__startswith": path})
        return q

    def lineage_q(self, path_field: str = "path") -> Q:
        """Rows whose unit is in a reached subtree or above one, or above a unit that a reached one
        succeeded (the plans a unit works under, including those issued before a reorganisation
        for the territory it now holds)."""
        if self.everything:
            return Q()
        return self.subtree_q(path_field) | Q(**{f"{path_field}__in": self.origins})

    @cached_property
    def origins(self) -> list[str]:
        """The paths above the reached units and above the units they succeeded (read once)."""
        return sorted({origin for path in self.paths for origin in origin_paths(path)})


def reach_of(user: Actor) -> Reach:
    cached: Reach | None = getattr(user, "_healthplans_reach", None)
    if cached is not None:
        return cached
    if isinstance(user, AnonymousUser) or not user.is_active:
        reach = Reach(everything=False, paths=())
    elif user.is_superuser:
        reach = Reach(everything=True, paths=())
    else:
        paths = sorted(set(user.role_assignments.values_list("org_unit__path", flat=True)))
        # Keep only the topmost paths: a subtree inside another adds nothing.
        top = tuple(p for p in paths if not any(p != q and p.startswith(q) for q in paths))
        reach = Reach(everything=any(len(p) == OrgUnit.steplen for p in top), paths=top)
    user._healthplans_reach = reach  # type: ignore[union-attr]  # memoised for the request
    return reach


def tenant_ids_of(user: Actor) -> list[int] | None:
    """The tenants a user works in; None means every tenant (national viewer, superuser)."""
    reach = reach_of(user)
    if reach.everything:
        return None
    return list(
        OrgUnit.objects.filter(reach.lineage_q(), tenant__isnull=False).values_list("tenant_id", flat=True).distinct()
    )


def tenant_q(user: Actor, field: str = "tenant") -> Q:
    tenant_ids = tenant_ids_of(user)
    return Q() if tenant_ids is None else Q(**{f"{field}__in": tenant_ids})


def tenant_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Tenant]:
    return Tenant.objects.filter(tenant_q(fetched_by, "id")).order_by("name")


class OrgUnitFilter(FilterSet):
    tenant = CharFilter(field_name="tenant__slug")
    parent = NumberFilter(method="filter_parent")
    level = CharFilter(field_name="level")
    valid_on = DateFilter(method="filter_valid_on")
    code = CharFilter(method="filter_code")
    q = CharFilter(method="filter_q")

    class Meta:
        model = OrgUnit
        fields = ["tenant", "parent", "level"]

    def filter_parent(self, queryset: QuerySet[OrgUnit], name: str, value: int) -> QuerySet[OrgUnit]:
        parent = OrgUnit.objects.filter(pk=value).only("path", "depth").first()
        if parent is None:
            return queryset.none()
        return queryset.filter(path__startswith=parent.path, depth=parent.depth + 1)

    def filter_valid_on(self, queryset: QuerySet[OrgUnit], name: str, value: date) -> QuerySet[OrgUnit]:
        return queryset.filter(OrgUnit.valid_on_q(value))

    def filter_code(self, queryset: QuerySet[OrgUnit], name: str, value: str) -> QuerySet[OrgUnit]:
        """Our code or the official one (which a former and a present unit may share)."""
        return queryset.filter(Q(code=value) | Q(official_code=value))

    def filter_q(self, queryset: QuerySet[OrgUnit], name: str, value: str) -> QuerySet[OrgUnit]:
        """By name, as it is or as a unit it succeeded was called, or by code."""
        named = Q(name__icontains=value) | Q(code__istartswith=value) | Q(official_code__startswith=value)
        formerly = UnitSuccession.objects.filter(predecessor__name__icontains=value).values("successor_id")
        return queryset.filter(named | Q(pk__in=formerly))


def org_unit_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(reach_of(fetched_by).subtree_q()).select_related("tenant").order_by("path")
    return OrgUnitFilter(filters or {}, qs).qs


def with_successions(units: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """The units with their successors and predecessors read alongside (two queries in all)."""
    return units.prefetch_related(
        Prefetch("successions", UnitSuccession.objects.select_related("successor").order_by("successor__code")),
        Prefetch("inheritances", UnitSuccession.objects.select_related("predecessor").order_by("predecessor__code")),
    )


def org_unit_lineage(*, unit_id: int, fetched_by: Actor) -> tuple[OrgUnit, list[UnitSuccession], list[UnitSuccession]]:
    """A unit within reach and every succession that leads to it and away from it, however many
    reorganisations back or forward (predecessors' predecessors, successors' successors)."""
    unit = org_unit_list(fetched_by=fetched_by).filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    before: list[UnitSuccession] = []
    after: list[UnitSuccession] = []
    for found, key, step in ((before, "successor_id", "predecessor_id"), (after, "predecessor_id", "successor_id")):
        frontier, seen = {unit.pk}, {unit.pk}
        while frontier:
            rows = list(
                UnitSuccession.objects.filter(**{f"{key}__in": frontier}).select_related("predecessor", "successor")
            )
            found += rows
            frontier = {getattr(row, step) for row in rows} - seen
            seen |= frontier
    return unit, before, after


def reorganisation_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Reorganisation]:
    """Reorganisations are public law: every signed-in user may read them (applied ones only)."""
    if isinstance(fetched_by, AnonymousUser) or not fetched_by.is_active:
        return Reorganisation.objects.none()
    return Reorganisation.objects.filter(applied_at__isnull=False).order_by("-effective_on", "-pk")


class AgencyFilter(FilterSet):
    tenant = CharFilter(field_name="tenant__slug")

    class Meta:
        model = Agency
        fields = ["tenant"]


def agency_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Agency]:
    qs = Agency.objects.filter(tenant_q(fetched_by)).select_related("tenant").order_by("tenant__name", "name")
    return AgencyFilter(filters or {}, qs).qs


def ancestor_paths(unit: OrgUnit) -> list[str]:
    """The paths of a unit and of every unit above it."""
    return path_ancestry(unit.path)


def roles_at(user: Actor, unit: OrgUnit) -> set[str]:
    """The roles a user holds on the unit or on a unit above it (roles reach their subtree)."""
    if isinstance(user, AnonymousUser) or not user.is_active:
        return set()
    if user.is_superuser:
        return set(Role.values)
    return set(
        RoleAssignment.objects.filter(user=user, org_unit__path__in=ancestor_paths(unit)).values_list("role", flat=True)
    )


def signed_in_user(user: Actor) -> User:
    """The user a request acts as once login_required or IsAuthenticated let it through; anyone
    else is refused rather than assumed away."""
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def paths_with_roles(user: Actor, roles: Collection[str]) -> list[str]:
    """The paths of the units on which the user holds one of these roles (each reaching its subtree)."""
    if isinstance(user, AnonymousUser) or not user.is_active:
        return []
    return list(
        RoleAssignment.objects.filter(user=user, role__in=roles).values_list("org_unit__path", flat=True).distinct()
    )
