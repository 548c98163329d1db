"""Reads of budget lines: visible exactly when their plan is."""

from typing import Any

from django.db.models import QuerySet
from django_filters import FilterSet, NumberFilter

from budgets.models import BudgetLine
from healthplans.selectors import Actor
from plans.selectors import plan_list


class BudgetLineFilter(FilterSet):
    plan = NumberFilter(field_name="plan_id")

    class Meta:
        model = BudgetLine
        fields = ["plan", "year"]


def budget_line_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[BudgetLine]:
    qs = (
        BudgetLine.objects.filter(plan__in=plan_list(fetched_by=fetched_by))
        .select_related("agency", "funding_source")
        .order_by("plan_id", "order")
    )
    return BudgetLineFilter(filters or {}, qs).qs
