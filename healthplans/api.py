"""API of the core (tenants, org units, agencies, tokens) and the pieces every app's API shares."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from healthplans.models import Agency, OrgUnit, Reorganisation, Tenant
from healthplans.schema import Schema
from healthplans.selectors import (
    agency_list,
    org_unit_lineage,
    org_unit_list,
    reorganisation_list,
    tenant_list,
    with_successions,
)
from healthplans.workflow import Invalid

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


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


def selector_apis(
    shown_by: type[serializers.ModelSerializer], selector: Callable[..., QuerySet[Any]]
) -> tuple[type[SelectorListAPI], type[SelectorDetailAPI]]:
    """The list and the detail API of what a selector reads ("<Model>ListAPI", "<Model>DetailAPI")."""
    model = shown_by.Meta.model.__name__
    attributes = {"OutputSerializer": shown_by, "selector": selector}
    return (
        type(f"{model}ListAPI", (SelectorListAPI,), attributes),
        type(f"{model}DetailAPI", (SelectorDetailAPI,), attributes),
    )


class RecordAccess(NamedTuple):
    """How an app's API reaches one kind of reviewed record: the keyword its services take it by
    (`subject`), how it is found within reach (`fetch`, 404 outside it) and how it is shown."""

    subject: str
    fetch: Callable[[Request, int], Any]
    shown_by: type[serializers.ModelSerializer]


class RecordSchema(Schema):
    """A record's API documented as it answers: what a write takes is its InputSerializer, every
    answer the record as shown."""

    def get_request_serializer(self) -> Any:
        return self.record_api.InputSerializer() if self.method != "GET" else None

    def get_response_serializers(self) -> Any:
        return self.record_api.access.shown_by

    @property
    def record_api(self) -> "RecordDetailAPI":
        if not isinstance(self.view, RecordDetailAPI):
            raise TypeError(f"RecordSchema documents a RecordDetailAPI, not {type(self.view).__name__}")
        return self.view


class RecordDetailAPI(GenericAPIView):
    """GET one reviewed record within reach; PATCH it through its update service (`update`) with
    what `InputSerializer` reads, completed by `patched`."""

    access: ClassVar[RecordAccess]
    InputSerializer: ClassVar[type[serializers.Serializer]]
    schema = RecordSchema()
    update: ClassVar[Callable[..., Any]]

    def get_serializer_class(self) -> type[serializers.ModelSerializer]:
        return self.access.shown_by

    def patched(self, record: Any, fields: dict[str, Any]) -> dict[str, Any]:
        """What the update service is given besides the record (a domain may fill in what was left out)."""
        return fields

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.access.shown_by(self.access.fetch(request, pk)).data)

    def patch(self, request: Request, pk: int) -> Response:
        access = self.access
        record = access.fetch(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = self.patched(record, dict(data.validated_data))
        return Response(access.shown_by(type(self).update(**{access.subject: record}, by=request.user, **fields)).data)


def found_or_invalid[Found: Model](queryset: QuerySet[Found], pk: int, *, field: str, message: "StrOrPromise") -> Found:
    """What a request body names by id, within what the user may see; else the write is invalid on
    that field (400, not 404: the address exists, the body is wrong)."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Invalid(str(message), fields={field: [_("Not found among what you may see.")]})
    return found


class TenantListAPI(SelectorListAPI):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Tenant
            fields = ["id", "slug", "name"]

    selector = tenant_list


class SuccessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    share = serializers.DecimalField(max_digits=5, decimal_places=4)


def _successions(rows: Any, side: str) -> list[dict[str, Any]]:
    found = [
        {"id": unit.pk, "code": unit.code, "name": unit.name, "share": row.share}
        for row in rows
        for unit in [getattr(row, side)]
    ]
    return list(SuccessionSerializer(found, many=True).data)


class OrgUnitSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    type = serializers.CharField(source="unit_type", read_only=True)
    successors = serializers.SerializerMethodField()
    predecessors = serializers.SerializerMethodField()

    class Meta:
        model = OrgUnit
        fields = [
            "id",
            "code",
            "official_code",
            "name",
            "level",
            "type",
            "facility_kind",
            "tenant",
            "depth",
            "valid_from",
            "valid_to",
            "latitude",
            "longitude",
            "successors",
            "predecessors",
            "is_demo",
        ]

    @extend_schema_field(SuccessionSerializer(many=True))
    def get_successors(self, obj: OrgUnit) -> list[dict[str, Any]]:
        return _successions(obj.successions.all(), "successor")

    @extend_schema_field(SuccessionSerializer(many=True))
    def get_predecessors(self, obj: OrgUnit) -> list[dict[str, Any]]:
        return _successions(obj.inheritances.all(), "predecessor")


ORG_UNIT_FILTERS = [
    OpenApiParameter("valid_on", OpenApiTypes.DATE, description="Units that exist on this day."),
    OpenApiParameter("q", str, description="Part of a name (as it is or was), or the start of a code."),
    OpenApiParameter("code", str, description="Our code or the official one."),
    OpenApiParameter("tenant", str, description="A tenant's slug."),
    OpenApiParameter("parent", int, description="The children of this unit."),
    OpenApiParameter("level", str, enum=OrgUnit.Level.values),
]


class OrgUnitListAPI(SelectorListAPI):
    class OutputSerializer(OrgUnitSerializer):
        parent = serializers.SerializerMethodField()  # type: ignore[assignment]  # shadows Field.parent

        class Meta(OrgUnitSerializer.Meta):
            fields = [*OrgUnitSerializer.Meta.fields, "parent"]

        def get_parent(self, obj: OrgUnit) -> int | None:
            return self.context_parent_ids().get(obj.path[: -OrgUnit.steplen]) if obj.depth > 1 else None

        def context_parent_ids(self) -> dict[str, int]:
            return self.context.get("parent_ids", {})

    @extend_schema(responses=OutputSerializer(many=True), parameters=ORG_UNIT_FILTERS)
    def get(self, request: Request) -> Response:
        queryset = with_successions(org_unit_list(fetched_by=request.user, filters=request.query_params.dict()))
        page = self.paginate_queryset(queryset) or []
        # Parents are found by path in one query, rather than one query per unit.
        parent_paths = {unit.path[: -OrgUnit.steplen] for unit in page if unit.depth > 1}
        parent_ids = dict(OrgUnit.objects.filter(path__in=parent_paths).values_list("path", "id"))
        data = self.OutputSerializer(page, many=True, context={"parent_ids": parent_ids}).data
        return self.get_paginated_response(data)


class OrgUnitLineageAPI(GenericAPIView):
    """A unit with every unit it came from and went into, across reorganisations."""

    class LinkSerializer(serializers.Serializer):
        predecessor = serializers.IntegerField(source="predecessor_id")
        successor = serializers.IntegerField(source="successor_id")
        share = serializers.DecimalField(max_digits=5, decimal_places=4)
        effective_on = serializers.DateField(source="successor.valid_from", allow_null=True)

    class OutputSerializer(serializers.Serializer):
        unit = OrgUnitSerializer()
        units = OrgUnitSerializer(many=True)
        before = serializers.SerializerMethodField()
        after = serializers.SerializerMethodField()

        @extend_schema_field(serializers.ListSerializer(child=serializers.DictField()))
        def get_before(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
            return list(OrgUnitLineageAPI.LinkSerializer(obj["before"], many=True).data)

        @extend_schema_field(serializers.ListSerializer(child=serializers.DictField()))
        def get_after(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
            return list(OrgUnitLineageAPI.LinkSerializer(obj["after"], many=True).data)

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.OutputSerializer

    def get(self, request: Request, pk: int) -> Response:
        unit, before, after = org_unit_lineage(unit_id=pk, fetched_by=request.user)
        ids = {row.predecessor_id for row in before + after} | {row.successor_id for row in before + after}
        units = with_successions(org_unit_list(fetched_by=request.user).filter(pk__in=ids - {unit.pk}))
        data = {"unit": unit, "units": units, "before": before, "after": after}
        return Response(self.OutputSerializer(data).data)


class ReorganisationAPI(GenericAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Reorganisation
            fields = ["id", "title", "decision", "effective_on", "applied_at", "summary"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.OutputSerializer


ReorganisationListAPI, ReorganisationDetailAPI = selector_apis(ReorganisationAPI.OutputSerializer, reorganisation_list)


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


def related_by(slug_field: str) -> "serializers.SlugRelatedField[Any]":
    """A related object shown by one of its fields (a user by username, an agency by code), or null."""
    return serializers.SlugRelatedField(slug_field=slug_field, read_only=True, allow_null=True)


class ReviewedRecordSerializer(serializers.ModelSerializer):
    """What a reviewed record shows of its review, users by name; a domain's serializer lists
    REVIEW_FIELDS after its own."""

    REVIEW_FIELDS = ["status", "message", "version", "submitted_by", "submitted_at", "reviewed_by", "reviewed_at"]
    submitted_by = related_by("username")
    reviewed_by = related_by("username")


class HistoryEntrySerializer(serializers.ModelSerializer):
    """An entry of a reviewed record's history, its author by name."""

    by = related_by("username")


class HistoryAPI(GenericAPIView):
    """A reviewed record's whole history in one answer (a plain list, as documented): it stays
    short. A domain names how the record is reached (`access`), its history selector (`history`)
    and how an entry is shown (`OutputSerializer`)."""

    OutputSerializer: ClassVar[type[serializers.Serializer]]
    schema = ListSchema()
    pagination_class = None
    access: ClassVar[RecordAccess]
    history: ClassVar[Callable[..., QuerySet[Any]]]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.OutputSerializer

    def get(self, request: Request, pk: int) -> Response:
        record = self.access.fetch(request, pk)
        entries = type(self).history(**{self.access.subject: record})
        return Response(self.OutputSerializer(entries, many=True).data)


class NoteInput(WorkflowAPI.InputSerializer):
    note = serializers.CharField(allow_blank=True, required=False)


class MessageInput(WorkflowAPI.InputSerializer):
    message = serializers.CharField(allow_blank=True)


class ReasonInput(WorkflowAPI.InputSerializer):
    reason = serializers.CharField(allow_blank=True)


class WorkflowAPIs(NamedTuple):
    submit: type[WorkflowAPI]
    approve: type[WorkflowAPI]
    return_: type[WorkflowAPI]
    unlock: type[WorkflowAPI]


def workflow_apis(
    access: RecordAccess,
    submit: Callable[..., Any],
    approve: Callable[..., Any],
    return_: Callable[..., Any],
    unlock: Callable[..., Any],
) -> WorkflowAPIs:
    """The four steps' APIs of one kind of record, named after its model ("ActualSubmitAPI", …),
    each calling the step's service and answering with the stored record as shown."""
    prefix = access.shown_by.Meta.model.__name__
    base = {"subject": access.subject, "fetch": access.fetch, "shown_by": access.shown_by}
    steps = (
        ("Submit", NoteInput, submit),
        ("Approve", None, approve),
        ("Return", MessageInput, return_),
        ("Unlock", ReasonInput, unlock),
    )
    apis = []
    for name, needs, transition in steps:
        attributes = {**base, "transition": transition}
        if needs is not None:
            attributes["serializer_class"] = needs
        api = type(f"{prefix}{name}API", (WorkflowAPI,), attributes)
        apis.append(extend_schema(responses={200: access.shown_by})(api))
    return WorkflowAPIs(*apis)


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
