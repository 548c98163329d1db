"""Spreadsheets beyond the entry template: the plan matrix export, plans from a table shaped
like the GSD appendix, and large imports run as a Celery task with progress."""

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from healthplans.models import OrgUnit, User
from indicators.models import Actual, ActualEvent, Direction, Indicator, Target, UnitKind
from indicators.services import actual_create
from indicators.spreadsheets.figures import MATRIX_HEADERS
from plans.models import Plan
from tests.conftest import CountQueries, Login
from tests.workbooks import xlsx, xlsx_rows

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"
GSD_PLAN = "backan-gsd-2025-2030"
TA_PHOI = "laocai-city-ta-phoi-tyt"
APPENDIX = Path(__file__).parent / "data" / "gsd_appendix.txt"


def upload(client: Any, content: bytes, *, plan: Plan, kind: str, dry_run: bool = False, name: str = "f.xlsx") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/api/imports/",
        {"file": SimpleUploadedFile(name, content), "plan": plan.pk, "kind": kind, "dry_run": str(dry_run).lower()},
        format="multipart",
    )


# ---------------------------------------------------------------------------------------------
# The matrix


def test_matrix_lists_each_indicator_period_and_unit_with_target_actual_and_status(api_as: Any) -> None:
    plan = Plan.objects.get(slug=CITY_PLAN)
    indicator = Indicator.objects.filter(plan=plan, entry_level="station", unit_kind=UnitKind.COUNT).first()
    assert indicator is not None
    ta_phoi = OrgUnit.objects.get(code=TA_PHOI)
    actual_create(
        indicator=indicator,
        org_unit=ta_phoi,
        period="2024H1",
        value=Decimal(7),
        by=User.objects.get(username="laocai.planner"),
    )
    client = api_as("laocai.planner")
    rows = xlsx_rows(client.get(f"/api/plans/{plan.pk}/export/", {"kind": "matrix"}).content)
    assert rows[0] == MATRIX_HEADERS
    periods = {row[3] for row in rows[1:]}
    assert {"2024H1", "2024H2", "2024"} <= periods
    [row] = [r for r in rows[1:] if r[0] == indicator.number and r[3] == "2024H1" and r[4] == TA_PHOI]
    target = indicator.targets.filter(year=2024, org_unit=None).first()
    assert row[6] == (target.text if target else "")
    assert row[7] == "7"
    assert row[8] == "dự thảo"
    station_rows = [r for r in rows[1:] if r[0] == indicator.number and r[3] == "2024H2"]
    assert len(station_rows) == len({r[4] for r in station_rows}) > 1  # every station, once


def test_matrix_as_csv_and_for_another_tenant(api_as: Any) -> None:
    plan = Plan.objects.get(slug=CITY_PLAN)
    response = api_as("laocai.planner").get(f"/api/plans/{plan.pk}/export/", {"kind": "matrix", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == MATRIX_HEADERS
    assert len(rows) > 10
    assert api_as("quangngai.planner").get(f"/api/plans/{plan.pk}/export/", {"kind": "matrix"}).status_code == 404


def test_matrix_export_takes_the_same_queries_however_many_figures_exist(
    api_as: Any, count_queries: CountQueries
) -> None:
    plan = Plan.objects.get(slug=CITY_PLAN)
    client = api_as("laocai.planner")
    with count_queries() as before:
        client.get(f"/api/plans/{plan.pk}/export/", {"kind": "matrix"})
    planner, ta_phoi = User.objects.get(username="laocai.planner"), OrgUnit.objects.get(code=TA_PHOI)
    for indicator in Indicator.objects.filter(plan=plan, entry_level="station", unit_kind=UnitKind.COUNT)[:3]:
        actual_create(indicator=indicator, org_unit=ta_phoi, period="2024", value=Decimal(1), by=planner)
    with count_queries() as after:
        client.get(f"/api/plans/{plan.pk}/export/", {"kind": "matrix"})
    assert len(after) == len(before)


# ---------------------------------------------------------------------------------------------
# Plans from a table


def appendix_rows() -> list[list[str]]:
    """The GSD appendix as its source prints it, one cell a line: a title, the headings (TT, name,
    unit, "Năm", six years), then sixteen indicators of nine cells each."""
    lines = APPENDIX.read_text(encoding="utf-8").splitlines()
    start = lines.index("2030") + 1
    cells = lines[start:]
    assert len(cells) == 16 * 9
    return [cells[i : i + 9] for i in range(0, len(cells), 9)]


def fresh_plan() -> Plan:
    seed = Plan.objects.select_related("issuer_org_unit").get(slug=GSD_PLAN)
    return Plan.objects.create(
        tenant=seed.tenant,
        slug="backan-gsd-copy",
        issuer=seed.issuer,
        issuer_org_unit=seed.issuer_org_unit,
        title="Kế hoạch từ bảng",
        start_year=2025,
        end_year=2030,
        reporting_frequencies=["year"],
        status=Plan.Status.DRAFT,  # a plan a table sets up; an issued plan's targets change only by revisions
    )


def test_a_gsd_shaped_table_creates_the_plans_indicators_and_yearly_targets(api_as: Any) -> None:
    plan = fresh_plan()
    years = [2025, 2026, 2027, 2028, 2029, 2030]
    workbook = [["Số TT", "Chỉ số", "Đơn vị tính", *map(str, years)], *appendix_rows()]
    client = api_as("backan.planner")

    preview = upload(client, xlsx(workbook), plan=plan, kind="targets", dry_run=True)
    assert preview.status_code == 200, preview.json()
    assert preview.json()["status"] == "valid"
    assert sum(1 for row in preview.json()["rows"] if row["year"] == "" and row["action"] == "create") == 16
    assert not plan.indicators.exists()  # the preview wrote nothing

    response = client.post(f"/api/imports/{preview.json()['id']}/confirm/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "imported"

    made = {
        (t.indicator.number, t.year): (t.comparator, t.value, t.text)
        for t in Target.objects.filter(indicator__plan=plan).select_related("indicator")
    }
    seed = {
        (t.indicator.number, t.year): (t.comparator, t.value, t.text)
        for t in Target.objects.filter(indicator__plan__slug=GSD_PLAN, org_unit=None).select_related("indicator")
    }
    assert len(made) == 96
    assert made == seed
    new = {i.number: i for i in plan.indicators.all()}
    assert [new[str(n)].order for n in range(1, 17)] == list(range(1, 17))
    assert new["1"].unit_kind == UnitKind.COUNT
    assert new["3"].unit_kind == UnitKind.PERCENT
    assert new["10"].unit_kind == UnitKind.RATIO
    assert {i.direction for i in new.values()} == {Direction.HIGHER}
    assert new["2"].name.startswith("Số trạm y tế nâng cấp, sửa chữa")

    # The same table again changes nothing; a renamed indicator and a changed cell are updated.
    again = upload(client, xlsx(workbook), plan=plan, kind="targets")
    assert [row["action"] for row in again.json()["rows"]] == []
    workbook[3][1], workbook[3][8] = "Tỷ lệ trạm y tế được duy tu bảo dưỡng", "≥ 99"
    changed = upload(client, xlsx(workbook), plan=plan, kind="targets")
    assert changed.json()["status"] == "imported"
    assert Indicator.objects.get(plan=plan, number="3").name == "Tỷ lệ trạm y tế được duy tu bảo dưỡng"
    target = Target.objects.get(indicator__plan=plan, indicator__number="3", year=2030)
    assert (target.comparator, target.value, target.text) == (">=", Decimal(99), "≥ 99")


def test_a_new_indicator_needs_a_name_and_valid_values(api_as: Any) -> None:
    plan = fresh_plan()
    rows = [
        ["Số TT", "Chỉ số", "Đơn vị tính", "2025", "2026"],
        ["1", "", "%", "80", "85"],
        ["2", "Tỷ lệ tử vong trẻ em", "‰", "≤ 14,5", "< 14"],
        ["3", "Tỷ lệ bao phủ", "%", "140", "90"],
    ]
    response = upload(api_as("backan.planner"), xlsx(rows), plan=plan, kind="targets")
    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(2, "Chỉ số"), (4, "2025")]
    assert "thêm" in response.json()["errors"][0]["message"]
    assert not plan.indicators.exists()
    del rows[1]
    rows[2][3] = "100"
    assert upload(api_as("backan.planner"), xlsx(rows), plan=plan, kind="targets").status_code == 200
    falling = Indicator.objects.get(plan=plan, number="2")
    assert (falling.unit_kind, falling.direction) == (UnitKind.PERMILLE, Direction.LOWER)


# ---------------------------------------------------------------------------------------------
# Large imports


@pytest.fixture
def async_rows(settings: Any) -> None:
    """Any file of more than three rows goes to the (eager, in the tests) Celery task."""
    settings.IMPORT_ASYNC_ROWS = 3


def city_actual_rows(client: Any) -> list[list[Any]]:
    plan = Plan.objects.get(slug=CITY_PLAN)
    content = client.get(f"/api/plans/{plan.pk}/export/", {"kind": "actuals", "period": "2024H1"}).content
    return xlsx_rows(content)


def test_a_large_import_runs_as_a_task_with_progress_then_confirms(
    api_as: Any, async_rows: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = api_as("laocai.planner")
    rows = city_actual_rows(client)
    counts = {i.number for i in Indicator.objects.filter(plan__slug=CITY_PLAN, unit_kind=UnitKind.COUNT)}
    filled = [row for row in rows[1:] if row[1] in counts][:5]
    for n, row in enumerate(filled, start=1):
        row[8] = str(n)
    content = xlsx([rows[0], *filled])
    plan = Plan.objects.get(slug=CITY_PLAN)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(client, content, plan=plan, kind="actuals", dry_run=True)
    assert response.status_code == 202
    assert response.json() | {"id": ""} == {"id": "", "status": "queued", "progress": 0, "rows": [], "errors": []}
    import_id = response.json()["id"]
    assert client.get(f"/api/imports/{import_id}/").json()["status"] == "queued"
    for callback in queued:
        callback()  # the task, run eagerly
    status = client.get(f"/api/imports/{import_id}/").json()
    assert (status["status"], status["progress"], len(status["rows"])) == ("valid", 100, 5)
    assert not Actual.objects.filter(indicator__plan=plan, period="2024H1", value__in=[1, 2, 3, 4, 5]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirm = client.post(f"/api/imports/{import_id}/confirm/")
    assert confirm.status_code == 202
    assert confirm.json()["status"] == "queued"
    done = client.get(f"/api/imports/{import_id}/").json()
    assert done["status"] == "imported", done
    stored = Actual.objects.filter(indicator__plan=plan, period="2024H1", org_unit__code__in=[r[5] for r in filled])
    values = [a.value for a in stored if a.indicator.number in counts]
    assert None not in values
    assert sorted(value for value in values if value is not None) == [1, 2, 3, 4, 5]
    assert ActualEvent.objects.filter(actual__in=stored, action="create").count() == 5
    assert client.post(f"/api/imports/{import_id}/confirm/").status_code == 404  # written once


def test_a_large_import_with_a_bad_row_writes_nothing(
    api_as: Any, async_rows: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = api_as("laocai.planner")
    rows = city_actual_rows(client)
    for row in rows[1:6]:
        row[8] = "1"
    rows[3][8] = "một"
    before = Actual.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, xlsx(rows[:6]), plan=Plan.objects.get(slug=CITY_PLAN), kind="actuals")
    result = client.get(f"/api/imports/{response.json()['id']}/").json()
    assert result["status"] == "invalid"
    assert result["errors"] == [{"row": 4, "column": "Giá trị", "message": "Không đọc được số: «một»"}]
    assert Actual.objects.count() == before


def test_an_import_status_is_the_importers_own(api_as: Any, async_rows: None) -> None:
    client = api_as("laocai.planner")
    rows = city_actual_rows(client)
    response = upload(client, xlsx(rows[:6]), plan=Plan.objects.get(slug=CITY_PLAN), kind="actuals", dry_run=True)
    import_id = response.json()["id"]
    assert client.get(f"/api/imports/{import_id}/").status_code == 200
    assert api_as("laocai.reviewer").get(f"/api/imports/{import_id}/").status_code == 404
    assert api_as("laocai.reviewer").post(f"/api/imports/{import_id}/confirm/").status_code == 404


def test_the_import_page_shows_a_progress_bar_for_a_large_file(async_rows: None, api_as: Any, login: Login) -> None:
    client = login("laocai.planner")
    rows = city_actual_rows(api_as("laocai.planner"))
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post(
        f"/plans/{CITY_PLAN}/import/", {"kind": "actuals", "file": SimpleUploadedFile("f.xlsx", xlsx(rows[:6]))}
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="import-progress"' in html
    assert "/api/imports/" in html
    assert "import_progress.js" in html
    assert "<script>" not in html  # the poller is a static file


# ---------------------------------------------------------------------------------------------
# No query per row


def import_queries(client: Any, rows: list[list[Any]], *, dry_run: bool, count_queries: CountQueries) -> int:
    plan = Plan.objects.get(slug=CITY_PLAN)
    with count_queries() as queries:
        response = upload(client, xlsx(rows), plan=plan, kind="actuals", dry_run=dry_run)
    assert response.json()["status"] == ("valid" if dry_run else "imported"), response.json()
    return len(queries)


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_import_takes_the_same_queries_however_many_rows_it_has(
    api_as: Any, count_queries: CountQueries, dry_run: bool
) -> None:
    client = api_as("laocai.planner")
    rows = city_actual_rows(client)
    counts = {i.number for i in Indicator.objects.filter(plan__slug=CITY_PLAN, unit_kind=UnitKind.COUNT)}
    filled = [row for row in rows[1:] if row[1] in counts]
    assert len(filled) >= 20
    for row in filled:
        row[8] = "3"
    few = import_queries(client, [rows[0], *filled[:5]], dry_run=dry_run, count_queries=count_queries)
    many = import_queries(client, [rows[0], *filled[5:20]], dry_run=dry_run, count_queries=count_queries)
    assert many == few
