from django.contrib import admin

from budgets.models import BudgetExecution, BudgetExecutionEvent, BudgetLine, FundingSource
from healthplans.admin import TENANT_FILTER, ReadOnlyAdmin, TenantScopedAdmin


@admin.register(FundingSource)
class FundingSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]


@admin.register(BudgetLine)
class BudgetLineAdmin(TenantScopedAdmin):
    list_display = ["code", "name", "year", "amount", "funding_source", "agency", "plan"]
    list_filter = ["year", "funding_source", TENANT_FILTER]


@admin.register(BudgetExecution)
class BudgetExecutionAdmin(ReadOnlyAdmin, TenantScopedAdmin):
    """Amounts change through the budget page and API, which check the role, keep the versions and
    history, and lock approved amounts; an edit here would bypass all of it."""

    list_display = ["budget_line", "period", "allocated", "disbursed", "status", "version"]
    list_filter = ["status", "period", TENANT_FILTER]
    list_select_related = ["budget_line"]


@admin.register(BudgetExecutionEvent)
class BudgetExecutionEventAdmin(ReadOnlyAdmin, TenantScopedAdmin):
    """The history is a record: it is read here, never written."""

    tenant_field = "execution__tenant"
    list_display = ["execution", "at", "by", "action", "new_allocated", "new_disbursed"]
    list_filter = ["action"]
    list_select_related = ["execution__budget_line", "by"]
