from typing import Any

from rest_framework import serializers

from healthplans.api import SelectorDetailAPI, SelectorListAPI
from plans.models import Assignment, Objective, Plan, Section, Task
from plans.selectors import plan_detail_list, plan_list

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
