"""Writes of what a plan measures: its indicators, their baselines and targets, the revisions of an
issued plan's targets, and the split of a province's target across its communes. (The figures
entered against them are indicators.services'.)

The plan builder's pages, its API and the document reader all call these; every service is
keyword-only, atomic, cleans what it writes and takes the acting user as `by`. Only the plan's
planners write (plans.services.plan_check_writable). Targets and baselines are typed as documents
write them ("≥80%", "còn dưới 9,98%", "17/17", "Đạt") and read by the one parser
(healthplans.vnnumber.parse_figure); the text is kept as written. A draft's targets change freely;
once the plan is issued a target changes only by `target_revise`, which names the reason and the
decision (số/ký hiệu, date) and keeps the history; `Indicator.target_for` reads the target in force.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, ProtectedError
from django.utils.translation import gettext as _

from healthplans.models import OrgUnit, User
from healthplans.services import clean_or_refuse
from healthplans.vnnumber import NumberTextError, parse_figure
from healthplans.workflow import Conflict, Invalid
from indicators.models import (
    Baseline,
    CatalogueMeasure,
    Direction,
    EntryLevel,
    Indicator,
    Rollup,
    Target,
    TargetRevision,
    UnitKind,
    ValueType,
    entry_level_q,
    unit_entry_level,
)
from indicators.services import value_errors
from indicators.spreadsheets.targets import DEFAULT_COMPARATOR, ROLLUP_OF_KIND, unit_kind_of
from plans.models import Plan
from plans.services import plan_check_draft, plan_check_writable

# What indicator_create takes besides the plan, number and name, and what indicator_update changes.
INDICATOR_FIELDS = frozenset(
    {"number", "name", "unit", "unit_kind", "direction", "rollup", "entry_level", "group", "catalogue", "value_type"}
)
# How a yes/no indicator's target or figure is written, and the value it is stored as.
YES_NO_TEXTS = {"đạt": Decimal(1), "không đạt": Decimal(0)}


# ---- reading what a document writes ------------------------------------------------------------


def read_figure(indicator: Indicator, text: str, *, field: str = "text") -> tuple[str | None, Decimal]:
    """A target or baseline as written, as (comparator stated or None, value): "≥80%" → (">=", 80),
    "94,15" → (None, 94.15); "108/108" of a percentage is 100; a yes/no indicator reads "Đạt" as 1
    and "Không đạt" as 0."""
    written = " ".join(text.split())
    if indicator.value_type == ValueType.YES_NO:
        value = YES_NO_TEXTS.get(written.lower())
        if value is None:
            message = _("Write «Đạt» or «Không đạt».")
            raise Invalid(message, fields={field: [message]})
        return "=", value
    try:
        figure = parse_figure(written)
    except NumberTextError as exc:
        message = _(exc.template).format(text=exc.text)
        raise Invalid(message, fields={field: [message]}) from exc
    value = figure.value
    if figure.denominator is not None and indicator.unit_kind == UnitKind.PERCENT:
        value = value * 100 / figure.denominator
    if problems := value_errors(indicator, value):
        raise Invalid(" ".join(problems), fields={field: problems})
    return figure.comparator, value


def read_target(indicator: Indicator, text: str) -> tuple[str, Decimal]:
    """A target as written: a bare number takes the comparator of the indicator's direction."""
    comparator, value = read_figure(indicator, text)
    return comparator or DEFAULT_COMPARATOR[Direction(indicator.direction)], value


def _check_year(plan: Plan, year: int, field: str = "year") -> None:
    if not plan.start_year <= year <= plan.last_year:
        message = _("The year %(y)s lies outside the plan's period.") % {"y": year}
        raise Invalid(message, fields={field: [message]})


def _check_unit(plan: Plan, unit: OrgUnit | None) -> None:
    if unit is not None and not unit.path.startswith(plan.issuer_org_unit.path):
        message = _("The unit «%(unit)s» lies outside the plan's area.") % {"unit": unit.name}
        raise Invalid(message, fields={"org_unit": [message]})


# ---- indicators --------------------------------------------------------------------------------


@transaction.atomic
def indicator_create(
    *,
    plan: Plan,
    number: str,
    name: str,
    unit: str = "",
    unit_kind: str = "",
    direction: str = Direction.HIGHER,
    rollup: str = "",
    entry_level: str = "",
    group: str = "",
    catalogue: CatalogueMeasure | None = None,
    value_type: str = ValueType.NUMBER,
    order: int | None = None,
    by: User,
) -> Indicator:
    """An indicator of the plan: its number and unit as written; the unit kind read from the unit
    unless given, the roll-up from the kind, the entry level the issuing unit's unless given. An
    issued plan takes new indicators only by a new plan (its targets would come unrevised)."""
    plan_check_draft(plan=plan, by=by)
    unit_kind = unit_kind or (UnitKind.OTHER if value_type == ValueType.YES_NO else unit_kind_of(unit))
    indicator = Indicator(
        tenant_id=plan.tenant_id,
        plan=plan,
        order=order or (plan.indicators.aggregate(last=Max("order"))["last"] or 0) + 1,
        number=number.strip(),
        name=name.strip(),
        unit=unit.strip(),
        unit_kind=unit_kind,
        direction=direction,
        rollup=rollup or (Rollup.NONE if value_type == ValueType.YES_NO else ROLLUP_OF_KIND.get(unit_kind, "pooled")),
        entry_level=entry_level or unit_entry_level(plan.issuer_org_unit),
        group=group,
        catalogue=catalogue,
        value_type=value_type,
    )
    clean_or_refuse(indicator)
    indicator.save()
    return indicator


@transaction.atomic
def indicator_update(*, indicator: Indicator, fields: Mapping[str, Any], by: User) -> Indicator:
    """Changes any of INDICATOR_FIELDS. On an issued plan only the wording (number, name, unit as
    written, group, catalogue link) changes: what figures are read against stays."""
    plan = indicator.plan
    unknown = set(fields) - INDICATOR_FIELDS
    if unknown:
        raise Invalid(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    measured = {"unit_kind", "direction", "rollup", "entry_level", "value_type"}
    if any(fields[name] != getattr(indicator, name) for name in measured & set(fields)):
        plan_check_draft(plan=plan, by=by, current=indicator)
    else:
        plan_check_writable(plan=plan, by=by)
    for name, value in fields.items():
        setattr(indicator, name, value.strip() if isinstance(value, str) else value)
    clean_or_refuse(indicator)
    indicator.save()
    return indicator


@transaction.atomic
def indicator_delete(*, indicator: Indicator, by: User) -> None:
    """A draft's indicator with its targets and baseline; refused once figures are entered."""
    plan_check_draft(plan=indicator.plan, by=by, current=indicator)
    try:
        indicator.delete()
    except ProtectedError as exc:
        raise Conflict(
            _("The indicator has figures: it cannot be deleted."), code="indicator_protected", current=indicator
        ) from exc


# ---- baselines ---------------------------------------------------------------------------------


@transaction.atomic
def baseline_set(*, indicator: Indicator, year: int, text: str, by: User) -> Baseline:
    """The indicator's baseline (thực hiện of a year before the plan), as written; replaces any."""
    plan_check_writable(plan=indicator.plan, by=by)
    comparator, value = read_figure(indicator, text)
    baseline = Baseline.objects.filter(indicator=indicator).first() or Baseline(indicator=indicator)
    baseline.year, baseline.comparator, baseline.value = year, comparator or "", value
    baseline.text = " ".join(text.split())
    clean_or_refuse(baseline)
    baseline.save()
    return baseline


@transaction.atomic
def baseline_delete(*, indicator: Indicator, by: User) -> None:
    plan_check_writable(plan=indicator.plan, by=by)
    Baseline.objects.filter(indicator=indicator).delete()


# ---- targets -----------------------------------------------------------------------------------


@transaction.atomic
def target_set(*, indicator: Indicator, year: int, text: str, org_unit: OrgUnit | None = None, by: User) -> Target:
    """A draft's target of a year, plan-wide or at a unit of the plan's area, as written ("≥80%");
    creates or replaces it. Once the plan is issued: refused, use target_revise."""
    plan = indicator.plan
    target = Target.objects.filter(indicator=indicator, year=year, org_unit=org_unit).first()
    plan_check_draft(plan=plan, by=by, current=target)
    _check_year(plan, year)
    _check_unit(plan, org_unit)
    comparator, value = read_target(indicator, text)
    target = target or Target(tenant_id=plan.tenant_id, indicator=indicator, year=year, org_unit=org_unit)
    target.comparator, target.value, target.text = comparator, value, " ".join(text.split())
    clean_or_refuse(target)
    target.save()
    return target


@transaction.atomic
def target_delete(*, target: Target, by: User) -> None:
    plan_check_draft(plan=target.indicator.plan, by=by, current=target)
    target.delete()


@transaction.atomic
def target_revise(
    *, target: Target, text: str, reason: str, decision_number: str, decision_date: date, by: User
) -> TargetRevision:
    """Điều chỉnh chỉ tiêu: an issued plan's target becomes `text` (as written, "≥85%") by the
    decision `decision_number` of `decision_date`, for `reason`. The target row holds the new
    target (what target_for reads) and counts its revisions; the revision keeps what it was."""
    plan = target.indicator.plan
    plan_check_writable(plan=plan, by=by)
    if plan.status != Plan.Status.ACTIVE:
        raise Conflict(
            _("A draft's targets change directly; only an issued plan's are revised."),
            code="plan_not_issued",
            current=plan,
        )
    problems = {
        name: [_("This field is required.")]
        for name, value in (("reason", reason), ("decision_number", decision_number))
        if not value.strip()
    }
    if problems:
        raise Invalid(_("A revision names its reason and the decision that authorises it."), fields=problems)
    target = Target.objects.select_for_update().select_related("indicator").get(pk=target.pk)
    comparator, value = read_target(target.indicator, text)
    revision = TargetRevision(
        target=target,
        old_comparator=target.comparator,
        old_value=target.value,
        old_text=target.text,
        new_comparator=comparator,
        new_value=value,
        new_text=" ".join(text.split()),
        reason=reason.strip(),
        decision_number=decision_number.strip(),
        decision_date=decision_date,
        by=by,
    )
    clean_or_refuse(revision)
    revision.save()
    target.comparator, target.value, target.text = comparator, value, revision.new_text
    target.revision_count += 1
    target.revised_by = _("%(number)s of %(date)s") % {
        "number": revision.decision_number,
        "date": decision_date.strftime("%d/%m/%Y"),
    }
    clean_or_refuse(target)
    target.save()
    return revision


def split_units(*, indicator: Indicator, level: str = EntryLevel.COMMUNE) -> list[OrgUnit]:
    """The units of a level within the plan's area that a province's target splits across."""
    issuer = indicator.plan.issuer_org_unit
    return list(
        OrgUnit.objects.filter(entry_level_q(level), path__startswith=issuer.path, depth__gt=issuer.depth).order_by(
            "path"
        )
    )


@transaction.atomic
def target_split(
    *,
    indicator: Indicator,
    year: int,
    values: Mapping[OrgUnit, str] | None = None,
    level: str = EntryLevel.COMMUNE,
    by: User,
) -> list[Target]:
    """Splits the plan-wide target of `year` across the units of `level` (the communes): each unit's
    target as written in `values`, or else evenly — a count divided (the remainder to the first
    units), a rate the same at each unit. A count's unit targets must add up to the plan's; the
    refusal says by how much they differ. A draft's only (as target_set)."""
    plan = indicator.plan
    plan_check_draft(plan=plan, by=by)
    whole = indicator.target_for(year)
    if whole is None:
        raise Invalid(_("Set the plan's target of %(y)s before splitting it.") % {"y": year})
    summed = indicator.unit_kind == UnitKind.COUNT or indicator.rollup == Rollup.SUM
    if values is None:
        units = split_units(indicator=indicator, level=level)
        if not units:
            raise Invalid(_("The plan's area has no units to split the target across."))
        if summed:
            share, extra = divmod(int(whole.value), len(units))
            values = {unit: str(share + (1 if i < extra else 0)) for i, unit in enumerate(units)}
        else:
            values = dict.fromkeys(units, whole.text)
    elif summed:
        total = sum((read_figure(indicator, text)[1] for text in values.values()), Decimal(0))
        if total != whole.value:
            message = _("The units' targets add up to %(total)s, not the plan's %(whole)s.") % {
                "total": f"{total.normalize():f}",
                "whole": f"{whole.value.normalize():f}",
            }
            raise Invalid(message, fields={"values": [message]})
    return [
        target_set(indicator=indicator, year=year, text=text, org_unit=unit, by=by) for unit, text in values.items()
    ]
