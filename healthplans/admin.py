"""Django admin for every model, scoped to the tenants the admin works in unless superuser."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from healthplans.models import Agency, Notification, OrgUnit, RoleAssignment, Tenant, User
from healthplans.selectors import reach_of, tenant_q

# Offers only the tenants present in the admin's own rows, so the filter names no other tenant.
TENANT_FILTER = ("tenant", admin.RelatedOnlyFieldListFilter)


class TenantScopedAdmin(admin.ModelAdmin):
    """Rows whose `tenant_field` lies outside the admin's tenants are neither listed nor editable."""

    tenant_field = "tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(tenant_q(request.user, self.tenant_field))


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_field = "id"
    list_display = ["name", "slug"]


@admin.register(OrgUnit)
class OrgUnitAdmin(TreeAdmin):
    form = movenodeform_factory(OrgUnit)
    list_display = ["name", "code", "level", "tenant", "valid_from", "valid_to", "is_demo"]
    list_filter = ["level", TENANT_FILTER, "is_demo"]
    search_fields = ["name", "code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrgUnit]:
        return super().get_queryset(request).filter(reach_of(request.user).subtree_q())


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
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "text", "read_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        subtree = reach_of(request.user).subtree_q("user__role_assignments__org_unit__path")
        return super().get_queryset(request).filter(subtree).distinct()
