from typing import Any

from rest_framework import serializers

from budgets.models import BudgetLine
from budgets.selectors import budget_line_list
from healthplans.api import SelectorDetailAPI, SelectorListAPI


class BudgetLineOutputSerializer(serializers.ModelSerializer):
    agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    funding_source: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = BudgetLine
        fields = ["id", "plan", "parent", "code", "name", "agency", "year", "amount", "amount_text", "funding_source"]


class BudgetLineListAPI(SelectorListAPI):
    OutputSerializer = BudgetLineOutputSerializer
    selector = budget_line_list


class BudgetLineDetailAPI(SelectorDetailAPI):
    OutputSerializer = BudgetLineOutputSerializer
    selector = budget_line_list
