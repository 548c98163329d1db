"""The public verification pages: anyone checks an uploaded PDF, or opens a report's QR code."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from reporting.forms import VerifyForm
from reporting.selectors import pdf_verdict, report_by_code, stored_verdict
from reporting.views.reports import code_label


def verify_upload_view(request: HttpRequest) -> HttpResponse:
    """Anyone uploads a PDF and learns whether it is intact and signed, by whom, and which version."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    verdict = None
    if request.method == "POST" and form.is_valid():
        verdict = pdf_verdict(pdf=form.cleaned_data["file"].read())
    return render(request, "reporting/verify.html", {"form": form, "verdict": verdict})


def verify_code_view(request: HttpRequest, code: str) -> HttpResponse:
    """What a report's QR code opens: the version, its signer, and whether its stored file is intact."""
    report = report_by_code(code=code)
    if report is None:
        raise Http404
    context = {"report": report, "period_label": code_label(report.period), "verdict": stored_verdict(report=report)}
    return render(request, "reporting/verify_code.html", context)
