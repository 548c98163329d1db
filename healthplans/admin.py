"""Django admin for every model, scoped to the tenants the admin works in unless superuser."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.auth.admin import UserAdmin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from healthplans.audit import describe
from healthplans.models import Agency, AuditEvent, Notification, OrgUnit, RoleAssignment, Tenant, User
from healthplans.selectors import reach_of, tenant_q

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
class AgencyAdmin(TenantScopedAdmin):
    list_display = ["name", "code", "kind", "tenant"]
    list_filter = ["kind", TENANT_FILTER]
    search_fields = ["name", "code"]


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
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "org_unit"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "org_unit"]

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
