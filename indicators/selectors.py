"""Reads of indicators: visible exactly when their plan is."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Prefetch, QuerySet
from django_filters import CharFilter, FilterSet, NumberFilter

from healthplans.models import OrgUnit, Role, User
from healthplans.selectors import Actor, Reach, paths_with_roles, reach_of, roles_at
from healthplans.workflow import ReviewStatus
from indicators.models import WRITER_ROLES, Actual, ActualEvent, Indicator, Target, is_entry_unit
from plans.models import Plan
from plans.selectors import plan_list


class IndicatorFilter(FilterSet):
    plan = NumberFilter(field_name="plan_id")
    plan_slug = CharFilter(field_name="plan__slug")
    catalogue = CharFilter(field_name="catalogue__code")

    class Meta:
        model = Indicator
        fields = ["plan", "plan_slug", "group", "catalogue"]


def indicator_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Indicator]:
    qs = (
        Indicator.objects.filter(plan__in=plan_list(fetched_by=fetched_by))
        .select_related("baseline", "catalogue")
        .prefetch_related(Prefetch("targets", queryset=Target.objects.select_related("org_unit").order_by("year")))
        .order_by("plan_id", "order")
    )
    return IndicatorFilter(filters or {}, qs).qs


class ActualFilter(FilterSet):
    plan = NumberFilter(field_name="indicator__plan_id")
    indicator = NumberFilter(field_name="indicator_id")
    org_unit = NumberFilter(field_name="org_unit_id")
    period = CharFilter(field_name="period")
    status = CharFilter(field_name="status")

    class Meta:
        model = Actual
        fields = ["plan", "indicator", "org_unit", "period", "status"]


def actual_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Actual]:
    """Actuals of units in the user's reach, under plans the user can see."""
    # Unit by unit in tree order, then each unit's figures by plan, indicator and period. The reach is
    # a condition on the joined unit's path, so that the database walks the units in reach along the
    # path index and reads each one's figures by the unit index, sorting only one unit's figures at a
    # time: a page costs the same whether the reach holds a thousand figures or millions.
    qs = (
        Actual.objects.filter(
            reach_of(fetched_by).subtree_q("org_unit__path"), indicator__plan__in=plan_list(fetched_by=fetched_by)
        )
        .select_related("indicator", "org_unit", "tenant", "submitted_by", "reviewed_by")
        .order_by("org_unit__path", "indicator__plan_id", "indicator__order", "period")
    )
    return ActualFilter(filters or {}, qs).qs


def actual_rows(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Actual]:
    """actual_list for the API's list, which shows of the related rows only the names of the users who
    submitted and reviewed each figure: read as two columns (submitted_by_name, reviewed_by_name),
    not as the indicator, unit, tenant and users of every figure of a page."""
    return (
        actual_list(fetched_by=fetched_by, filters=filters)
        .select_related(None)
        .annotate(submitted_by_name=F("submitted_by__username"), reviewed_by_name=F("reviewed_by__username"))
    )


def actual_get(*, fetched_by: Actor, pk: int) -> Actual | None:
    return (
        actual_list(fetched_by=fetched_by)
        .select_related("indicator__plan__issuer_org_unit", "submitted_by", "reviewed_by")
        .filter(pk=pk)
        .first()
    )


def actual_history(*, actual: Actual) -> QuerySet[ActualEvent]:
    return actual.events.select_related("by").order_by("at", "pk")


def review_queue(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Actual]:
    """Submitted figures under the units where the user is a reviewer."""
    if isinstance(fetched_by, AnonymousUser):
        return Actual.objects.none()
    paths = role_paths(fetched_by, {Role.REVIEWER})
    reviewer_q = Reach(everything=paths is None, paths=paths or ()).subtree_q("org_unit__path")
    return actual_list(fetched_by=fetched_by, filters=filters).filter(reviewer_q, status=ReviewStatus.SUBMITTED)


def role_paths(user: Actor, roles: set[str]) -> tuple[str, ...] | None:
    """The subtrees where the user holds one of these roles; None means everywhere (a superuser)."""
    if isinstance(user, User) and user.is_active and user.is_superuser:
        return None
    return tuple(paths_with_roles(user, roles))


def writer_paths(user: Actor) -> tuple[str, ...] | None:
    """The subtrees where the user may enter figures; None means everywhere (a superuser)."""
    return role_paths(user, WRITER_ROLES)


def may_write(paths: tuple[str, ...] | None, unit: OrgUnit) -> bool:
    """Whether a unit lies in the subtrees of `role_paths` (or `writer_paths`)."""
    return paths is None or any(unit.path.startswith(p) for p in paths)


def entry_indicators(*, fetched_by: Actor, plan: Plan, unit: OrgUnit) -> list[Indicator]:
    """The plan's indicators whose figures are entered at this unit, if the user may enter them."""
    if not roles_at(fetched_by, unit) & WRITER_ROLES:
        return []
    items = indicator_list(fetched_by=fetched_by, filters={"plan": plan.pk}).select_related("plan__issuer_org_unit")
    return [indicator for indicator in items if is_entry_unit(indicator, unit)]


def progress_unit(*, fetched_by: Actor, plan: Plan, org_unit_id: int | None) -> OrgUnit | None:
    """The unit a progress view is about: the one asked for if within reach, else the plan's issuer
    (or the user's own unit under it); None if the user reaches no part of the plan."""
    reach = reach_of(fetched_by)
    visible = OrgUnit.objects.filter(reach.subtree_q())
    if org_unit_id is not None:
        return visible.filter(pk=org_unit_id).first()
    issuer = plan.issuer_org_unit
    if visible.filter(pk=issuer.pk).exists():
        return issuer
    return visible.filter(path__startswith=issuer.path).order_by("depth", "path").first()
