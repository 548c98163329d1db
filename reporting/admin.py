from django.contrib import admin
from django.http import HttpRequest

from healthplans.admin import TENANT_FILTER, TenantScopedAdmin
from reporting.models import Report


@admin.register(Report)
class ReportAdmin(TenantScopedAdmin):
    """Reports are generated and signed through their pages; the admin only reads them."""

    list_display = ["plan", "period", "version", "status", "signed_by", "signed_at", "sha256"]
    list_filter = ["status", TENANT_FILTER]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
