from django.contrib import admin

from healthplans.admin import TENANT_FILTER, ReadOnlyAdmin, ScopedChoices, TenantScopedAdmin
from indicators.models import Actual, ActualEvent, Baseline, CatalogueMeasure, Indicator, Target


class TargetInline(ScopedChoices, admin.TabularInline):
    model = Target
    extra = 0


class BaselineInline(ScopedChoices, admin.StackedInline):
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
class ActualAdmin(ReadOnlyAdmin, TenantScopedAdmin):
    """Figures change through the entry and review pages, which keep their versions and history
    and renew the plan's cached roll-ups."""

    list_display = ["indicator", "org_unit", "period", "value", "status", "version"]
    list_filter = ["status", "period", TENANT_FILTER]


@admin.register(ActualEvent)
class ActualEventAdmin(ReadOnlyAdmin, TenantScopedAdmin):
    """The history is a record: it is read here, never written."""

    tenant_field = "actual__tenant"
    list_display = ["actual", "action", "by", "at", "old_value", "new_value"]
    list_filter = ["action"]
