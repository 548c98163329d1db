"""Verification: a signed report reads as valid; one flipped byte, or an incremental update that
changes page content, reads as altered — through the public API and the public pages."""

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from rest_framework.test import APIClient

from healthplans.models import User
from plans.models import Plan
from reporting import rendering
from reporting.models import Report
from reporting.services import report_request, report_sign

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"


@pytest.fixture(autouse=True)
def media_and_pki(settings: Any, tmp_path: Path, tmp_path_factory: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORT_PKI_DIR = tmp_path_factory.getbasetemp() / "report-pki"
    settings.REPORT_SIGNING_PASSPHRASE = "test-only-signing-passphrase"
    settings.REPORT_SIGNING_PASSPHRASES = {}
    settings.REPORT_SIGNING_P12 = {}
    settings.REPORT_TSA_URL = ""
    settings.REPORT_PKCS11_MODULE = ""


def quick_pdf(report: Report, *, on_progress: Any = None) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=f"<p>Báo cáo {report.pk} v{report.version}</p>").write_pdf())


@pytest.fixture
def signed_report(django_capture_on_commit_callbacks: Any) -> Any:
    """signed_report(real=False) → a version generated in-process and signed by laocai.official."""

    def make(*, real: bool = False, period: str = "2024H1") -> Report:
        plan = Plan.objects.get(slug=CITY_PLAN)
        original = rendering.render_report_pdf
        if not real:
            rendering.render_report_pdf = quick_pdf
        try:
            with django_capture_on_commit_callbacks(execute=True):
                report = report_request(plan=plan, period=period, by=User.objects.get(username="laocai.planner"))
        finally:
            rendering.render_report_pdf = original
        report.refresh_from_db()
        return report_sign(report=report, by=User.objects.get(username="laocai.official"))

    return make


def stored_bytes(report: Report) -> bytes:
    with report.pdf.open("rb") as stream:
        return stream.read()


def verify(pdf: bytes) -> dict[str, Any]:
    response = APIClient().post(
        "/api/verify/", {"file": SimpleUploadedFile("bao-cao.pdf", pdf, "application/pdf")}, format="multipart"
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def flip_one_byte(pdf: bytes) -> bytes:
    """One bit of one byte in the middle of the signed content (a page's compressed stream)."""
    position = len(pdf) // 3
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]


def append_page_content(pdf: bytes) -> bytes:
    """An incremental update, as any PDF editor writes one, that paints a box over page 1."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    stream = generic.StreamObject(stream_data=b"q 1 1 1 rg 70 600 450 120 re f Q")
    writer.add_stream_to_page(0, writer.add_object(stream))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_signed_report_verifies_and_names_its_version(signed_report: Any) -> None:
    report = signed_report(real=True)
    body = verify(stored_bytes(report))
    assert (body["valid"], body["intact"], body["trusted"]) == (True, True, True)
    assert (body["report"], body["version"], body["verification_code"]) == (report.pk, 1, report.verification_code)
    assert body["signed_by"]
    assert body["signed_at"]
    assert body["summary"]


def test_one_flipped_byte_reads_as_altered(signed_report: Any) -> None:
    report = signed_report(real=True)
    body = verify(flip_one_byte(stored_bytes(report)))
    assert body["valid"] is False
    assert body["intact"] is False
    assert body["verdict"] == "modified"
    assert body["report"] is None


def test_an_incremental_update_changing_page_content_reads_as_altered(signed_report: Any) -> None:
    report = signed_report(real=True)
    tampered = append_page_content(stored_bytes(report))
    assert tampered.startswith(stored_bytes(report))  # the signed bytes themselves are untouched
    body = verify(tampered)
    assert body["valid"] is False
    assert body["intact"] is False
    assert body["verdict"] == "modified"
    assert body["problems"]
    assert body["report"] is None


def test_verify_is_public_and_needs_no_csrf_token(signed_report: Any) -> None:
    report = signed_report()
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        "/api/verify/", {"file": SimpleUploadedFile("r.pdf", stored_bytes(report))}, format="multipart"
    )
    assert response.status_code == 200
    assert response.json()["valid"] is True


# --- The public pages ---------------------------------------------------------------------------


def test_code_page_of_a_signed_report_says_valid_without_login(client: Any, signed_report: Any) -> None:
    report = signed_report()
    page = client.get(f"/verify/{report.verification_code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-valid="true"' in html
    assert 'data-intact="true"' in html
    assert report.plan.title in html
    assert report.sha256 in html


def test_code_page_says_altered_when_the_stored_file_changed(client: Any, signed_report: Any) -> None:
    report = signed_report()
    Path(report.pdf.path).write_bytes(append_page_content(stored_bytes(report)))
    html = client.get(f"/verify/{report.verification_code.lower()}/").content.decode()
    assert 'data-valid="false"' in html
    assert 'data-intact="false"' in html


def test_code_page_of_a_draft_says_not_signed_and_unknown_codes_are_404(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(
            plan=Plan.objects.get(slug=CITY_PLAN), period="2024", by=User.objects.get(username="laocai.planner")
        )
    page = client.get(f"/verify/{report.verification_code}/")
    assert page.status_code == 200
    assert 'class="verdict verdict-unsigned"' in page.content.decode()
    assert client.get("/verify/NOSUCHCODE/").status_code == 404


def test_upload_page_gives_the_verdict(client: Any, signed_report: Any) -> None:
    report = signed_report()
    assert client.get("/verify/").status_code == 200
    good = client.post("/verify/", {"file": SimpleUploadedFile("r.pdf", stored_bytes(report))})
    assert 'data-valid="true"' in good.content.decode()
    assert f"/verify/{report.verification_code}/" in good.content.decode()
    bad = client.post("/verify/", {"file": SimpleUploadedFile("r.pdf", flip_one_byte(stored_bytes(report)))})
    assert 'data-valid="false"' in bad.content.decode()
