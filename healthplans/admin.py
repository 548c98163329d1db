"""Django admin for every model, scoped to the tenants the admin works in unless superuser."""

from collections.abc import Mapping
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.admin import ImportExportMixin
from import_export.fields import Field
from import_export.formats.base_formats import CSV, XLSX
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from healthplans.audit import describe
from healthplans.models import (
    Agency,
    AuditEvent,
    Notification,
    OrgUnit,
    Reorganisation,
    Role,
    RoleAssignment,
    Tenant,
    UnitSuccession,
    User,
)
from healthplans.reorganisation import reorganisation_apply, reorganisation_preview, roles_move_to_successors
from healthplans.selectors import reach_of, tenant_q
from healthplans.services import agency_create, agency_update, user_enrol
from healthplans.workflow import ServiceError

# Offers only the tenants present in the admin's own rows, so the filter names no other tenant.
TENANT_FILTER = ("tenant", admin.RelatedOnlyFieldListFilter)


class ScopedChoices(BaseModelAdmin):
    """A foreign key's choices are the rows its model's admin shows this user, so a form lists
    no other tenant's plans, units, indicators or users."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = self.admin_site._registry.get(db_field.related_model)
        if related is not None and "queryset" not in kwargs:
            kwargs["queryset"] = related.get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TenantScopedAdmin(ScopedChoices, admin.ModelAdmin):
    """Rows whose `tenant_field` lies outside the admin's tenants are neither listed nor editable."""

    tenant_field = "tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(tenant_q(request.user, self.tenant_field))


# ---- spreadsheets of reference data (django-import-export) ------------------------------------


class ServiceResource(resources.ModelResource):
    """An admin import whose rows the core's services write as the importing user (`by`); the
    resource itself saves nothing. `arguments` reads a row into a service's arguments (a
    ValidationError keyed by the column at fault), `existing` finds the row's record among those
    `by` may see, `write` calls the service; a refusal of the service is its row's error. The
    preview is import-export's dry run, rolled back; the confirmed import is one transaction, rolled
    back whole if any row is refused (ServiceImportAdmin)."""

    # The argument → its column heading. Headings are the file format, the same whatever the
    # page's language (as the plans' spreadsheets).
    columns: ClassVar[dict[str, str]]
    required: ClassVar[tuple[str, ...]]
    # The model fields a service may name in a refusal → the argument they come from.
    field_arguments: ClassVar[dict[str, str]] = {}

    def __init__(self, *, by: User | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Without a user (import-export lists a resource's fields so), it reaches nothing.
        self.by: User | AnonymousUser = AnonymousUser() if by is None else by
        self.row_arguments: dict[str, Any] = {}

    @classmethod
    def cell(cls, row: Mapping[str, Any], argument: str) -> str:
        value = row.get(cls.columns[argument])
        if isinstance(value, float) and value.is_integer():  # a code typed as a number in a workbook
            value = int(value)
        return "" if value is None else str(value).strip()

    def arguments(self, row: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def existing(self, arguments: dict[str, Any]) -> Model | None:
        raise NotImplementedError

    def unchanged(self, record: Any, arguments: dict[str, Any]) -> bool:
        raise NotImplementedError

    def write(self, record: Any, arguments: dict[str, Any], *, by: User) -> Model:
        raise NotImplementedError

    def missing_cells(self, row: Mapping[str, Any]) -> dict[str, list[str]]:
        message = gettext("This cell must not be empty.")
        return {self.columns[name]: [message] for name in self.required if not self.cell(row, name)}

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        missing = [heading for heading in self.columns.values() if heading not in (dataset.headers or [])]
        if missing:
            raise ValueError(
                ngettext(
                    "The file has no column «%(columns)s».", "The file lacks the columns «%(columns)s».", len(missing)
                )
                % {"columns": "», «".join(missing)}
            )

    def get_or_init_instance(self, instance_loader: Any, row: Mapping[str, Any]) -> tuple[Model, bool]:
        # Read before anything else, so that a bad row stops here with its message.
        self.row_arguments = self.arguments(row)
        record = self.existing(self.row_arguments)
        return (self.init_instance(row), True) if record is None else (record, False)

    def import_instance(self, instance: Model, row: Mapping[str, Any], **kwargs: Any) -> None:
        """Nothing is set on the record here: the service does it, with its checks."""

    def skip_row(self, instance: Model, original: Any, row: Any, import_validation_errors: Any = None) -> bool:
        if import_validation_errors or instance.pk is None or not self._meta.skip_unchanged:
            return False
        return self.unchanged(instance, self.row_arguments)

    def save_instance(self, instance: Model, is_create: bool, row: Any, **kwargs: Any) -> None:
        if not isinstance(self.by, User):
            raise ValidationError(gettext("You do not administer this province or unit."))
        try:
            saved = self.write(None if is_create else instance, self.row_arguments, by=self.by)
        except ServiceError as exc:
            raise ValidationError(self.by_column(exc)) from exc
        if saved is not instance:  # a new record: the row's result shows what the service made
            for field in saved._meta.concrete_fields:
                setattr(instance, field.attname, getattr(saved, field.attname))
            instance._state.adding, instance._state.db = False, saved._state.db
            instance._state.fields_cache = dict(saved._state.fields_cache)

    def by_column(self, exc: ServiceError) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for field, field_messages in exc.fields.items():
            argument = self.field_arguments.get(field, field)
            errors.setdefault(self.columns.get(argument, NON_FIELD_ERRORS), []).extend(field_messages)
        return errors or {NON_FIELD_ERRORS: [exc.message]}

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        """No sequence to reset: the services insert with the database's own keys."""


def choice_of(choices: type[Role] | type[Agency.Kind], text: str) -> str | None:
    """A choice from its value or its label, Vietnamese or English, in any case."""
    wanted = text.casefold()
    for value, label in choices.choices:
        with translation.override("vi"):
            vietnamese = str(label)
        with translation.override("en"):
            english = str(label)
        if wanted in {value.casefold(), vietnamese.casefold(), english.casefold()}:
            return value
    return None


def label_in_vietnamese(choices: type[Role] | type[Agency.Kind], value: str) -> str:
    with translation.override("vi"):
        return str(choices(value).label) if value in choices.values else value


def unit_in_reach(by: User | AnonymousUser, code: str, column: str) -> OrgUnit:
    # Missing and out of reach are one answer: the file learns nothing of other provinces.
    unit = OrgUnit.objects.filter(reach_of(by).subtree_q(), code=code).select_related("tenant").first()
    if unit is None:
        raise ValidationError(
            {column: [gettext("No unit with the code «%(code)s» within your units.") % {"code": code}]}
        )
    return unit


class AgencyResource(ServiceResource):
    columns = {
        "tenant": "Mã tỉnh",
        "code": "Mã cơ quan",
        "name": "Tên cơ quan",
        "kind": "Loại",
        "org_unit": "Mã đơn vị",
    }
    required = ("code", "name")

    tenant = Field(attribute="tenant__slug", column_name=columns["tenant"])
    code = Field(attribute="code", column_name=columns["code"])
    name = Field(attribute="name", column_name=columns["name"])
    kind = Field(attribute="kind", column_name=columns["kind"])
    org_unit = Field(attribute="org_unit__code", column_name=columns["org_unit"])

    class Meta:
        model = Agency
        fields = ("tenant", "code", "name", "kind", "org_unit")
        import_id_fields: tuple[str, ...] = ()
        skip_unchanged = True
        report_skipped = True

    def dehydrate_kind(self, agency: Agency) -> str:
        return label_in_vietnamese(Agency.Kind, agency.kind)

    def get_queryset(self) -> QuerySet[Agency]:
        return Agency.objects.filter(tenant_q(self.by)).select_related("tenant", "org_unit")

    def filter_export(self, queryset: QuerySet[Any], **kwargs: Any) -> QuerySet[Any]:
        return queryset.filter(tenant_q(self.by))

    def arguments(self, row: Mapping[str, Any]) -> dict[str, Any]:
        errors = self.missing_cells(row)
        tenants = Tenant.objects.filter(tenant_q(self.by, "id"))
        slug = self.cell(row, "tenant")
        tenant = tenants.filter(slug=slug).first() if slug else (tenants.first() if tenants.count() == 1 else None)
        if tenant is None:
            errors[self.columns["tenant"]] = [
                gettext("No province «%(tenant)s» among yours.") % {"tenant": slug}
                if slug
                else gettext("Say which province (its code).")
            ]
        kind_text = self.cell(row, "kind")
        kind = choice_of(Agency.Kind, kind_text) if kind_text else Agency.Kind.OTHER
        if kind is None:
            labels = ", ".join(label_in_vietnamese(Agency.Kind, value) for value in Agency.Kind.values)
            errors[self.columns["kind"]] = [
                gettext("Unknown kind «%(kind)s»; one of: %(kinds)s.") % {"kind": kind_text, "kinds": labels}
            ]
        org_unit = None
        if code := self.cell(row, "org_unit"):
            try:
                org_unit = unit_in_reach(self.by, code, self.columns["org_unit"])
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        return {
            "tenant": tenant,
            "code": self.cell(row, "code"),
            "name": self.cell(row, "name"),
            "kind": kind,
            "org_unit": org_unit,
        }

    def existing(self, arguments: dict[str, Any]) -> Agency | None:
        return self.get_queryset().filter(tenant=arguments["tenant"], code=arguments["code"]).first()

    def unchanged(self, record: Agency, arguments: dict[str, Any]) -> bool:
        org_unit = arguments["org_unit"]
        return (record.name, record.kind, record.org_unit_id) == (
            arguments["name"],
            arguments["kind"],
            None if org_unit is None else org_unit.pk,
        )

    def write(self, record: Agency | None, arguments: dict[str, Any], *, by: User) -> Agency:
        if record is None:
            return agency_create(**arguments, by=by)
        fields = {name: arguments[name] for name in ("name", "kind", "org_unit")}
        return agency_update(agency=record, **fields, by=by)


class StaffResource(ServiceResource):
    """Staff and their roles, one row per role held on a unit: a province enrols the staff of its
    stations from one workbook (user_enrol)."""

    columns = {
        "username": "Tên đăng nhập",
        "full_name": "Họ và tên",
        "email": "Email",
        "role": "Vai trò",
        "org_unit": "Mã đơn vị",
    }
    required = ("username", "role", "org_unit")
    field_arguments = {"first_name": "full_name"}

    username = Field(attribute="user__username", column_name=columns["username"])
    full_name = Field(column_name=columns["full_name"])
    email = Field(attribute="user__email", column_name=columns["email"])
    role = Field(attribute="role", column_name=columns["role"])
    org_unit = Field(attribute="org_unit__code", column_name=columns["org_unit"])

    class Meta:
        model = RoleAssignment
        fields = ("username", "full_name", "email", "role", "org_unit")
        import_id_fields: tuple[str, ...] = ()
        skip_unchanged = True
        report_skipped = True

    def dehydrate_full_name(self, assignment: RoleAssignment) -> str:
        return assignment.user.get_full_name() if assignment.user_id else ""

    def dehydrate_role(self, assignment: RoleAssignment) -> str:
        return label_in_vietnamese(Role, assignment.role)

    def get_queryset(self) -> QuerySet[RoleAssignment]:
        subtree = reach_of(self.by).subtree_q("org_unit__path")
        return RoleAssignment.objects.filter(subtree).select_related("user", "org_unit")

    def filter_export(self, queryset: QuerySet[Any], **kwargs: Any) -> QuerySet[Any]:
        return queryset.filter(reach_of(self.by).subtree_q("org_unit__path")).select_related("user", "org_unit")

    def arguments(self, row: Mapping[str, Any]) -> dict[str, Any]:
        errors = self.missing_cells(row)
        role_text = self.cell(row, "role")
        role = choice_of(Role, role_text) if role_text else None
        if role_text and role is None:
            labels = ", ".join(label_in_vietnamese(Role, value) for value in Role.values)
            errors[self.columns["role"]] = [
                gettext("Unknown role «%(role)s»; one of: %(roles)s.") % {"role": role_text, "roles": labels}
            ]
        org_unit = None
        if code := self.cell(row, "org_unit"):
            try:
                org_unit = unit_in_reach(self.by, code, self.columns["org_unit"])
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        return {
            "username": self.cell(row, "username"),
            "full_name": self.cell(row, "full_name"),
            "email": self.cell(row, "email"),
            "role": role,
            "org_unit": org_unit,
        }

    def existing(self, arguments: dict[str, Any]) -> RoleAssignment | None:
        return (
            self.get_queryset()
            .filter(user__username=arguments["username"], org_unit=arguments["org_unit"], role=arguments["role"])
            .first()
        )

    def unchanged(self, record: RoleAssignment, arguments: dict[str, Any]) -> bool:
        user = record.user
        return all(
            not arguments[argument] or getattr(user, field) == arguments[argument]
            for argument, field in (("full_name", "first_name"), ("email", "email"))
        )

    def write(self, record: RoleAssignment | None, arguments: dict[str, Any], *, by: User) -> RoleAssignment:
        return user_enrol(**arguments, by=by)


class ServiceImportAdmin(ImportExportMixin):
    """Import and export (CSV, XLSX) of reference data, as scoped as the admin's lists: the file's
    rows are written by the services as the request's user, and a file with a refused row writes
    nothing. Importing needs the model's add permission, exporting its view permission
    (IMPORT_EXPORT_*_PERMISSION_CODE)."""

    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]

    def get_resource_kwargs(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"by": request.user}

    def get_import_data_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        # The confirming run too: a row refused then (the data changed since the preview) rolls
        # the whole file back, as it does in the preview.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        if result.has_errors() or result.has_validation_errors():
            messages.error(
                request,
                gettext("Nothing was imported: the file changed or a row was refused. Import it again to see why."),
            )
            opts = self.model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_import", current_app=self.admin_site.name)
            return HttpResponseRedirect(url)
        return super().process_result(result, request)


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_field = "id"
    list_display = ["name", "slug"]


@admin.register(OrgUnit)
class OrgUnitAdmin(ScopedChoices, TreeAdmin):
    form = movenodeform_factory(OrgUnit)
    list_display = ["name", "code", "level", "tenant", "valid_from", "valid_to", "is_demo"]
    list_filter = ["level", TENANT_FILTER, "is_demo"]
    search_fields = ["name", "code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrgUnit]:
        return super().get_queryset(request).filter(reach_of(request.user).subtree_q())

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        reached = self.get_queryset(request).values("pk")

        class ReachedPositions(form):  # type: ignore[valid-type,misc]  # a class made at runtime
            """treebeard offers the whole tree as the place of a unit: only reached units here."""

            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, **form_kwargs)
                field = self.fields["treebeard_ref_node"]
                field.queryset = field.queryset.filter(pk__in=reached)

        return ReachedPositions


@admin.register(Agency)
class AgencyAdmin(ServiceImportAdmin, TenantScopedAdmin):
    """Agencies are written by the services, from the forms as from a workbook; an agency's tenant
    and code are what it is known by, so they are set once."""

    resource_classes = [AgencyResource]
    list_display = ["name", "code", "kind", "tenant"]
    list_filter = ["kind", TENANT_FILTER]
    search_fields = ["name", "code"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["tenant", "code"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Agency, form: Any, change: bool) -> None:
        by: User = request.user  # type: ignore[assignment]  # the admin's users are authenticated
        if change:
            agency_update(agency=obj, name=obj.name, kind=obj.kind, org_unit=obj.org_unit, by=by)
        else:
            obj.pk = agency_create(
                tenant=obj.tenant, code=obj.code, name=obj.name, kind=obj.kind, org_unit=obj.org_unit, by=by
            ).pk


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    autocomplete_fields = ["org_unit"]


@admin.register(User)
class HealthplansUserAdmin(UserAdmin):
    inlines = [RoleAssignmentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        reached = OrgUnit.objects.filter(reach_of(request.user).subtree_q())
        return queryset.filter(role_assignments__org_unit__in=reached).distinct()


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ServiceImportAdmin, admin.ModelAdmin):
    """Also where a province enrols its staff from a workbook: one row per person and role."""

    resource_classes = [StaffResource]
    list_display = ["user", "role", "org_unit"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "org_unit"]
    actions = ["move_to_successor"]

    @admin.action(description=_("Move the selected roles on ended units to their successor units"))
    def move_to_successor(self, request: HttpRequest, queryset: QuerySet[RoleAssignment]) -> None:
        by: User = request.user  # type: ignore[assignment]  # the admin's users are authenticated
        moved = roles_move_to_successors(
            roles=queryset, on=timezone.localdate(), by=by, reason=gettext("moved by an administrator")
        )
        self.message_user(
            request, ngettext("%(count)d role moved.", "%(count)d roles moved.", moved) % {"count": moved}
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoleAssignment]:
        subtree = reach_of(request.user).subtree_q("org_unit__path")
        return super().get_queryset(request).filter(subtree).select_related("user", "org_unit")


@admin.register(Notification)
class NotificationAdmin(ScopedChoices, admin.ModelAdmin):
    list_display = ["user", "created_at", "text", "read_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        subtree = reach_of(request.user).subtree_q("user__role_assignments__org_unit__path")
        return super().get_queryset(request).filter(subtree).distinct()


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record kept by the services (history, audit, figures with their versions): read here,
    never written."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(UnitSuccession)
class UnitSuccessionAdmin(ReadOnlyAdmin):
    """Successions are written by reorganisations only."""

    list_display = ["predecessor", "successor", "share", "is_default", "reorganisation"]
    list_select_related = ["predecessor", "successor", "reorganisation"]
    search_fields = ["predecessor__name", "predecessor__code", "successor__name", "successor__code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UnitSuccession]:
        return super().get_queryset(request).filter(reach_of(request.user).subtree_q("successor__path"))


@admin.register(Reorganisation)
class ReorganisationAdmin(admin.ModelAdmin):
    """A superuser records a reorganisation (its changes as JSON: create, end, succeed, move;
    see healthplans.reorganisation), reads its preview, then applies it; once applied it is kept
    as it was, read only."""

    list_display = ["effective_on", "title", "applied_at", "applied_by"]
    fields = ["title", "decision", "effective_on", "changes", "preview", "applied_at", "applied_by", "summary"]
    actions = ["apply"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Reorganisation | None = None) -> bool:
        return request.user.is_superuser and (obj is None or obj.applied_at is None)

    def has_delete_permission(self, request: HttpRequest, obj: Reorganisation | None = None) -> bool:
        return request.user.is_superuser and (obj is None or obj.applied_at is None)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["preview", "applied_at", "applied_by", "summary"]

    @admin.display(description=_("preview"))
    def preview(self, obj: Reorganisation) -> str:
        if obj.pk is None or obj.applied_at is not None:
            return "—"
        try:
            preview = reorganisation_preview(reorganisation=obj)
        except ServiceError as exc:
            return str(exc)
        counts = gettext(
            "%(created)d units created, %(ended)d ended, %(moved)d moved, %(successions)d successions, "
            "%(roles)d roles on ended units"
        ) % {
            "created": preview.created,
            "ended": preview.ended,
            "moved": preview.moved,
            "successions": preview.successions,
            "roles": preview.roles,
        }
        impacts = "; ".join(f"{label}: {count}" for label, count in preview.impacts)
        return " · ".join(part for part in [counts, impacts, *preview.problems] if part)

    @admin.action(description=_("Apply the selected reorganisations"))
    def apply(self, request: HttpRequest, queryset: QuerySet[Reorganisation]) -> None:
        by: User = request.user  # type: ignore[assignment]  # the admin's users are authenticated
        for reorganisation in queryset.order_by("effective_on", "pk"):
            try:
                reorganisation_apply(reorganisation=reorganisation, by=by)
            except ServiceError as exc:
                self.message_user(request, f"{reorganisation}: {exc}", messages.ERROR)
            else:
                self.message_user(request, gettext("Applied: %(title)s") % {"title": reorganisation})


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit history, read only: an admin sees the role changes in its tenants and the logins
    and account changes of the users its roles reach."""

    list_display = ["at", "kind", "username", "actor", "ip_address", "what"]
    list_filter = ["kind", TENANT_FILTER]
    search_fields = ["username", "actor", "ip_address"]
    date_hierarchy = "at"

    @admin.display(description=_("what"))
    def what(self, event: AuditEvent) -> str:
        return describe(event)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = super().get_queryset(request)
        reach = reach_of(request.user)
        if reach.everything:
            return queryset
        reached_users = User.objects.filter(role_assignments__org_unit__in=OrgUnit.objects.filter(reach.subtree_q()))
        of_reached_users = Q(tenant__isnull=True, username__in=reached_users.values("username"))
        return queryset.filter((Q(tenant__isnull=False) & tenant_q(request.user)) | of_reached_users)
