from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

# The core's pieces of a reviewed record's API, by name (core.RecordDetailAPI, …).
from healthplans import api as core
from healthplans.errors import current_shown_by
from healthplans.pagination import UncountedPagination
from healthplans.periods import PeriodError, parse_period
from healthplans.selectors import org_unit_list
from indicators.models import COMPARATOR_VALUES, Actual, ActualEvent, Baseline, Indicator, Target
from indicators.progress import IndicatorProgress, plan_progress
from indicators.selectors import actual_get, actual_history, actual_rows, indicator_list, progress_unit
from indicators.services import (
    actual_approve,
    actual_create,
    actual_return,
    actual_submit,
    actual_unlock,
    actual_update,
)
from plans.selectors import plan_get_or_404


class IndicatorOutputSerializer(serializers.ModelSerializer):
    class BaselineSerializer(serializers.ModelSerializer):
        value = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)

        class Meta:
            model = Baseline
            fields = ["year", "value", "text"]

    class TargetSerializer(serializers.ModelSerializer):
        org_unit = core.related_by("code")
        comparator = serializers.ChoiceField(choices=COMPARATOR_VALUES)
        value = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)

        class Meta:
            model = Target
            fields = ["year", "org_unit", "comparator", "value", "text"]

    baseline = serializers.SerializerMethodField()
    targets = TargetSerializer(many=True, read_only=True)
    catalogue = core.related_by("code")

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
            "baseline",
            "targets",
        ]

    @extend_schema_field(BaselineSerializer(allow_null=True))
    def get_baseline(self, obj: Indicator) -> dict[str, object] | None:
        baseline = getattr(obj, "baseline", None)
        return None if baseline is None else self.BaselineSerializer(baseline).data


IndicatorListAPI, IndicatorDetailAPI = core.selector_apis(IndicatorOutputSerializer, indicator_list)


def measured() -> serializers.DecimalField:
    """A measured value as a decimal string without trailing zeros ("12.5"), or null."""
    return serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True, allow_null=True)


class ActualOutputSerializer(core.ReviewedRecordSerializer):
    """A unit's figure of an indicator for a period, and where its review stands."""

    value = measured()
    numerator = measured()
    denominator = measured()

    class Meta:
        model = Actual
        fields = [
            "id",
            "indicator",
            "org_unit",
            "period",
            "value",
            "numerator",
            "denominator",
            "note",
            "source",
            "is_demo",
            *core.ReviewedRecordSerializer.REVIEW_FIELDS,
        ]


current_shown_by(Actual, ActualOutputSerializer)


class ActualListOutputSerializer(ActualOutputSerializer):
    """The same fields, with the users' names read from actual_rows' columns, not related objects."""

    submitted_by = serializers.CharField(source="submitted_by_name", read_only=True, allow_null=True)  # type: ignore[assignment]
    reviewed_by = serializers.CharField(source="reviewed_by_name", read_only=True, allow_null=True)  # type: ignore[assignment]


def visible_actual(request: Request, pk: int) -> Actual:
    actual = actual_get(fetched_by=request.user, pk=pk)
    if actual is None:
        raise Http404
    return actual


ACTUAL = core.RecordAccess("actual", visible_actual, ActualOutputSerializer)


class ActualListCreateAPI(core.SelectorListAPI):
    """GET: the figures within reach (filters plan, indicator, org_unit, period, status), unit by unit
    in tree order, then by plan, indicator and period; ?page= pages with next/previous links but no
    total count. POST: a new draft."""

    OutputSerializer = ActualListOutputSerializer
    selector = actual_rows
    # No total: counting a planner's figures would cost more than the page (see UncountedPagination).
    pagination_class = UncountedPagination

    class InputSerializer(serializers.Serializer):
        indicator = serializers.IntegerField()
        org_unit = serializers.IntegerField()
        period = serializers.CharField(max_length=16)
        value = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
        numerator = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True, required=False)
        denominator = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True, required=False)
        note = serializers.CharField(allow_blank=True, required=False, default="")
        source = serializers.CharField(allow_blank=True, required=False, default="", max_length=200)  # type: ignore[assignment]  # shadows Field.source

    @extend_schema(request=InputSerializer, responses={201: ActualOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        indicator = indicator_list(fetched_by=request.user).filter(pk=fields.pop("indicator")).first()
        org_unit = org_unit_list(fetched_by=request.user).filter(pk=fields.pop("org_unit")).first()
        if indicator is None or org_unit is None:
            missing = {
                name: [_("Not found among what you may see.")]
                for name, obj in (("indicator", indicator), ("org_unit", org_unit))
                if obj is None
            }
            return Response({"code": "invalid", "detail": _("The figure was not saved."), "errors": missing}, 400)
        actual = actual_create(indicator=indicator, org_unit=org_unit, by=request.user, **fields)  # type: ignore[arg-type]
        return Response(ActualOutputSerializer(actual).data, status=201)


class ActualDetailAPI(core.RecordDetailAPI):
    """GET one figure; PATCH {"value", "version"} (and note, numerator, denominator)."""

    access = ACTUAL
    update = actual_update

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1)
        value = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
        numerator = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True, required=False)
        denominator = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True, required=False)
        note = serializers.CharField(allow_blank=True, required=False)


ActualSubmitAPI, ActualApproveAPI, ActualReturnAPI, ActualUnlockAPI = core.workflow_apis(
    ACTUAL, actual_submit, actual_approve, actual_return, actual_unlock
)


class ActualHistoryAPI(core.HistoryAPI):
    """Every step of one figure: who, when, the value before and after, why."""

    class OutputSerializer(core.HistoryEntrySerializer):
        old_value = measured()
        new_value = measured()

        class Meta:
            model = ActualEvent
            fields = ["at", "by", "action", "old_value", "new_value", "message"]

    access = ACTUAL
    history = actual_history


class PlanProgressAPI(GenericAPIView):
    """How a plan stands for a period at a unit (default: the plan's issuer, or the caller's unit)."""

    class OutputSerializer(serializers.Serializer):
        class IndicatorProgressSerializer(serializers.Serializer):
            indicator = serializers.IntegerField(source="indicator.pk")
            number = serializers.CharField(source="indicator.number")
            target = serializers.SerializerMethodField()
            actual = serializers.DecimalField(
                source="actual.value", max_digits=24, decimal_places=6, normalize_output=True, allow_null=True
            )
            provisional = serializers.BooleanField(source="actual.provisional")
            # Computed from the units this one succeeded, on today's boundaries (a period before it existed).
            recomputed = serializers.BooleanField(source="actual.recomputed")
            units = serializers.IntegerField(source="actual.units")
            status = serializers.CharField()
            progress = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)

            def get_target(self, item: IndicatorProgress) -> dict[str, str] | None:
                target = item.target
                if target is None:
                    return None
                return {"comparator": target.comparator, "value": str(target.value.normalize()), "text": target.text}

        plan = serializers.IntegerField()
        period = serializers.CharField()
        org_unit = serializers.IntegerField()
        include_submitted = serializers.BooleanField()
        indicators = IndicatorProgressSerializer(many=True)

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, required=True),
            OpenApiParameter("org_unit", int),
            OpenApiParameter("include_submitted", bool),
        ]
    )
    def get(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        params = request.query_params
        try:
            period = parse_period(params.get("period", ""))
            org_unit_id = int(params["org_unit"]) if params.get("org_unit") else None
        except (PeriodError, ValueError) as error:
            return Response({"code": "invalid", "detail": str(error), "errors": {"period": [str(error)]}}, 400)
        unit = progress_unit(fetched_by=request.user, plan=plan, org_unit_id=org_unit_id)
        if unit is None:
            raise Http404
        include_submitted = params.get("include_submitted") in {"1", "true", "True"}
        items = plan_progress(
            plan=plan,
            indicators=indicator_list(fetched_by=request.user, filters={"plan": plan.pk}),
            period=period,
            unit=unit,
            include_submitted=include_submitted,
            with_trend=False,
        )
        body = {
            "plan": plan.pk,
            "period": period.code,
            "org_unit": unit.pk,
            "include_submitted": include_submitted,
            "indicators": items,
        }
        return Response(self.OutputSerializer(body).data)
