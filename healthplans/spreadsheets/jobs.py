"""One import, from upload to confirmation: read the file, run its kind's steps now or hand a
large one (more than settings.IMPORT_ASYNC_ROWS rows) to a Celery worker, tell its progress, and
confirm a clean dry run. The state of an import (its table, status, progress and result) lives in
the cache, per user.

The task is delivered again once the import has finished (acks_late) and then does nothing; run
twice at once, the second writer is refused by the services' versions and unique constraints,
all or nothing."""

import logging
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from healthplans.models import User
from healthplans.spreadsheets.files import SheetError, SheetRefused, read_table
from healthplans.spreadsheets.registry import Progress, SheetPlan, no_progress, sheet_import

logger = logging.getLogger(__name__)

PREVIEW_SECONDS = 60 * 60
# An import's status: queued and running while a worker has it; then valid (a dry run that would
# succeed), imported, invalid (row errors, nothing written), refused (not a readable file) or
# failed (the worker broke off; nothing written).
PENDING = ("queued", "running")
STATUSES = (*PENDING, "valid", "imported", "invalid", "refused", "failed")


@dataclass
class ImportResult:
    id: str
    status: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[SheetError] = field(default_factory=list)
    progress: int = 100  # percent done

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "rows": self.rows,
            "errors": [asdict(error) for error in self.errors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImportResult":
        errors = [SheetError(**error) for error in data["errors"]]
        return cls(data["id"], data["status"], data["rows"], errors, data["progress"])


def refusal(message: str) -> ImportResult:
    return ImportResult(uuid.uuid4().hex, "refused", [], [SheetError(None, None, message)])


def run_import(
    *,
    plan: SheetPlan,
    kind: str,
    table: list[list[str]],
    by: User,
    dry_run: bool,
    import_id: str,
    progress: Progress = no_progress,
) -> ImportResult:
    sheet = sheet_import(kind)
    rows, errors = sheet.parse(table)
    preview: list[dict[str, Any]] = []
    if not errors:
        checked = sheet.check(plan=plan, rows=rows, by=by, progress=progress)
        preview, errors = checked.preview, checked.errors
        if not errors and (sheet.rehearsed or not dry_run):
            with transaction.atomic():
                errors = sheet.write(plan=plan, changes=checked.changes, by=by, progress=progress)
                if errors or dry_run:
                    transaction.set_rollback(True)
    status = "invalid" if errors else "valid" if dry_run else "imported"
    return ImportResult(import_id, status, preview, errors)


def import_forbidden(*, plan: SheetPlan, kind: str, by: User) -> str | None:
    """Why the user may not import this kind into the plan at all, or None: each kind says."""
    return sheet_import(kind).forbidden(plan, by)


# ---------------------------------------------------------------------------------------------
# The import's state in the cache


def state_key(import_id: str, user: User) -> str:
    return f"sheets-import:{import_id}:{user.pk}"


def progress_key(import_id: str, user: User) -> str:
    return f"{state_key(import_id, user)}:progress"


@dataclass
class ImportJob:
    """What the cache keeps of an import: enough to run it (in a worker) or confirm it, and its result."""

    plan: int
    kind: str
    dry_run: bool
    table: list[list[str]]
    result: dict[str, Any]
    language: str = ""

    def save(self, by: User) -> None:
        # A finished import keeps its result for the status endpoint, and only a clean dry run
        # its table, for the confirmation.
        keep_table = self.result["status"] in {*PENDING, "valid"}
        cache.set(
            state_key(self.result["id"], by),
            asdict(self) | {"table": self.table if keep_table else []},
            PREVIEW_SECONDS,
        )
        cache.delete(progress_key(self.result["id"], by))


def import_job(import_id: str, by: User) -> ImportJob | None:
    stored = cache.get(state_key(import_id, by))
    return ImportJob(**stored) if stored is not None else None


# ---------------------------------------------------------------------------------------------
# Upload, confirmation, status


def import_start(
    *, plan: SheetPlan, kind: str, table: list[list[str]], by: User, dry_run: bool, import_id: str
) -> ImportResult:
    """Run an import now, or hand a large one to a worker and answer "queued"."""
    if len(table) - 1 > settings.IMPORT_ASYNC_ROWS:
        result = ImportResult(import_id, "queued", progress=0)
        ImportJob(plan.pk, kind, dry_run, table, result.as_dict(), get_language() or "").save(by)
        # A worker finds the import in the cache; while Redis is away there is neither cache nor
        # broker, and the import runs in this request instead, slower but whole.
        if import_job(import_id, by) is not None:
            user_id = by.pk
            transaction.on_commit(lambda: import_hand_over(import_id, user_id))
            return result
        logger.warning("The cache is unavailable: import %s runs in its request", import_id)
    result = run_import(plan=plan, kind=kind, table=table, by=by, dry_run=dry_run, import_id=import_id)
    ImportJob(plan.pk, kind, dry_run, table, result.as_dict()).save(by)
    return result


def import_upload(
    *, plan: SheetPlan, kind: str, content: bytes, name: str = "", by: User, dry_run: bool
) -> ImportResult:
    try:
        table = read_table(content, name=name)
    except SheetRefused as exc:
        return refusal(exc.message)
    return import_start(plan=plan, kind=kind, table=table, by=by, dry_run=dry_run, import_id=uuid.uuid4().hex)


def import_confirm(*, import_id: str, by: User, plans: QuerySet[Any]) -> ImportResult | None:
    """Write a previewed import; None if there is no such clean preview of this user's (or its
    plan is no longer visible). The rows are checked again: the data may have changed meanwhile."""
    job = import_job(import_id, by)
    if job is None or job.result["status"] != "valid":
        return None
    plan = plans.filter(pk=job.plan).select_related("issuer_org_unit").first()
    if plan is None:
        return None
    return import_start(plan=plan, kind=job.kind, table=job.table, by=by, dry_run=False, import_id=import_id)


def import_status(*, import_id: str, by: User) -> ImportResult | None:
    """Where an import of this user's stands; None if there is none (or it expired)."""
    job = import_job(import_id, by)
    if job is None:
        return None
    result = ImportResult.from_dict(job.result)
    if result.status in PENDING and (running := cache.get(progress_key(import_id, by))):
        result.status, result.progress = running["status"], running["progress"]
    return result


# ---------------------------------------------------------------------------------------------
# The worker's part


def import_hand_over(import_id: str, user_id: int) -> None:
    """Give a queued import to a worker, or run it here when the broker refuses it."""
    try:
        import_run.apply_async((import_id, user_id), retry=False)
    except (KombuOperationalError, OSError):
        logger.warning("The broker is unavailable: import %s runs in its request", import_id)
        import_work(import_id=import_id, user_id=user_id)


@shared_task(ignore_result=True)
def import_run(import_id: str, user_id: int) -> None:
    import_work(import_id=import_id, user_id=user_id)


def import_work(*, import_id: str, user_id: int) -> None:
    """A worker's part of a large import: run it, telling its progress, and keep its result.
    Nothing to do when the import expired or has run already (a message delivered twice)."""
    user = User.objects.get(pk=user_id)
    job = import_job(import_id, user)
    if job is None or job.result["status"] not in PENDING:
        return

    def progress(done: int, total: int) -> None:
        percent = min(99, done * 100 // max(total, 1))
        cache.set(progress_key(import_id, user), {"status": "running", "progress": percent}, PREVIEW_SECONDS)

    progress(0, 1)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            plan = sheet_import(job.kind).plan_get(fetched_by=user, pk=job.plan)
        except Http404:
            result = ImportResult(
                import_id, "failed", [], [SheetError(None, None, _("This plan is no longer visible."))]
            )
        else:
            try:
                result = run_import(
                    plan=plan,
                    kind=job.kind,
                    table=job.table,
                    by=user,
                    dry_run=job.dry_run,
                    import_id=import_id,
                    progress=progress,
                )
            except Exception:
                # Whatever broke, the transaction wrote nothing; the person waiting is told so.
                logger.exception("Import %s failed", import_id)
                message = _("The import broke off and nothing was written. Try again, or tell the administrator.")
                result = ImportResult(import_id, "failed", [], [SheetError(None, None, message)])
    job.result = result.as_dict()
    job.save(user)
