"""Writes of actual figures: entry, the draft → submitted → approved | returned path, unlocking.

Every write of a figure, from any page, the API, an import or the demo loader, goes through the
bulk services here (the single ones are the bulk ones with one figure), so that a rule added once
holds on every path. Every write checks who may make it, keeps a history entry, and moves the
value's version, so that a save over a value that changed since it was read is refused rather
than lost: the figures are read locked (SELECT … FOR UPDATE), checked against the version the user
read, and written in bulk, in a fixed number of queries whatever their number. The steps of the
review path are the core's (healthplans.workflow.review_step_many), as for budget amounts. What
the services take and answer (FigureEntry, FigureStep, RowsRefused) is in indicators.entries.
"""

from collections.abc import Callable, Sequence
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthplans.models import OrgUnit, Role, User
from healthplans.notifications import notification_send
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.territory import ended_refusal_text, not_yet_refusal_text
from healthplans.workflow import (
    APPROVE,
    OPEN_STATUSES,
    RETURN,
    SUBMIT,
    UNLOCK,
    Action,
    Conflict,
    Forbidden,
    Invalid,
    Move,
    ReviewStatus,
    ServiceError,
    Step,
    Wording,
    Workflow,
    changed_if_current,
    locked,
    review_step_many,
)
from indicators.entries import FigureEntry, FigureStep, NewFigure, RowsRefused
from indicators.models import Actual, ActualEvent, Indicator, UnitKind, is_entry_unit
from indicators.plausibility import plausibility_warnings_for
from indicators.progress import figures_changed
from indicators.selectors import may_write, role_paths, writer_paths
from plans.models import Plan
from plans.services import plan_not_issued


def value_errors(indicator: Indicator, value: Decimal | None) -> list[str]:
    """What is wrong with a value for this indicator's unit, in the user's language."""
    if value is None:
        return []
    if indicator.unit_kind == UnitKind.PERCENT and not Decimal(0) <= value <= Decimal(100):
        return [_("A percentage lies between 0 and 100.")]
    if indicator.unit_kind == UnitKind.COUNT:
        if value < 0:
            return [_("A count cannot be negative.")]
        if value != value.to_integral_value():
            return [_("A count is a whole number.")]
    if indicator.unit_kind != UnitKind.OTHER and value < 0:
        return [_("This figure cannot be negative.")]
    return []


def resolve_value(
    indicator: Indicator, value: Decimal | None, numerator: Decimal | None, denominator: Decimal | None
) -> Decimal | None:
    """A rate given as numerator/denominator takes its value from them; check the parts either way."""
    errors: dict[str, list[str]] = {}
    if (numerator is None) != (denominator is None):
        errors["denominator" if denominator is None else "numerator"] = [
            _("Give both the numerator and the denominator, or neither.")
        ]
    elif denominator is not None and denominator <= 0:
        errors["denominator"] = [_("The denominator must be greater than zero.")]
    elif numerator is not None and denominator is not None:
        if numerator < 0:
            errors["numerator"] = [_("The numerator cannot be negative.")]
        elif value is None:
            value = numerator / denominator * indicator.rate_scale
            value = value.quantize(Decimal("0.000001"))
    if problems := value_errors(indicator, value):
        errors["value"] = problems
    if errors:
        raise Invalid(_("The figure was not saved."), fields=errors)
    return value


FIGURE_WORDING = Wording(
    locked=gettext_lazy("This figure is approved and locked."),
    stale=gettext_lazy("Someone changed this figure after you opened it; its current value is shown."),
    status=gettext_lazy("This figure is %(status)s and cannot be changed that way."),
)


def _single(written: Callable[[], list[Actual]]) -> Actual:
    """The one figure of a bulk write of one; its refusal raised as itself."""
    try:
        (actual,) = written()
    except RowsRefused as refused:
        raise refused.rows[0] from None
    return actual


def _check_all[Item](items: Sequence[Item], check: Callable[[Item], None]) -> None:
    """Run a check on every item; if any is refused, refuse them all (nothing is written)."""
    refused: dict[int, ServiceError] = {}
    for index, item in enumerate(items):
        try:
            check(item)
        except ServiceError as error:
            refused[index] = error
    if refused:
        raise RowsRefused(refused)


_RELATED = ("indicator__plan__issuer_org_unit", "org_unit", "submitted_by", "reviewed_by")


def _require_at(paths: tuple[str, ...] | None, unit: OrgUnit, message: str) -> None:
    if not may_write(paths, unit):
        raise Forbidden(message)


def _writer_refusal() -> str:
    return _("You may not enter figures for this unit.")


def _reviewer_refusal() -> str:
    return _("Only a reviewer of a unit above may review this figure.")


def _require_issued(plan: Plan) -> None:
    if refusal := plan_not_issued(plan):
        raise refusal


def _check_roles(actuals: Sequence[Actual], paths: tuple[str, ...] | None, message: str) -> None:
    """Who may write or review, and that the plan is issued: checked for every figure with one read
    of the user's roles."""

    def check(actual: Actual) -> None:
        _require_at(paths, actual.org_unit, message)
        _require_issued(actual.indicator.plan)

    _check_all(actuals, check)


def _history(actual: Actual, *, by: User, action: str, message: str) -> ActualEvent:
    """A review step's history entry: the value stays as it is."""
    return ActualEvent(
        actual=actual, by=by, action=action, old_value=actual.value, new_value=actual.value, message=message
    )


FIGURES_FLOW = Workflow(
    records=lambda: Actual.objects.select_related(*_RELATED),
    wording=FIGURE_WORDING,
    check_writer=lambda actuals, by: _check_roles(actuals, writer_paths(by), _writer_refusal()),
    check_reviewer=lambda actuals, by: _check_roles(actuals, role_paths(by, {Role.REVIEWER}), _reviewer_refusal()),
    history=_history,
    return_needs=gettext_lazy("Say why the figure is returned."),
    unlock_needs=gettext_lazy("Say why the figure is unlocked."),
)


def _reviewed_first(error: ServiceError) -> ServiceError:
    """A review refused because a colleague reviewed the figure first says who."""
    current = error.current if isinstance(error, Conflict) else None
    if (
        current is None
        or current.reviewed_by is None
        or current.status
        not in {
            ReviewStatus.APPROVED,
            ReviewStatus.RETURNED,
        }
    ):
        return error
    message = _("%(message)s %(reviewer)s reviewed it first (%(status)s).") % {
        "message": error.message,
        "reviewer": current.reviewed_by.get_username(),
        "status": current.get_status_display(),
    }
    return Conflict(message, code=error.code, current=current)


class _Checked(Exception):
    """Rolls back a step that was only to be checked."""


def _stepped(
    step: Step,
    steps: Sequence[FigureStep],
    texts: Sequence[str],
    *,
    by: User,
    check: Callable[[Actual, str], None] | None = None,
    check_only: bool = False,
) -> list[Actual]:
    """Move figures one step of the review path (the core's review_step_many), all or nothing: one
    refused figure refuses all (RowsRefused), and the roll-ups of their plans are told."""
    moves = [Move(item.actual, item.version, text) for item, text in zip(steps, texts, strict=True)]
    try:
        with transaction.atomic():
            results = review_step_many(FIGURES_FLOW, moves, step=step, by=by, check=check)
            refused = {index: result for index, result in enumerate(results) if isinstance(result, ServiceError)}
            if refused:
                named = step in (APPROVE, RETURN)
                raise RowsRefused({i: _reviewed_first(e) if named else e for i, e in refused.items()})
            if check_only:
                raise _Checked
    except _Checked:
        return []
    moved = [result for result in results if isinstance(result, Actual)]
    for plan_id in sorted({actual.indicator.plan_id for actual in moved}):
        figures_changed(plan_id)
    return moved


# Rows per INSERT or UPDATE statement: an import of a province's stations stays a few statements.
WRITE_BATCH = 2000


def new_figure_value(figure: NewFigure, org_unit: OrgUnit, parsed: Period | PeriodError) -> Decimal | None:
    """The value a new figure is stored with, once it passed the checks of a new figure (its unit's
    level, the plan's years, its range); Invalid names the fields at fault."""
    indicator = figure.indicator
    if isinstance(parsed, Period) and not org_unit.exists_between(parsed.start, parsed.end):
        # A unit ended (or not yet created) by a reorganisation takes no figures for the period:
        # the message names the unit that took its place.
        message = (
            ended_refusal_text(org_unit, parsed.start)
            if org_unit.valid_to is not None and org_unit.valid_to < parsed.start
            else not_yet_refusal_text(org_unit, parsed.end)
        )
        raise Invalid(message, code="unit_not_in_period", fields={"org_unit": [message]})
    if not is_entry_unit(indicator, org_unit, parsed if isinstance(parsed, Period) else None):
        raise Invalid(
            _("This indicator is not entered at this unit."),
            fields={
                "org_unit": [
                    _("This indicator is entered at the level: %(level)s.")
                    % {"level": indicator.get_entry_level_display()}
                ]
            },
        )
    if isinstance(parsed, PeriodError):
        raise Invalid(str(parsed), fields={"period": [str(parsed)]}) from parsed
    plan = indicator.plan
    if not plan.start_year <= parsed.target_year <= (plan.vision_year or plan.end_year):
        message = _("The plan runs from %(start)s to %(end)s.") % {"start": plan.start_year, "end": plan.end_year}
        raise Invalid(message, fields={"period": [message]})
    return resolve_value(indicator, figure.value, figure.numerator, figure.denominator)


def _parsed_periods(entries: Sequence[FigureEntry]) -> dict[str, Period | PeriodError]:
    """Each period as the entries write it, parsed once (an import's thousands of entries name one)."""
    parsed: dict[str, Period | PeriodError] = {}
    for text in {entry.period for entry in entries}:
        try:
            parsed[text] = parse_period(text)
        except PeriodError as exc:
            parsed[text] = exc
    return parsed


@transaction.atomic
def actual_save_many(*, entries: Sequence[FigureEntry], by: User, check_only: bool = False) -> list[Actual]:
    """Enter new figures and change stored ones (drafts and returned figures), all or nothing, in a
    fixed number of queries: the figures are read and locked once, every entry is checked (who may
    write, the figure's level, years and range, the version read and the status), then written in
    bulk with their history. One refused entry refuses all (RowsRefused, each refusal in its place).
    `check_only` checks and writes nothing: for a caller that refused some rows itself and shows
    every refusal at once."""
    writers = writer_paths(by)
    periods = _parsed_periods(entries)
    keys = [
        (entry.indicator.pk, entry.org_unit.pk, period.code if isinstance(period, Period) else entry.period)
        for entry in entries
        for period in [periods[entry.period]]
    ]
    stored = {
        (actual.indicator_id, actual.org_unit_id, actual.period): actual
        for actual in locked(Actual.objects.select_related(*_RELATED)).filter(
            indicator_id__in={key[0] for key in keys},
            org_unit_id__in={key[1] for key in keys},
            period__in={key[2] for key in keys},
        )
    }
    results: list[Actual] = []
    created: list[Actual] = []
    updated: list[Actual] = []
    events: list[ActualEvent] = []
    refusal = _writer_refusal()

    def check(index: int) -> None:
        entry, key = entries[index], keys[index]
        _require_at(writers, entry.org_unit, refusal)
        current = stored.get(key)
        _require_issued((current or entry).indicator.plan)
        if current is None:
            figure = NewFigure(entry.indicator, entry.value, entry.numerator, entry.denominator)
            new = Actual(
                tenant_id=entry.org_unit.tenant_id,
                indicator=entry.indicator,
                org_unit=entry.org_unit,
                period=key[2],
                value=new_figure_value(figure, entry.org_unit, periods[entry.period]),
                numerator=entry.numerator,
                denominator=entry.denominator,
                note=entry.note or "",
                source=entry.source,
                created_by=by,
                is_demo=entry.is_demo,
            )
            created.append(new)
            results.append(new)
            return
        if entry.version is None:
            raise _entered_meanwhile(current)
        value = resolve_value(current.indicator, entry.value, entry.numerator, entry.denominator)
        if (value, entry.numerator, entry.denominator) == (current.value, current.numerator, current.denominator) and (
            entry.note in (None, current.note)
        ):
            # Nothing changes, so nothing is written (and a submission checks the version read).
            results.append(current)
            return
        old = current.value
        changes = {"value": value, "numerator": entry.numerator, "denominator": entry.denominator}
        outcome = changed_if_current(
            current,
            version=entry.version,
            expect_status=OPEN_STATUSES,
            wording=FIGURE_WORDING,
            changes=changes if entry.note is None else {**changes, "note": entry.note},
        )
        if isinstance(outcome, Conflict):
            raise outcome
        if value != old:
            events.append(
                ActualEvent(
                    actual=current,
                    by=by,
                    action=Action.CHANGE,
                    old_value=old,
                    new_value=value,
                    message=entry.note or "",
                )
            )
        updated.append(current)
        results.append(current)

    _check_all(range(len(entries)), check)
    if check_only:
        return []
    Actual.objects.bulk_update(
        updated, ["value", "numerator", "denominator", "note", "version"], batch_size=WRITE_BATCH
    )
    try:
        if created:
            with transaction.atomic():
                _insert_new(created, by=by)
    except IntegrityError:
        # Another save created some of these figures between our read and our insert.
        again = Actual.objects.select_related(*_RELATED).filter(
            indicator_id__in={actual.indicator_id for actual in created},
            org_unit_id__in={actual.org_unit_id for actual in created},
            period__in={actual.period for actual in created},
        )
        meanwhile = {(a.indicator_id, a.org_unit_id, a.period): a for a in again}
        raise RowsRefused(
            {index: _entered_meanwhile(meanwhile[key]) for index, key in enumerate(keys) if key in meanwhile}
        ) from None
    ActualEvent.objects.bulk_create(events, batch_size=WRITE_BATCH)
    written = {actual.pk for actual in [*created, *updated]}
    chosen = [index for index, entry in enumerate(entries) if entry.submit]
    if not chosen:
        return results
    # A figure written now is submitted as written; one left as it was, at the version the user read.
    steps = [
        FigureStep(results[i], None if results[i].pk in written else entries[i].version, entries[i].note)
        for i in chosen
    ]
    try:
        submitted = actual_submit_many(steps=steps, by=by)
    except RowsRefused as refused:
        raise RowsRefused({chosen[place]: error for place, error in refused.rows.items()}) from None
    for index, actual in zip(chosen, submitted, strict=True):
        results[index] = actual
    return results


def _insert_new(created: list[Actual], *, by: User) -> None:
    """New figures and their "create" history in one statement: an array per column, as bulk_create
    sends them, of the values it would take (pre_save), less its preparing of each value in Python
    (most of a 10,000-figure import's write); each instance gets its id."""
    if connection.vendor != "postgresql":
        # The local run's SQLite has no arrays: bulk_create, and the history built here.
        Actual.objects.bulk_create(created, batch_size=WRITE_BATCH)
        history = [
            ActualEvent(actual=actual, by=by, action=Action.CREATE, new_value=actual.value, message=actual.note)
            for actual in created
        ]
        ActualEvent.objects.bulk_create(history, batch_size=WRITE_BATCH)
        return
    fields = [field for field in Actual._meta.concrete_fields if not field.primary_key]
    columns = [[field.pre_save(actual, True) for actual in created] for field in fields]
    quote = connection.ops.quote_name
    # Only the models' own names and types are formatted into the statement; the values are parameters.
    names = ", ".join(quote(str(field.column)) for field in fields)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sql = f"""
        WITH new AS (
            INSERT INTO {quote(Actual._meta.db_table)} ({names}) SELECT * FROM unnest({arrays})
            RETURNING id, indicator_id, org_unit_id, period, value, note
        ), history AS (
            INSERT INTO {quote(ActualEvent._meta.db_table)} (actual_id, at, by_id, action, new_value, message)
            SELECT id, %s, %s, %s, value, note FROM new
        )
        SELECT id, indicator_id, org_unit_id, period FROM new
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*columns, timezone.now(), by.pk, Action.CREATE])
        ids = {(indicator, unit, period): pk for pk, indicator, unit, period in cursor.fetchall()}
    for actual in created:
        actual.pk = ids[(actual.indicator_id, actual.org_unit_id, actual.period)]
        actual._state.adding, actual._state.db = False, connection.alias


def _entered_meanwhile(current: Actual) -> Conflict:
    return Conflict(
        _("Someone entered this figure after you opened the page; its current value is shown."),
        code="exists",
        current=current,
    )


@transaction.atomic
def actual_create_many(*, org_unit: OrgUnit, period: str, figures: Sequence[NewFigure], by: User) -> list[Actual]:
    """New figures of one unit and period (a station's form, the demo loader): actual_save_many."""
    entries = [
        FigureEntry(
            figure.indicator,
            org_unit,
            period,
            figure.value,
            figure.numerator,
            figure.denominator,
            note=figure.note,
            source=figure.source,
            is_demo=figure.is_demo,
        )
        for figure in figures
    ]
    return actual_save_many(entries=entries, by=by)


def actual_create(
    *,
    indicator: Indicator,
    org_unit: OrgUnit,
    period: str,
    value: Decimal | None,
    numerator: Decimal | None = None,
    denominator: Decimal | None = None,
    note: str = "",
    source: str = "",
    by: User,
    is_demo: bool = False,
) -> Actual:
    figure = NewFigure(indicator, value, numerator, denominator, note, source, is_demo)
    return _single(lambda: actual_create_many(org_unit=org_unit, period=period, figures=[figure], by=by))


def actual_update(
    *,
    actual: Actual,
    version: int,
    value: Decimal | None,
    numerator: Decimal | None = None,
    denominator: Decimal | None = None,
    note: str | None = None,
    by: User,
) -> Actual:
    entry = FigureEntry(
        actual.indicator, actual.org_unit, actual.period, value, numerator, denominator, note=note, version=version
    )
    return _single(lambda: actual_save_many(entries=[entry], by=by))


@transaction.atomic
def actual_submit_many(*, steps: Sequence[FigureStep], by: User, check_only: bool = False) -> list[Actual]:
    """Submit drafts and returned figures for review, all or nothing, in a fixed number of queries.
    A value that looks unusual (plausibility_warnings_for) needs a note saying why. `check_only`
    as for actual_save_many."""
    warnings = plausibility_warnings_for([step.actual for step in steps])

    def check(actual: Actual, note: str) -> None:
        if actual.value is None:
            raise Invalid(_("Enter a value before submitting."), fields={"value": [_("This field is required.")]})
        if warnings[actual.pk] and not note.strip():
            raise Invalid(
                _("This value looks unusual: add a note explaining it before submitting."),
                fields={"note": warnings[actual.pk]},
            )

    notes = [step.actual.note if step.note is None else step.note for step in steps]
    return _stepped(SUBMIT, steps, notes, by=by, check=check, check_only=check_only)


def actual_submit(*, actual: Actual, version: int, by: User, note: str | None = None) -> Actual:
    return _single(lambda: actual_submit_many(steps=[FigureStep(actual, version, note)], by=by))


@transaction.atomic
def actual_approve_many(*, steps: Sequence[FigureStep], by: User) -> list[Actual]:
    """Approve submitted figures (a reviewer's group), all or nothing, in a fixed number of queries."""
    return _stepped(APPROVE, steps, [""] * len(steps), by=by)


def actual_approve(*, actual: Actual, by: User, version: int | None = None) -> Actual:
    return _single(lambda: actual_approve_many(steps=[FigureStep(actual, version)], by=by))


@transaction.atomic
def actual_return_many(*, steps: Sequence[FigureStep], message: str, by: User) -> list[Actual]:
    """Return submitted figures to whoever submitted them, with the reviewer's message, all or
    nothing. Each submitter is notified (one notification, and an e-mail, per figure)."""
    returned = _stepped(RETURN, steps, [message] * len(steps), by=by)
    for actual in returned:
        if actual.submitted_by is not None:
            text = _("%(reviewer)s returned «%(indicator)s» (%(unit)s, %(period)s): %(message)s") % {
                "reviewer": by.get_username(),
                "indicator": actual.indicator.name,
                "unit": actual.org_unit.name,
                "period": actual.period,
                "message": message,
            }
            link = f"/figures/{actual.org_unit.code}/{actual.period}/"
            notification_send(user=actual.submitted_by, text=text, link=link)
    return returned


def actual_return(*, actual: Actual, by: User, message: str, version: int | None = None) -> Actual:
    return _single(lambda: actual_return_many(steps=[FigureStep(actual, version)], message=message, by=by))


@transaction.atomic
def actual_unlock(*, actual: Actual, by: User, reason: str, version: int | None = None) -> Actual:
    return _single(lambda: _stepped(UNLOCK, [FigureStep(actual, version)], [reason], by=by))
