"""Reads of plans. A user sees the plans issued in their reach and those above it (the plans
their units work under); a national viewer sees every plan."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from django_filters import CharFilter, FilterSet

from healthplans.selectors import Actor, reach_of
from plans.models import Assignment, Plan, Section, Task


class PlanFilter(FilterSet):
    tenant = CharFilter(field_name="tenant__slug")
    slug = CharFilter(field_name="slug")

    class Meta:
        model = Plan
        fields = ["tenant", "slug", "kind", "status"]


def plan_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Plan]:
    qs = Plan.objects.filter(reach_of(fetched_by).lineage_q("issuer_org_unit__path")).select_related("tenant")
    return PlanFilter(filters or {}, qs).qs


def plan_detail_list(*, fetched_by: Actor) -> QuerySet[Plan]:
    """The visible plans with everything their detail shows, in a fixed number of queries."""
    return plan_list(fetched_by=fetched_by).prefetch_related(
        "objectives",
        Prefetch(
            "sections",
            queryset=Section.objects.order_by("order").prefetch_related(
                Prefetch("tasks", queryset=Task.objects.select_related("lead").order_by("order"))
            ),
        ),
        Prefetch("assignments", queryset=Assignment.objects.select_related("agency").order_by("order")),
    )


def plan_get(*, fetched_by: Actor, slug: str) -> Plan | None:
    return plan_detail_list(fetched_by=fetched_by).filter(slug=slug).first()
