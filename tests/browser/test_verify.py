"""The public verifier in a real browser: an anonymous visitor uploads a report signed by the
served site and reads, in Vietnamese, that it is signed and intact, by which Sở Y tế, and which
report and version it is; the same file with bytes appended or a page added reads as modified
after signing, its signer unknown.

The report is requested and signed through the pages, so that its signature is the served
site's own (its demo PKI is made afresh in its own var/, not the test process's).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reporting.test_attacks import incremental, new_page

pytestmark = pytest.mark.browser

# Lai Châu's plan: no other browser test reports on it, so its versions are this module's.
PLAN = "laichau-city-chien-luoc-89"
INTACT = "Đã ký và nguyên vẹn"
MODIFIED = "Tài liệu đã bị sửa đổi sau khi ký"


@dataclass(frozen=True)
class SignedReport:
    path: Path
    code: str
    version: int
    plan_title: str
    tenant_name: str


@pytest.fixture
def signed_report(page_as: Any, live_site: Any, tmp_path: Path) -> Any:
    """signed_report(period) → a version requested by Lai Châu's planner and signed by its official."""

    def make(period: str) -> SignedReport:
        planner = page_as("laichau.planner")
        planner.goto(f"{live_site.url}/plans/{PLAN}/reports/")
        planner.select_option("#report-request select[name=period]", period)
        planner.click("#report-request button[type=submit]")
        planner.wait_for_url("**/reports/*/")
        pk = int(planner.url.rstrip("/").rsplit("/", 1)[1])

        official = page_as("laichau.official")
        official.goto(f"{live_site.url}/reports/{pk}/")
        # "Ký số và phát hành" opens the confirmation page; the official signs by confirming there.
        official.click("#report-sign-form")
        official.wait_for_url(f"**/reports/{pk}/sign/")
        official.click("#report-sign-confirm button[type=submit]")
        official.wait_for_selector(".message.success")
        download = official.request.get(f"{live_site.url}/reports/{pk}/pdf/")
        assert download.ok
        assert download.headers["content-type"] == "application/pdf"
        path = tmp_path / f"report-{pk}.pdf"
        path.write_bytes(download.body())

        [(status, code, version, plan_title, tenant_name)] = live_site.sql(
            "SELECT r.status, r.verification_code, r.version, p.title, t.name FROM reporting_report r"
            " JOIN plans_plan p ON p.id = r.plan_id JOIN healthplans_tenant t ON t.id = r.tenant_id WHERE r.id = %s",
            pk,
        )
        assert status == "signed"
        return SignedReport(path, code, version, plan_title, tenant_name)

    return make


@pytest.fixture
def visitor(browser: Any) -> Any:
    """A page of a browser nobody logged in with."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def verify_upload(visitor: Any, live_site: Any, pdf: Path) -> Any:
    """Upload `pdf` through /verify/'s form: the rendered verdict."""
    visitor.goto(f"{live_site.url}/verify/")
    assert "/login/" not in visitor.url  # public: no login asked
    visitor.set_input_files("#verify-form input[type=file]", str(pdf))
    visitor.click("#verify-form button[type=submit]")
    visitor.wait_for_selector("#verdict")
    return visitor.locator("#verdict")


def test_an_anonymous_visitor_reads_a_genuine_report_as_signed_and_intact_with_its_signer_and_version(
    signed_report: Any, visitor: Any, live_site: Any, screenshot: Any
) -> None:
    report = signed_report("2024")

    verdict = verify_upload(visitor, live_site, report.path)

    assert verdict.get_attribute("data-verdict") == "intact"
    assert INTACT in verdict.locator(".summary").inner_text()
    assert verdict.locator(".signer").inner_text() == report.tenant_name
    assert report.tenant_name.startswith("Sở Y tế")
    described = verdict.locator(".report").inner_text()
    assert report.plan_title in described
    assert f"phiên bản {report.version}" in described
    assert report.code in described
    assert verdict.locator(f".report a[href='/verify/{report.code}/']").count() == 1
    screenshot(visitor, "verify-upload-intact")


@pytest.mark.parametrize(
    ("period", "tamper"),
    [
        pytest.param("2025", lambda pdf: pdf + b"\n% appended after signing\n", id="bytes-after-eof"),
        pytest.param("2026", lambda pdf: incremental(pdf, new_page), id="page-added"),
    ],
)
def test_an_anonymous_visitor_reads_a_tampered_report_as_modified_with_no_signer(
    period: str,
    tamper: Any,
    signed_report: Any,
    visitor: Any,
    live_site: Any,
    screenshot: Any,
    tmp_path: Path,
    request: Any,
) -> None:
    report = signed_report(period)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(tamper(report.path.read_bytes()))

    verdict = verify_upload(visitor, live_site, tampered)

    assert verdict.get_attribute("data-verdict") == "modified"
    assert verdict.get_attribute("data-valid") == "false"
    assert MODIFIED in verdict.locator(".summary").inner_text()
    assert verdict.locator(".signer").inner_text() == "không xác định"
    assert verdict.locator(".report").count() == 0  # no report is vouched for by a modified file
    screenshot(visitor, f"verify-upload-{request.node.callspec.id}")
