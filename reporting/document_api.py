"""The API of plans read from their documents: upload (202, read by a worker), the draft with its
progress, and the confirmation that creates the plan (201)."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healthplans.api import found_or_invalid
from healthplans.selectors import signed_in_user, tenant_list
from reporting.documents import plan_document_confirm, plan_document_get_or_404, plan_document_upload
from reporting.models import PlanDocument


class PlanDocumentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanDocument
        fields = ["id", "name", "status", "progress", "error", "draft", "checks", "plan"]


class PlanDocumentUploadAPI(APIView):
    """POST multipart {"file", "tenant"}: the document is kept and read by a worker → 202 {"id", "status"}."""

    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        tenant = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={202: PlanDocumentOutputSerializer})
    def post(self, request: Request) -> Response:
        user = signed_in_user(request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = found_or_invalid(
            tenant_list(fetched_by=user),
            data.validated_data["tenant"],
            field="tenant",
            message=_("Not found among what you may see."),
        )
        upload = data.validated_data["file"]
        document = plan_document_upload(tenant=tenant, name=upload.name, content=upload.read(), by=user)
        return Response({"id": document.pk, "status": document.status}, status=202)


class PlanDocumentDetailAPI(APIView):
    """GET: the document's status, progress, draft (each item with its source) and checks."""

    @extend_schema(responses=PlanDocumentOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        document = plan_document_get_or_404(fetched_by=signed_in_user(request.user), pk=pk)
        return Response(PlanDocumentOutputSerializer(document).data)


class PlanDocumentConfirmAPI(APIView):
    """POST {"draft": the corrected draft} (or nothing: the draft as read) → 201 {"plan"}."""

    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        draft = serializers.JSONField(required=False)

        def validate_draft(self, value: Any) -> Any:
            if not isinstance(value, dict):
                raise serializers.ValidationError(_("The draft is an object."))
            return value

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request.user)
        document = plan_document_get_or_404(fetched_by=user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = plan_document_confirm(document=document, draft=data.validated_data.get("draft"), by=user)
        return Response({"plan": plan.pk, "slug": plan.slug}, status=201)
