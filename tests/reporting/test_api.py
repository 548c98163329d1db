"""The reports API: request, follow, narrative, sign, download, verify; every refusal and the
isolation between tenants; the schema; query counts of the list."""

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from reporting import rendering
from reporting.models import Report, ReportStatus

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"
DETAIL_FIELDS = {
    "id",
    "plan",
    "period",
    "version",
    "status",
    "progress",
    "sha256",
    "verification_code",
    "signed_by",
    "signed_at",
    "error",
}


def quick_pdf(report: Report, *, on_progress: Any = None) -> bytes:
    """A small real PDF naming the version: the API does not depend on the layout."""
    from weasyprint import HTML

    if on_progress is not None:
        on_progress(50)
    return bytes(HTML(string=f"<p>Báo cáo {report.pk} v{report.version}</p>").write_pdf())


def use_demo_pki(settings: Any, tmp_path_factory: Any) -> None:
    """The demo certificate authority and tenant keys, made once per test run."""
    settings.REPORT_PKI_DIR = tmp_path_factory.getbasetemp() / "report-pki"
    settings.REPORT_SIGNING_PASSPHRASE = "test-only-signing-passphrase"
    settings.REPORT_SIGNING_PASSPHRASES = {}
    settings.REPORT_SIGNING_P12 = {}
    settings.REPORT_TSA_URL = ""
    settings.REPORT_PKCS11_MODULE = ""


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path, tmp_path_factory: Any, monkeypatch: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    use_demo_pki(settings, tmp_path_factory)
    monkeypatch.setattr(rendering, "render_report_pdf", quick_pdf)
    return tmp_path / "media"


@pytest.fixture
def request_report(api_as: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """request_report(username, plan, period, generate=True) → the POST's response (rendered in-process)."""

    def post(
        username: str = "laocai.planner", plan: str = CITY_PLAN, period: str = "2024H1", generate: bool = True
    ) -> Any:
        with django_capture_on_commit_callbacks(execute=generate):
            return api_as(username).post("/api/reports/", {"plan": plan, "period": period}, format="json")

    return post


def ready_report(request_report: Any) -> int:
    response = request_report()
    assert response.status_code == 202, response.json()
    return int(response.json()["id"])


def test_request_answers_202_and_the_detail_follows_the_generation(request_report: Any, api_as: Any) -> None:
    response = request_report(generate=False)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert isinstance(body["id"], int)
    planner = api_as("laocai.planner")
    detail = planner.get(f"/api/reports/{body['id']}/").json()
    assert set(detail) >= DETAIL_FIELDS
    assert (detail["period"], detail["version"], detail["progress"], detail["sha256"]) == ("2024H1", 1, 0, "")
    assert detail["plan"] == Report.objects.get(pk=body["id"]).plan_id
    assert detail["plan_slug"] == CITY_PLAN

    generated = request_report()
    detail = planner.get(f"/api/reports/{generated.json()['id']}/").json()
    assert (detail["status"], detail["progress"], detail["version"]) == ("ready", 100, 2)
    assert len(detail["sha256"]) == 64
    assert detail["pdf_url"] == f"/api/reports/{detail['id']}/pdf/"


def test_plan_by_id_is_accepted(api_as: Any, django_capture_on_commit_callbacks: Any) -> None:
    plan_id = api_as("laocai.planner").get("/api/plans/?slug=" + CITY_PLAN).json()["results"][0]["id"]
    with django_capture_on_commit_callbacks(execute=False):
        response = api_as("laocai.official").post("/api/reports/", {"plan": plan_id, "period": "2024"}, format="json")
    assert response.status_code == 202


@pytest.mark.parametrize("username", ["laocai.reviewer", "national.viewer"])
def test_reviewers_and_viewers_cannot_request(request_report: Any, username: str) -> None:
    response = request_report(username)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Report.objects.exists()


def test_a_station_reporter_cannot_request_a_report_of_its_city(request_report: Any) -> None:
    assert request_report("laocai.station").status_code == 403


def test_another_tenants_plan_is_not_found(request_report: Any) -> None:
    assert request_report("backan.official").status_code == 404
    assert request_report("backan.planner").status_code == 404


def test_a_period_the_plan_does_not_report_on_is_a_400(request_report: Any) -> None:
    response = request_report(period="2031")
    assert response.status_code == 400
    assert "period" in response.json()["errors"]


def test_reports_are_invisible_outside_the_plans_reach(request_report: Any, api_as: Any) -> None:
    pk = ready_report(request_report)
    for username in ["backan.official", "quangngai.planner", "laichau.official", "laocai.station"]:
        client = api_as(username)
        assert client.get(f"/api/reports/{pk}/").status_code == 404, username
        assert client.get(f"/api/reports/{pk}/pdf/").status_code == 404, username
        assert client.post(f"/api/reports/{pk}/sign/").status_code == 404, username
        assert client.patch(f"/api/reports/{pk}/narrative/", {}, format="json").status_code == 404, username
        assert client.get("/api/reports/").json()["count"] == 0, username
    for username in ["laocai.reviewer", "national.viewer", "admin"]:
        assert api_as(username).get(f"/api/reports/{pk}/").status_code == 200, username
    assert APIClient().get(f"/api/reports/{pk}/").status_code in {401, 403}


def test_list_filters_by_plan_slug_or_id_and_period(request_report: Any, api_as: Any) -> None:
    request_report(period="2024H1", generate=False)
    request_report(period="2024", generate=False)
    request_report("laocai.official", "muongkhuong-de-an-07-2023", "2023", generate=False)
    client = api_as("laocai.official")
    assert client.get("/api/reports/").json()["count"] == 3
    assert client.get(f"/api/reports/?plan={CITY_PLAN}").json()["count"] == 2
    plan_id = Report.objects.filter(plan__slug=CITY_PLAN).first().plan_id  # type: ignore[union-attr]
    assert client.get(f"/api/reports/?plan={plan_id}&period=2024").json()["count"] == 1


def test_list_query_count_does_not_grow(request_report: Any, api_as: Any) -> None:
    client = api_as("laocai.official")
    request_report(generate=False)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/reports/").status_code == 200
    for _ in range(5):
        request_report(generate=False)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/reports/").json()["count"] == 6
    assert len(many) == len(few)


def test_narrative_patch_saves_and_regenerates(
    request_report: Any, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pk = ready_report(request_report)
    planner = api_as("laocai.planner")
    body = {"narrative": {"achievements": "Hoàn thành 10/12 chỉ tiêu."}, "document_number": "12/BC-UBND"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = planner.patch(f"/api/reports/{pk}/narrative/", body, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    assert len(callbacks) == 1
    assert response.json()["narrative"]["achievements"] == "Hoàn thành 10/12 chỉ tiêu."
    assert (response.json()["id"], response.json()["version"]) == (pk, 1)

    busy = planner.patch(f"/api/reports/{pk}/narrative/", body, format="json")
    assert busy.status_code == 409
    assert busy.json()["code"] == "in_progress"


def test_narrative_refusals(request_report: Any, api_as: Any) -> None:
    pk = ready_report(request_report)
    body = {"narrative": {"causes": "Thiếu nhân lực."}}
    assert api_as("laocai.official").patch(f"/api/reports/{pk}/narrative/", body, format="json").status_code == 403
    assert api_as("laocai.reviewer").patch(f"/api/reports/{pk}/narrative/", body, format="json").status_code == 403
    unknown = api_as("laocai.planner").patch(f"/api/reports/{pk}/narrative/", {"narrative": {"x": "y"}}, format="json")
    assert unknown.status_code == 400


def test_sign_by_official_then_immutable(
    request_report: Any, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pk = ready_report(request_report)
    official = api_as("laocai.official")
    with django_capture_on_commit_callbacks(execute=True):
        response = official.post(f"/api/reports/{pk}/sign/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "signed"
    assert body["signed_by"] == "laocai.official"
    assert body["signed_at"]
    report = Report.objects.get(pk=pk)
    assert body["sha256"] == report.sha256

    again = official.post(f"/api/reports/{pk}/sign/")
    assert again.status_code == 409
    assert again.json()["code"] == "signed"
    narrative = api_as("laocai.planner").patch(
        f"/api/reports/{pk}/narrative/", {"narrative": {"causes": "x"}}, format="json"
    )
    assert narrative.status_code == 409
    assert Report.objects.get(pk=pk).sha256 == report.sha256

    # A new generation is a new version.
    with django_capture_on_commit_callbacks(execute=False):
        newer = api_as("laocai.planner").post(f"/api/reports/{pk}/regenerate/")
    assert newer.status_code == 202
    assert newer.json()["version"] == 2
    assert newer.json()["id"] != pk


@pytest.mark.parametrize("username", ["laocai.planner", "laocai.reviewer", "national.viewer"])
def test_only_officials_sign(request_report: Any, api_as: Any, username: str) -> None:
    pk = ready_report(request_report)
    response = api_as(username).post(f"/api/reports/{pk}/sign/")
    assert response.status_code == 403
    assert Report.objects.get(pk=pk).status == ReportStatus.READY


def test_another_tenants_official_gets_404_on_sign(request_report: Any, api_as: Any) -> None:
    pk = ready_report(request_report)
    assert api_as("backan.official").post(f"/api/reports/{pk}/sign/").status_code == 404
    assert Report.objects.get(pk=pk).status == ReportStatus.READY


def test_sign_before_ready_is_a_409(request_report: Any, api_as: Any) -> None:
    pk = request_report(generate=False).json()["id"]
    response = api_as("laocai.official").post(f"/api/reports/{pk}/sign/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_ready"


def test_pdf_download_is_the_draft_then_the_signed_file(
    request_report: Any, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    queued = request_report(generate=False).json()["id"]
    assert api_as("laocai.planner").get(f"/api/reports/{queued}/pdf/").status_code == 409
    pk = ready_report(request_report)
    official = api_as("laocai.official")
    draft = official.get(f"/api/reports/{pk}/pdf/")
    assert draft.status_code == 200
    assert draft["Content-Type"] == "application/pdf"
    draft_bytes = b"".join(draft.streaming_content)
    assert draft_bytes.startswith(b"%PDF")
    with django_capture_on_commit_callbacks(execute=True):
        official.post(f"/api/reports/{pk}/sign/")
    signed = official.get(f"/api/reports/{pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert signed.status_code == 200
    assert signed["Content-Type"] == "application/pdf"
    signed_bytes = b"".join(signed.streaming_content)
    assert signed_bytes != draft_bytes
    assert signed_bytes.startswith(draft_bytes[:8])
    import hashlib

    assert hashlib.sha256(signed_bytes).hexdigest() == Report.objects.get(pk=pk).sha256
    assert "-da-ky.pdf" in signed["Content-Disposition"]


def test_verify_names_the_stored_version_of_a_signed_file(
    request_report: Any, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pk = ready_report(request_report)
    official = api_as("laocai.official")
    with django_capture_on_commit_callbacks(execute=True):
        official.post(f"/api/reports/{pk}/sign/")
    signed = b"".join(official.get(f"/api/reports/{pk}/pdf/").streaming_content)
    from django.core.files.uploadedfile import SimpleUploadedFile

    anonymous = APIClient()
    response = anonymous.post(
        "/api/verify/", {"file": SimpleUploadedFile("r.pdf", signed, "application/pdf")}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {"valid", "intact", "signed_by", "signed_at", "report", "version", "summary"} <= set(body)
    assert body["valid"]
    assert body["intact"]
    assert body["trusted"]
    assert (body["report"], body["version"]) == (pk, 1)
    assert body["signed_by"]
    assert body["signed_at"]

    # The unsigned draft of another report: not signed, and no stored version.
    other = request_report(period="2024").json()["id"]
    draft = b"".join(official.get(f"/api/reports/{other}/pdf/").streaming_content)
    unsigned = anonymous.post("/api/verify/", {"file": SimpleUploadedFile("d.pdf", draft)}, format="multipart")
    assert unsigned.status_code == 200
    assert not unsigned.json()["valid"]
    assert unsigned.json()["report"] is None


def test_verify_rejects_a_missing_file_and_reads_garbage_as_invalid() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    anonymous = APIClient()
    assert anonymous.post("/api/verify/", {}, format="multipart").status_code == 400
    garbage = anonymous.post("/api/verify/", {"file": SimpleUploadedFile("x.pdf", b"not a pdf")}, format="multipart")
    assert garbage.status_code == 200
    assert (garbage.json()["valid"], garbage.json()["intact"], garbage.json()["report"]) == (False, False, None)


def test_report_operations_are_in_the_schema(api_as: Any) -> None:
    schema = api_as("laocai.planner").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    text = schema.decode()
    for path in [
        "/api/reports/",
        "/api/reports/{id}/",
        "/api/reports/{id}/narrative/",
        "/api/reports/{id}/sign/",
        "/api/reports/{id}/pdf/",
        "/api/verify/",
    ]:
        assert path in text, path
    assert "application/pdf" in text
    assert "multipart/form-data" in text
