"""Spreadsheet export and import: the template round trip, row-level errors, all or nothing."""

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from healthplans.models import OrgUnit, User
from healthplans.spreadsheets.files import safe_cell
from healthplans.workflow import ReviewStatus
from indicators.models import Actual, ActualEvent, Indicator, Target, UnitKind
from indicators.services import actual_approve, actual_create, actual_submit
from indicators.spreadsheets.figures import ACTUAL_HEADERS
from plans.models import Plan
from tests.conftest import CountQueries, Login
from tests.workbooks import xlsx, xlsx_rows

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"
TA_PHOI = "laocai-city-ta-phoi-tyt"
SEED_PLANNERS = {
    CITY_PLAN: "laocai.planner",
    "quangngai-chi-thi-37": "quangngai.planner",
    "backan-gsd-2025-2030": "backan.planner",
}


def user(username: str) -> User:
    return User.objects.get(username=username)


def plan(slug: str = CITY_PLAN) -> Plan:
    return Plan.objects.get(slug=slug)


def station_indicators(kind: str | None = None) -> list[Indicator]:
    qs = Indicator.objects.filter(plan__slug=CITY_PLAN, entry_level="station").order_by("order")
    if kind is not None:
        qs = qs.filter(unit_kind=kind)
    return list(qs)


def some_actuals() -> list[Actual]:
    """A few figures of Lào Cai city's stations for 2024H1: drafts, a negative-free decimal, one approved."""
    planner, reviewer = user("laocai.planner"), user("laocai.reviewer")
    ta_phoi = OrgUnit.objects.get(code=TA_PHOI)
    first, second = station_indicators()[:2]
    made = [
        actual_create(indicator=first, org_unit=ta_phoi, period="2024H1", value=Decimal("12"), by=planner),
        actual_create(indicator=second, org_unit=ta_phoi, period="2024H1", value=Decimal("3"), by=planner),
    ]
    submitted = actual_submit(actual=made[1], version=made[1].version, by=planner, note="ok")
    made[1] = actual_approve(actual=submitted, by=reviewer)
    return made


def export(client: Any, slug: str, **params: str) -> Any:
    return client.get(f"/api/plans/{plan(slug).pk}/export/", params)


def upload(
    client: Any, content: bytes, *, slug: str = CITY_PLAN, kind: str = "actuals", dry_run: bool = False, name: str = "f"
) -> Any:
    file = SimpleUploadedFile(name, content)
    return client.post(
        "/api/imports/",
        {"file": file, "plan": plan(slug).pk, "kind": kind, "dry_run": "true" if dry_run else "false"},
        format="multipart",
    )


def snapshot() -> tuple[list[tuple[Any, ...]], int, list[tuple[Any, ...]]]:
    actuals = list(Actual.objects.order_by("pk").values_list("pk", "value", "version", "status"))
    targets = list(Target.objects.order_by("pk").values_list("pk", "comparator", "value", "text"))
    return actuals, ActualEvent.objects.count(), targets


def city_rows(client: Any) -> list[list[Any]]:
    return xlsx_rows(export(client, CITY_PLAN, kind="actuals", format="xlsx", period="2024H1").content)


def row_for(rows: list[list[Any]], number: str, code: str = TA_PHOI) -> int:
    return next(i for i, row in enumerate(rows) if row[1] == number and row[5] == code)


# ---------------------------------------------------------------------------------------------
# Export


def test_actuals_export_is_the_entry_template_with_stored_figures(api_as: Any) -> None:
    first, second = some_actuals()
    response = export(api_as("laocai.planner"), CITY_PLAN, kind="actuals", format="xlsx", period="2024H1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = xlsx_rows(response.content)
    assert rows[0] == ACTUAL_HEADERS
    row = rows[row_for(rows, first.indicator.number)]
    assert row[0] == CITY_PLAN
    assert row[7] == "2024H1"
    assert row[8] == "12"
    assert row[10] == "1"
    assert rows[row_for(rows, second.indicator.number)][9]  # the approved status is shown
    assert len({r[5] for r in rows[1:]}) > 1  # every station of the city, empty cells included


def test_station_reporter_exports_only_its_own_station(api_as: Any) -> None:
    rows = city_rows(api_as("laocai.station"))
    assert {row[5] for row in rows[1:]} == {TA_PHOI}


def test_other_tenant_cannot_export_a_plan(api_as: Any) -> None:
    assert export(api_as("quangngai.planner"), CITY_PLAN, kind="targets").status_code == 404


def test_actuals_export_takes_the_same_queries_however_many_figures_exist(
    api_as: Any, count_queries: CountQueries
) -> None:
    client = api_as("laocai.planner")
    with count_queries() as empty:
        city_rows(client)
    some_actuals()
    with count_queries() as filled:
        city_rows(client)
    assert len(filled) == len(empty)


def test_other_tenant_cannot_import_into_a_plan(api_as: Any) -> None:
    content = export(api_as("laocai.planner"), CITY_PLAN, kind="actuals", period="2024H1").content
    before = snapshot()
    assert upload(api_as("quangngai.planner"), content).status_code == 404
    assert snapshot() == before


def test_export_needs_a_reporting_period_of_the_plan(api_as: Any) -> None:
    assert export(api_as("laocai.planner"), CITY_PLAN, kind="actuals", period="1999").status_code == 400


def test_csv_export_is_utf8_with_vietnamese_numbers(api_as: Any) -> None:
    some_actuals()
    response = export(api_as("laocai.planner"), CITY_PLAN, kind="actuals", format="csv", period="2024H1")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ACTUAL_HEADERS


def test_targets_export_writes_each_cell_as_written(api_as: Any) -> None:
    rows = xlsx_rows(export(api_as("backan.planner"), "backan-gsd-2025-2030", kind="targets").content)
    target = Target.objects.filter(indicator__plan__slug="backan-gsd-2025-2030", org_unit=None).first()
    assert target is not None
    header = rows[0]
    row = next(r for r in rows if r[0] == target.indicator.number)
    assert row[header.index(str(target.year))] == safe_cell(target.text)


def test_formula_cells_are_neutralised_but_negative_numbers_stay_numbers() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("+1") == "'+1"
    assert safe_cell("-3,5") == Decimal("-3.5")
    assert safe_cell("-abc") == "'-abc"
    assert safe_cell("≥80%") == "≥80%"


# ---------------------------------------------------------------------------------------------
# Identity


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exported_actuals_imported_unchanged_change_nothing(api_as: Any, fmt: str) -> None:
    some_actuals()
    client = api_as("laocai.planner")
    content = export(client, CITY_PLAN, kind="actuals", format=fmt, period="2024H1").content
    before = snapshot()
    response = upload(client, content)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "imported"
    assert response.json()["errors"] == []
    assert snapshot() == before


@pytest.mark.parametrize("slug", sorted(SEED_PLANNERS))
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exported_targets_imported_unchanged_change_nothing(api_as: Any, slug: str, fmt: str) -> None:
    client = api_as(SEED_PLANNERS[slug])
    content = export(client, slug, kind="targets", format=fmt).content
    before = snapshot()
    response = upload(client, content, slug=slug, kind="targets")
    assert response.status_code == 200, response.json()
    assert response.json()["errors"] == []
    assert snapshot() == before


# ---------------------------------------------------------------------------------------------
# Writing


def test_import_creates_and_updates_figures_through_the_services(api_as: Any) -> None:
    first, _second = some_actuals()
    client = api_as("laocai.planner")
    rows = city_rows(client)
    rows[row_for(rows, first.indicator.number)][8] = "15"
    third = next(i for i in station_indicators()[2:] if i.unit_kind != UnitKind.PERCENT)
    rows[row_for(rows, third.number)][8] = "1.250"
    response = upload(client, xlsx(rows))
    assert response.status_code == 200, response.json()
    first.refresh_from_db()
    assert first.value == Decimal("15")
    assert first.version == 2
    created = Actual.objects.get(indicator=third, org_unit__code=TA_PHOI, period="2024H1")
    assert created.value == Decimal("1250")
    assert created.status == ReviewStatus.DRAFT
    assert created.events.filter(action="create").exists()


def test_dry_run_writes_nothing_and_confirm_writes(api_as: Any) -> None:
    client = api_as("laocai.planner")
    rows = city_rows(client)
    indicator = station_indicators()[0]
    rows[row_for(rows, indicator.number)][8] = "7"
    before = snapshot()
    response = upload(client, xlsx(rows), dry_run=True)
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "valid"
    assert any(row["action"] == "create" for row in body["rows"])
    assert snapshot() == before
    assert api_as("laocai.station").post(f"/api/imports/{body['id']}/confirm/").status_code == 404
    confirmed = client.post(f"/api/imports/{body['id']}/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "imported"
    assert Actual.objects.get(indicator=indicator, org_unit__code=TA_PHOI, period="2024H1").value == Decimal("7")


def test_only_planners_import_targets(api_as: Any) -> None:
    client = api_as("laocai.station")
    content = export(client, CITY_PLAN, kind="targets").content
    response = upload(client, content, kind="targets")
    assert response.status_code == 403
    assert response.json()["errors"][0]["row"] is None


def test_a_viewer_of_the_plan_may_not_import_into_it(api_as: Any) -> None:
    """The national viewer sees every plan but writes none: refused before the file is read."""
    client = api_as("national.viewer")
    for kind in ("actuals", "targets", "budget"):
        response = upload(client, b"not even a spreadsheet", kind=kind)
        assert response.status_code == 403
        assert response.json()["status"] == "refused"


# ---------------------------------------------------------------------------------------------
# Malformed workbooks: row-level messages, nothing written


def refused(client: Any, content: bytes, **kwargs: Any) -> list[dict[str, Any]]:
    before = snapshot()
    response = upload(client, content, **kwargs)
    assert response.status_code == 400, response.json()
    assert response.json()["status"] in {"invalid", "refused"}
    assert snapshot() == before
    return response.json()["errors"]


def with_good_row(rows: list[list[Any]]) -> list[list[Any]]:
    """A valid change, to show that one bad row keeps the good ones out too."""
    rows[row_for(rows, station_indicators()[3].number)][8] = "5"
    return rows


def test_wrong_headers(api_as: Any) -> None:
    client = api_as("laocai.planner")
    rows = city_rows(client)
    rows[0][8] = "Value"
    errors = refused(client, xlsx(rows))
    assert errors == [{"row": 1, "column": "Giá trị", "message": "Sai tiêu đề cột 9: cần «Giá trị», thấy «Value»."}]


def test_text_in_a_number_cell(api_as: Any) -> None:
    client = api_as("laocai.planner")
    rows = with_good_row(city_rows(client))
    index = row_for(rows, station_indicators()[0].number)
    rows[index][8] = "mười hai"
    errors = refused(client, xlsx(rows))
    assert errors == [{"row": index + 1, "column": "Giá trị", "message": "Không đọc được số: «mười hai»"}]


def test_an_unknown_unit(api_as: Any) -> None:
    client = api_as("laocai.planner")
    rows = with_good_row(city_rows(client))
    index = row_for(rows, station_indicators()[0].number)
    rows[index][5], rows[index][8] = "no-such-unit", "4"
    errors = refused(client, xlsx(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(index + 1, "Mã đơn vị")]
    assert "no-such-unit" in errors[0]["message"]


def test_a_row_for_another_tenants_unit(api_as: Any) -> None:
    client = api_as("laocai.planner")
    other = OrgUnit.objects.filter(code__startswith="quangngai").exclude(tenant=None).first()
    assert other is not None
    rows = with_good_row(city_rows(client))
    index = row_for(rows, station_indicators()[0].number)
    rows[index][5], rows[index][8] = other.code, "4"
    errors = refused(client, xlsx(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(index + 1, "Mã đơn vị")]


def test_an_unknown_indicator(api_as: Any) -> None:
    client = api_as("laocai.planner")
    rows = with_good_row(city_rows(client))
    index = row_for(rows, station_indicators()[0].number)
    rows[index][1], rows[index][8] = "99.99", "4"
    errors = refused(client, xlsx(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(index + 1, "Số TT")]


def test_a_unit_the_user_may_not_enter_for(api_as: Any) -> None:
    client = api_as("laocai.station")
    rows = xlsx_rows(export(api_as("laocai.planner"), CITY_PLAN, kind="actuals", period="2024H1").content)
    index = next(i for i, row in enumerate(rows[1:], start=1) if row[5] != TA_PHOI)
    rows[index][8] = "4"
    errors = refused(client, xlsx(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(index + 1, "Mã đơn vị")]


def test_a_duplicate_row(api_as: Any) -> None:
    client = api_as("laocai.planner")
    rows = with_good_row(city_rows(client))
    index = row_for(rows, station_indicators()[0].number)
    rows[index][8] = "4"
    rows.append(list(rows[index]))
    errors = refused(client, xlsx(rows))
    assert [e["row"] for e in errors] == [len(rows)]
    assert str(index + 1) in errors[0]["message"]


def test_a_locked_value(api_as: Any) -> None:
    _first, approved = some_actuals()
    client = api_as("laocai.planner")
    rows = with_good_row(city_rows(client))
    index = row_for(rows, approved.indicator.number)
    rows[index][8] = "9"
    errors = refused(client, xlsx(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(index + 1, "Giá trị")]
    assert "khóa" in errors[0]["message"].lower() or "locked" in errors[0]["message"].lower()


def test_a_value_outside_its_units_range(api_as: Any) -> None:
    percent = station_indicators(UnitKind.PERCENT)
    assert percent  # the Lào Cai city plan has percentages its stations enter
    client = api_as("laocai.planner")
    rows = with_good_row(city_rows(client))
    index = row_for(rows, percent[0].number)
    rows[index][8] = "140"
    errors = refused(client, xlsx(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(index + 1, "Giá trị")]


def test_a_truncated_xlsx(api_as: Any) -> None:
    client = api_as("laocai.planner")
    content = xlsx(city_rows(client))
    errors = refused(client, content[: len(content) // 2])
    assert errors[0]["row"] is None
    assert ".xlsx" in errors[0]["message"]


def test_a_file_that_is_not_a_spreadsheet(api_as: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    errors = refused(api_as("laocai.planner"), png, name="picture.xlsx")
    assert errors[0]["row"] is None
    assert "không phải bảng tính" in errors[0]["message"]


def test_an_oversized_file(api_as: Any, settings: Any) -> None:
    errors = refused(api_as("laocai.planner"), b"a," * (settings.IMPORT_MAX_BYTES // 2 + 1))
    assert errors[0]["row"] is None
    assert "5 MB" in errors[0]["message"]


def test_an_oversized_upload_is_refused_from_its_length_before_the_body_is_read(api_as: Any) -> None:
    """The test client's body raises if read past its end: a Content-Length of 50 MB over a tiny
    body shows that nothing of it was read."""
    before = snapshot()
    response = api_as("laocai.planner").generic(
        "POST",
        "/api/imports/",
        b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert response.status_code == 400
    assert response.json()["status"] == "refused"
    assert response.json()["errors"] == [{"row": None, "column": None, "message": "Tệp quá lớn: tối đa 5 MB."}]
    assert snapshot() == before


def test_the_size_limit_is_a_setting(api_as: Any, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    errors = refused(api_as("laocai.planner"), b"a," * (600 * 1024))
    assert errors[0]["message"] == "Tệp quá lớn: tối đa 1 MB."


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "picture.xlsx"),
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", "report.xlsx"),
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", "report.csv"),
        (b"plain text, but named as a workbook\n", "figures.xlsx"),
    ],
)
def test_a_renamed_file_is_refused_by_its_content(api_as: Any, content: bytes, name: str) -> None:
    errors = refused(api_as("laocai.planner"), content, name=name)
    assert errors == [
        {
            "row": None,
            "column": None,
            "message": "Tệp không phải bảng tính: chỉ nhận tệp .xlsx hoặc .csv (UTF-8).",
        }
    ]


def test_an_unreadable_target(api_as: Any) -> None:
    client = api_as("backan.planner")
    rows = xlsx_rows(export(client, "backan-gsd-2025-2030", kind="targets").content)
    rows[2][4] = "khoảng tám mươi"
    errors = refused(client, xlsx(rows), slug="backan-gsd-2025-2030", kind="targets")
    assert errors == [{"row": 3, "column": rows[0][4], "message": "Không đọc được số liệu: «khoảng tám mươi»"}]


# ---------------------------------------------------------------------------------------------
# The page


def test_import_page_previews_then_confirms(login: Login) -> None:
    client = login("laocai.planner")
    page = client.get(f"/plans/{CITY_PLAN}/import/")
    assert page.status_code == 200
    assert b"export" in page.content
    rows = xlsx_rows(export(client, CITY_PLAN, kind="actuals", format="xlsx", period="2024H1").content)
    indicator = station_indicators()[0]
    rows[row_for(rows, indicator.number)][8] = "6"
    preview = client.post(
        f"/plans/{CITY_PLAN}/import/", {"kind": "actuals", "file": SimpleUploadedFile("f.xlsx", xlsx(rows))}
    )
    assert preview.status_code == 200
    result = preview.context["result"]
    assert result.status == "valid"
    assert not Actual.objects.filter(indicator=indicator, org_unit__code=TA_PHOI, period="2024H1").exists()
    confirmed = client.post(f"/plans/{CITY_PLAN}/import/", {"kind": "actuals", "confirm": result.id})
    assert confirmed.context["result"].status == "imported"
    assert Actual.objects.get(indicator=indicator, org_unit__code=TA_PHOI, period="2024H1").value == Decimal("6")


def test_import_page_of_another_tenants_plan_is_not_found(login: Login) -> None:
    client = login("quangngai.planner")
    assert client.get(f"/plans/{CITY_PLAN}/import/").status_code == 404
