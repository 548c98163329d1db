"""The report workflow through its services and its task (run in-process): request, render,
narrative, regenerate, sign, every refusal, idempotence of the task, failures, and the schedule."""

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from healthplans.models import User
from healthplans.workflow import Conflict, Forbidden, Invalid
from plans.models import Plan
from reporting import rendering, tasks
from reporting.models import Report, ReportStatus
from reporting.services import (
    due_periods,
    report_narrative_update,
    report_regenerate,
    report_request,
    report_sign,
    reports_request_due,
    sha256_of,
)
from tests.reporting.conftest import SoftToken

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"


def use_demo_pki(settings: Any, tmp_path_factory: Any) -> None:
    """The demo certificate authority and tenant keys, made once per test run."""
    settings.REPORT_PKI_DIR = tmp_path_factory.getbasetemp() / "report-pki"
    settings.REPORT_SIGNING_PASSPHRASE = "test-only-signing-passphrase"
    settings.REPORT_SIGNING_PASSPHRASES = {}
    settings.REPORT_SIGNING_P12 = {}
    settings.REPORT_TSA_URL = ""
    settings.REPORT_PKCS11_MODULE = ""


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path, tmp_path_factory: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    use_demo_pki(settings, tmp_path_factory)
    return tmp_path / "media"


def quick_pdf(report: Report, *, on_progress: Any = None) -> bytes:
    """A small real PDF naming the version: the workflow does not depend on the layout, which
    tests/reporting/test_worker.py checks on real renders."""
    from weasyprint import HTML

    for percent in (10, 60, 100):
        if on_progress is not None:
            on_progress(percent)
    narrative = " ".join(report.narrative.values())
    return bytes(HTML(string=f"<p>Báo cáo {report.pk} v{report.version} {narrative}</p>").write_pdf())


@pytest.fixture
def real_render() -> None:
    """Asked for by the tests that render the real report layout."""


@pytest.fixture(autouse=True)
def fast_render(request: Any, monkeypatch: Any) -> None:
    if "real_render" not in request.fixturenames:
        monkeypatch.setattr(rendering, "render_report_pdf", quick_pdf)


def user(username: str) -> User:
    return User.objects.get(username=username)


def plan(slug: str = CITY_PLAN) -> Plan:
    return Plan.objects.select_related("issuer_org_unit", "tenant").get(slug=slug)


def report_files(media: Path, report: Report) -> list[Path]:
    return sorted(media.glob(f"reports/*/report-{report.pk}-v*.pdf"))


@pytest.fixture
def generated(django_capture_on_commit_callbacks: Any) -> Any:
    """generated(slug, period, username) → a report requested and rendered in-process (ready)."""

    def make(slug: str = CITY_PLAN, period: str = "2024H1", username: str = "laocai.planner") -> Report:
        with django_capture_on_commit_callbacks(execute=True):
            report = report_request(plan=plan(slug), period=period, by=user(username))
        report.refresh_from_db()
        assert report.status == ReportStatus.READY, report.error
        return report

    return make


def test_planner_request_queues_a_version_and_enqueues_it_after_commit(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    assert len(callbacks) == 1
    assert (report.status, report.version, report.progress) == (ReportStatus.QUEUED, 1, 0)
    assert report.tenant == plan().tenant
    assert report.org_unit == plan().issuer_org_unit
    assert report.requested_by == user("laocai.planner")
    assert re.fullmatch(r"[A-Z2-9]{10}", report.verification_code)


def test_generation_renders_stores_and_marks_ready(generated: Any, media_root: Path, real_render: None) -> None:
    report = generated()
    assert report.progress == 100
    assert report.generated_at is not None
    assert report.error == ""
    files = report_files(media_root, report)
    assert [path.name for path in files] == [f"report-{report.pk}-v1.pdf"]
    assert sha256_of(files[0].read_bytes()) == report.sha256
    assert files[0].read_bytes().startswith(b"%PDF")


def test_verification_codes_differ(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        codes = {
            report_request(plan=plan(), period="2024", by=user("laocai.official")).verification_code for _ in "abc"
        }
    assert len(codes) == 3


@pytest.mark.parametrize("username", ["laocai.station", "laocai.reviewer", "national.viewer", "muongkhuong.station"])
def test_only_planners_and_officials_may_request(username: str) -> None:
    with pytest.raises(Forbidden):
        report_request(plan=plan(), period="2024H1", by=user(username))
    assert not Report.objects.exists()


@pytest.mark.parametrize("period", ["2023", "2024H3", "2025", "abc"])
def test_a_period_outside_the_plan_is_refused(period: str) -> None:
    with pytest.raises(Invalid) as refused:
        report_request(plan=plan(), period=period, by=user("laocai.planner"))
    assert "period" in refused.value.fields


def test_a_new_generation_is_the_next_version_and_keeps_the_narrative(generated: Any) -> None:
    first = generated()
    report_narrative_update(report=first, narrative={"achievements": "Đạt 9/12 chỉ tiêu."}, by=user("laocai.planner"))
    second = generated()
    assert second.version == first.version + 1
    assert second.pk != first.pk
    assert second.narrative["achievements"] == "Đạt 9/12 chỉ tiêu."
    assert second.verification_code != first.verification_code


def test_narrative_is_the_planners_and_regenerating_a_draft_rerenders_the_same_version(
    generated: Any, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    report = generated()
    with pytest.raises(Forbidden):
        report_narrative_update(report=report, narrative={"causes": "x"}, by=user("laocai.official"))
    narrative = {"achievements": "Tỷ lệ tiêm chủng đạt 98 %.", "recommendations": "Đề nghị <b>bổ sung</b> kinh phí."}
    updated = report_narrative_update(
        report=report, narrative=narrative, document_number="125/BC-UBND", by=user("laocai.planner")
    )
    assert updated.narrative["recommendations"] == "Đề nghị <b>bổ sung</b> kinh phí."
    assert updated.narrative["causes"] == ""
    assert updated.document_number == "125/BC-UBND"
    with django_capture_on_commit_callbacks(execute=True):
        again = report_regenerate(report=updated, by=user("laocai.planner"))
    again.refresh_from_db()
    assert (again.pk, again.version, again.status) == (report.pk, 1, ReportStatus.READY)
    files = report_files(media_root, again)
    assert len(files) == 1
    assert sha256_of(files[0].read_bytes()) == again.sha256


def test_narrative_with_unknown_sections_or_non_text_is_refused(generated: Any) -> None:
    report = generated()
    with pytest.raises(Invalid) as refused:
        report_narrative_update(report=report, narrative={"summary": "x", "causes": 3}, by=user("laocai.planner"))
    assert set(refused.value.fields) == {"narrative", "causes"}


def test_narrative_cannot_change_while_the_report_is_generated(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    with pytest.raises(Conflict) as refused:
        report_narrative_update(report=report, narrative={"causes": "x"}, by=user("laocai.planner"))
    assert refused.value.code == "in_progress"


def test_official_signs_a_ready_report_which_then_never_changes(
    generated: Any, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    report = generated()
    draft_sha = report.sha256
    with django_capture_on_commit_callbacks(execute=True):
        signed = report_sign(report=report, by=user("laocai.official"))
    assert signed.status == ReportStatus.SIGNED
    assert signed.signed_by == user("laocai.official")
    assert signed.signed_at is not None
    files = report_files(media_root, signed)
    # The signed file replaces the draft, under a name of its own.
    assert [path.name for path in files] == [f"report-{report.pk}-v1-signed.pdf"]
    signed_bytes = files[0].read_bytes()
    assert sha256_of(signed_bytes) == signed.sha256 != draft_sha

    with pytest.raises(Conflict) as again:
        report_sign(report=signed, by=user("laocai.official"))
    assert again.value.code == "signed"
    with pytest.raises(Conflict) as edit:
        report_narrative_update(report=signed, narrative={"causes": "x"}, by=user("laocai.planner"))
    assert edit.value.code == "signed"

    # Regenerating a signed version makes a new one; the signed one stays as it was.
    with django_capture_on_commit_callbacks(execute=True):
        newer = report_regenerate(report=signed, by=user("laocai.planner"))
    assert newer.pk != signed.pk
    assert newer.version == 2
    signed.refresh_from_db()
    assert signed.status == ReportStatus.SIGNED
    assert signed.sha256 == sha256_of(signed_bytes)
    assert files[0].read_bytes() == signed_bytes


@pytest.mark.parametrize("username", ["laocai.planner", "laocai.reviewer", "laocai.station", "national.viewer"])
def test_only_officials_sign(generated: Any, username: str) -> None:
    report = generated()
    with pytest.raises(Forbidden):
        report_sign(report=report, by=user(username))
    report.refresh_from_db()
    assert report.status == ReportStatus.READY


def test_a_report_not_yet_ready_cannot_be_signed(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    with pytest.raises(Conflict) as refused:
        report_sign(report=report, by=user("laocai.official"))
    assert refused.value.code == "not_ready"


def test_a_draft_changed_on_disk_is_not_signed(generated: Any, media_root: Path) -> None:
    report = generated()
    path = report_files(media_root, report)[0]
    path.write_bytes(path.read_bytes() + b"\n% tampered\n")
    with pytest.raises(Conflict) as refused:
        report_sign(report=report, by=user("laocai.official"))
    assert refused.value.code == "altered"


# --- The task ------------------------------------------------------------------------------------


def test_task_delivered_twice_renders_once(generated: Any, media_root: Path, monkeypatch: Any) -> None:
    report = generated()
    renders: list[int] = []
    real = rendering.render_report_pdf
    monkeypatch.setattr(rendering, "render_report_pdf", lambda r, **kw: renders.append(r.pk) or real(r, **kw))  # type: ignore[func-returns-value]
    assert tasks.report_generate.apply(args=[report.pk]).get() == "skipped"
    assert renders == []
    assert len(report_files(media_root, report)) == 1


def test_task_redelivered_after_a_dead_worker_renders_the_running_version_into_one_file(
    django_capture_on_commit_callbacks: Any, media_root: Path
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    # A worker died half-way: the version is running and a partial file lies under its name.
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING, progress=40)
    partial = media_root / f"reports/{report.created_at:%Y}/report-{report.pk}-v1.pdf"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"%PDF-1.7 half")
    assert tasks.report_generate.apply(args=[report.pk]).get() == "ready"
    report.refresh_from_db()
    assert report.status == ReportStatus.READY
    assert report_files(media_root, report) == [partial]
    assert sha256_of(partial.read_bytes()) == report.sha256
    assert tasks.report_generate.apply(args=[report.pk]).get() == "skipped"


def test_progress_is_saved_while_rendering(django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> None:
    seen: list[tuple[str, int]] = []
    real = rendering.render_report_pdf

    def spying(report: Report, *, on_progress: Any = None) -> bytes:
        def spy(percent: int) -> None:
            on_progress(percent)
            row = Report.objects.get(pk=report.pk)
            seen.append((row.status, row.progress))

        return real(report, on_progress=spy)

    monkeypatch.setattr(rendering, "render_report_pdf", spying)
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    assert seen
    assert all(status == ReportStatus.RUNNING for status, _ in seen)
    assert [progress for _, progress in seen] == sorted(progress for _, progress in seen)
    assert max(progress for _, progress in seen) <= 99
    report.refresh_from_db()
    assert (report.status, report.progress) == (ReportStatus.READY, 100)


def test_a_render_error_fails_the_version_with_a_vietnamese_reason_and_no_file(
    django_capture_on_commit_callbacks: Any, media_root: Path, monkeypatch: Any
) -> None:
    def broken(report: Report, **kwargs: Any) -> bytes:
        raise ValueError("bad data")

    monkeypatch.setattr(rendering, "render_report_pdf", broken)
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert "Không tạo được báo cáo" in report.error
    assert report.pdf.name == ""
    assert report.sha256 == ""
    assert report_files(media_root, report) == []

    # A failed version can be generated again, as the same version.
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        report_regenerate(report=report, by=user("laocai.planner"))
    report.refresh_from_db()
    assert (report.status, report.version, report.error) == (ReportStatus.READY, 1, "")


def test_transient_errors_in_process_fail_the_version_at_once(
    django_capture_on_commit_callbacks: Any, media_root: Path, monkeypatch: Any
) -> None:
    """Without a broker (the local run) nothing would retry later: the version fails with its reason."""

    def unavailable(report: Report, **kwargs: Any) -> bytes:
        raise OperationalError("connection lost")

    monkeypatch.setattr(rendering, "render_report_pdf", unavailable)
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert "thử lại" in report.error.lower()
    assert report_files(media_root, report) == []


def test_a_task_that_gives_up_fails_its_version(django_capture_on_commit_callbacks: Any) -> None:
    """What a worker does once the retries are spent (or a hard error escapes the task)."""
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING, progress=30)
    tasks.report_generate.on_failure(OperationalError("gone"), "task-id", (report.pk,), {}, None)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert report.error


def test_task_options_make_celery_deliver_reports_safely() -> None:
    from healthplans.celery import app

    task = tasks.report_generate
    assert task.acks_late
    assert task.reject_on_worker_lost
    assert task.retry_backoff
    assert task.max_retries
    assert OperationalError in task.autoretry_for
    assert 0 < task.soft_time_limit < task.time_limit
    assert app.amqp.router.route({}, task.name)["queue"].name == "reports"
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.worker_max_memory_per_child > 0
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "reporting.tasks.reports_schedule_due" in schedule
    assert "reporting.tasks.reports_schedule_due" in app.tasks


# --- The schedule --------------------------------------------------------------------------------


def test_due_periods_follow_each_plans_frequencies_and_the_grace(settings: Any) -> None:
    settings.REPORT_GRACE_DAYS = 15
    assert [p.code for p in due_periods(plan=plan(), today=date(2024, 7, 15))] == []
    assert [p.code for p in due_periods(plan=plan(), today=date(2024, 7, 16))] == ["2024H1"]
    assert [p.code for p in due_periods(plan=plan(), today=date(2025, 1, 16))] == ["2024H1", "2024", "2024H2"]
    laichau = plan("laichau-city-chien-luoc-89")
    codes = [p.code for p in due_periods(plan=laichau, today=date(2031, 3, 1))]
    assert "2026-2030" in codes
    assert "2030" in codes
    assert not any("H" in code for code in codes)


def test_schedule_requests_one_draft_per_closed_period_without_a_report(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REPORT_GRACE_DAYS = 15
    today = date(2025, 1, 20)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        requested = reports_request_due(today=today)
    got = {(report.plan.slug, report.period) for report in requested}
    assert {
        (CITY_PLAN, "2024H1"),
        (CITY_PLAN, "2024H2"),
        (CITY_PLAN, "2024"),
        ("muongkhuong-de-an-07-2023", "2023"),
        ("quangngai-chi-thi-37", "2024"),
        ("laichau-city-chien-luoc-89", "2024"),
    } == got
    assert len(callbacks) == len(requested)
    assert all(report.requested_by is None and report.status == ReportStatus.QUEUED for report in requested)
    # Plans reported on nothing (the national strategies above the seed plans) get none; those that
    # leave it to the regulations (004: "theo quy định") are reported yearly.
    assert all(report.plan.reported_kinds for report in requested)
    # The next day: nothing new.
    with django_capture_on_commit_callbacks(execute=False):
        assert reports_request_due(today=date(2025, 1, 21)) == []


def test_schedule_skips_periods_that_already_have_a_report(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REPORT_GRACE_DAYS = 15
    with django_capture_on_commit_callbacks(execute=False):
        report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
        requested = reports_request_due(today=date(2024, 8, 1))
    assert [(report.plan.slug, report.period) for report in requested if report.plan.slug == CITY_PLAN] == []
    assert Report.objects.filter(plan__slug=CITY_PLAN, period="2024H1").count() == 1


def test_the_daily_task_uses_today(settings: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.REPORT_GRACE_DAYS = 15
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: date(2024, 7, 20))
    with django_capture_on_commit_callbacks(execute=False):
        ids = tasks.reports_schedule_due.apply().get()
    periods = set(Report.objects.filter(pk__in=ids).values_list("plan__slug", "period"))
    assert (CITY_PLAN, "2024H1") in periods
    assert ("muongkhuong-de-an-07-2023", "2023") in periods
    assert (CITY_PLAN, "2024") not in periods


# --- Pages ---------------------------------------------------------------------------------------


def login(client: Any, username: str) -> Any:
    client.force_login(user(username))
    return client


def test_plan_reports_page_lists_versions_and_offers_the_request_form(client: Any, generated: Any) -> None:
    report = generated()
    page = login(client, "laocai.planner").get(f"/plans/{CITY_PLAN}/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="report-request"' in html
    assert 'value="2024H1"' in html
    assert 'value="2024"' in html
    assert f'href="/reports/{report.pk}/"' in html
    reviewer = login(client, "laocai.reviewer").get(f"/plans/{CITY_PLAN}/reports/").content.decode()
    assert 'id="report-request"' not in reviewer
    assert f'href="/reports/{report.pk}/"' in reviewer


def test_plan_reports_page_request_creates_a_version_and_redirects(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, "laocai.official").post(f"/plans/{CITY_PLAN}/reports/", {"period": "2024"})
    report = Report.objects.get(plan__slug=CITY_PLAN, period="2024")
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{report.pk}/"
    assert report.status == ReportStatus.READY
    refused = login(client, "laocai.reviewer").post(f"/plans/{CITY_PLAN}/reports/", {"period": "2024"})
    assert refused.status_code == 200
    assert Report.objects.filter(period="2024").count() == 1


def test_report_pages_of_another_tenant_are_404(client: Any, generated: Any) -> None:
    report = generated()
    other = login(client, "backan.official")
    assert other.get(f"/plans/{CITY_PLAN}/reports/").status_code == 404
    assert other.get(f"/reports/{report.pk}/").status_code == 404
    assert other.get(f"/reports/{report.pk}/pdf/").status_code == 404
    assert other.post(f"/reports/{report.pk}/sign/").status_code == 404
    assert login(client, "laocai.station").get(f"/reports/{report.pk}/").status_code == 404


def test_plan_reports_page_query_count_does_not_grow(client: Any, django_capture_on_commit_callbacks: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, "laocai.official")
    with django_capture_on_commit_callbacks(execute=False):
        report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    with CaptureQueriesContext(connection) as few:
        client.get(f"/plans/{CITY_PLAN}/reports/")
    with django_capture_on_commit_callbacks(execute=False):
        for period in ["2024H1", "2024H2", "2024", "2024"]:
            report_request(plan=plan(), period=period, by=user("laocai.planner"))
    with CaptureQueriesContext(connection) as many:
        client.get(f"/plans/{CITY_PLAN}/reports/")
    assert len(many) == len(few)


def test_report_page_shows_each_role_its_actions(client: Any, generated: Any) -> None:
    report = generated()
    planner = login(client, "laocai.planner").get(f"/reports/{report.pk}/").content.decode()
    assert 'id="narrative-form"' in planner
    assert 'id="report-sign-form"' not in planner
    assert 'id="report-download"' in planner
    official = login(client, "laocai.official").get(f"/reports/{report.pk}/").content.decode()
    assert 'id="narrative-form"' not in official
    assert 'id="report-sign-form"' in official
    assert "Ký số và phát hành" in official


def test_report_page_polls_while_in_progress(client: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(plan=plan(), period="2024H1", by=user("laocai.planner"))
    html = login(client, "laocai.planner").get(f"/reports/{report.pk}/").content.decode()
    assert 'id="report-progress"' in html
    assert f'data-api="/api/reports/{report.pk}/"' in html
    assert "js/report_progress.js" in html
    assert 'id="report-download"' not in html


def test_narrative_and_signing_through_the_pages(
    client: Any, generated: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = generated()
    form = {key: "" for key in ("achievements", "shortcomings", "causes", "directions", "recommendations")}
    form.update(achievements="<script>alert(1)</script> Đạt kế hoạch.", document_number="7/BC-UBND")
    with django_capture_on_commit_callbacks(execute=True):
        saved = login(client, "laocai.planner").post(f"/reports/{report.pk}/narrative/", form)
    assert saved.status_code == 302
    report.refresh_from_db()
    assert report.narrative["achievements"].startswith("<script>")
    assert report.status == ReportStatus.READY
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    with django_capture_on_commit_callbacks(execute=True):
        signed = login(client, "laocai.official").post(f"/reports/{report.pk}/sign/")
    assert signed.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SIGNED
    again = client.post(f"/reports/{report.pk}/sign/", follow=True).content.decode()
    assert "không thể ký lại" in again
    download = client.get(f"/reports/{report.pk}/pdf/")
    assert download["Content-Type"] == "application/pdf"
    assert sha256_of(b"".join(download.streaming_content)) == report.sha256


def page_sizes(report: Report) -> list[tuple[float, float]]:
    """Each page's width and height in points, as the stored PDF says (read by pdfplumber)."""
    from io import BytesIO

    import pdfplumber

    with report.pdf.open("rb") as stored, pdfplumber.open(BytesIO(stored.read())) as document:
        return [(float(page.width), float(page.height)) for page in document.pages]


def png_size(image: bytes) -> tuple[int, int]:
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")


def test_signing_is_confirmed_on_a_page_showing_the_pages_and_who_signs(
    client: Any, generated: Any, queries_for: Any, real_render: None
) -> None:
    report = generated()
    sizes = page_sizes(report)
    assert 1 < len(sizes) <= 12
    assert any(width > height for width, height in sizes)  # the landscape appendix

    page = login(client, "laocai.official").get(f"/reports/{report.pk}/sign/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f"{len(sizes)} trang" in html
    images = re.findall(rf'<img src="(/reports/{report.pk}/pages/(\d+)\.png\?v=\w+)"', html)
    assert [int(number) for _url, number in images] == list(range(1, len(sizes) + 1))
    assert 'alt="Trang 1 của báo cáo sẽ ký"' in html
    assert 'id="sign-more-pages"' not in html
    assert f'href="/reports/{report.pk}/pdf/"' in html
    assert report.plan.signer_name in html
    assert 'id="sign-certificate"' in html
    assert 'id="report-sign-confirm"' in html
    assert 'name="pin"' not in html
    for (url, _number), (width, height) in zip(images, sizes, strict=True):
        image = client.get(url)
        assert image.status_code == 200
        assert image["Content-Type"] == "image/png"
        image_width, image_height = png_size(image.content)
        assert image_width == 300  # twice the 150 CSS pixels the page gives it
        assert abs(image_height - image_width * height / width) <= 1, (url, image_width, image_height)
    report.refresh_from_db()
    assert report.status == ReportStatus.READY  # asking signs nothing
    # a fixed number: the page reads the version, its plan and the roles, never its pages one by one
    assert queries_for(client, f"/reports/{report.pk}/sign/") == 6
    planner = login(client, "laocai.planner")
    assert planner.get(images[0][0]).status_code == 200  # whoever may see the report sees its pages
    signing = planner.get(f"/reports/{report.pk}/sign/")
    assert signing.status_code == 302
    assert signing["Location"] == f"/reports/{report.pk}/"
    other_tenant = login(client, "backan.official")
    assert other_tenant.get(images[0][0]).status_code == 404
    client.logout()
    assert client.get(images[0][0]).status_code == 302  # to the login page


def test_a_long_report_shows_its_first_twelve_pages_and_how_many_more(client: Any, generated: Any) -> None:
    long_text = "Kết quả thực hiện các chỉ tiêu của kế hoạch trong kỳ báo cáo. " * 300
    narrative = {"achievements": long_text, "shortcomings": long_text, "causes": long_text}
    first = generated()
    report_narrative_update(report=first, narrative=narrative, by=user("laocai.planner"))
    report = generated()
    pages = len(page_sizes(report))
    assert pages > 12

    html = login(client, "laocai.official").get(f"/reports/{report.pk}/sign/").content.decode()

    assert len(re.findall(rf'<img src="/reports/{report.pk}/pages/\d+\.png', html)) == 12
    assert f"và {pages - 12} trang nữa" in html
    assert client.get(f"/reports/{report.pk}/pages/12.png").status_code == 200
    assert client.get(f"/reports/{report.pk}/pages/13.png").status_code == 404
    assert client.get(f"/reports/{report.pk}/pages/0.png").status_code == 404


def test_with_a_token_signing_asks_for_its_pin_and_only_the_right_one_signs(
    client: Any,
    generated: Any,
    media_root: Path,
    pkcs11_token: SoftToken,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The real token of tests/reporting/conftest.py holds Lào Cai's key; no PIN is configured.
    from reporting.verification import verify_pdf

    report = generated()
    draft = report_files(media_root, report)
    official = login(client, "laocai.official")
    assert 'type="password" name="pin"' in official.get(f"/reports/{report.pk}/sign/").content.decode()

    without = official.post(f"/reports/{report.pk}/sign/")
    assert without.status_code == 200
    assert 'class="field-error"' in without.content.decode()
    wrong = official.post(f"/reports/{report.pk}/sign/", {"pin": "9876"})
    assert wrong.status_code == 200
    assert "Mã PIN của thiết bị ký không đúng. Chưa có gì được ký." in wrong.content.decode()
    assert "9876" not in wrong.content.decode()  # a PIN is never written back into the page
    report.refresh_from_db()
    assert report.status == ReportStatus.READY
    assert report_files(media_root, report) == draft
    with django_capture_on_commit_callbacks(execute=True):
        signed = official.post(f"/reports/{report.pk}/sign/", {"pin": pkcs11_token.pin})

    assert signed.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SIGNED
    with report.pdf.open("rb") as stored:
        verification = verify_pdf(stored.read())
    assert verification.valid, verification.problems
    assert verification.signed_by == "Sở Y tế tỉnh Lào Cai"


def test_a_version_left_running_past_the_hard_time_limit_fails_with_a_reason(settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from reporting.services import reports_fail_stalled

    plan = Plan.objects.get(slug="laocai-city-de-an-07-2024")
    now = timezone.now()

    def running(version: int, started_seconds_ago: int) -> Report:
        return Report.objects.create(
            tenant=plan.tenant,
            plan=plan,
            period="2024H1",
            org_unit=plan.issuer_org_unit,
            version=version,
            verification_code=f"STALL{version}",
            status=ReportStatus.RUNNING,
            progress=40,
            started_at=now - timedelta(seconds=started_seconds_ago),
        )

    killed = running(1, settings.REPORT_TIME_LIMIT + 600)  # the hard limit killed its worker long ago
    busy = running(2, 30)  # a render under way
    assert reports_fail_stalled(now=now) == [killed.pk]
    killed.refresh_from_db()
    busy.refresh_from_db()
    assert killed.status == ReportStatus.FAILED
    assert killed.error
    assert busy.status == ReportStatus.RUNNING
    assert reports_fail_stalled(now=now) == []  # nothing left to fail
