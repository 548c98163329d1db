"""API of child plans: `POST /api/plans/{id}/children/` sets up a draft plan implementing the issued
plan `id` (indicators.children does the work; refusals rise to the core's handler)."""

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healthplans.api import found_or_invalid
from healthplans.selectors import org_unit_list, signed_in_user
from healthplans.workflow import Invalid
from indicators.api import IndicatorOutputSerializer
from indicators.children import plan_create_child
from indicators.selectors import indicator_list
from plans.api import NOT_SAVED, PlanOutputSerializer
from plans.selectors import plan_get_or_404, plan_list


class ChildIndicatorOutputSerializer(IndicatorOutputSerializer):
    class Meta(IndicatorOutputSerializer.Meta):
        fields = [*IndicatorOutputSerializer.Meta.fields, "parent_indicator"]


class PlanChildCreateAPI(APIView):
    """Lập kế hoạch con: a draft plan issued by `org_unit` (within the plan's territory, planned by
    the user), implementing the plan; `indicators` (ids of the plan's) are taken over, linked to
    the plan's and with targets prefilled from them. The years default to the plan's."""

    class InputSerializer(serializers.Serializer):
        org_unit = serializers.IntegerField()
        title = serializers.CharField(max_length=2000)
        document_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
        start_year = serializers.IntegerField(min_value=1900, max_value=2200, required=False)
        end_year = serializers.IntegerField(min_value=1900, max_value=2200, required=False)
        indicators = serializers.ListField(child=serializers.IntegerField(), max_length=500, required=False)

    class OutputSerializer(PlanOutputSerializer):
        indicators = ChildIndicatorOutputSerializer(many=True, read_only=True)

        class Meta(PlanOutputSerializer.Meta):
            fields = [*PlanOutputSerializer.Meta.fields, "issuer_org_unit", "indicators"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request.user)
        parent = plan_get_or_404(fetched_by=user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        unit = found_or_invalid(
            org_unit_list(fetched_by=user), fields.pop("org_unit"), field="org_unit", message=NOT_SAVED
        )
        wanted = set(fields.pop("indicators", []))
        indicators = list(parent.indicators.filter(pk__in=wanted))
        if len(indicators) != len(wanted):
            raise Invalid(
                str(NOT_SAVED), fields={"indicators": [_("Choose indicators of the plan being implemented.")]}
            )
        child = plan_create_child(parent=parent, org_unit=unit, fields=fields, indicators=indicators, by=user)
        shown = plan_list(fetched_by=user).prefetch_related(
            Prefetch("indicators", queryset=indicator_list(fetched_by=user))
        )
        return Response(self.OutputSerializer(shown.get(pk=child.pk)).data, status=201)
