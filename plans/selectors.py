"""Reads of plans. A user sees the plans issued in their reach and those above it (the plans
their units work under); a national viewer sees every plan."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
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


def plan_get_or_404(*, fetched_by: Actor, slug: str | None = None, pk: int | None = None) -> Plan:
    """A plan within the user's reach, with its issuing unit; a missing plan and one out of reach
    are the same 404 (as Zulip's access_stream_by_id)."""
    plans = plan_list(fetched_by=fetched_by).select_related("issuer_org_unit")
    return get_object_or_404(plans, **({"slug": slug} if slug is not None else {"pk": pk}))


def plans_issued_by(units: Sequence[int], day: date) -> tuple[str, int]:
    """A reorganisation's impact: the plans issued by the units it ends (they keep applying over
    the territory those units held; healthplans.territory)."""
    return gettext("plans issued by the ended units"), Plan.objects.filter(issuer_org_unit_id__in=units).count()
