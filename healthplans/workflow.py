"""The review workflow shared by every reviewed record (a figure, a budget line's amounts):
draft → submitted → approved | returned, with unlocking; the version that refuses a save over a
change made meanwhile; and the one hierarchy of refusals that every service raises and that
pages and the API translate once (`healthplans.errors`)."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

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
