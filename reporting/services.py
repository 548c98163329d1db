"""Writes of reports: request a version, render it (the worker), edit its narrative, regenerate,
sign it, and the daily scheduler's drafts.

The path of a version is queued → running → ready → signed, or → failed with a reason. A signed
version is immutable: its narrative, its file and its signature never change again, and any new
generation of the same plan, period and unit is a new version. Every write checks who may make it;
the worker's writes (render, fail) are the system's and take no user.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from celery import current_app
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as KombuOperationalError

from healthplans.models import OrgUnit, Role, User
from healthplans.periods import Period, PeriodError, parse_period
from healthplans.selectors import roles_at
from healthplans.workflow import Conflict, Forbidden, Invalid, ServiceError
from plans.models import Plan
from reporting.models import Report, ReportStatus, narrative_default
from reporting.pki import signing_passphrase, tenant_p12_path

logger = logging.getLogger(__name__)

REQUESTER_ROLES: set[str] = {Role.PLANNER, Role.OFFICIAL}
NARRATIVE_KEYS = tuple(narrative_default())
NARRATIVE_MAX_CHARS = 20_000
SIGNING_REASON = "Ký số và phát hành"
# What the planner reads while a version waits for the broker (Report.delayed).
DELAYED_NOTICE = gettext_lazy(
    "Report generation is delayed: the queue is unavailable for now. Your request is saved and the "
    "report will be generated automatically when the queue is back."
)
# Verification codes: unambiguous letters and digits (no 0/O, 1/I), 10 of them = 50 random bits.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
# The worker's task, looked up by name when a version is handed over: the tasks call these
# services, so this module does not import them (reporting.apps registers them at start-up).
REPORT_GENERATE_TASK = "reporting.tasks.report_generate"


class SigningUnavailable(ServiceError):
    """The signing engine or the time-stamping service failed; nothing was stored (try again later)."""

    status = 503
    code = "signing_failed"


# --- Helpers ------------------------------------------------------------------------------------


def new_verification_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not Report.objects.filter(verification_code=code).exists():
            return code


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def report_file_name(report: Report, *, signed: bool = False) -> str:
    """One name per report and version: a repeated render replaces its file rather than adding one."""
    suffix = "-signed" if signed else ""
    return f"reports/{report.created_at:%Y}/report-{report.pk}-v{report.version}{suffix}.pdf"


def _check_roles(user: User, plan: Plan, allowed: set[str], message: str) -> None:
    if not roles_at(user, plan.issuer_org_unit) & allowed:
        raise Forbidden(message)


def _check_period(plan: Plan, code: str) -> Period:
    try:
        period = parse_period(code)
    except PeriodError as error:
        raise Invalid(str(error), fields={"period": [str(error)]}) from None
    periods = plan.periods()
    if period not in periods:
        message = _("The plan does not report on the period %(period)s.") % {"period": period.code}
        raise Invalid(message, fields={"period": [message]})
    return period


def _enqueue(report: Report) -> None:
    """Hand the version to the worker once the transaction commits. When the broker is away the
    request still succeeds: the version stays queued and `delayed`, and beat hands it over later
    (reports_hand_over_delayed)."""
    transaction.on_commit(lambda: report_hand_over(report))


def report_hand_over(report: Report) -> bool:
    """Send the version to the worker's queue and record when; False when the broker is away."""
    try:
        # No retries: the user is waiting for the answer, and beat tries again anyway.
        current_app.tasks[REPORT_GENERATE_TASK].apply_async((report.pk,), retry=False)
    except (KombuOperationalError, OSError) as error:
        logger.warning("Report %s not handed to the broker (%s); it waits for beat", report.pk, error)
        return False
    report.enqueued_at = timezone.now()
    Report.objects.filter(pk=report.pk).update(enqueued_at=report.enqueued_at)
    return True


def _delete_file(name: str | None) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def _clean_narrative(narrative: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(narrative) - set(NARRATIVE_KEYS))
    if unknown:
        errors["narrative"] = [_("Unknown sections: %(keys)s.") % {"keys": ", ".join(unknown)}]
    cleaned: dict[str, str] = {}
    for key in NARRATIVE_KEYS:
        value = narrative.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[key] = [_("Write this section as text.")]
        elif len(value) > NARRATIVE_MAX_CHARS:
            errors[key] = [_("At most %(n)s characters.") % {"n": NARRATIVE_MAX_CHARS}]
        else:
            cleaned[key] = value.strip()
    if errors:
        raise Invalid(_("The narrative was not saved."), fields=errors)
    return cleaned


# --- Requesting and regenerating ----------------------------------------------------------------


def _new_version(*, plan: Plan, period: str, org_unit: OrgUnit, by: User | None, narrative: dict[str, str]) -> Report:
    # The plan's row is locked so that two requests at once number their versions one after the other.
    Plan.objects.select_for_update().filter(pk=plan.pk).first()
    latest = Report.objects.filter(plan=plan, period=period, org_unit=org_unit).aggregate(Max("version"))
    report = Report(
        tenant=plan.tenant,
        plan=plan,
        period=period,
        org_unit=org_unit,
        version=(latest["version__max"] or 0) + 1,
        status=ReportStatus.QUEUED,
        narrative=narrative,
        verification_code=new_verification_code(),
        requested_by=by,
    )
    report.full_clean()
    report.save()
    _enqueue(report)
    return report


def report_request(*, plan: Plan, period: str, org_unit: OrgUnit | None = None, by: User | None) -> Report:
    """A new version of the plan's report for the period, queued for the worker.

    `by` is None for the scheduler's drafts. The new version starts from the narrative of the
    latest earlier version, so that nothing the planner wrote is lost between versions."""
    if by is not None:
        _check_roles(by, plan, REQUESTER_ROLES, _("Only the plan's planners and officials may ask for a report."))
    code = _check_period(plan, period).code
    unit = org_unit or plan.issuer_org_unit
    if not unit.path.startswith(plan.issuer_org_unit.path):
        message = _("This unit is not part of the plan.")
        raise Invalid(message, fields={"org_unit": [message]})
    with transaction.atomic():
        previous = Report.objects.filter(plan=plan, period=code, org_unit=unit).order_by("-version").first()
        narrative = dict(previous.narrative) if previous else narrative_default()
        return _new_version(plan=plan, period=code, org_unit=unit, by=by, narrative=narrative)


def report_narrative_update(
    *, report: Report, narrative: Mapping[str, Any], document_number: str | None = None, by: User
) -> Report:
    """The planner's sections (and the document number); never on a signed version, nor while rendering."""
    _check_roles(by, report.plan, {Role.PLANNER}, _("Only the plan's planners may edit the narrative."))
    cleaned = _clean_narrative(narrative)
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        _check_editable(locked)
        locked.narrative = cleaned
        fields = ["narrative"]
        if document_number is not None:
            locked.document_number = document_number.strip()
            fields.append("document_number")
        locked.full_clean()
        locked.save(update_fields=fields)
    return locked


def _check_editable(report: Report) -> None:
    if report.status == ReportStatus.SIGNED:
        raise Conflict(
            _("Version %(version)s is signed and can no longer change; ask for a new version.")
            % {"version": report.version},
            code="signed",
            current=report,
        )
    if report.status in {ReportStatus.QUEUED, ReportStatus.RUNNING}:
        raise Conflict(_("The report is being generated; wait until it is ready."), code="in_progress", current=report)


def report_regenerate(*, report: Report, by: User) -> Report:
    """Render again with the current narrative: the same version while it is a draft (ready or
    failed), a new version once it is signed (a signed version is never overwritten)."""
    _check_roles(by, report.plan, REQUESTER_ROLES, _("Only the plan's planners and officials may ask for a report."))
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status == ReportStatus.SIGNED:
            return _new_version(
                plan=locked.plan,
                period=locked.period,
                org_unit=locked.org_unit,
                by=by,
                narrative=dict(locked.narrative),
            )
        _check_editable(locked)
        locked.status = ReportStatus.QUEUED
        locked.progress = 0
        locked.error = ""
        locked.requested_by = by
        locked.enqueued_at = None
        locked.save(update_fields=["status", "progress", "error", "requested_by", "enqueued_at"])
        _enqueue(locked)
    return locked


# --- The worker's side: claim, render, fail -----------------------------------------------------


# The first key of the PostgreSQL advisory locks of report generation (the second is the report id).
GENERATION_LOCK_SPACE = 4_0001


@contextmanager
def generation_lock(report_id: int) -> Iterator[bool]:
    """Whether this worker may render the version now: no other worker is rendering it.

    A PostgreSQL session lock: it is released when the render ends, and also at once when the
    worker holding it dies and its connection closes, so that a re-delivered task can go ahead.
    Other databases (SQLite in the local run, where tasks run in-process) need no lock."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [GENERATION_LOCK_SPACE, report_id])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [GENERATION_LOCK_SPACE, report_id])


def report_generation_claim(*, report_id: int) -> Report | None:
    """Mark a queued version running for the worker; None when there is nothing to do (the version
    is gone, already ready or signed, or failed meanwhile): a task delivered twice renders once.

    A version found running was taken by a worker that died (its message was delivered again):
    it is rendered afresh."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.status not in {ReportStatus.QUEUED, ReportStatus.RUNNING}:
            return None
        report.status = ReportStatus.RUNNING
        report.progress = 0
        report.error = ""
        report.started_at = timezone.now()
        report.save(update_fields=["status", "progress", "error", "started_at"])
    return report


def _save_progress(report: Report, percent: int) -> None:
    # Capped at 99: 100 is reached only together with `ready`.
    percent = max(0, min(int(percent), 99))
    Report.objects.filter(pk=report.pk, status=ReportStatus.RUNNING).update(progress=percent)


def report_render(*, report: Report, on_progress: Callable[[int], None] | None = None) -> Report:
    """Render a running version and store its PDF under the version's one name; then it is ready.

    A file left by an earlier, interrupted render of this version is replaced, never kept beside
    the new one."""
    from reporting.rendering import render_report_pdf

    def progress(percent: int) -> None:
        _save_progress(report, percent)
        if on_progress is not None:
            on_progress(percent)

    pdf = render_report_pdf(report, on_progress=progress)
    digest = sha256_of(pdf)
    name = report_file_name(report)
    _delete_file(name)
    stored = default_storage.save(name, ContentFile(pdf))
    try:
        with transaction.atomic():
            locked = Report.objects.select_for_update().get(pk=report.pk)
            if locked.status != ReportStatus.RUNNING:
                # Failed meanwhile (a time limit): this render is not the one that counts.
                raise Conflict(_("The report changed while it was being generated."), code="changed", current=locked)
            locked.pdf = stored
            locked.sha256 = digest
            locked.status = ReportStatus.READY
            locked.progress = 100
            locked.error = ""
            locked.generated_at = timezone.now()
            locked.save(update_fields=["pdf", "sha256", "status", "progress", "error", "generated_at"])
    except BaseException:
        _delete_file(stored)
        raise
    return locked


def report_fail(*, report_id: int, reason: str) -> None:
    """A render that cannot finish: the version is failed with a reason the planner can read, and
    no file of it is left behind. A ready or signed version is never failed."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.status not in {ReportStatus.QUEUED, ReportStatus.RUNNING}:
            return
        _delete_file(report.pdf.name or report_file_name(report))
        report.pdf = ""
        report.sha256 = ""
        report.status = ReportStatus.FAILED
        report.error = reason
        report.save(update_fields=["pdf", "sha256", "status", "error"])


# --- Signing ------------------------------------------------------------------------------------


def signing_subject(*, tenant_slug: str) -> str:
    """Whose certificate a tenant's reports are signed with, for the official to confirm: the key
    file's certificate subject, or the token's key label (a token's certificate is read only once
    its PIN is given); empty while the demo key is not yet made (the first signature makes it)."""
    if settings.REPORT_PKCS11_MODULE:
        return str(settings.REPORT_PKCS11_KEY_LABEL).format(slug=tenant_slug)
    try:
        _key, certificate, _chain = pkcs12.load_key_and_certificates(
            tenant_p12_path(tenant_slug).read_bytes(), signing_passphrase(tenant_slug)
        )
    except (OSError, ValueError):
        return ""
    return certificate.subject.rfc4514_string() if certificate is not None else ""


def report_sign(*, report: Report, by: User, pin: str | None = None) -> Report:
    """Sign a ready version with the tenant's certificate ("Ký số và phát hành"): the signed PDF
    is a new file, its SHA-256 is stored, and the version can never be signed or changed again.
    `pin` unlocks a PKCS#11 token for this signature only; it is not kept."""
    from reporting.signing import SigningFailed, TokenPinRefused, sign_pdf

    plan = report.plan
    _check_roles(by, plan, {Role.OFFICIAL}, _("Only the plan's officials may sign its reports."))
    signed_name = ""
    try:
        with transaction.atomic():
            locked = Report.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=report.pk)
            if locked.status == ReportStatus.SIGNED:
                raise Conflict(
                    _("Version %(version)s is already signed; it cannot be signed again.")
                    % {"version": locked.version},
                    code="signed",
                    current=locked,
                )
            if locked.status != ReportStatus.READY:
                raise Conflict(_("Only a report that is ready can be signed."), code="not_ready", current=locked)
            with locked.pdf.open("rb") as stream:
                draft = stream.read()
            if sha256_of(draft) != locked.sha256:
                raise Conflict(
                    _("The stored draft has changed since it was generated; generate it again."),
                    code="altered",
                    current=locked,
                )
            signed_at = timezone.now()
            try:
                signed = sign_pdf(
                    draft,
                    tenant_slug=locked.tenant.slug if locked.tenant else "",
                    signer_name=plan.signer_name or by.get_full_name() or by.get_username(),
                    signer_title=plan.signer_title,
                    reason=SIGNING_REASON,
                    location=plan.place or plan.issuer_org_unit.name,
                    signed_at=signed_at,
                    pin=pin,
                )
            except TokenPinRefused as error:
                raise Invalid(str(error), code="wrong_pin", fields={"pin": [str(error)]}) from error
            except SigningFailed as error:
                raise SigningUnavailable(str(error)) from error
            draft_name = locked.pdf.name
            # storage.save never overwrites: were the name taken, it picks another.
            signed_name = default_storage.save(report_file_name(locked, signed=True), ContentFile(signed))
            locked.pdf = signed_name  # a fresh FieldFile, not the draft it has read
            locked.sha256 = sha256_of(signed)
            locked.signed_by = by
            locked.signed_at = signed_at
            locked.status = ReportStatus.SIGNED
            locked.progress = 100
            locked.full_clean()
            locked.save(update_fields=["pdf", "sha256", "signed_by", "signed_at", "status", "progress"])
            # The unsigned draft is superseded by the signed file.
            transaction.on_commit(lambda: _delete_file(draft_name))
    except BaseException:
        if signed_name:
            _delete_file(signed_name)
        raise
    return locked


# --- The scheduler ------------------------------------------------------------------------------


def due_periods(*, plan: Plan, today: date) -> list[Period]:
    """The plan's periods, of the kinds it is reported on, that closed more than the grace ago."""
    grace = timedelta(days=settings.REPORT_GRACE_DAYS)
    kinds = plan.reported_kinds
    return [period for period in plan.periods() if period.kind in kinds and period.end + grace < today]


# After the hard time limit, how long a version may still look running before it is failed.
STALL_MARGIN_SECONDS = 120


def reports_fail_stalled(*, now: datetime) -> list[int]:
    """Versions still running well past the hard time limit: the worker was killed by it (Celery
    then acknowledges the message, so nothing would ever finish them). They fail with a reason,
    and a planner can generate them again."""
    deadline = now - timedelta(seconds=settings.REPORT_TIME_LIMIT + STALL_MARGIN_SECONDS)
    stalled = list(
        Report.objects.filter(status=ReportStatus.RUNNING, started_at__lt=deadline).values_list("pk", flat=True)
    )
    for report_id in stalled:
        report_fail(report_id=report_id, reason=_("The generation did not finish in time; generate the report again."))
    return stalled


def reports_hand_over_delayed() -> list[int]:
    """Versions queued while the broker was away (or whose request died before handing them over):
    handed over now, oldest first; stops at the first failure, as the broker is still away."""
    handed: list[int] = []
    for report in Report.objects.filter(status=ReportStatus.QUEUED, enqueued_at__isnull=True).order_by("pk"):
        if not report_hand_over(report):
            break
        handed.append(report.pk)
    if handed:
        logger.info("Handed %d delayed report versions to the broker", len(handed))
    return handed


def reports_request_due(*, today: date) -> list[Report]:
    """The daily run: a draft for each plan's closed periods that have no report yet.

    The scheduler acts for no user (requested_by is empty) and so sees every plan."""
    requested: list[Report] = []
    plans = Plan.objects.exclude(status=Plan.Status.DRAFT).select_related("issuer_org_unit", "tenant").order_by("pk")
    for plan in plans:
        periods = due_periods(plan=plan, today=today)
        if not periods:
            continue
        reported = set(Report.objects.filter(plan=plan, org_unit=plan.issuer_org_unit).values_list("period", flat=True))
        for period in periods:
            if period.code not in reported:
                requested.append(report_request(plan=plan, period=period.code, by=None))
    if requested:
        logger.info("Requested %d scheduled report drafts", len(requested))
    return requested
