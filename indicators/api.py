from typing import Any

from rest_framework import serializers

from healthplans.api import SelectorDetailAPI, SelectorListAPI
from indicators.models import COMPARATOR_VALUES, Baseline, Indicator, Target
from indicators.selectors import indicator_list


class IndicatorOutputSerializer(serializers.ModelSerializer):
    class BaselineSerializer(serializers.ModelSerializer):
        value = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)

        class Meta:
            model = Baseline
            fields = ["year", "value", "text"]

    class TargetSerializer(serializers.ModelSerializer):
        org_unit: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
        comparator = serializers.ChoiceField(choices=COMPARATOR_VALUES)
        value = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)

        class Meta:
            model = Target
            fields = ["year", "org_unit", "comparator", "value", "text"]

    baseline = serializers.SerializerMethodField()
    targets = TargetSerializer(many=True, read_only=True)
    catalogue: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Indicator
        fields = [
            "id",
            "plan",
            "number",
            "name",
            "unit",
            "unit_kind",
            "group",
            "direction",
            "rollup",
            "entry_level",
            "catalogue",
            "flags",
            "baseline",
            "targets",
        ]

    def get_baseline(self, obj: Indicator) -> dict[str, object] | None:
        baseline = getattr(obj, "baseline", None)
        return None if baseline is None else self.BaselineSerializer(baseline).data


class IndicatorListAPI(SelectorListAPI):
    OutputSerializer = IndicatorOutputSerializer
    selector = indicator_list


class IndicatorDetailAPI(SelectorDetailAPI):
    OutputSerializer = IndicatorOutputSerializer
    selector = indicator_list
