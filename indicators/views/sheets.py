"""Spreadsheet export and import: the API (`/api/plans/{id}/export/`, `/api/imports/`, confirm)
and the page `/plans/<slug>/import/` (upload → preview → confirm)."""

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healthplans.models import User
from healthplans.periods import PeriodError, parse_period
from healthplans.schema import ErrorSerializer
from healthplans.selectors import signed_in_user
from healthplans.spreadsheets.files import FORMATS, XLSX_TYPE, too_large_message
from healthplans.spreadsheets.jobs import (
    PENDING,
    STATUSES,
    ImportResult,
    import_confirm,
    import_forbidden,
    import_status,
    import_upload,
    refusal,
)
from healthplans.spreadsheets.registry import attachment_name, export_bytes, export_kinds, import_kinds, sheet_kind
from plans.models import Plan
from plans.selectors import plan_get_or_404, plan_list

CONTENT_TYPES = {"xlsx": XLSX_TYPE, "csv": "text/csv; charset=utf-8"}
# Room for the multipart boundaries and the form's other fields around the file itself.
MULTIPART_SLACK = 64 * 1024


def declared_too_large(request: HttpRequest) -> bool:
    """Whether the upload's Content-Length is over the limit: known from the headers, before a
    byte of the body is read (under WSGI the body read never goes past Content-Length, so this
    bounds what the server reads; the file itself is checked again once read)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.IMPORT_MAX_BYTES + MULTIPART_SLACK


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
    periods = plan.periods()
    return code if code in {p.code for p in periods} else None


class ImportOutputSerializer(serializers.Serializer):
    """What an import answers: its id (to confirm a dry run), its status, the rows read and every problem."""

    class ProblemSerializer(serializers.Serializer):
        row = serializers.IntegerField(allow_null=True)
        column = serializers.CharField(allow_null=True)
        message = serializers.CharField()

    id = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    progress = serializers.IntegerField(help_text="Percent done: below 100 while queued or running.")
    rows = serializers.ListField(child=serializers.DictField())
    errors = ProblemSerializer(many=True)  # type: ignore[assignment]  # the answer's key; declared fields leave Serializer.errors alone


class PlanExportAPI(JSONOnly):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=export_kinds())
        format = serializers.ChoiceField(choices=FORMATS, default="xlsx")
        period = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        parameters=[InputSerializer],
        responses={(200, XLSX_TYPE): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        plan = plan_get_or_404(fetched_by=request.user, pk=pk)
        data = self.InputSerializer(data=request.query_params.dict())
        data.is_valid(raise_exception=True)
        kind, fmt, period = data.validated_data["kind"], data.validated_data["format"], data.validated_data["period"]
        uses_period = sheet_kind(kind).period
        if uses_period == "required" or (uses_period == "optional" and period):
            code = export_period(plan, period)
            if code is None:
                return Response({"period": [_("Choose one of the plan's reporting periods.")]}, status=400)
            period = code
        elif uses_period == "none":
            period = ""
        return export_response(user=request.user, plan=plan, kind=kind, fmt=fmt, period=period)


def result_response(result: ImportResult) -> Response:
    code: int
    if result.status in PENDING:
        code = status.HTTP_202_ACCEPTED
    elif result.status in {"valid", "imported"}:
        code = status.HTTP_200_OK
    else:
        code = status.HTTP_400_BAD_REQUEST
    return Response(result.as_dict(), status=code)


class ImportCreateAPI(JSONOnly):
    """A dry run (the default) or an import; more rows than IMPORT_ASYNC_ROWS answer 202 "queued",
    and the status endpoint tells the progress and, at the end, the result."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        plan = serializers.IntegerField()
        kind = serializers.ChoiceField(choices=import_kinds())
        dry_run = serializers.BooleanField(default=True)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST" and declared_too_large(request):
            # Before authentication and parsing, which would read the body.
            return JsonResponse(refusal(too_large_message()).as_dict(), status=400)
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer,
        # 400: a refused import, or the form's own field errors (no file, an unknown kind).
        responses={
            200: ImportOutputSerializer,
            202: ImportOutputSerializer,
            400: PolymorphicProxySerializer(
                component_name="ImportRefusal",
                serializers=[ImportOutputSerializer, ErrorSerializer],
                resource_type_field_name=None,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        plan = plan_get_or_404(fetched_by=request.user, pk=fields["plan"])
        user = signed_in_user(request.user)
        if message := import_forbidden(plan=plan, kind=fields["kind"], by=user):
            return Response(refusal(message).as_dict(), status=status.HTTP_403_FORBIDDEN)
        return result_response(
            upload_result(plan=plan, kind=fields["kind"], upload=fields["file"], user=user, dry_run=fields["dry_run"])
        )


def upload_result(*, plan: Plan, kind: str, upload: Any, user: User, dry_run: bool) -> ImportResult:
    if upload.size > settings.IMPORT_MAX_BYTES:
        return refusal(too_large_message())
    return import_upload(plan=plan, kind=kind, content=upload.read(), name=upload.name, by=user, dry_run=dry_run)


class ImportStatusAPI(JSONOnly):
    """Where an import stands: queued, running (with its progress), or its result."""

    @extend_schema(responses={200: ImportOutputSerializer})
    def get(self, request: Request, import_id: str) -> Response:
        result = import_status(import_id=import_id, by=signed_in_user(request.user))
        if result is None:
            raise Http404
        return Response(result.as_dict())


class ImportConfirmAPI(JSONOnly):
    @extend_schema(
        request=None, responses={200: ImportOutputSerializer, 202: ImportOutputSerializer, 400: ImportOutputSerializer}
    )
    def post(self, request: Request, import_id: str) -> Response:
        user = signed_in_user(request.user)
        result = import_confirm(import_id=import_id, by=user, plans=plan_list(fetched_by=user))
        if result is None:
            raise Http404
        return result_response(result)


@csrf_exempt  # checked below, once the upload's size is known to be acceptable
@require_http_methods(["GET", "POST"])
@login_required
def import_page(request: HttpRequest, slug: str) -> HttpResponse:
    plan = plan_get_or_404(fetched_by=request.user, slug=slug)
    periods = plan.periods()
    context: dict[str, Any] = {"plan": plan, "periods": periods, "kinds": import_kinds()}
    if request.method == "POST" and declared_too_large(request):
        # The CSRF check reads the form, and so the body: an oversized upload is refused first.
        context["result"] = refusal(too_large_message())
        return render(request, "sheets/import.html", context, status=400)
    return csrf_protect(import_page_body)(request, plan, context)


def import_page_body(request: HttpRequest, plan: Plan, context: dict[str, Any]) -> HttpResponse:
    user = signed_in_user(request.user)
    if request.method != "POST":
        if import_id := request.GET.get("import"):
            # Back from the progress bar of an import a worker ran.
            context["result"] = import_status(import_id=import_id, by=user)
            if context["result"] is None:
                raise Http404
            context["kind"] = request.GET.get("kind", "actuals")
        return render(request, "sheets/import.html", context)
    kind = request.POST.get("kind", "actuals")
    if kind not in import_kinds():
        kind = "actuals"
    context["kind"] = kind
    if import_id := request.POST.get("confirm"):
        result = import_confirm(import_id=import_id, by=user, plans=plan_list(fetched_by=user))
        if result is None:
            raise Http404
    elif message := import_forbidden(plan=plan, kind=kind, by=user):
        context["result"] = refusal(message)
        return render(request, "sheets/import.html", context, status=403)
    elif upload := request.FILES.get("file"):
        result = upload_result(plan=plan, kind=kind, upload=upload, user=user, dry_run=True)
    else:
        result = refusal(_("Choose a file to import."))
    context["result"] = result
    return render(request, "sheets/import.html", context, status=200 if result.status != "refused" else 400)


urlpatterns: list[URLPattern] = [
    path("api/plans/<int:pk>/export/", PlanExportAPI.as_view(), name="plan-export"),
    path("api/imports/", ImportCreateAPI.as_view(), name="import-create"),
    # Import ids are uuid4 hex: anything else is no import (and never a cache key).
    re_path(r"^api/imports/(?P<import_id>[0-9a-f]{32})/$", ImportStatusAPI.as_view(), name="import-status"),
    re_path(r"^api/imports/(?P<import_id>[0-9a-f]{32})/confirm/$", ImportConfirmAPI.as_view(), name="import-confirm"),
    path("plans/<slug:slug>/import/", import_page, name="plan-import"),
]
