"""Celery tasks of reports: render one version (queue `reports`), the daily scheduler, and beat's
hand-over of versions queued while the broker was away.

report_generate is safe to deliver more than once: messages are acknowledged only when the task
ends (acks_late) and put back when a worker dies under it (reject_on_worker_lost), so a version
may be delivered again; the service renders it only while it is queued or running, under a lock,
and always to the version's one file name.
"""

import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from healthplans.workflow import Conflict
from reporting.services import (
    generation_lock,
    report_fail,
    report_generation_claim,
    report_render,
    reports_fail_stalled,
    reports_hand_over_delayed,
    reports_request_due,
)

logger = logging.getLogger(__name__)

# Errors worth another try, with back-off: the database or the file storage briefly away.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


class ReportTask(Task):
    """Marks the version failed when the task gives up (after its retries, or on a hard error)."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: object) -> None:
        report_id = args[0] if args else kwargs.get("report_id")
        if report_id is not None:
            report_fail(report_id=report_id, reason=failure_reason(exc))


def failure_reason(exc: BaseException) -> str:
    """Why the version failed, stored on the row for Vietnamese readers whatever the worker's language."""
    with override(settings.LANGUAGE_CODE):
        if isinstance(exc, SoftTimeLimitExceeded):
            return _("Generating the report took too long and was stopped. Try again later.")
        if isinstance(exc, TRANSIENT_ERRORS):
            return _("The database or the file storage was unavailable. Try again later.")
        return _("The report could not be generated (an error in the program). Try again, or tell the administrator.")


@shared_task(
    bind=True,
    base=ReportTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=settings.REPORT_SOFT_TIME_LIMIT,
    time_limit=settings.REPORT_TIME_LIMIT,
)
def report_generate(self: Task, report_id: int) -> str:
    """Render version `report_id` to PDF and store it; 'skipped' when there is nothing to do."""
    with generation_lock(report_id) as acquired:
        if not acquired:
            # Another worker is rendering this version right now and will finish it.
            return "busy"
        report = report_generation_claim(report_id=report_id)
        if report is None:
            return "skipped"
        try:
            report_render(report=report)
        except TRANSIENT_ERRORS as error:
            if self.request.is_eager:
                # Run in-process (no broker: the local run): nothing would come back to retry it.
                report_fail(report_id=report_id, reason=failure_reason(error))
                return "failed"
            raise  # retried with back-off; failed by on_failure once the retries are spent
        except SoftTimeLimitExceeded as error:
            report_fail(report_id=report_id, reason=failure_reason(error))
            return "failed"
        except Conflict:
            return "superseded"
        except Exception as error:
            # A bug or bad data: another try would fail the same way.
            logger.exception("Report %s could not be generated", report_id)
            report_fail(report_id=report_id, reason=failure_reason(error))
            return "failed"
    return "ready"


@shared_task
def reports_schedule_due() -> list[int]:
    """Celery beat, daily: drafts for every plan's periods closed for longer than the grace."""
    return [report.pk for report in reports_request_due(today=timezone.localdate())]


@shared_task
def reports_fail_stalled_task() -> list[int]:
    """Celery beat, every ten minutes: fail the versions a hard time limit left running."""
    return reports_fail_stalled(now=timezone.now())


@shared_task
def reports_hand_over_delayed_task() -> list[int]:
    """Celery beat, every minute: hand over the versions queued while the broker was away."""
    return reports_hand_over_delayed()
