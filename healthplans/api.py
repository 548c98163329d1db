"""API of the core (tenants, org units, agencies, tokens) and the pieces every app's API shares."""

from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from healthplans.models import Agency, OrgUnit, Tenant
from healthplans.schema import Schema
from healthplans.selectors import agency_list, org_unit_list, tenant_list


class ListSchema(Schema):
    """Documents a selector list as what it is: a paginated list (count, next, results)."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return self.method == "GET"


class SelectorListAPI(GenericAPIView):
    """A paginated list read through a selector that takes the acting user and the query filters."""

    OutputSerializer: ClassVar[type[serializers.Serializer]]
    schema = ListSchema()
    # Called as selector(fetched_by=user, filters=query parameters).
    selector: ClassVar[Callable[..., QuerySet[Any]]]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.OutputSerializer

    def get(self, request: Request) -> Response:
        queryset = type(self).selector(fetched_by=request.user, filters=request.query_params.dict())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)


class SelectorDetailAPI(GenericAPIView):
    """One object read through a selector; missing and forbidden both answer 404."""

    OutputSerializer: ClassVar[type[serializers.Serializer]]
    # Called as selector(fetched_by=user); the object is then looked up within what it returns.
    selector: ClassVar[Callable[..., QuerySet[Any]]]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.OutputSerializer

    def get(self, request: Request, pk: int) -> Response:
        obj = type(self).selector(fetched_by=request.user).filter(pk=pk).first()
        if obj is None:
            raise Http404
        return Response(self.OutputSerializer(obj).data)


class TenantListAPI(SelectorListAPI):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Tenant
            fields = ["id", "slug", "name"]

    selector = tenant_list


class OrgUnitListAPI(SelectorListAPI):
    class OutputSerializer(serializers.ModelSerializer):
        tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
            slug_field="slug", read_only=True, allow_null=True
        )
        parent = serializers.SerializerMethodField()  # type: ignore[assignment]  # shadows Field.parent

        class Meta:
            model = OrgUnit
            fields = [
                "id",
                "code",
                "name",
                "level",
                "tenant",
                "parent",
                "depth",
                "valid_from",
                "valid_to",
                "successor",
                "is_demo",
            ]

        def get_parent(self, obj: OrgUnit) -> int | None:
            return self.context_parent_ids().get(obj.path[: -OrgUnit.steplen]) if obj.depth > 1 else None

        def context_parent_ids(self) -> dict[str, int]:
            return self.context.get("parent_ids", {})

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        queryset = org_unit_list(fetched_by=request.user, filters=request.query_params.dict())
        page = self.paginate_queryset(queryset) or []
        # Parents are found by path in one query, rather than one query per unit.
        parent_paths = {unit.path[: -OrgUnit.steplen] for unit in page if unit.depth > 1}
        parent_ids = dict(OrgUnit.objects.filter(path__in=parent_paths).values_list("path", "id"))
        data = self.OutputSerializer(page, many=True, context={"parent_ids": parent_ids}).data
        return self.get_paginated_response(data)


class AgencyListAPI(SelectorListAPI):
    class OutputSerializer(serializers.ModelSerializer):
        tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)

        class Meta:
            model = Agency
            fields = ["id", "code", "name", "kind", "tenant", "org_unit"]

    selector = agency_list


class WorkflowAPI(GenericAPIView):
    """A step of the draft → submitted → approved | returned path on one object within reach.

    A domain names how the object is found (`fetch`, 404 outside reach), how the stored object is
    shown (`shown_by`), and the keyword its services take the object by (`subject`); each step
    names its service (`transition`) and what it needs (`serializer_class`). A refusal rises to the
    API's exception handler (`healthplans.errors`)."""

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1, required=False)

    serializer_class: type[serializers.Serializer] = InputSerializer
    subject: ClassVar[str]
    fetch: ClassVar[Callable[[Request, int], Any]]
    shown_by: ClassVar[type[serializers.Serializer]]
    transition: ClassVar[Callable[..., Any]]

    def post(self, request: Request, pk: int) -> Response:
        step = type(self)
        subject = step.fetch(request, pk)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.setdefault("version", subject.version)
        return Response(step.shown_by(step.transition(**{step.subject: subject}, by=request.user, **fields)).data)


class NoteInput(WorkflowAPI.InputSerializer):
    note = serializers.CharField(allow_blank=True, required=False)


class MessageInput(WorkflowAPI.InputSerializer):
    message = serializers.CharField(allow_blank=True)


class ReasonInput(WorkflowAPI.InputSerializer):
    reason = serializers.CharField(allow_blank=True)


class TokenAPI(ObtainAuthToken):
    """POST a username and password → a token. Failures count towards the same lockout as the
    login page (django-axes): once locked out, 429 with {"detail", "code": "locked_out"}."""

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    class LockedOutSerializer(serializers.Serializer):
        detail = serializers.CharField()
        code = serializers.CharField()

    def get_serializer_context(self) -> dict[str, Any]:
        # authenticate() gets Django's request, not DRF's wrapper: django-axes marks a locked-out
        # request on it, and its middleware answers such a request with the lockout (429).
        return {**super().get_serializer_context(), "request": self.request._request}

    @extend_schema(responses={200: OutputSerializer, 429: LockedOutSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)
