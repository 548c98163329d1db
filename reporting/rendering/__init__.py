"""A progress report rendered to PDF in the Vietnamese administrative format (Nghị định
30/2020/NĐ-CP, Phụ lục I): A4 with the decree's margins, the two-column header (issuing body and
issuer, national motto, number, place and date), title, body, Nơi nhận and the signature block,
in an embedded Times-compatible serif. Tables too long for the body go to a landscape appendix.

`context` gathers what the report says (with `tables` and `charts`), `pdf` turns its page into
PDF bytes. Everything is read, nothing is written: the workflow stores the bytes and the signer
signs them.
"""

from collections.abc import Callable

from django.template.loader import render_to_string
from django.utils import translation

from reporting.models import Report
from reporting.rendering.context import report_context
from reporting.rendering.pdf import FetchRefused, LocalFilesFetcher, ReportRenderingError, html_to_pdf

__all__ = ["FetchRefused", "LocalFilesFetcher", "ReportRenderingError", "html_to_pdf", "render_report_pdf"]


def render_report_pdf(report: Report, *, on_progress: Callable[[int], None] | None = None) -> bytes:
    """The report as PDF bytes, in Vietnamese whatever the request's language."""

    def progress(percent: int) -> None:
        if on_progress is not None:
            on_progress(percent)

    with translation.override("vi"):
        context = report_context(report)
        progress(10)
        html = render_to_string("reporting/pdf/report.html", context)
        del context
        progress(60)
        pdf = html_to_pdf(html)
    progress(100)
    return pdf
