"""The admin's import and export of reference data (django-import-export): a province enrols its
stations' staff and keeps its agencies from one workbook, through the core's services, within its
own tenant and units; a file with one refused row writes nothing."""

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from healthplans.models import Agency, AuditEvent, AuditKind, OrgUnit, Role, RoleAssignment, Tenant, User
from healthplans.services import agency_create, user_enrol
from healthplans.workflow import Forbidden, Invalid
from tests.conftest import Login
from tests.workbooks import xlsx, xlsx_rows

pytestmark = pytest.mark.django_db

STAFF_HEADERS = ["Tên đăng nhập", "Họ và tên", "Email", "Vai trò", "Mã đơn vị"]
AGENCY_HEADERS = ["Mã tỉnh", "Mã cơ quan", "Tên cơ quan", "Loại", "Mã đơn vị"]
STAFF_URL = "/admin/healthplans/roleassignment/"
AGENCY_URL = "/admin/healthplans/agency/"
# The order of ServiceImportAdmin.import_formats.
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def laocai_admin() -> User:
    """A Lào Cai tenant admin with the admin's rights on staff and agencies, and nothing more."""
    user = User.objects.create_user("laocai.admin", password="x", is_staff=True)
    RoleAssignment.objects.create(user=user, org_unit=OrgUnit.objects.get(code="laocai-2025"), role=Role.TENANT_ADMIN)
    codenames = [f"{action}_{model}" for action in ("view", "add", "change") for model in ("roleassignment", "agency")]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="healthplans", codename__in=codenames))
    return user


@pytest.fixture
def admin_as(login: Login, laocai_admin: User) -> Client:
    return login(laocai_admin)


def csv_file(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def preview(client: Client, url: str, content: bytes, file_format: str, name: str) -> Any:
    upload = io.BytesIO(content)
    upload.name = name
    response = client.post(f"{url}import/", {"format": file_format, "resource": "0", "import_file": upload})
    assert response.status_code == 200
    return response


def import_file(client: Client, url: str, content: bytes, file_format: str, name: str) -> Any:
    """The admin's two steps: the preview (a dry run), then the confirmation of the same file."""
    response = preview(client, url, content, file_format, name)
    assert "confirm_form" in response.context, response.context["result"].invalid_rows
    confirm = response.context["confirm_form"]
    return client.post(f"{url}process_import/", confirm.initial)


def export_rows(client: Client, url: str) -> list[list[Any]]:
    form = client.get(f"{url}export/").context["form"]
    fields = {name: "on" for name, field in form.fields.items() if field.initial is True}
    response = client.post(f"{url}export/", {"format": XLSX_FORMAT, "resource": "0", **fields})
    assert response.status_code == 200
    return xlsx_rows(response.content)


def role_granted_events() -> Any:
    return AuditEvent.objects.filter(kind=AuditKind.ROLE_GRANTED)


def test_a_tenant_admin_enrols_station_staff_from_a_workbook(admin_as: Client) -> None:
    rows = [
        STAFF_HEADERS,
        ["bac-cuong.reporter", "Nguyễn Thị Hoa", "hoa@example.vn", "cán bộ Trạm Y tế", "laocai-city-bac-cuong"],
        ["bac-lenh.reporter", "Lò Văn Minh", "", "station_reporter", "laocai-city-bac-lenh"],
        ["laocai.station", "", "", "người duyệt", "laocai-city-ta-phoi"],  # an existing user of the province
    ]
    audited_before = role_granted_events().count()
    response = import_file(admin_as, STAFF_URL, xlsx(rows), XLSX_FORMAT, "staff.xlsx")
    assert response.status_code == 302

    hoa = User.objects.get(username="bac-cuong.reporter")
    assert (hoa.get_full_name(), hoa.email, hoa.has_usable_password()) == ("Nguyễn Thị Hoa", "hoa@example.vn", False)
    assert list(hoa.role_assignments.values_list("role", "org_unit__code")) == [
        ("station_reporter", "laocai-city-bac-cuong")
    ]
    assert User.objects.get(username="bac-lenh.reporter").role_assignments.get().org_unit.code == "laocai-city-bac-lenh"
    station = User.objects.get(username="laocai.station")
    assert set(station.role_assignments.values_list("role", flat=True)) == {"station_reporter", "reviewer"}
    # Each role granted is in the audit history, with who granted it.
    granted = role_granted_events().order_by("pk")[audited_before:]
    laocai = OrgUnit.objects.get(code="laocai").tenant_id
    assert [(event.username, event.actor, event.tenant_id) for event in granted] == [
        ("bac-cuong.reporter", "laocai.admin", laocai),
        ("bac-lenh.reporter", "laocai.admin", laocai),
        ("laocai.station", "laocai.admin", laocai),
    ]

    # The same file again changes nothing.
    response = preview(admin_as, STAFF_URL, xlsx(rows), XLSX_FORMAT, "staff.xlsx")
    assert response.context["result"].totals["skip"] == 3
    assert role_granted_events().count() == audited_before + 3


def test_a_row_at_a_unit_of_another_tenant_is_refused_and_nothing_is_written(admin_as: Client) -> None:
    rows = [
        STAFF_HEADERS,
        ["bac-cuong.reporter", "Nguyễn Thị Hoa", "", "cán bộ Trạm Y tế", "laocai-city-bac-cuong"],
        ["quangngai.intruder", "Trần Văn Nam", "", "người duyệt", "quangngai"],
    ]
    counts = (User.objects.count(), RoleAssignment.objects.count(), AuditEvent.objects.count())
    response = preview(admin_as, STAFF_URL, csv_file(rows), CSV_FORMAT, "staff.csv")
    assert "confirm_form" not in response.context
    [invalid] = response.context["result"].invalid_rows
    assert invalid.number == 2
    assert invalid.field_specific_errors == {"Mã đơn vị": ["Không có đơn vị mã «quangngai» trong phạm vi của bạn."]}
    page = response.content.decode()
    assert "Không có đơn vị mã «quangngai» trong phạm vi của bạn." in page
    assert "Một số dòng không hợp lệ; chưa nhập gì" in page  # the page itself in Vietnamese
    assert (User.objects.count(), RoleAssignment.objects.count(), AuditEvent.objects.count()) == counts
    assert not User.objects.filter(username__in=["bac-cuong.reporter", "quangngai.intruder"]).exists()


def test_a_user_of_another_tenant_is_not_taken_over(admin_as: Client) -> None:
    rows = [STAFF_HEADERS, ["quangngai.planner", "Kẻ Lạ", "x@example.vn", "người duyệt", "laocai-city-bac-cuong"]]
    response = preview(admin_as, STAFF_URL, csv_file(rows), CSV_FORMAT, "staff.csv")
    [invalid] = response.context["result"].invalid_rows
    assert invalid.field_specific_errors == {"Tên đăng nhập": ["Tên đăng nhập «quangngai.planner» đã được dùng."]}
    planner = User.objects.get(username="quangngai.planner")
    assert planner.email != "x@example.vn"
    assert not planner.role_assignments.filter(org_unit__code__startswith="laocai")


def test_bad_cells_are_named_in_vietnamese(admin_as: Client) -> None:
    rows = [STAFF_HEADERS, ["", "Ai Đó", "not-an-email", "thủ kho", "laocai-city-bac-cuong"]]
    response = preview(admin_as, STAFF_URL, csv_file(rows), CSV_FORMAT, "staff.csv")
    [invalid] = response.context["result"].invalid_rows
    errors = invalid.field_specific_errors
    assert errors["Tên đăng nhập"] == ["Ô này không được để trống."]
    assert errors["Vai trò"][0].startswith("Không có vai trò «thủ kho»")


def test_the_staff_export_holds_only_the_tenants_rows(admin_as: Client) -> None:
    rows = export_rows(admin_as, STAFF_URL)
    assert rows[0] == STAFF_HEADERS
    units = {row[4] for row in rows[1:]}
    province = OrgUnit.objects.get(code="laocai-2025")
    laocai = set(OrgUnit.objects.filter(path__startswith=province.path).values_list("code", flat=True))
    assert units
    assert units <= laocai
    assert "laocai.planner" in {row[0] for row in rows[1:]}
    assert not {"quangngai.planner", "backan.planner", "national.viewer", "admin"} & {row[0] for row in rows[1:]}
    assert "chuyên viên kế hoạch" in {row[3] for row in rows[1:]}  # roles by their Vietnamese names


def test_agencies_round_trip_within_the_tenant(admin_as: Client) -> None:
    laocai = Tenant.objects.get(org_units__code="laocai")
    other = Tenant.objects.exclude(pk=laocai.pk).first()
    assert other is not None
    rows = export_rows(admin_as, AGENCY_URL)
    assert rows[0] == AGENCY_HEADERS
    assert {row[0] for row in rows[1:]} == {laocai.slug}
    assert not Agency.objects.filter(tenant=laocai, code="tyt-bac-cuong").exists()

    new = [laocai.slug, "tyt-bac-cuong", "Trạm Y tế phường Bắc Cường", "Trạm Y tế", "laocai-city-bac-cuong"]
    response = import_file(admin_as, AGENCY_URL, xlsx([*rows, new]), XLSX_FORMAT, "agencies.xlsx")
    assert response.status_code == 302
    agency = Agency.objects.get(tenant=laocai, code="tyt-bac-cuong")
    assert agency.org_unit is not None
    assert (agency.kind, agency.org_unit.code) == (Agency.Kind.HEALTH_STATION, "laocai-city-bac-cuong")

    # An agency of another province: refused, nothing written.
    foreign = [other.slug, "so-y-te-2", "Sở Y tế khác", "", ""]
    response = preview(admin_as, AGENCY_URL, xlsx([AGENCY_HEADERS, new, foreign]), XLSX_FORMAT, "agencies.xlsx")
    [invalid] = response.context["result"].invalid_rows
    assert invalid.field_specific_errors == {"Mã tỉnh": [f"Không có tỉnh «{other.slug}» trong các tỉnh của bạn."]}
    assert not Agency.objects.filter(code="so-y-te-2").exists()


def test_importing_needs_the_add_permission(login: Login, laocai_admin: User) -> None:
    laocai_admin.user_permissions.remove(*Permission.objects.filter(codename="add_roleassignment"))
    client = login(User.objects.get(pk=laocai_admin.pk))  # read afresh: the permissions as they are now
    assert client.get(f"{STAFF_URL}import/").status_code == 403


def test_services_refuse_what_lies_outside_the_acting_users_reach(laocai_admin: User) -> None:
    quangngai = OrgUnit.objects.get(code="quangngai")
    with pytest.raises(Forbidden):
        user_enrol(username="x.y", role=Role.PLANNER, org_unit=quangngai, by=laocai_admin)
    with pytest.raises(Forbidden):
        agency_create(tenant=quangngai.tenant, code="x", name="X", by=laocai_admin)
    with pytest.raises(Forbidden):  # a planner is no administrator
        user_enrol(
            username="x.y",
            role=Role.PLANNER,
            org_unit=OrgUnit.objects.get(code="laocai-city"),
            by=User.objects.get(username="laocai.planner"),
        )
    with pytest.raises(Invalid):
        user_enrol(
            username="x.y", role=Role.NATIONAL_VIEWER, org_unit=OrgUnit.objects.get(code="laocai"), by=laocai_admin
        )
    assert not User.objects.filter(username="x.y").exists()


def test_a_file_without_a_column_is_refused_by_name(admin_as: Client) -> None:
    rows = [STAFF_HEADERS[:4], ["bac-cuong.reporter", "Nguyễn Thị Hoa", "", "cán bộ Trạm Y tế"]]
    response = preview(admin_as, STAFF_URL, csv_file(rows), CSV_FORMAT, "staff.csv")
    assert "confirm_form" not in response.context
    assert "Tệp thiếu cột «Mã đơn vị»." in response.content.decode()
    assert not User.objects.filter(username="bac-cuong.reporter").exists()
