"""API writes of a plan's budget lines (the plan builder): budgets.lines does the work."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from budgets.api import BudgetLineOutputSerializer
from budgets.lines import budget_line_create, budget_line_delete, budget_line_update
from budgets.models import BudgetLine, FundingSource
from budgets.selectors import budget_line_get_or_404
from healthplans.api import found_or_invalid
from healthplans.models import Agency
from plans.api import NOT_SAVED
from plans.models import Plan
from plans.selectors import plan_get_or_404


class LineFieldsInput(serializers.Serializer):
    """A budget line as the document writes it; parent, agency and task section by id. Its code
    ("I.1") is `line_code`: an answer's "code" names why a request was refused."""

    line_code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=5000)
    year = serializers.IntegerField(min_value=1900, max_value=2200)
    amount_text = serializers.CharField(max_length=100)
    parent = serializers.IntegerField(required=False, allow_null=True)  # type: ignore[assignment]  # shadows Field.parent
    agency = serializers.IntegerField(required=False, allow_null=True)
    funding_source = serializers.SlugRelatedField(
        slug_field="code", queryset=FundingSource.objects.all(), required=False, allow_null=True
    )
    task_section = serializers.IntegerField(required=False, allow_null=True)


def line_relations(plan: Plan, data: dict[str, Any]) -> dict[str, Any]:
    """The ids a body names, found among the plan's lines and sections and its province's agencies."""
    fields = dict(data)
    if "line_code" in fields:
        fields["code"] = fields.pop("line_code")
    found_in = {
        "parent": BudgetLine.objects.filter(plan=plan),
        "agency": Agency.objects.filter(tenant=plan.tenant),
        "task_section": plan.sections.all(),
    }
    for name, queryset in found_in.items():
        if fields.get(name) is not None:
            fields[name] = found_or_invalid(queryset, fields[name], field=name, message=NOT_SAVED)
    return fields


class BudgetLineCreateAPI(APIView):
    """A line of a plan's budget, its amount as written ("2,5 tỷ")."""

    class InputSerializer(LineFieldsInput):
        pass

    @extend_schema(request=InputSerializer, responses={201: BudgetLineOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = budget_line_create(plan=plan, by=request.user, **line_relations(plan, data.validated_data))  # type: ignore[arg-type]
        return Response(BudgetLineOutputSerializer(line).data, status=201)


class BudgetLineUpdateAPI(APIView):
    """Changes the fields given of a line; a new amount_text is read again."""

    class InputSerializer(LineFieldsInput):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, partial=True, **kwargs)

    @extend_schema(request=InputSerializer, responses={200: BudgetLineOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        line = budget_line_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = line_relations(line.plan, data.validated_data)
        line = budget_line_update(line=line, fields=fields, by=request.user)  # type: ignore[arg-type]
        return Response(BudgetLineOutputSerializer(line).data)


class BudgetLineDeleteAPI(APIView):
    """Deletes a line and its children, unless amounts are entered on them (409)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        budget_line_delete(line=budget_line_get_or_404(fetched_by=request.user, pk=pk), by=request.user)  # type: ignore[arg-type]
        return Response(status=204)
