"""Reads of indicators: visible exactly when their plan is."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from django_filters import CharFilter, FilterSet, NumberFilter

from healthplans.selectors import Actor
from indicators.models import Indicator, Target
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
