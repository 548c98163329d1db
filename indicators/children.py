"""Child plans: a plan that implements another (the province's plan → a commune's). Here, above the
plans it creates, since a child takes over indicators and targets of its parent.

The child is a draft of the builder, issued by a unit of the parent's territory, that the planner
then completes and issues as any other plan. Its indicators are the chosen ones of the parent,
each linked to the parent's (`Indicator.parent_indicator`) and to the same catalogue measure,
measured the same way; its targets are prefilled from the parent's where the parent says what
falls to the child's unit: a count (summed over units) takes the parent's target for that unit,
if it sets one (no share of the whole is invented); a rate, or a figure that does not add up,
takes the parent's target as it applies there. Everything goes through the builder's services,
so the planner's role at the child's unit, the tenant and the draft's rules hold as for any plan.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from healthplans.models import OrgUnit, User
from healthplans.services import clean_or_refuse
from healthplans.workflow import Conflict, Invalid
from indicators.definitions import indicator_create, target_set
from indicators.models import EntryLevel, Indicator, Rollup, Target, unit_entry_level
from indicators.selectors import LEVEL_ORDER
from plans.models import Plan
from plans.services import plan_create


def _check_territory(parent: Plan, org_unit: OrgUnit) -> None:
    """The child is issued within the parent's territory: its issuing unit or a unit below it."""
    if not org_unit.path.startswith(parent.issuer_org_unit.path):
        message = _("«%(unit)s» lies outside the territory of the plan it implements (%(area)s).") % {
            "unit": org_unit.name,
            "area": parent.issuer_org_unit.name,
        }
        raise Invalid(message, fields={"org_unit": [message]})


def _check_years(parent: Plan, start_year: int, end_year: int) -> None:
    if not parent.start_year <= start_year <= end_year <= parent.last_year:
        message = _("A plan that implements another runs within its period (%(start)s–%(end)s).") % {
            "start": parent.start_year,
            "end": parent.last_year,
        }
        raise Invalid(message, fields={"start_year": [message], "end_year": [message]})


def _entry_level(indicator: Indicator, org_unit: OrgUnit) -> str:
    """The parent's entry level if it lies at or below the child's unit; else the unit's own (a
    province-level figure is entered at the commune for the commune's plan)."""
    own = unit_entry_level(org_unit)
    return (
        indicator.entry_level
        if LEVEL_ORDER.index(EntryLevel(indicator.entry_level)) >= LEVEL_ORDER.index(EntryLevel(own))
        else own
    )


def parent_target_for_child(indicator: Indicator, year: int, org_unit: OrgUnit) -> Target | None:
    """The parent's target that the child's unit takes over for a year: for a count, the parent's
    target of that very unit (the plan-wide one when the child is issued by the parent's own unit),
    never a share of the whole; for a rate or a figure that does not add up, the target in force
    there (the unit's own, else the plan-wide one). Reads the prefetched `targets` and the plan."""
    if indicator.rollup != Rollup.SUM:
        return indicator.target_for(year, org_unit)
    wanted = None if org_unit.pk == indicator.plan.issuer_org_unit_id else org_unit.pk
    return next((t for t in indicator.targets.all() if t.year == year and t.org_unit_id == wanted), None)


@transaction.atomic
def plan_create_child(
    *,
    parent: Plan,
    org_unit: OrgUnit,
    fields: Mapping[str, Any],
    indicators: Sequence[Indicator],
    by: User,
) -> Plan:
    """A draft plan issued by `org_unit` (the parent's issuing unit or one below it) implementing
    the issued plan `parent`. `fields`: as plans.services.plan_create's (title required; the years
    default to the parent's and lie within them). `indicators`: the parent's indicators the child
    takes over, each linked to its parent indicator, with targets prefilled for the child's years
    (parent_target_for_child). Only a planner of `org_unit` (or above it) who sees `parent`."""
    if parent.status != Plan.Status.ACTIVE:
        raise Conflict(
            _("Only an issued plan can be implemented by a child plan."), code="plan_not_issued", current=parent
        )
    _check_territory(parent, org_unit)
    fields = {"start_year": parent.start_year, "end_year": parent.end_year, **fields, "parent": parent}
    _check_years(parent, int(fields["start_year"]), int(fields["end_year"]))
    wanted = {indicator.pk for indicator in indicators}
    sources = list(
        parent.indicators.filter(pk__in=wanted)
        .select_related("catalogue", "plan")
        .prefetch_related("targets")
        .order_by("order")
    )
    if len(sources) != len(wanted):
        message = _("Choose indicators of the plan being implemented.")
        raise Invalid(message, fields={"indicators": [message]})
    child = plan_create(issuer_org_unit=org_unit, fields=fields, by=by)
    years = range(child.start_year, child.last_year + 1)
    for source in sources:
        indicator = indicator_create(
            plan=child,
            number=source.number,
            name=source.name,
            unit=source.unit,
            unit_kind=source.unit_kind,
            direction=source.direction,
            rollup=source.rollup,
            entry_level=_entry_level(source, org_unit),
            group=source.group,
            catalogue=source.catalogue,
            value_type=source.value_type,
            by=by,
        )
        indicator.parent_indicator = source
        clean_or_refuse(indicator)
        indicator.save(update_fields=["parent_indicator"])
        for year in years:
            target = parent_target_for_child(source, year, org_unit)
            if target is not None:
                target_set(indicator=indicator, year=year, text=target.text, by=by)
    return child
