from django.contrib import admin
from django.http import HttpRequest

from healthplans.admin import TENANT_FILTER, ReadOnlyAdmin, TenantScopedAdmin
from reporting.models import PlanDocument, Report


@admin.register(Report)
class ReportAdmin(TenantScopedAdmin):
    """Reports are generated and signed through their pages; the admin only reads them."""

    list_display = ["plan", "period", "version", "status", "signed_by", "signed_at", "sha256"]
    list_filter = ["status", TENANT_FILTER]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PlanDocument)
class PlanDocumentAdmin(ReadOnlyAdmin, TenantScopedAdmin):
    """Uploaded plan documents are read, reviewed and confirmed on their pages; here they are only read."""

    list_display = ["name", "tenant", "status", "uploaded_by", "created_at", "plan"]
    list_filter = ["status", TENANT_FILTER]
