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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Model, ProtectedError
from django.utils.translation import gettext as _

from healthplans.models import OrgUnit, User
from healthplans.services import clean_or_refuse
from healthplans.vnnumber import NumberTextError, parse_figure
from healthplans.workflow import Conflict, Invalid, ServiceError
from indicators.entries import RowsRefused
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
from plans.models import Plan
from plans.services import plan_check_draft, plan_check_writable

# What indicator_create takes besides the plan, number and name, and what indicator_update changes.
INDICATOR_FIELDS = frozenset(
    {"number", "name", "unit", "unit_kind", "direction", "rollup", "entry_level", "group", "catalogue", "value_type"}
)
# What indicator_update may change once the plan is issued: the wording, not what figures are read against.
WORDING_FIELDS = frozenset({"number", "name", "unit", "group", "catalogue"})
# How a yes/no indicator's target or figure is written, and the value it is stored as.
YES_NO_TEXTS = {"đạt": Decimal(1), "không đạt": Decimal(0)}
# A target written without a comparator ("80%") reaches it in the indicator's direction.
DEFAULT_COMPARATOR = {Direction.HIGHER: ">=", Direction.LOWER: "<=", Direction.KEEP: "="}
# The unit as written names the kind of an indicator's values; the longest marks first.
UNIT_KIND_MARKS = [
    ("%", UnitKind.PERCENT),
    ("‰", UnitKind.PERMILLE),
    ("100.000", UnitKind.PER_100000),
    ("10.000", UnitKind.PER_10000),
    ("vạn", UnitKind.PER_10000),
    ("năm", UnitKind.YEARS),
    ("tuổi", UnitKind.YEARS),
]
ROLLUP_OF_KIND: dict[str, str] = {UnitKind.COUNT: Rollup.SUM, UnitKind.YEARS: Rollup.NONE, UnitKind.OTHER: Rollup.NONE}


# A rate per thousand ("/1000 trẻ đẻ sống", "/1.000 dân"), not per ten or a hundred thousand.
PER_THOUSAND = re.compile(r"/\s*1[.,]?000(?![\d.,]*\d)")


def unit_kind_of(unit: str) -> str:
    """A unit written "%" is a percentage, "/vạn dân" per 10,000, "Lượt/ người" a ratio, "Trạm Y tế" a
    count; "/1000 trẻ đẻ sống" per 1,000 even where a document adds "(%)" to it (a rate per thousand
    is ‰ whatever sign follows)."""
    text = unit.lower()
    if PER_THOUSAND.search(text):
        return UnitKind.PERMILLE
    for mark, kind in UNIT_KIND_MARKS:
        if mark in text:
            return kind
    return UnitKind.RATIO if "/" in text else UnitKind.COUNT


@dataclass(frozen=True)
class TargetEntry:
    """A target as written ("≥80%") of an indicator's year, plan-wide or at a unit of the plan's area."""

    indicator: Indicator
    year: int
    text: str
    org_unit: OrgUnit | None = None

    @property
    def key(self) -> tuple[int, int, int | None]:
        return self.indicator.pk, self.year, None if self.org_unit is None else self.org_unit.pk


@dataclass(frozen=True)
class Decision:
    """What authorises the revision of an issued plan's target: its reason and the decision (số/ký
    hiệu, date)."""

    reason: str
    number: str
    date: date


def _fields_or_refuse(record: Model) -> None:
    """The record's own fields cleaned, without the queries of its foreign keys and constraints
    (a bulk service checks those for all its rows at once)."""
    try:
        record.clean_fields(exclude=[field.name for field in record._meta.fields if field.is_relation])
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), fields=exc.message_dict) from exc


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
    measured = INDICATOR_FIELDS - WORDING_FIELDS
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


@transaction.atomic
def indicator_save_many(*, plan: Plan, indicators: Sequence[Indicator], by: User) -> list[Indicator]:
    """The indicators a table brings (the targets' sheet): new ones (unsaved, numbered after the
    plan's) only to a draft, as indicator_create; of saved ones their wording (WORDING_FIELDS), as
    indicator_update. In a fixed number of queries; all or nothing, refusals by the indicator's
    place (RowsRefused)."""
    new = [indicator for indicator in indicators if indicator.pk is None]
    known = [indicator for indicator in indicators if indicator.pk is not None]
    if new:
        plan_check_draft(plan=plan, by=by)
    else:
        plan_check_writable(plan=plan, by=by)
    numbers = dict(plan.indicators.values_list("number", "pk"))
    order = (plan.indicators.aggregate(last=Max("order"))["last"] or 0) + 1
    refused: dict[int, ServiceError] = {}
    seen: set[str] = set()
    for index, indicator in enumerate(indicators):
        indicator.number, indicator.name, indicator.unit = (
            indicator.number.strip(),
            indicator.name.strip(),
            indicator.unit.strip(),
        )
        try:
            if indicator.plan_id != plan.pk:
                raise Invalid(_("The indicator does not belong to this plan."))
            if indicator.number in seen or numbers.get(indicator.number, indicator.pk) != indicator.pk:
                message = _("The plan has another indicator numbered «%(n)s».") % {"n": indicator.number}
                raise Invalid(message, fields={"number": [message]})
            if indicator.pk is None:
                indicator.order, order = order, order + 1
            _fields_or_refuse(indicator)
        except Invalid as exc:
            refused[index] = exc
        seen.add(indicator.number)
    if refused:
        raise RowsRefused(refused)
    Indicator.objects.bulk_create(new)
    Indicator.objects.bulk_update(known, sorted(WORDING_FIELDS))
    return list(indicators)


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


def _stored_targets(entries: Sequence[TargetEntry], *, lock: bool = False) -> dict[tuple[int, int, int | None], Target]:
    """The stored targets of the entries' indicators and years, by TargetEntry.key, in one query."""
    targets = Target.objects.filter(
        indicator__in={entry.indicator.pk for entry in entries}, year__in={entry.year for entry in entries}
    )
    if lock:
        targets = targets.select_for_update()
    return {(target.indicator_id, target.year, target.org_unit_id): target for target in targets}


def _only[Written](call: Callable[..., list[Written]], **kwargs: Any) -> Written:
    """A bulk service called for one entry: its refusal as the entry's own."""
    try:
        return call(**kwargs)[0]
    except RowsRefused as refused:
        raise refused.rows[0] from None


@transaction.atomic
def target_set(*, indicator: Indicator, year: int, text: str, org_unit: OrgUnit | None = None, by: User) -> Target:
    """A draft's target of a year, plan-wide or at a unit of the plan's area, as written ("≥80%");
    creates or replaces it. Once the plan is issued: refused, use target_revise."""
    entry = TargetEntry(indicator, year, text, org_unit)
    return _only(target_set_many, plan=indicator.plan, entries=[entry], by=by)


@transaction.atomic
def target_set_many(*, plan: Plan, entries: Sequence[TargetEntry], by: User) -> list[Target]:
    """target_set of many targets of a draft plan, all or nothing, in a fixed number of queries
    whatever their count; refusals by the entry's place (RowsRefused)."""
    plan_check_draft(plan=plan, by=by)
    stored = _stored_targets(entries)
    refused: dict[int, ServiceError] = {}
    targets: list[Target] = []
    seen: set[tuple[int, int, int | None]] = set()
    for index, entry in enumerate(entries):
        try:
            if entry.indicator.plan_id != plan.pk:
                raise Invalid(_("The indicator does not belong to this plan."))
            if entry.key in seen:
                raise Invalid(_("The same target is given twice."))
            _check_year(plan, entry.year)
            _check_unit(plan, entry.org_unit)
            comparator, value = read_target(entry.indicator, entry.text)
            target = stored.get(entry.key) or Target(
                tenant_id=plan.tenant_id, indicator=entry.indicator, year=entry.year, org_unit=entry.org_unit
            )
            target.comparator, target.value, target.text = comparator, value, " ".join(entry.text.split())
            _fields_or_refuse(target)
        except Invalid as exc:
            refused[index] = exc
            continue
        seen.add(entry.key)
        targets.append(target)
    if refused:
        raise RowsRefused(refused)
    Target.objects.bulk_create([target for target in targets if target.pk is None])
    Target.objects.bulk_update([target for target in targets if target.pk is not None], ["comparator", "value", "text"])
    return targets


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
    entry = TargetEntry(target.indicator, target.year, text, target.org_unit)
    decision = Decision(reason, decision_number, decision_date)
    return _only(target_revise_many, plan=target.indicator.plan, revisions=[(entry, decision)], by=by)


@transaction.atomic
def target_revise_many(
    *, plan: Plan, revisions: Sequence[tuple[TargetEntry, Decision]], by: User
) -> list[TargetRevision]:
    """target_revise of many targets of an issued plan, each by its decision, all or nothing, in a
    fixed number of queries whatever their count; refusals by the revision's place (RowsRefused).
    Only a stored target is revised: an issued plan takes no new ones."""
    plan_check_writable(plan=plan, by=by)
    if plan.status != Plan.Status.ACTIVE:
        raise Conflict(
            _("A draft's targets change directly; only an issued plan's are revised."),
            code="plan_not_issued",
            current=plan,
        )
    stored = _stored_targets([entry for entry, _decision in revisions], lock=True)
    refused: dict[int, ServiceError] = {}
    made: list[TargetRevision] = []
    seen: set[tuple[int, int, int | None]] = set()
    for index, (entry, decision) in enumerate(revisions):
        target = stored.get(entry.key)
        try:
            if entry.indicator.plan_id != plan.pk:
                raise Invalid(_("The indicator does not belong to this plan."))
            if entry.key in seen:
                raise Invalid(_("The same target is given twice."))
            if target is None:
                message = _("There is no target of %(y)s to revise: an issued plan takes no new targets.") % {
                    "y": entry.year
                }
                raise Invalid(message, code="no_target", fields={"year": [message]})
            problems = {
                name: [_("This field is required.")]
                for name, value in (("reason", decision.reason), ("decision_number", decision.number))
                if not value.strip()
            }
            if problems:
                raise Invalid(_("A revision names its reason and the decision that authorises it."), fields=problems)
            comparator, value = read_target(entry.indicator, entry.text)
            revision = TargetRevision(
                target=target,
                old_comparator=target.comparator,
                old_value=target.value,
                old_text=target.text,
                new_comparator=comparator,
                new_value=value,
                new_text=" ".join(entry.text.split()),
                reason=decision.reason.strip(),
                decision_number=decision.number.strip(),
                decision_date=decision.date,
                by=by,
            )
            _fields_or_refuse(revision)
        except Invalid as exc:
            refused[index] = exc
            continue
        seen.add(entry.key)
        made.append(revision)
    if refused:
        raise RowsRefused(refused)
    for revision in made:
        target = revision.target
        target.comparator, target.value, target.text = revision.new_comparator, revision.new_value, revision.new_text
        target.revision_count += 1
        target.revised_by = _("%(number)s of %(date)s") % {
            "number": revision.decision_number,
            "date": revision.decision_date.strftime("%d/%m/%Y"),
        }
        _fields_or_refuse(target)
    TargetRevision.objects.bulk_create(made)
    Target.objects.bulk_update(
        [revision.target for revision in made], ["comparator", "value", "text", "revision_count", "revised_by"]
    )
    return made


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
    entries = [TargetEntry(indicator, year, text, unit) for unit, text in values.items()]
    try:
        return target_set_many(plan=plan, entries=entries, by=by)
    except RowsRefused as refused:
        raise next(iter(refused.rows.values())) from None
