"""Progress reports (báo cáo kết quả thực hiện kế hoạch): one row per plan, period and version.

A signed version is immutable; a new generation makes a new version, never overwrites one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from healthplans.models import OrgUnit, Tenant
from plans.models import Plan


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    READY = "ready", _("ready to sign")
    SIGNED = "signed", _("signed")
    FAILED = "failed", _("failed")


def narrative_default() -> dict[str, str]:
    """The planner's sections, edited in the browser before signing."""
    return {"achievements": "", "shortcomings": "", "causes": "", "directions": "", "recommendations": ""}


class Report(models.Model):
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="reports")
    period = models.CharField(_("period"), max_length=16)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="reports")
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.TextField(_("reason of failure"), blank=True)
    narrative = models.JSONField(_("narrative"), default=narrative_default)
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="reports/%Y/", blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    verification_code = models.CharField(_("verification code"), max_length=16, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # When the version was handed to the broker; empty while it never was (Redis was away), so
    # that beat hands it over once Redis is back.
    enqueued_at = models.DateTimeField(_("handed to the queue at"), null=True, blank=True)
    started_at = models.DateTimeField(_("generation started at"), null=True, blank=True)
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["plan", "period", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "period", "org_unit", "version"], name="report_unique_version"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="report_status_valid"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_at_most_100"),
            # A signed report has its file, its hash and its signer.
            models.CheckConstraint(
                condition=~Q(status="signed") | (~Q(sha256="") & Q(signed_at__isnull=False)),
                name="report_signed_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.period} · v{self.version}"

    @property
    def delayed(self) -> bool:
        """Queued but never handed to the worker's queue: generation waits for the broker."""
        return self.status == ReportStatus.QUEUED and self.enqueued_at is None


class PlanDocument(models.Model):
    """A plan's document uploaded by a planner, and the draft read from it (healthplans.documents):
    nothing of the plan exists until the planner confirms the corrected draft."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("being read")
        READY = "ready", _("draft ready")
        REFUSED = "refused", _("refused")
        FAILED = "failed", _("failed")
        CONFIRMED = "confirmed", _("confirmed")

    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="plan_documents"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), upload_to="plan-documents/%Y/")
    name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.TextField(_("reason"), blank=True)
    draft = models.JSONField(_("draft"), default=dict, blank=True)
    checks = models.JSONField(_("checks"), default=list, blank=True)
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("plan document")
        verbose_name_plural = _("plan documents")
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="plan_document_progress_percent"),
        ]

    def __str__(self) -> str:
        return self.name
