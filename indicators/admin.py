from django.contrib import admin

from healthplans.admin import TENANT_FILTER, TenantScopedAdmin
from indicators.models import Actual, Baseline, CatalogueMeasure, Indicator, Target


class TargetInline(admin.TabularInline):
    model = Target
    extra = 0


class BaselineInline(admin.StackedInline):
    model = Baseline
    extra = 0


@admin.register(CatalogueMeasure)
class CatalogueMeasureAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "unit_kind"]
    search_fields = ["name", "code"]


@admin.register(Indicator)
class IndicatorAdmin(TenantScopedAdmin):
    list_display = ["number", "name", "unit", "plan", "direction", "rollup"]
    list_filter = ["unit_kind", "direction", "rollup", TENANT_FILTER]
    search_fields = ["name"]
    inlines = [BaselineInline, TargetInline]


@admin.register(Target)
class TargetAdmin(TenantScopedAdmin):
    list_display = ["indicator", "year", "comparator", "value", "text"]


@admin.register(Baseline)
class BaselineAdmin(TenantScopedAdmin):
    tenant_field = "indicator__tenant"
    list_display = ["indicator", "year", "value", "text"]


@admin.register(Actual)
class ActualAdmin(TenantScopedAdmin):
    list_display = ["indicator", "org_unit", "period", "value", "status", "version"]
    list_filter = ["status", "period", TENANT_FILTER]
