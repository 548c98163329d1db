"""The public verification pages: anyone checks an uploaded PDF, or opens a report's QR code."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from reporting.forms import VerifyForm
from reporting.selectors import pdf_verdict, report_by_code, stored_verdict
from reporting.verification.limits import verify_retry_after
from reporting.views.reports import code_label


def verify_upload_view(request: HttpRequest) -> HttpResponse:
    """Anyone uploads a PDF and learns whether it is intact and signed, by whom, and which version."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    verdict = None
    if request.method == "POST":
        retry_after = verify_retry_after(request)
        if retry_after is not None:
            form.add_error(
                None, _("Too many verifications from this address: try again in %(n)s seconds.") % {"n": retry_after}
            )
            response = render(request, "reporting/verify.html", {"form": form}, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > settings.VERIFY_MAX_UPLOAD_BYTES:
                limit = settings.VERIFY_MAX_UPLOAD_BYTES // (1024 * 1024)
                form.add_error("file", _("The file is larger than %(n)s MB.") % {"n": limit})
            else:
                verdict = pdf_verdict(pdf=upload.read())
    period_label = code_label(verdict.report.period) if verdict is not None and verdict.report else None
    return render(request, "reporting/verify.html", {"form": form, "verdict": verdict, "period_label": period_label})


def verify_code_view(request: HttpRequest, code: str) -> HttpResponse:
    """What a report's QR code opens: the version, its signer, and whether its stored file is intact."""
    report = report_by_code(code=code)
    if report is None:
        raise Http404
    context = {"report": report, "period_label": code_label(report.period), "verdict": stored_verdict(report=report)}
    return render(request, "reporting/verify_code.html", context)
