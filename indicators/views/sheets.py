"""Spreadsheet export and import: the API (`/api/plans/{id}/export/`, `/api/imports/`, confirm)
and the page `/plans/<slug>/import/` (upload → preview → confirm)."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healthplans.models import User
from indicators.periods import PeriodError, parse_period, plan_periods
from indicators.spreadsheets import (
    FORMATS,
    KINDS,
    MAX_UPLOAD_BYTES,
    XLSX_TYPE,
    ImportResult,
    SheetError,
    attachment_name,
    export_bytes,
    import_confirm,
    import_upload,
)
from plans.models import Plan
from plans.selectors import plan_list

CONTENT_TYPES = {"xlsx": XLSX_TYPE, "csv": "text/csv; charset=utf-8"}


class JSONOnly(APIView):
    """`?format=xlsx` names the file format here, not a DRF renderer, so the URL format
    override must not choose (and 404 for lack of) a renderer."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        return JSONRenderer(), JSONRenderer.media_type


def export_response(*, user: Any, plan: Plan, kind: str, fmt: str, period: str) -> HttpResponse:
    content = export_bytes(fetched_by=user, plan=plan, kind=kind, fmt=fmt, period=period)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{attachment_name(plan, kind, period, fmt)}"'
    return response


def export_period(plan: Plan, period: str) -> str | None:
    """The period asked for, if it is one of the plan's reporting periods."""
    try:
        code = parse_period(period).code
    except PeriodError:
        return None
    periods = plan_periods(start_year=plan.start_year, end_year=plan.end_year, frequencies=plan.reporting_frequencies)
    return code if code in {p.code for p in periods} else None


class ImportOutputSerializer(serializers.Serializer):
    """What an import answers: its id (to confirm a dry run), its status, the rows read and every problem."""

    class ProblemSerializer(serializers.Serializer):
        row = serializers.IntegerField(allow_null=True)
        column = serializers.CharField(allow_null=True)
        message = serializers.CharField()

    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["valid", "imported", "invalid", "refused"])
    rows = serializers.ListField(child=serializers.DictField())
    errors = ProblemSerializer(many=True)  # type: ignore[assignment]  # the answer's key; declared fields leave Serializer.errors alone


class PlanExportAPI(JSONOnly):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=KINDS)
        format = serializers.ChoiceField(choices=FORMATS, default="xlsx")
        period = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(parameters=[InputSerializer], responses={200: OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        plan = plan_list(fetched_by=request.user).select_related("issuer_org_unit").filter(pk=pk).first()
        if plan is None:
            raise Http404
        data = self.InputSerializer(data=request.query_params.dict())
        data.is_valid(raise_exception=True)
        kind, fmt, period = data.validated_data["kind"], data.validated_data["format"], data.validated_data["period"]
        if kind == "actuals":
            code = export_period(plan, period)
            if code is None:
                return Response({"period": [_("Choose one of the plan's reporting periods.")]}, status=400)
            period = code
        return export_response(user=request.user, plan=plan, kind=kind, fmt=fmt, period=period)


def result_response(result: ImportResult) -> Response:
    code = status.HTTP_200_OK if result.status in {"valid", "imported"} else status.HTTP_400_BAD_REQUEST
    return Response(result.as_dict(), status=code)


class ImportCreateAPI(JSONOnly):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        plan = serializers.IntegerField()
        kind = serializers.ChoiceField(choices=KINDS)
        dry_run = serializers.BooleanField(default=True)

    @extend_schema(request=InputSerializer, responses={200: ImportOutputSerializer, 400: ImportOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        plan = plan_list(fetched_by=request.user).select_related("issuer_org_unit").filter(pk=fields["plan"]).first()
        if plan is None:
            raise Http404
        assert isinstance(request.user, User)
        return result_response(
            upload_result(
                plan=plan, kind=fields["kind"], upload=fields["file"], user=request.user, dry_run=fields["dry_run"]
            )
        )


def upload_result(*, plan: Plan, kind: str, upload: Any, user: User, dry_run: bool) -> ImportResult:
    # The size is known from the upload's headers before a byte of it is read.
    if upload.size > MAX_UPLOAD_BYTES:
        return ImportResult("", "refused", [], [SheetError(None, None, _("The file is too large: 5 MB at most."))])
    return import_upload(plan=plan, kind=kind, content=upload.read(), by=user, dry_run=dry_run)


class ImportConfirmAPI(JSONOnly):
    @extend_schema(request=None, responses={200: ImportOutputSerializer, 400: ImportOutputSerializer})
    def post(self, request: Request, import_id: str) -> Response:
        assert isinstance(request.user, User)
        result = import_confirm(import_id=import_id, by=request.user, plans=plan_list(fetched_by=request.user))
        if result is None:
            raise Http404
        return result_response(result)


@login_required
def import_page(request: HttpRequest, slug: str) -> HttpResponse:
    plan = plan_list(fetched_by=request.user, filters={"slug": slug}).select_related("issuer_org_unit").first()
    if plan is None:
        raise Http404
    assert isinstance(request.user, User)
    periods = plan_periods(start_year=plan.start_year, end_year=plan.end_year, frequencies=plan.reporting_frequencies)
    context: dict[str, Any] = {"plan": plan, "periods": periods, "kinds": KINDS}
    if request.method == "POST":
        kind = request.POST.get("kind", "actuals")
        if kind not in KINDS:
            kind = "actuals"
        context["kind"] = kind
        if import_id := request.POST.get("confirm"):
            result = import_confirm(import_id=import_id, by=request.user, plans=plan_list(fetched_by=request.user))
            if result is None:
                raise Http404
        elif upload := request.FILES.get("file"):
            result = upload_result(plan=plan, kind=kind, upload=upload, user=request.user, dry_run=True)
        else:
            result = ImportResult("", "refused", [], [SheetError(None, None, _("Choose a file to import."))])
        context["result"] = result
        return render(request, "sheets/import.html", context, status=200 if result.status != "refused" else 400)
    return render(request, "sheets/import.html", context)


urlpatterns: list[URLPattern] = [
    path("api/plans/<int:pk>/export/", PlanExportAPI.as_view(), name="plan-export"),
    path("api/imports/", ImportCreateAPI.as_view(), name="import-create"),
    path("api/imports/<str:import_id>/confirm/", ImportConfirmAPI.as_view(), name="import-confirm"),
    path("plans/<slug:slug>/import/", import_page, name="plan-import"),
]
