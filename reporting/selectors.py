"""Reads of reports.

A user sees the reports of the plans they see, about units within their reach: the planners,
reviewers and officials of the plan's unit or above it, and the national viewer. A unit below
the plan's issuer (a commune station under a city plan) does not see the city's report. Missing
and forbidden both read as None (404).

The verification pages are public by design (anyone holding a printed report checks it), so
their two reads take no user and return only signed facts of one version.
"""

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django_filters import CharFilter, FilterSet

from healthplans.selectors import Actor, reach_of
from plans.selectors import plan_list
from reporting.models import Report, ReportStatus

logger = logging.getLogger(__name__)


class ReportFilter(FilterSet):
    plan = CharFilter(method="filter_plan")
    period = CharFilter(field_name="period")
    status = CharFilter(field_name="status")

    class Meta:
        model = Report
        fields = ["plan", "period", "status"]

    def filter_plan(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        """The plan by id or by slug."""
        return queryset.filter(Q(plan_id=int(value)) if value.isdigit() else Q(plan__slug=value))


def report_list(*, fetched_by: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Report]:
    qs = (
        Report.objects.filter(
            reach_of(fetched_by).subtree_q("org_unit__path"), plan__in=plan_list(fetched_by=fetched_by)
        )
        .select_related("plan", "org_unit", "tenant", "signed_by", "requested_by")
        .order_by("plan_id", "-period", "-version")
    )
    return ReportFilter(filters or {}, qs).qs


def report_get(*, fetched_by: Actor, pk: int) -> Report | None:
    return report_list(fetched_by=fetched_by).select_related("plan__issuer_org_unit").filter(pk=pk).first()


def report_versions(*, fetched_by: Actor, report: Report) -> QuerySet[Report]:
    """Every version of the report's plan, period and unit, newest first."""
    return (
        report_list(fetched_by=fetched_by)
        .filter(plan_id=report.plan_id, period=report.period, org_unit_id=report.org_unit_id)
        .order_by("-version")
    )


def report_by_code(*, code: str) -> Report | None:
    """Public: the version a printed report's verification code names."""
    return (
        Report.objects.select_related("plan", "org_unit", "signed_by")
        .filter(verification_code=code.strip().upper())
        .first()
    )


def report_by_sha256(*, sha256: str) -> Report | None:
    """Public: the signed version whose stored file has exactly these bytes."""
    return (
        Report.objects.select_related("plan", "org_unit", "signed_by")
        .filter(status=ReportStatus.SIGNED, sha256=sha256)
        .order_by("pk")
        .first()
    )


@dataclass(frozen=True)
class Verdict:
    """What a verifier learns about a PDF: pyHanko's verdict on its signature, and which stored
    signed version (if any) has exactly its bytes."""

    valid: bool
    intact: bool
    trusted: bool
    timestamped: bool
    signed_by: str
    signed_at: datetime | None
    summary: str
    problems: list[str]
    sha256: str
    report: Report | None


def pdf_verdict(*, pdf: bytes) -> Verdict:
    """Public: the verdict on an uploaded PDF. A file that cannot even be read as a signed PDF is
    neither valid nor intact."""
    from reporting.verification import SUMMARY_ALTERED, verify_pdf

    digest = hashlib.sha256(pdf).hexdigest()
    report = report_by_sha256(sha256=digest)
    try:
        checked = verify_pdf(pdf)
    except Exception:
        logger.info("An uploaded file could not be verified", exc_info=True)
        message = _("The file cannot be read as a signed PDF: it is damaged or is not a PDF.")
        return Verdict(False, False, False, False, "", None, message, [message], digest, report)
    return Verdict(
        valid=bool(checked.valid),
        # The file as a whole: its signed bytes unchanged, and nothing that changes them added after.
        intact=bool(checked.intact) and (checked.valid or checked.summary != SUMMARY_ALTERED),
        trusted=bool(checked.trusted),
        timestamped=bool(checked.timestamped),
        signed_by=checked.signed_by or "",
        signed_at=checked.signed_at,
        summary=checked.summary,
        problems=list(checked.problems),
        sha256=digest,
        # Only a valid file is vouched for as a stored version.
        report=report if checked.valid else None,
    )


def stored_verdict(*, report: Report) -> Verdict | None:
    """Public: the verdict on a signed version's stored file, and whether its bytes still have the
    SHA-256 recorded at signing; None when the version is not signed."""
    if report.status != ReportStatus.SIGNED or not report.pdf.name:
        return None
    try:
        with report.pdf.open("rb") as stream:
            pdf = stream.read()
    except OSError:
        message = _("The stored file of this report is missing.")
        return Verdict(False, False, False, False, "", None, message, [message], "", report)
    verdict = pdf_verdict(pdf=pdf)
    if verdict.sha256 != report.sha256:
        message = _("The stored file differs from the one that was signed.")
        return replace(verdict, valid=False, intact=False, summary=message, problems=[*verdict.problems, message])
    return replace(verdict, report=report)
