from django.contrib import admin
from django.http import HttpRequest

from healthplans.admin import TENANT_FILTER, ReadOnlyAdmin, ScopedChoices, TenantScopedAdmin
from indicators.models import Actual, ActualEvent, Baseline, CatalogueMeasure, Indicator, Target, TargetRevision


class TargetInline(ScopedChoices, admin.TabularInline):
    """Read here; targets change through the plan builder's services (an issued plan's only by a
    revision that names its decision)."""

    model = Target
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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
class TargetAdmin(ReadOnlyAdmin, TenantScopedAdmin):
    """Targets change through the plan builder's services: an issued plan's only by a revision."""

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


@admin.register(TargetRevision)
class TargetRevisionAdmin(ReadOnlyAdmin, TenantScopedAdmin):
    """A revision of an issued plan's target is made by the builder's service, which names the
    decision that authorises it; here it is only read."""

    tenant_field = "target__tenant"
    list_display = ["target", "decision_number", "decision_date", "by", "at"]
