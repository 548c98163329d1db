from django.contrib import admin

from budgets.models import BudgetLine, FundingSource
from healthplans.admin import TENANT_FILTER, TenantScopedAdmin


@admin.register(FundingSource)
class FundingSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]


@admin.register(BudgetLine)
class BudgetLineAdmin(TenantScopedAdmin):
    list_display = ["code", "name", "year", "amount", "funding_source", "agency", "plan"]
    list_filter = ["year", "funding_source", TENANT_FILTER]
