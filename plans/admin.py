from django.contrib import admin

from healthplans.admin import TENANT_FILTER, ScopedChoices, TenantScopedAdmin
from plans.models import Assignment, Objective, Plan, Section, Task


class ObjectiveInline(ScopedChoices, admin.TabularInline):
    model = Objective
    extra = 0


class AssignmentInline(ScopedChoices, admin.TabularInline):
    model = Assignment
    extra = 0


@admin.register(Plan)
class PlanAdmin(TenantScopedAdmin):
    list_display = ["title", "document_number", "issuer", "start_year", "end_year", "tenant"]
    list_filter = ["kind", "status", TENANT_FILTER]
    search_fields = ["title", "document_number", "slug"]
    inlines = [ObjectiveInline, AssignmentInline]


class TaskInline(ScopedChoices, admin.TabularInline):
    model = Task
    extra = 0


@admin.register(Section)
class SectionAdmin(TenantScopedAdmin):
    tenant_field = "plan__tenant"
    list_display = ["number", "title", "plan"]
    inlines = [TaskInline]


@admin.register(Task)
class TaskAdmin(TenantScopedAdmin):
    tenant_field = "section__plan__tenant"
    list_display = ["text", "section", "lead", "amount"]


@admin.register(Objective)
class ObjectiveAdmin(TenantScopedAdmin):
    tenant_field = "plan__tenant"
    list_display = ["text", "kind", "plan"]


@admin.register(Assignment)
class AssignmentAdmin(TenantScopedAdmin):
    tenant_field = "plan__tenant"
    list_display = ["agency", "role", "plan"]
