"""API writes of what a plan measures (the plan builder): indicators, baselines, targets, their
revisions and splits. indicators.definitions does the work; refusals rise to the core's handler."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healthplans.api import found_or_invalid
from healthplans.models import OrgUnit
from healthplans.selectors import org_unit_list
from healthplans.workflow import Invalid
from indicators.api import IndicatorOutputSerializer
from indicators.definitions import (
    baseline_set,
    indicator_create,
    indicator_delete,
    indicator_update,
    target_revise,
    target_set,
    target_split,
)
from indicators.models import (
    CatalogueMeasure,
    Direction,
    EntryLevel,
    Group,
    Rollup,
    Target,
    TargetRevision,
    UnitKind,
    ValueType,
)
from indicators.selectors import indicator_get_or_404
from plans.api import NOT_SAVED
from plans.selectors import plan_get_or_404


def year_input() -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1900, max_value=2200)


class IndicatorFieldsInput(serializers.Serializer):
    """An indicator as the document writes it: its number and unit as written, and how it is read."""

    number = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=5000)
    unit = serializers.CharField(max_length=100, required=False, allow_blank=True)
    unit_kind = serializers.ChoiceField(choices=UnitKind.choices, required=False)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    rollup = serializers.ChoiceField(choices=Rollup.choices, required=False)
    entry_level = serializers.ChoiceField(choices=EntryLevel.choices, required=False)
    group = serializers.ChoiceField(choices=Group.choices, required=False, allow_blank=True)
    catalogue = serializers.SlugRelatedField(
        slug_field="code", queryset=CatalogueMeasure.objects.all(), required=False, allow_null=True
    )
    value_type = serializers.ChoiceField(choices=ValueType.choices, required=False)


class IndicatorCreateAPI(APIView):
    """A new indicator of a draft plan within reach (its planners only)."""

    class InputSerializer(IndicatorFieldsInput):
        pass

    @extend_schema(request=InputSerializer, responses={201: IndicatorOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        indicator = indicator_create(plan=plan, by=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(IndicatorOutputSerializer(indicator).data, status=201)


class IndicatorUpdateAPI(APIView):
    """Changes the fields given; on an issued plan only the wording."""

    class InputSerializer(IndicatorFieldsInput):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, partial=True, **kwargs)

    @extend_schema(request=InputSerializer, responses={200: IndicatorOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        indicator = indicator_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        indicator_update(indicator=indicator, fields=data.validated_data, by=request.user)  # type: ignore[arg-type]
        return Response(IndicatorOutputSerializer(indicator_get_or_404(fetched_by=request.user, pk=pk)).data)


class IndicatorDeleteAPI(APIView):
    """Deletes a draft plan's indicator without figures."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        indicator_delete(indicator=indicator_get_or_404(fetched_by=request.user, pk=pk), by=request.user)  # type: ignore[arg-type]
        return Response(status=204)


class BaselineSetAPI(APIView):
    """The indicator's baseline as written ("94,15", "17/17")."""

    class InputSerializer(serializers.Serializer):
        year = year_input()
        text = serializers.CharField(max_length=200)

    @extend_schema(request=InputSerializer, responses={200: IndicatorOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        indicator = indicator_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        baseline_set(indicator=indicator, by=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(IndicatorOutputSerializer(indicator_get_or_404(fetched_by=request.user, pk=pk)).data)


def unit_in_reach(request: Request, pk: int) -> OrgUnit:
    """An org unit named by id in a body, within the user's reach (400 if not)."""
    return found_or_invalid(org_unit_list(fetched_by=request.user), pk, field="org_unit", message=NOT_SAVED)


class TargetOutputSerializer(serializers.ModelSerializer):
    value = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)

    class Meta:
        model = Target
        fields = ["id", "indicator", "year", "org_unit", "comparator", "value", "text", "revision_count", "revised_by"]


class TargetSetAPI(APIView):
    """A draft plan's target of a year, plan-wide or at `org_unit`, as written ("≥80%", "còn dưới 9,98%")."""

    class InputSerializer(serializers.Serializer):
        year = year_input()
        text = serializers.CharField(max_length=200)
        org_unit = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(request=InputSerializer, responses={200: TargetOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        indicator = indicator_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        unit_id = fields.pop("org_unit", None)
        unit = None if unit_id is None else unit_in_reach(request, unit_id)
        target = target_set(indicator=indicator, org_unit=unit, by=request.user, **fields)  # type: ignore[arg-type]
        return Response(TargetOutputSerializer(target).data)


class TargetReviseAPI(APIView):
    """Điều chỉnh chỉ tiêu: an issued plan's target of a year (plan-wide or at `org_unit`) becomes
    `text`, for `reason`, by the decision `decision_number` of `decision_date`."""

    class InputSerializer(serializers.Serializer):
        year = year_input()
        org_unit = serializers.IntegerField(required=False, allow_null=True)
        text = serializers.CharField(max_length=200)
        reason = serializers.CharField(max_length=5000)
        decision_number = serializers.CharField(max_length=100)
        decision_date = serializers.DateField()

    class OutputSerializer(serializers.ModelSerializer):
        old_value = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)
        new_value = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)

        class Meta:
            model = TargetRevision
            fields = [
                "id", "target", "old_comparator", "old_value", "old_text", "new_comparator", "new_value",
                "new_text", "reason", "decision_number", "decision_date", "at",
            ]  # fmt: skip

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        indicator = indicator_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        unit_id = fields.pop("org_unit", None)
        unit = None if unit_id is None else unit_in_reach(request, unit_id)
        target = Target.objects.filter(indicator=indicator, year=fields.pop("year"), org_unit=unit).first()
        if target is None:
            raise Invalid(str(NOT_SAVED), fields={"year": [_("The plan sets no target of this year there.")]})
        revision = target_revise(target=target, by=request.user, **fields)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(revision).data, status=201)


class TargetSplitAPI(APIView):
    """Splits the plan-wide target of a year across the plan's communes: `values` maps a unit id to
    its target as written; without it a count is divided evenly and a rate kept."""

    class InputSerializer(serializers.Serializer):
        year = year_input()
        values = serializers.DictField(child=serializers.CharField(max_length=200), required=False, allow_null=True)
        level = serializers.ChoiceField(choices=EntryLevel.choices, required=False, default=EntryLevel.COMMUNE)

    @extend_schema(request=InputSerializer, responses={200: TargetOutputSerializer(many=True)})
    def post(self, request: Request, pk: int) -> Response:
        indicator = indicator_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        values = None
        if fields.get("values") is not None:
            if not all(key.isdigit() for key in fields["values"]):
                raise Invalid(str(NOT_SAVED), fields={"values": [_("Name each unit by its id.")]})
            values = {unit_in_reach(request, int(key)): text for key, text in fields["values"].items()}
        targets = target_split(
            indicator=indicator,
            year=fields["year"],
            values=values,
            level=fields["level"],
            by=request.user,  # type: ignore[arg-type]
        )
        return Response(TargetOutputSerializer(targets, many=True).data)
