"""API of budget lines and of what is allocated and disbursed on them (the figures' workflow)."""

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from budgets.models import BudgetExecution, BudgetExecutionEvent, BudgetLine
from budgets.selectors import (
    GroupFigures,
    LineFigures,
    budget_execution_get_or_404,
    budget_execution_history,
    budget_execution_list,
    budget_line_list,
    budget_summary,
    execution_rate,
)
from budgets.services import (
    MAX_AMOUNT,
    budget_execution_approve,
    budget_execution_create,
    budget_execution_return,
    budget_execution_submit,
    budget_execution_unlock,
    budget_execution_update,
    execution_warnings,
)
from healthplans.api import (
    HistoryAPI,
    HistoryEntrySerializer,
    RecordAccess,
    RecordDetailAPI,
    ReviewedRecordSerializer,
    SelectorListAPI,
    found_or_invalid,
    related_by,
    selector_apis,
    workflow_apis,
)
from healthplans.errors import current_shown_by
from healthplans.periods import PeriodError, parse_period
from plans.selectors import plan_get_or_404


class BudgetLineOutputSerializer(serializers.ModelSerializer):
    agency = related_by("code")
    funding_source = related_by("code")

    class Meta:
        model = BudgetLine
        fields = ["id", "plan", "parent", "code", "name", "agency", "year", "amount", "amount_text", "funding_source"]


BudgetLineListAPI, BudgetLineDetailAPI = selector_apis(BudgetLineOutputSerializer, budget_line_list)


class BudgetExecutionOutputSerializer(ReviewedRecordSerializer):
    """What was allocated and disbursed on a budget line for a period, and where its review stands."""

    plan = serializers.IntegerField(source="budget_line.plan_id", read_only=True)
    rate = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = BudgetExecution
        fields = [
            "id",
            "budget_line",
            "plan",
            "period",
            "allocated",
            "disbursed",
            "rate",
            "warnings",
            "note",
            *ReviewedRecordSerializer.REVIEW_FIELDS,
        ]

    def get_rate(self, obj: BudgetExecution) -> str | None:
        """Disbursed as a percentage of allocated, as a decimal string ("45.3")."""
        rate = execution_rate(obj.allocated, obj.disbursed)
        return None if rate is None else str(rate)

    def get_warnings(self, obj: BudgetExecution) -> list[str]:
        return execution_warnings(obj)


current_shown_by(BudgetExecution, BudgetExecutionOutputSerializer)


def visible_execution(request: Request, pk: int) -> BudgetExecution:
    return budget_execution_get_or_404(fetched_by=request.user, pk=pk)


EXECUTION = RecordAccess("execution", visible_execution, BudgetExecutionOutputSerializer)


NOT_SAVED = gettext_lazy("The amounts were not saved.")


def money_input() -> serializers.IntegerField:
    """Whole đồng as a JSON integer; null until known."""
    return serializers.IntegerField(min_value=0, max_value=MAX_AMOUNT, allow_null=True, required=False)


class BudgetExecutionListCreateAPI(SelectorListAPI):
    """GET: the amounts of visible plans (filters budget_line, plan, period, status). POST: a new draft,
    amounts in whole đồng."""

    OutputSerializer = BudgetExecutionOutputSerializer
    selector = budget_execution_list

    class InputSerializer(serializers.Serializer):
        budget_line = serializers.IntegerField()
        period = serializers.CharField(max_length=16)
        allocated = money_input()
        disbursed = money_input()
        note = serializers.CharField(allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses={201: BudgetExecutionOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        lines = budget_line_list(fetched_by=request.user).select_related("plan__issuer_org_unit")
        line = found_or_invalid(lines, fields.pop("budget_line"), field="budget_line", message=NOT_SAVED)
        fields.setdefault("allocated", None)
        fields.setdefault("disbursed", None)
        execution = budget_execution_create(budget_line=line, by=request.user, **fields)  # type: ignore[arg-type]
        return Response(BudgetExecutionOutputSerializer(execution).data, status=201)


class BudgetExecutionDetailAPI(RecordDetailAPI):
    """GET one line's amounts for a period; PATCH {"version", "allocated", "disbursed", "note"} (an amount
    left out keeps its value)."""

    access = EXECUTION
    update = budget_execution_update

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1)
        allocated = money_input()
        disbursed = money_input()
        note = serializers.CharField(allow_blank=True, required=False)

    def patched(self, record: BudgetExecution, fields: dict[str, Any]) -> dict[str, Any]:
        return {"allocated": record.allocated, "disbursed": record.disbursed, **fields}


BudgetExecutionSubmitAPI, BudgetExecutionApproveAPI, BudgetExecutionReturnAPI, BudgetExecutionUnlockAPI = workflow_apis(
    EXECUTION, budget_execution_submit, budget_execution_approve, budget_execution_return, budget_execution_unlock
)


class BudgetExecutionHistoryAPI(HistoryAPI):
    """Every step of one line's amounts for a period: who, when, the amounts before and after, why."""

    class OutputSerializer(HistoryEntrySerializer):
        """One step of the amounts' history."""

        class Meta:
            model = BudgetExecutionEvent
            fields = [
                "at",
                "by",
                "action",
                "old_allocated",
                "new_allocated",
                "old_disbursed",
                "new_disbursed",
                "message",
            ]

    access = EXECUTION
    history = budget_execution_history


def rate_text(rate: Decimal | None) -> str | None:
    return None if rate is None else str(rate)


class PlanBudgetSummaryAPI(GenericAPIView):
    """A plan's budget execution for a period, from approved amounts: per line, agency, funding
    source and for the whole plan. Rates are percentages as decimal strings ("45.3")."""

    class OutputSerializer(serializers.Serializer):
        class GroupSerializer(serializers.Serializer):
            key = serializers.CharField()
            name = serializers.CharField(source="label")
            planned = serializers.IntegerField()
            allocated = serializers.IntegerField(allow_null=True)
            disbursed = serializers.IntegerField(allow_null=True)
            rate = serializers.SerializerMethodField()

            def get_rate(self, group: GroupFigures) -> str | None:
                return rate_text(group.rate)

        class LineSerializer(serializers.Serializer):
            budget_line = serializers.IntegerField(source="line.pk")
            parent = serializers.IntegerField(source="line.parent_id", allow_null=True)  # type: ignore[assignment]  # shadows Field.parent
            code = serializers.CharField(source="line.code")
            name = serializers.CharField(source="line.name")
            year = serializers.IntegerField(source="line.year")
            depth = serializers.IntegerField()
            planned = serializers.IntegerField()
            planned_below = serializers.IntegerField(allow_null=True)
            allocated = serializers.IntegerField(allow_null=True)
            disbursed = serializers.IntegerField(allow_null=True)
            rate = serializers.SerializerMethodField()
            recorded_allocated = serializers.IntegerField(source="own.allocated", allow_null=True)
            recorded_disbursed = serializers.IntegerField(source="own.disbursed", allow_null=True)
            planned_mismatch = serializers.BooleanField()
            execution_mismatch = serializers.BooleanField()

            def get_rate(self, line: LineFigures) -> str | None:
                return rate_text(line.rate)

        plan = serializers.IntegerField(source="plan.pk")
        period = serializers.CharField(source="period.code")
        total = GroupSerializer()
        by_agency = GroupSerializer(many=True)
        by_funding_source = GroupSerializer(many=True)
        lines = LineSerializer(many=True)
        awaiting_approval = serializers.IntegerField(source="awaiting")

    serializer_class = OutputSerializer

    @extend_schema(parameters=[OpenApiParameter("period", str, required=True)])
    def get(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        try:
            period = parse_period(request.query_params.get("period", ""))
        except PeriodError as error:
            return Response({"code": "invalid", "detail": str(error), "errors": {"period": [str(error)]}}, 400)
        summary = budget_summary(fetched_by=request.user, plan=plan, period=period)
        return Response(self.OutputSerializer(summary).data)
