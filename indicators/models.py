"""Indicators of a plan, their targets and baselines, and the actual figures entered against them."""

import re
from datetime import date
from decimal import Decimal
from typing import Any, Literal, overload
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from healthplans.models import OrgUnit, Role, Tenant
from healthplans.periods import Period
from healthplans.workflow import Action, ReviewedRecord, ReviewStatus
from plans.models import Plan

COMPARATORS = [(">", ">"), (">=", "≥"), ("<", "<"), ("<=", "≤"), ("=", "=")]
COMPARATOR_VALUES = [value for value, _label in COMPARATORS]


@overload
def value_field(verbose_name: Any) -> "models.DecimalField[Decimal, Decimal]": ...
@overload
def value_field(verbose_name: Any, *, null: Literal[True]) -> "models.DecimalField[Decimal | None, Decimal | None]": ...
def value_field(verbose_name: Any, *, null: bool = False) -> Any:
    """A measured value: exact decimals, never float."""
    return models.DecimalField(verbose_name, max_digits=24, decimal_places=6, null=null, blank=null)


class UnitKind(models.TextChoices):
    PERCENT = "percent", "%"
    PERMILLE = "permille", "‰"
    PER_10000 = "per_10000", _("per 10,000")
    PER_100000 = "per_100000", _("per 100,000")
    COUNT = "count", _("count")
    YEARS = "years", _("years")
    RATIO = "ratio", _("ratio")
    OTHER = "other", _("other")


RATE_SCALE: dict[str, Decimal] = {
    UnitKind.PERCENT: Decimal(100),
    UnitKind.PERMILLE: Decimal(1000),
    UnitKind.PER_10000: Decimal(10000),
    UnitKind.PER_100000: Decimal(100000),
}
PER_HUNDRED = re.compile(r"/\s*100\b")


class CatalogueMeasure(models.Model):
    """A shared definition, so that the same measure in different plans can be compared."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=300)
    unit_kind = models.CharField(_("unit kind"), max_length=16, choices=UnitKind.choices)

    class Meta:
        verbose_name = _("catalogue measure")
        verbose_name_plural = _("catalogue measures")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Group(models.TextChoices):
    INPUT = "input", _("input")
    ACTIVITY = "activity", _("activity")
    OUTPUT = "output", _("output")


class Direction(models.TextChoices):
    HIGHER = "higher", _("higher is better")
    LOWER = "lower", _("lower is better")
    KEEP = "keep", _("keep at")


class Rollup(models.TextChoices):
    SUM = "sum", _("sum")
    POOLED = "pooled", _("pooled numerator / denominator")
    NONE = "none", _("not aggregable")


class EntryLevel(models.TextChoices):
    """Where an indicator's actuals are entered; a station is a facility of its own kind."""

    PROVINCE = "province", _("province")
    DISTRICT = "district", _("district / city / town")
    COMMUNE = "commune", _("commune / ward / township")
    STATION = "station", _("commune health station")
    SITE = "site", _("station site (điểm trạm), rolled up to its station")
    FACILITY = "facility", _("hospital or health centre")


# The roles that enter figures (and so may write them); a reviewer only approves or returns them.
WRITER_ROLES: set[str] = {Role.PLANNER, Role.STATION_REPORTER}


def unit_entry_level(unit: OrgUnit) -> str:
    """The entry level a unit enters figures at: its own level, or for a facility its kind."""
    if unit.level == OrgUnit.Level.FACILITY:
        if unit.facility_kind == OrgUnit.FacilityKind.STATION:
            return EntryLevel.STATION
        return EntryLevel.SITE if unit.facility_kind == OrgUnit.FacilityKind.SITE else EntryLevel.FACILITY
    return unit.level


def entry_level_q(level: str) -> Q:
    """The units of an entry level, as a condition on OrgUnit (the reverse of unit_entry_level)."""
    if level == EntryLevel.STATION:
        return Q(level=OrgUnit.Level.FACILITY, facility_kind=OrgUnit.FacilityKind.STATION)
    if level == EntryLevel.SITE:
        return Q(level=OrgUnit.Level.FACILITY, facility_kind=OrgUnit.FacilityKind.SITE)
    if level == EntryLevel.FACILITY:
        return Q(level=OrgUnit.Level.FACILITY) & ~Q(
            facility_kind__in=[OrgUnit.FacilityKind.STATION, OrgUnit.FacilityKind.SITE]
        )
    return Q(level=level)


class ValueType(models.TextChoices):
    """What a figure of the indicator is: a number, or yes/no ("Đạt / Không đạt", stored as 1 / 0)."""

    NUMBER = "number", _("number")
    YES_NO = "yes_no", _("achieved / not achieved")


class Indicator(models.Model):
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, null=True, blank=True, related_name="indicators"
    )
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="indicators")
    order = models.PositiveIntegerField(_("order"))
    number = models.CharField(_("number"), max_length=20)
    name = models.TextField(_("name"))
    group = models.CharField(_("group"), max_length=16, choices=Group.choices, blank=True)
    unit = models.CharField(_("unit as written"), max_length=100, blank=True)
    unit_kind = models.CharField(_("unit kind"), max_length=16, choices=UnitKind.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    rollup = models.CharField(_("roll-up"), max_length=8, choices=Rollup.choices)
    entry_level = models.CharField(_("entered at level"), max_length=16, choices=EntryLevel.choices)
    catalogue = models.ForeignKey(
        CatalogueMeasure,
        verbose_name=_("catalogue measure"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="indicators",
    )
    value_type = models.CharField(_("value type"), max_length=8, choices=ValueType.choices, default=ValueType.NUMBER)
    # A child plan's indicator (a commune's plan implementing the province's) names the parent plan's
    # indicator it contributes to; the parent's dashboard adds the children up through it. PROTECT
    # rather than SET_NULL: a link silently lost would drop a child's contribution from the parent's
    # sums unseen (the parent plan is protected by its children the same way, Plan.parent).
    parent_indicator = models.ForeignKey(
        "self",
        verbose_name=_("indicator of the parent plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="child_indicators",
    )

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["plan", "order"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="indicator_unique_number"),
            models.UniqueConstraint(fields=["plan", "order"], name="indicator_unique_order"),
            models.CheckConstraint(condition=Q(unit_kind__in=UnitKind.values), name="indicator_unit_kind_valid"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="indicator_direction_valid"),
            models.CheckConstraint(condition=Q(rollup__in=Rollup.values), name="indicator_rollup_valid"),
            models.CheckConstraint(condition=Q(value_type__in=ValueType.values), name="indicator_value_type_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"

    def clean(self) -> None:
        """A parent indicator is one of the plan's parent plan (a check constraint cannot see the
        plans of two rows, so full_clean, which every service runs, checks it)."""
        if self.parent_indicator_id is None:
            return
        parent_plan_id = Indicator.objects.filter(pk=self.parent_indicator_id).values_list("plan_id", flat=True).first()
        if parent_plan_id is None or parent_plan_id != self.plan.parent_id:
            message = _("The linked indicator is not one of the parent plan's.")
            raise ValidationError({"parent_indicator": [message]})

    @property
    def rate_scale(self) -> Decimal:
        """What a rate's numerator/denominator is multiplied by: 100 for %, 1000 for ‰, 10,000
        per vạn dân; a ratio written per hundred ("trẻ nam/100 trẻ nữ", "trai/100 gái") by 100."""
        if self.unit_kind == UnitKind.RATIO:
            return Decimal(100) if PER_HUNDRED.search(self.unit) else Decimal(1)
        return RATE_SCALE.get(self.unit_kind, Decimal(1))

    def target_for(self, year: int, unit: OrgUnit | None = None) -> "Target | None":
        """The target that applies at a unit in a year: the unit's own if the plan sets one, else the
        plan-wide one (without a unit: the plan-wide one). Reads the prefetched `targets`."""
        targets = [target for target in self.targets.all() if target.year == year]
        own = None if unit is None else next((t for t in targets if t.org_unit_id == unit.pk), None)
        return own or next((target for target in targets if target.org_unit_id is None), None)


def period_form_url(unit: OrgUnit, period: str, plan: Plan) -> str:
    """Where a unit enters the plan's figures of a period."""
    return f"{reverse('figures-period', args=[unit.code, period])}?{urlencode({'plan': plan.slug})}"


def is_entry_unit(indicator: Indicator, unit: OrgUnit, period: Period | None = None) -> bool:
    """Whether the indicator's actuals are entered at this unit: its level, within the plan's area,
    and for a period, a unit that exists in it within the territory the plan then applies over
    (its issuing unit's, or the units that now hold it: healthplans.territory)."""
    plan = indicator.plan
    start, end = (period.start, period.end) if period is not None else (None, None)
    # The issuing unit's own figures go, once it has ended, to the units standing in for it.
    if unit_entry_level(unit) != indicator.entry_level and not (
        _issuer_level(plan, indicator.entry_level) and unit.path in plan.stand_in_paths(start, end)
    ):
        return False
    if period is None:
        return plan.covers(unit)
    return unit.exists_between(period.start, period.end) and plan.covers(unit, period.start, period.end)


def entry_units_q(plan: Plan, level: str, start: date | None = None, end: date | None = None) -> Q:
    """The units that enter the plan's figures of `level` from `start` to `end` (the reverse of
    is_entry_unit, as a condition on OrgUnit): those of the level within the plan's area, and at
    the issuing unit's own level the units standing in for it once it has ended."""
    q = entry_level_q(level) & plan.area_q(start, end)
    return q | Q(path__in=plan.stand_in_paths(start, end)) if _issuer_level(plan, level) else q


def _issuer_level(plan: Plan, level: str) -> bool:
    return level == unit_entry_level(plan.issuer_org_unit)


class Baseline(models.Model):
    indicator = models.OneToOneField(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="baseline"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    comparator = models.CharField(_("comparator"), max_length=2, choices=COMPARATORS, blank=True)
    value = value_field(_("value"))
    text = models.CharField(_("text as written"), max_length=200)

    class Meta:
        verbose_name = _("baseline")
        verbose_name_plural = _("baselines")
        constraints = [
            models.CheckConstraint(
                condition=Q(comparator="") | Q(comparator__in=COMPARATOR_VALUES), name="baseline_comparator_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.year}: {self.text}"


class Target(models.Model):
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, null=True, blank=True, related_name="targets"
    )
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="targets"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="targets"
    )
    comparator = models.CharField(_("comparator"), max_length=2, choices=COMPARATORS)
    value = value_field(_("value"))
    text = models.CharField(_("text as written"), max_length=200)
    # Kept by target_revise beside the history (TargetRevision), so that the dashboards, which read
    # the targets prefetched, mark a revised target and name its decision without another query.
    revision_count = models.PositiveSmallIntegerField(_("revisions"), default=0, editable=False)
    revised_by = models.CharField(_("revised by decision"), max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["indicator", "year"]
        constraints = [
            models.CheckConstraint(condition=Q(comparator__in=COMPARATOR_VALUES), name="target_comparator_valid"),
            models.UniqueConstraint(
                fields=["indicator", "year"], condition=Q(org_unit__isnull=True), name="target_unique_year"
            ),
            models.UniqueConstraint(
                fields=["indicator", "year", "org_unit"],
                condition=Q(org_unit__isnull=False),
                name="target_unique_year_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}: {self.text}"


class TargetRevision(models.Model):
    """A change of an issued plan's target (điều chỉnh chỉ tiêu): what it was, what it became, why,
    and the decision that authorises it. The target row holds what is in force; this is its history."""

    target = models.ForeignKey(Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="revisions")
    old_comparator = models.CharField(_("comparator before"), max_length=2, choices=COMPARATORS)
    old_value = value_field(_("value before"))
    old_text = models.CharField(_("text before"), max_length=200)
    new_comparator = models.CharField(_("comparator after"), max_length=2, choices=COMPARATORS)
    new_value = value_field(_("value after"))
    new_text = models.CharField(_("text after"), max_length=200)
    reason = models.TextField(_("reason"))
    decision_number = models.CharField(_("decision number"), max_length=100)
    decision_date = models.DateField(_("decision date"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+", null=True
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("target revision")
        verbose_name_plural = _("target revisions")
        ordering = ["target", "at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(old_comparator__in=COMPARATOR_VALUES) & Q(new_comparator__in=COMPARATOR_VALUES),
                name="targetrevision_comparators_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.old_text} → {self.new_text} ({self.decision_number})"


class Actual(ReviewedRecord):
    """A figure entered for an indicator, an org unit and a period ("2024", "2024H1", "2021-2025")."""

    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, related_name="actuals")
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.PROTECT, related_name="actuals"
    )
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="actuals")
    period = models.CharField(_("period"), max_length=16)
    value = value_field(_("value"), null=True)
    numerator = value_field(_("numerator"), null=True)
    denominator = value_field(_("denominator"), null=True)
    note = models.TextField(_("note"), blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    is_demo = models.BooleanField(_("demo figure"), default=False)

    class Meta:
        verbose_name = _("actual")
        verbose_name_plural = _("actuals")
        ordering = ["indicator", "org_unit", "period"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "org_unit", "period"], name="actual_unique_unit_period"),
            models.CheckConstraint(condition=Q(status__in=ReviewStatus.values), name="actual_status_valid"),
            models.CheckConstraint(
                condition=Q(denominator__isnull=True) | Q(denominator__gt=Decimal(0)),
                name="actual_denominator_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "period", "status"], name="actual_tenant_period_status"),
            # Roll-ups over a subtree read each unit's figures of some periods from this index alone.
            models.Index(
                fields=["org_unit", "period"],
                include=["indicator", "status", "value", "numerator", "denominator"],
                name="actual_unit_period_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} · {self.org_unit} · {self.period}"


class ActualEvent(models.Model):
    """One step in an actual's history: who, when, what, the value before and after, and why."""

    actual = models.ForeignKey(Actual, verbose_name=_("actual"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+", null=True
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    old_value = value_field(_("old value"), null=True)
    new_value = value_field(_("new value"), null=True)
    message = models.TextField(_("message or reason"), blank=True)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["actual", "at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(action__in=Action.values), name="actualevent_action_valid")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.at:%Y-%m-%d %H:%M}"
