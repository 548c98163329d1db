"""Reports in a real browser: the planner asks for a report and writes the narrative, the page
follows the generation, the official signs, and anyone verifies it by its code or by its file.

The served site runs its tasks in-process (no broker), so a generation is over by the time its
page opens; to watch the progress bar move, the test writes the row's status and progress as a
worker would, and the page's own script (polling the API every 2 s) shows them.
"""

from typing import Any

import pytest

pytestmark = pytest.mark.browser

PLAN = "laocai-city-de-an-07-2024"
ACHIEVEMENTS = "Tỷ lệ trẻ em được tiêm chủng đầy đủ đạt 98,5 %; <không có> chỉ tiêu nào giảm."


def report_row(live_site: Any, pk: int) -> tuple[str, int, str, str]:
    rows = live_site.sql("SELECT status, progress, sha256, verification_code FROM reporting_report WHERE id = %s", pk)
    return rows[0]


def test_planner_requests_edits_official_signs_and_anyone_verifies(
    page_as: Any, live_site: Any, screenshot: Any, browser: Any, tmp_path: Any
) -> None:
    planner = page_as("laocai.planner")
    planner.goto(f"{live_site.url}/plans/{PLAN}/reports/")
    planner.select_option("#report-request select[name=period]", "2024H1")
    planner.click("#report-request button[type=submit]")
    planner.wait_for_url("**/reports/*/")
    pk = int(planner.url.rstrip("/").rsplit("/", 1)[1])
    assert report_row(live_site, pk)[0] == "ready"
    assert planner.locator("#report-status").inner_text() == "sẵn sàng ký"

    # The narrative, with text that must stay text.
    planner.fill("#narrative-form textarea[name=achievements]", ACHIEVEMENTS)
    planner.fill("#narrative-form input[name=document_number]", "125/BC-UBND")
    planner.click("#narrative-form button[type=submit]")
    planner.wait_for_selector(".message.success")
    assert planner.locator("#narrative-form textarea[name=achievements]").input_value() == ACHIEVEMENTS
    stored = live_site.sql("SELECT narrative->>'achievements', document_number FROM reporting_report WHERE id = %s", pk)
    assert stored == [(ACHIEVEMENTS, "125/BC-UBND")]

    # A worker's progress, as the page sees it through the API.
    live_site.sql("UPDATE reporting_report SET status = 'running', progress = 0 WHERE id = %s RETURNING id", pk)
    planner.reload()
    bar = planner.locator("#report-progress")
    assert bar.is_visible()
    live_site.sql("UPDATE reporting_report SET progress = 60 WHERE id = %s RETURNING id", pk)
    planner.wait_for_function("() => document.getElementById('report-progress').value === 60", timeout=10_000)
    assert planner.locator("#report-percent").inner_text() == "60 %"
    screenshot(planner, "report-progress")
    live_site.sql("UPDATE reporting_report SET status = 'ready', progress = 100 WHERE id = %s RETURNING id", pk)
    planner.wait_for_selector("#report-download", timeout=10_000)
    assert planner.locator("#report-progress").count() == 0
    assert planner.locator("#report-sign-form").count() == 0  # planners do not sign
    screenshot(planner, "report-ready-planner")

    official = page_as("laocai.official")
    official.goto(f"{live_site.url}/reports/{pk}/")
    assert official.locator("#narrative-form").count() == 0  # officials read the narrative
    assert ACHIEVEMENTS in official.locator(".narrative-read").inner_text()
    # "Ký số và phát hành" first shows what is signed and by whom, and signs on confirmation.
    official.click("#report-sign-form")
    official.wait_for_url(f"**/reports/{pk}/sign/")
    assert "Ngô Vũ Quốc" in official.locator("#sign-signer").inner_text()
    # The pages to be signed, as small images the server renders (all on screen here).
    assert official.locator("#sign-pages img").count() >= 1
    official.wait_for_function(
        "() => [...document.querySelectorAll('#sign-pages img')]"
        ".every(img => img.complete && img.naturalWidth === 300)",
        timeout=20_000,
    )
    assert official.locator("#sign-pages figcaption").first.inner_text() == "trang 1"
    screenshot(official, "report-sign-confirm")
    official.click("#report-sign-confirm button[type=submit]")
    official.wait_for_selector(".message.success")
    status, _progress, sha256, code = report_row(live_site, pk)
    assert status == "signed"
    assert len(sha256) == 64
    assert official.locator("#report-status").inner_text() == "đã ký"
    assert official.locator("#report-sign-form").count() == 0
    screenshot(official, "report-signed")
    download = official.request.get(f"{live_site.url}/reports/{pk}/pdf/")
    assert download.ok
    assert download.headers["content-type"] == "application/pdf"
    signed_pdf = tmp_path / "signed.pdf"
    signed_pdf.write_bytes(download.body())

    # Anyone, without logging in: the code's page, and an upload of the file.
    context = browser.new_context(locale="vi-VN", viewport={"width": 1200, "height": 900})
    try:
        visitor = context.new_page()
        visitor.goto(f"{live_site.url}/verify/{code}/")
        verdict = visitor.locator("#verdict")
        assert verdict.get_attribute("data-valid") == "true"
        assert verdict.get_attribute("data-intact") == "true"
        assert "Đã ký và nguyên vẹn" in verdict.inner_text()  # the verifier's verdict (issue 16)
        assert sha256 in visitor.content()
        screenshot(visitor, "report-verify-code")

        visitor.goto(f"{live_site.url}/verify/")
        visitor.set_input_files("#verify-form input[type=file]", str(signed_pdf))
        visitor.click("#verify-form button[type=submit]")
        visitor.wait_for_selector("#verdict")
        assert visitor.locator("#verdict").get_attribute("data-valid") == "true"
        assert visitor.locator(f"#verdict a[href='/verify/{code}/']").count() == 1
        screenshot(visitor, "report-verify-upload")
    finally:
        context.close()
