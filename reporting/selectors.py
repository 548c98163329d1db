"""Reads of reports.

A user sees the reports of the plans they see, about units within their reach: the planners,
reviewers and officials of the plan's unit or above it, and the national viewer. A unit below
the plan's issuer (a commune station under a city plan) does not see the city's report. Missing
and forbidden both read as None (404).

The verification pages are public by design (anyone holding a printed report checks it), so
their two reads take no user and return only signed facts of one version.
"""

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django_filters import CharFilter, FilterSet

from healthplans.selectors import Actor, reach_of
from plans.selectors import plan_list
from reporting.models import Report, ReportStatus


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
    """What a verifier learns about a PDF: the verdict on its signatures (``kind``, one of
    :class:`reporting.verification.Kind`), and which stored signed version its signature signed."""

    kind: str
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
    revoked_at: datetime | None = None


def pdf_verdict(*, pdf: bytes) -> Verdict:
    """Public: the verdict on an uploaded PDF (bounded: reporting.verification.limits), and the
    signed version its signature signed — found by the SHA-256 of the signed revision, so that a
    later document timestamp or validation data leaves it recognisable."""
    from reporting.verification import verify_pdf

    checked = verify_pdf(pdf)
    problems = list(checked.problems)
    signed = report_by_sha256(sha256=checked.signed_sha256) if checked.intact and checked.signed_sha256 else None
    named = report_by_code(code=checked.code) if checked.code else None
    if named is not None and (signed is None or named.pk != signed.pk):
        problems.append(_code_mismatch(named, signed))
    return Verdict(
        kind=checked.kind,
        valid=checked.valid,
        intact=checked.intact,
        trusted=checked.trusted,
        timestamped=checked.timestamped,
        # The signer is named only when the signature verifies and chains to a trusted root.
        signed_by=checked.signed_by or _("unknown"),
        signed_at=checked.signed_at,
        summary=checked.summary,
        problems=problems,
        sha256=hashlib.sha256(pdf).hexdigest(),
        report=signed,
        revoked_at=checked.revoked_at,
    )


def _code_mismatch(named: Report, signed: Report | None) -> str:
    if signed is None:
        return _(
            "The verification code %(code)s printed in this file belongs to a report whose signed file is not this one."
        ) % {"code": named.verification_code}
    return _(
        "The verification code %(code)s printed in this file belongs to another report than the one that was "
        "signed (%(signed)s)."
    ) % {"code": named.verification_code, "signed": signed.verification_code}


def stored_verdict(*, report: Report) -> Verdict | None:
    """Public: the verdict on a signed version's stored file, and whether its bytes still have the
    SHA-256 recorded at signing; None when the version is not signed."""
    from reporting.verification import Kind

    if report.status != ReportStatus.SIGNED or not report.pdf.name:
        return None
    try:
        with report.pdf.open("rb") as stream:
            pdf = stream.read()
    except OSError:
        message = _("The stored file of this report is missing.")
        return Verdict(Kind.UNREADABLE, False, False, False, False, _("unknown"), None, message, [message], "", report)
    verdict = pdf_verdict(pdf=pdf)
    if verdict.sha256 != report.sha256:
        message = _("The stored file differs from the one that was signed.")
        return replace(
            verdict,
            kind=Kind.MODIFIED,
            valid=False,
            intact=False,
            trusted=False,
            signed_by=_("unknown"),
            summary=message,
            problems=[*verdict.problems, message],
            report=report,
        )
    return replace(verdict, report=report)
