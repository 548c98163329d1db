"""Pages of reports: a plan's reports, one version (progress, narrative, signing, versions)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from healthplans.formatting import period_label
from healthplans.models import Role, User
from healthplans.periods import PeriodError, parse_period
from healthplans.selectors import roles_at
from healthplans.workflow import Forbidden, Invalid
from plans.selectors import plan_get_or_404
from reporting.forms import NARRATIVE_LABELS, NarrativeForm, ReportRequestForm, SignForm
from reporting.models import Report, ReportStatus
from reporting.rendering.previews import page_png, page_previews
from reporting.selectors import report_get, report_list, report_versions
from reporting.services import (
    DELAYED_NOTICE,
    REQUESTER_ROLES,
    report_narrative_update,
    report_regenerate,
    report_request,
    report_sign,
    signing_subject,
)

# Statuses in which the page polls the API for progress.
IN_PROGRESS = {ReportStatus.QUEUED, ReportStatus.RUNNING}


def _visible_report(request: HttpRequest, pk: int) -> Report:
    report = report_get(fetched_by=request.user, pk=pk)
    if report is None:
        raise Http404
    return report


def _report_with_pdf(request: HttpRequest, pk: int) -> Report:
    """A visible version whose PDF is stored (ready or signed)."""
    report = _visible_report(request, pk)
    if report.status not in {ReportStatus.READY, ReportStatus.SIGNED} or not report.pdf.name:
        raise Http404
    return report


@login_required
def plan_reports_view(request: HttpRequest, slug: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    plan = plan_get_or_404(fetched_by=user, slug=slug)
    periods = plan.periods()
    form = ReportRequestForm(request.POST or None, periods=[(period, period_label(period)) for period in periods])
    may_request = bool(roles_at(user, plan.issuer_org_unit) & REQUESTER_ROLES)
    if request.method == "POST" and form.is_valid():
        try:
            report = report_request(plan=plan, period=form.cleaned_data["period"], by=user)
        # A refusal of who may ask is shown on the form too: the page answers everyone who reads the plan.
        except (Invalid, Forbidden) as error:
            form.add_error(None, error.message)
        else:
            _tell_generation(request, report)
            return redirect("report-detail", pk=report.pk)
    reports = list(report_list(fetched_by=user, filters={"plan": str(plan.pk)}))
    labels = {period.code: period_label(period) for period in periods}
    for report in reports:
        report.period_label = labels.get(report.period, report.period)  # type: ignore[attr-defined]
    context = {"plan": plan, "reports": reports, "form": form, "may_request": may_request}
    return render(request, "reporting/plan_reports.html", context)


@login_required
def report_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    report = _visible_report(request, pk)
    return _render_detail(request, user, report, NarrativeForm(initial=_narrative_initial(report)))


def _narrative_initial(report: Report) -> dict[str, str]:
    return {
        **{key: report.narrative.get(key, "") for key in NARRATIVE_LABELS},
        "document_number": report.document_number,
    }


def _render_detail(request: HttpRequest, user: User, report: Report, form: NarrativeForm) -> HttpResponse:
    roles = roles_at(user, report.plan.issuer_org_unit)
    editable = report.status in {ReportStatus.READY, ReportStatus.FAILED}
    context = {
        "report": report,
        "plan": report.plan,
        "period_label": code_label(report.period),
        "versions": report_versions(fetched_by=user, report=report)
        .select_related(None)
        .only("pk", "version", "status", "created_at", "signed_at"),
        "narrative_form": form,
        "narrative_sections": [(NARRATIVE_LABELS[key], report.narrative.get(key, "")) for key in NARRATIVE_LABELS],
        "may_edit": Role.PLANNER in roles and editable,
        "may_sign": Role.OFFICIAL in roles and report.status == ReportStatus.READY,
        "may_regenerate": bool(roles & REQUESTER_ROLES) and report.status in {ReportStatus.FAILED, ReportStatus.SIGNED},
        "in_progress": report.status in IN_PROGRESS,
        "delayed_notice": DELAYED_NOTICE,
        "has_pdf": report.status in {ReportStatus.READY, ReportStatus.SIGNED} and bool(report.pdf.name),
        "status_labels": {str(value): str(label) for value, label in ReportStatus.choices},
    }
    return render(request, "reporting/report_detail.html", context)


def code_label(code: str) -> str:
    """A stored period code as words; the code itself if it no longer parses."""
    try:
        return period_label(parse_period(code))
    except PeriodError:
        return code


@login_required
@require_POST
def report_narrative_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    report = _visible_report(request, pk)
    form = NarrativeForm(request.POST)
    if form.is_valid():
        try:
            updated = report_narrative_update(
                report=report, narrative=form.narrative(), document_number=form.cleaned_data["document_number"], by=user
            )
            updated = report_regenerate(report=updated, by=user)
        except Invalid as error:
            form.add_error(None, error.message)
            for field, errors in error.fields.items():
                if field in form.fields:
                    for message in errors:
                        form.add_error(field, message)
        else:
            if updated.delayed:
                messages.warning(request, DELAYED_NOTICE)
            else:
                messages.success(request, _("The narrative is saved; the report is being generated again."))
            return redirect("report-detail", pk=report.pk)
    return _render_detail(request, user, report, form)


@login_required
@require_http_methods(["GET", "POST"])
def report_sign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Ký số và phát hành": GET asks the official to confirm, showing the pages to be signed and
    who signs with which certificate (and the token's PIN, when the keys are on a token); POST
    signs. A version that cannot be signed (any more) sends the official back to its page."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    report = _visible_report(request, pk)
    # Bound on any POST, an empty one too: a missing PIN is said so.
    posted = request.POST if request.method == "POST" else None
    form = SignForm(posted, with_pin=bool(settings.REPORT_PKCS11_MODULE))
    if request.method == "POST" and form.is_valid():
        try:
            report_sign(report=report, by=user, pin=form.cleaned_data.get("pin"))
        except Invalid as error:  # a PIN the token refused: said next to it, nothing signed
            if not error.fields:
                form.add_error(None, error.message)
            for field, problems in error.fields.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, _("The report is signed and issued."))
            return redirect("report-detail", pk=report.pk)
    if report.status != ReportStatus.READY or Role.OFFICIAL not in roles_at(user, report.plan.issuer_org_unit):
        return redirect("report-detail", pk=report.pk)
    with report.pdf.open("rb") as draft:
        previews, pages = page_previews(draft.read())
    context = {
        "report": report,
        "plan": report.plan,
        "period_label": code_label(report.period),
        "form": form,
        "pages": pages,
        "previews": previews,
        "more_pages": pages - len(previews),
        "subject": signing_subject(tenant_slug=report.tenant.slug if report.tenant else ""),
    }
    return render(request, "reporting/report_sign.html", context)


@login_required
@require_POST
def report_regenerate_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    report = _visible_report(request, pk)
    regenerated = report_regenerate(report=report, by=user)
    _tell_generation(request, regenerated)
    return redirect("report-detail", pk=regenerated.pk)


def _tell_generation(request: HttpRequest, report: Report) -> None:
    if report.delayed:
        messages.warning(request, DELAYED_NOTICE)
    else:
        messages.success(request, _("The report is being generated."))


@login_required
def report_pdf_view(request: HttpRequest, pk: int) -> FileResponse:
    report = _report_with_pdf(request, pk)
    signed = "-da-ky" if report.status == ReportStatus.SIGNED else "-du-thao"
    filename = f"bao-cao-{report.plan.slug}-{report.period}-v{report.version}{signed}.pdf"
    return FileResponse(report.pdf.open("rb"), content_type="application/pdf", as_attachment=True, filename=filename)


@login_required
def report_page_view(request: HttpRequest, pk: int, page: int) -> HttpResponse:
    """A small PNG of one of the first pages of the version's PDF, as the signing page shows them."""
    report = _report_with_pdf(request, pk)
    with report.pdf.open("rb") as stored:
        image = page_png(stored.read(), page)
    if image is None:
        raise Http404
    response = HttpResponse(image, content_type="image/png")
    # The page links it with the file's hash in its query: a draft generated again is a new address.
    response["Cache-Control"] = "private, max-age=86400"
    return response
