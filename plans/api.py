from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healthplans.api import SelectorDetailAPI, SelectorListAPI, found_or_invalid
from healthplans.models import Agency
from healthplans.selectors import org_unit_list
from plans.models import Assignment, Objective, Plan, Section, Task
from plans.selectors import plan_detail_list, plan_get_or_404, plan_list
from plans.services import (
    agency_pick_or_add,
    assignment_create,
    objective_create,
    plan_close,
    plan_create,
    plan_delete,
    plan_issue,
    plan_update,
    section_create,
    task_create,
)

PLAN_FIELDS = [
    "id",
    "slug",
    "tenant",
    "title",
    "kind",
    "status",
    "document_number",
    "issued_on",
    "start_year",
    "end_year",
    "vision_year",
    "parent",
    "issuer",
]


class PlanOutputSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Plan
        fields = PLAN_FIELDS


class PlanListAPI(SelectorListAPI):
    OutputSerializer = PlanOutputSerializer
    selector = plan_list


class PlanDetailAPI(SelectorDetailAPI):
    class OutputSerializer(PlanOutputSerializer):
        class ObjectiveSerializer(serializers.ModelSerializer):
            class Meta:
                model = Objective
                fields = ["kind", "text"]

        class SectionSerializer(serializers.ModelSerializer):
            class TaskSerializer(serializers.ModelSerializer):
                lead: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
                    slug_field="code", read_only=True, allow_null=True
                )

                class Meta:
                    model = Task
                    fields = ["text", "lead", "amount", "amount_text"]

            tasks = TaskSerializer(many=True, read_only=True)

            class Meta:
                model = Section
                fields = ["id", "number", "title", "parent", "tasks"]

        class AssignmentSerializer(serializers.ModelSerializer):
            agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
            agency_name = serializers.CharField(source="agency.name", read_only=True)

            class Meta:
                model = Assignment
                fields = ["number", "agency", "agency_name", "role", "text"]

        objectives = ObjectiveSerializer(many=True, read_only=True)
        sections = SectionSerializer(many=True, read_only=True)
        assignments = AssignmentSerializer(many=True, read_only=True)

        class Meta:
            model = Plan
            fields = [
                *PLAN_FIELDS,
                "issuer_parent",
                "issued_text",
                "signer_name",
                "signer_title",
                "signer_authority",
                "reporting_frequencies",
                "legal_bases",
                "recipients",
                "objectives",
                "sections",
                "assignments",
            ]

    selector = plan_detail_list


# ---- writes: the plan builder (plans.services does the work) -----------------------------------

# Why a write naming an object the user may not see (or not of this plan) saved nothing.
NOT_SAVED = _("Not saved.")


class PlanFieldsInput(serializers.Serializer):
    """A plan's own fields as the document writes them (plans.services.PLAN_FIELDS)."""

    title = serializers.CharField(max_length=2000)
    kind = serializers.ChoiceField(choices=Plan.Kind.choices, required=False)
    issuer = serializers.CharField(max_length=300, required=False)
    issuer_parent = serializers.CharField(max_length=300, required=False, allow_blank=True)
    document_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    place = serializers.CharField(max_length=100, required=False, allow_blank=True)
    issued_on = serializers.DateField(required=False, allow_null=True)
    issued_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    start_year = serializers.IntegerField(min_value=1900, max_value=2200)
    end_year = serializers.IntegerField(min_value=1900, max_value=2200)
    vision_year = serializers.IntegerField(min_value=1900, max_value=2200, required=False, allow_null=True)
    signer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    signer_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    signer_authority = serializers.CharField(max_length=200, required=False, allow_blank=True)
    legal_bases = serializers.ListField(child=serializers.CharField(max_length=2000), max_length=100, required=False)
    recipients = serializers.ListField(child=serializers.CharField(max_length=500), max_length=100, required=False)
    reporting_frequencies = serializers.ListField(
        child=serializers.ChoiceField(choices=Plan.Frequency.choices), max_length=3, required=False
    )
    frequency_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    parent = serializers.IntegerField(required=False, allow_null=True)  # type: ignore[assignment]  # shadows Field.parent


def plan_fields(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """The validated fields, the parent plan found among those the user sees (400 if not)."""
    fields = dict(data)
    if fields.get("parent") is not None:
        fields["parent"] = found_or_invalid(
            plan_list(fetched_by=request.user), fields["parent"], field="parent", message=NOT_SAVED
        )
    return fields


class PlanStatusOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "slug", "status"]


class PlanCreateAPI(APIView):
    """A draft plan issued by `issuer_org_unit` (an org unit id within reach), by its planners."""

    class InputSerializer(PlanFieldsInput):
        issuer_org_unit = serializers.IntegerField()

    class OutputSerializer(PlanOutputSerializer):
        pass

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = plan_fields(request, data.validated_data)
        unit = found_or_invalid(
            org_unit_list(fetched_by=request.user),
            fields.pop("issuer_org_unit"),
            field="issuer_org_unit",
            message=NOT_SAVED,
        )
        plan = plan_create(issuer_org_unit=unit, fields=fields, by=request.user)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(plan).data, status=201)


class PlanUpdateAPI(APIView):
    """Changes the fields given of a plan within reach (its planners only)."""

    class InputSerializer(PlanFieldsInput):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, partial=True, **kwargs)

    class OutputSerializer(PlanOutputSerializer):
        pass

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = plan_update(plan=plan, fields=plan_fields(request, data.validated_data), by=request.user)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(plan).data)


class PlanIssueAPI(APIView):
    """Ban hành: the draft plan comes into force."""

    @extend_schema(request=None, responses={200: PlanStatusOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_issue(plan=plan_get_or_404(fetched_by=request.user, pk=pk), by=request.user)  # type: ignore[arg-type]
        return Response(PlanStatusOutputSerializer(plan).data)


class PlanCloseAPI(APIView):
    """The issued plan ends."""

    @extend_schema(request=None, responses={200: PlanStatusOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_close(plan=plan_get_or_404(fetched_by=request.user, pk=pk), by=request.user)  # type: ignore[arg-type]
        return Response(PlanStatusOutputSerializer(plan).data)


class PlanDeleteAPI(APIView):
    """Deletes a plan without figures, budget amounts or child plans (409 otherwise)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        plan_delete(plan=plan_get_or_404(fetched_by=request.user, pk=pk), by=request.user)  # type: ignore[arg-type]
        return Response(status=204)


class ObjectiveCreateAPI(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Objective.Kind.choices)
        text = serializers.CharField(max_length=10000)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Objective
            fields = ["id", "order", "kind", "text"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objective = objective_create(plan=plan, by=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(objective).data, status=201)


class SectionCreateAPI(APIView):
    """A numbered section of tasks, under `parent` (a section id of the plan) if given."""

    class InputSerializer(serializers.Serializer):
        number = serializers.CharField(max_length=20)
        title = serializers.CharField(max_length=10000)
        parent = serializers.IntegerField(required=False, allow_null=True)  # type: ignore[assignment]  # shadows Field.parent

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Section
            fields = ["id", "order", "number", "title", "parent"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        parent_id = fields.pop("parent", None)
        parent = None
        if parent_id is not None:
            parent = found_or_invalid(plan.sections.all(), parent_id, field="parent", message=NOT_SAVED)
        section = section_create(plan=plan, parent=parent, by=request.user, **fields)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(section).data, status=201)


def plan_agency(plan: Plan, pk: int | None, field: str) -> Agency | None:
    """An agency of the plan's province named by id in a body (400 if it is not one)."""
    if pk is None:
        return None
    return found_or_invalid(Agency.objects.filter(tenant=plan.tenant), pk, field=field, message=NOT_SAVED)


class TaskCreateAPI(APIView):
    """A task of a section of the plan, its lead agency by id and its amount as written ("2,5 tỷ")."""

    class InputSerializer(serializers.Serializer):
        section = serializers.IntegerField()
        text = serializers.CharField(max_length=10000)
        lead = serializers.IntegerField(required=False, allow_null=True)
        amount_text = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Task
            fields = ["id", "section", "order", "text", "lead", "amount", "amount_text"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        section = found_or_invalid(plan.sections.all(), fields.pop("section"), field="section", message=NOT_SAVED)
        lead = plan_agency(plan, fields.pop("lead", None), "lead")
        task = task_create(section=section, lead=lead, by=request.user, **fields)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(task).data, status=201)


class AgencyPickOrAddAPI(APIView):
    """The plan's province's agency of this name (as written, any case), added if there is none."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=300)
        kind = serializers.ChoiceField(choices=Agency.Kind.choices, required=False, default=Agency.Kind.OTHER)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Agency
            fields = ["id", "code", "name", "kind"]

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agency = agency_pick_or_add(plan=plan, by=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(agency).data)


class AssignmentCreateAPI(APIView):
    """Tổ chức thực hiện: an agency (by id) leads or coordinates, with its responsibility as written."""

    class InputSerializer(serializers.Serializer):
        agency = serializers.IntegerField()
        role = serializers.ChoiceField(choices=Assignment.Role.choices)
        text = serializers.CharField(max_length=10000)
        number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Assignment
            fields = ["id", "order", "number", "agency", "role", "text"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        agency = found_or_invalid(
            Agency.objects.filter(tenant=plan.tenant), fields.pop("agency"), field="agency", message=NOT_SAVED
        )
        assignment = assignment_create(plan=plan, agency=agency, by=request.user, **fields)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(assignment).data, status=201)
