"""The review workflow shared by every reviewed record (a figure, a budget line's amounts):
draft → submitted → approved | returned, with unlocking; the version that refuses a save over a
change made meanwhile; and the one hierarchy of refusals that every service raises and that
pages and the API translate once (`healthplans.errors`)."""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthplans.models import User

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    RETURNED = "returned", _("returned")


OPEN_STATUSES = {ReviewStatus.DRAFT, ReviewStatus.RETURNED}


class Action(models.TextChoices):
    CREATE = "create", _("created")
    CHANGE = "change", _("changed")
    SUBMIT = "submit", _("submitted")
    APPROVE = "approve", _("approved")
    RETURN = "return", _("returned")
    UNLOCK = "unlock", _("unlocked")


class ReviewedRecord(models.Model):
    """What moves draft → submitted → approved | returned, with a version and who did what when:
    a figure, a line's budget amounts."""

    status = models.CharField(_("status"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    message = models.TextField(_("reviewer's message"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        abstract = True


class ServiceError(Exception):
    """A refused write: a machine-readable `code`, a message in the user's language, the fields at
    fault, and `extra` facts for the answer; `status` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = dict(fields or {})
        self.extra = dict(extra or {})


class Invalid(ServiceError):
    pass


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    """The record is locked, awaiting review, or changed since it was read; `current` is what is
    stored."""

    status = 409

    def __init__(self, message: str, *, code: str, current: Any) -> None:
        super().__init__(message, code=code)
        self.current = current


@dataclass(frozen=True)
class Wording:
    """How a conflict speaks of the record it refuses to change."""

    locked: "StrOrPromise"
    stale: "StrOrPromise"
    status: "StrOrPromise"  # with %(status)s


def conditional_update[Record: ReviewedRecord](
    queryset: QuerySet[Record],
    record: Record,
    *,
    version: int,
    expect_status: Collection[str],
    wording: Wording,
    **changes: Any,
) -> Record:
    """Apply changes only if the row still has the version (and a status) it was read with, and
    return it as stored; otherwise say why not (locked, changed meanwhile, wrong status)."""
    updated = queryset.filter(pk=record.pk, version=version, status__in=expect_status).update(
        version=version + 1, **changes
    )
    current = queryset.get(pk=record.pk)
    if not updated:
        raise refusal(current, version=version, expect_status=expect_status, wording=wording)
    return current


def refusal(current: ReviewedRecord, *, version: int, expect_status: Collection[str], wording: Wording) -> Conflict:
    """Why a write expecting this version and one of these statuses cannot apply to the stored row."""
    if current.status == ReviewStatus.APPROVED and ReviewStatus.APPROVED not in expect_status:
        return Conflict(str(wording.locked), code="locked", current=current)
    if current.version != version:
        return Conflict(str(wording.stale), code="stale_version", current=current)
    return Conflict(
        str(wording.status) % {"status": current.get_status_display()},
        code=f"status_{current.status}",
        current=current,
    )


def locked[Record: ReviewedRecord](queryset: QuerySet[Record]) -> QuerySet[Record]:
    """The rows as stored, locked until the transaction ends, so that what a bulk write checks
    (version, status) still holds when it writes; only the records' own rows are locked."""
    return queryset.select_for_update(of=("self",))


def changed_if_current[Record: ReviewedRecord](
    stored: Record, *, version: int, expect_status: Collection[str], wording: Wording, changes: Mapping[str, Any]
) -> Record | Conflict:
    """conditional_update for a row read `locked`: the changes applied in memory and the version
    moved on if the row still has the version and a status the write expects, else the refusal.
    The caller saves the changed rows together (`save_changed`)."""
    if stored.version != version or stored.status not in expect_status:
        # Read FOR UPDATE after a concurrent write, the row is the new one but the users it was
        # joined with are those of the old one (PostgreSQL re-reads only the locked table): the
        # refusal shows who acted meanwhile, so they are read again when asked for.
        for name in ("created_by", "submitted_by", "reviewed_by"):
            field = stored._meta.get_field(name)
            if isinstance(field, models.ForeignKey) and field.is_cached(stored):
                field.delete_cached_value(stored)
        return refusal(stored, version=version, expect_status=expect_status, wording=wording)
    for name, value in changes.items():
        setattr(stored, name, value)
    stored.version = version + 1
    return stored


def save_changed(records: Sequence[ReviewedRecord], fields: Collection[str]) -> None:
    """One UPDATE for rows changed by `changed_if_current` (the fields named and the version)."""
    if records:
        type(records[0])._default_manager.bulk_update(records, [*fields, "version"])


@dataclass(frozen=True)
class Step:
    """A move along the review path: from which statuses to which, who may make it (the record's
    writers or its reviewers), whose stamp it sets, and what its text is (`text_field`: the record's
    field that keeps it; `required`: the input that must give it, named in the refusal)."""

    action: Action
    expect_status: frozenset[str]
    status: ReviewStatus
    by_reviewer: bool
    text_field: str | None = None
    required: str | None = None

    @property
    def stamp(self) -> str:
        return "reviewed" if self.by_reviewer else "submitted"


SUBMIT = Step(Action.SUBMIT, frozenset(OPEN_STATUSES), ReviewStatus.SUBMITTED, by_reviewer=False, text_field="note")
APPROVE = Step(
    Action.APPROVE, frozenset({ReviewStatus.SUBMITTED}), ReviewStatus.APPROVED, by_reviewer=True, text_field="message"
)
RETURN = Step(
    Action.RETURN,
    frozenset({ReviewStatus.SUBMITTED}),
    ReviewStatus.RETURNED,
    by_reviewer=True,
    text_field="message",
    required="message",
)
UNLOCK = Step(
    Action.UNLOCK, frozenset({ReviewStatus.APPROVED}), ReviewStatus.DRAFT, by_reviewer=True, required="reason"
)


def step_changes(step: Step, *, by: User, text: str) -> dict[str, Any]:
    """What a step writes on a record besides its version: the status, who took it and when, its text."""
    changes: dict[str, Any] = {"status": step.status, f"{step.stamp}_by": by, f"{step.stamp}_at": timezone.now()}
    if step.text_field:
        changes[step.text_field] = text
    return changes


@dataclass(frozen=True)
class Workflow[Record: ReviewedRecord]:
    """What the review steps need to know of one kind of record: where its rows are read (with what
    its answers show), how refusals speak of it, who may write and review it (each check raises
    Forbidden for the records given), the history entry of a step (unsaved, the values as they
    stand), and why a return or an unlock needs its text."""

    records: Callable[[], QuerySet[Record]]
    wording: Wording
    check_writer: Callable[[Sequence[Record], User], None]
    check_reviewer: Callable[[Sequence[Record], User], None]
    history: Callable[..., models.Model]  # history(record, by=, action=, message=)
    return_needs: "StrOrPromise"
    unlock_needs: "StrOrPromise"


@dataclass(frozen=True)
class Move[Record: ReviewedRecord]:
    """One record to move: the version it was read at (None: as given) and the step's text (note,
    message or reason)."""

    record: Record
    version: int | None = None
    text: str = ""


def review_step_many[Record: ReviewedRecord](
    flow: Workflow[Record],
    moves: Sequence[Move[Record]],
    *,
    step: Step,
    by: User,
    check: Callable[[Record, str], None] | None = None,
) -> list[Record | ServiceError]:
    """Move records one step in a fixed number of queries (the actor's check, a locked read, one
    UPDATE, one INSERT of history): each refusal in its place, nothing written for a refused record.
    `check(record, text)` raises Invalid for what the domain asks before the step (complete amounts,
    a note explaining an unusual value)."""
    if not moves:
        return []
    (flow.check_reviewer if step.by_reviewer else flow.check_writer)([move.record for move in moves], by)
    refused: dict[int, ServiceError] = {}
    for index, move in enumerate(moves):
        try:
            if step.required and not move.text.strip():
                why = flow.return_needs if step.action == Action.RETURN else flow.unlock_needs
                raise Invalid(str(why), fields={step.required: [gettext("This field is required.")]})
            if check is not None:
                check(move.record, move.text)
        except ServiceError as error:
            refused[index] = error
    passed = [move.record.pk for index, move in enumerate(moves) if index not in refused]
    stored = {record.pk: record for record in locked(flow.records()).filter(pk__in=passed)} if passed else {}
    stamp = step_changes(step, by=by, text="")
    results: list[Record | ServiceError] = []
    for index, move in enumerate(moves):
        if index in refused:
            results.append(refused[index])
            continue
        results.append(
            changed_if_current(
                stored[move.record.pk],
                version=move.record.version if move.version is None else move.version,
                expect_status=step.expect_status,
                wording=flow.wording,
                changes={**stamp, **({step.text_field: move.text} if step.text_field else {})},
            )
        )
    moved = [result for result in results if not isinstance(result, ServiceError)]
    save_changed(moved, list(stamp))
    events = [
        flow.history(record, by=by, action=step.action, message=move.text)
        for record, move in zip(results, moves, strict=True)
        if not isinstance(record, ServiceError)
    ]
    if events:
        type(events[0])._default_manager.bulk_create(events)
    return results


def review_step[Record: ReviewedRecord](
    flow: Workflow[Record],
    record: Record,
    *,
    step: Step,
    by: User,
    version: int | None = None,
    text: str = "",
    check: Callable[[Record, str], None] | None = None,
) -> Record:
    """One record moved one step (`review_step_many` of one); a refusal is raised."""
    (result,) = review_step_many(flow, [Move(record, version, text)], step=step, by=by, check=check)
    if isinstance(result, ServiceError):
        raise result
    return result
