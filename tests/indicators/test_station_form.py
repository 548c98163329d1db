"""The period form of a unit: Vietnamese numbers in and out, errors at the field, nothing written
when anything is wrong, versions, plausibility notes, read-only values, access and query counts."""

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

from healthplans.models import OrgUnit, Tenant, User
from healthplans.workflow import ReviewStatus
from indicators.models import Actual, Baseline, Indicator, Target
from indicators.selectors import fillable_forms
from indicators.services import actual_approve, actual_create, actual_return, actual_submit, actual_update
from tests.conftest import Login, QueriesFor
from tests.factories import IndicatorFactory, PlanFactory, figures_entered, writer_at

pytestmark = pytest.mark.django_db

PLAN = "muongkhuong-de-an-07-2023"
STATION = "muongkhuong-tt-tyt"
URL = f"/figures/{STATION}/2023/?plan={PLAN}"
LAOCAI_PLAN = "laocai-city-de-an-07-2024"
LAOCAI_URL = f"/figures/laocai-city-ta-phoi-tyt/2024/?plan={LAOCAI_PLAN}"


class FormFields(HTMLParser):
    """The named inputs of a page, as a browser would send them (disabled ones are not sent)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken" and "disabled" not in attributes:
            self.fields[name] = attributes.get("value") or ""


def form_fields(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.fields


def user(username: str) -> User:
    return User.objects.get(username=username)


def indicator(number: str, plan: str = PLAN) -> Indicator:
    return Indicator.objects.get(plan__slug=plan, number=number)


def name(number: str, field: str, plan: str = PLAN) -> str:
    return f"i{indicator(number, plan).pk}-{field}"


def opened(client: Any, url: str = URL) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    return form_fields(response.content.decode())


def stored(number: str, plan: str = PLAN, unit: str = STATION, period: str = "2023") -> Actual:
    return Actual.objects.get(indicator=indicator(number, plan), org_unit__code=unit, period=period)


def entered(number: str, plan: str = PLAN, unit: str = STATION, period: str = "2023") -> bool:
    return Actual.objects.filter(indicator=indicator(number, plan), org_unit__code=unit, period=period).exists()


def text_of(response: Any) -> str:
    return str(response.content.decode())


def test_form_shows_targets_and_buttons_in_vietnamese(login: Login) -> None:
    body = text_of(login("muongkhuong.station").get(URL))
    assert "≥ 70,1" in body
    assert "70,1 tuổi" in body
    assert "còn dưới 31,9%" in body
    assert "Lưu nháp" in body
    assert "Gửi duyệt" in body
    assert 'data-indicator-number="I.2.3"' in body


def test_pages_need_a_login(client: Any) -> None:
    assert client.get(URL).status_code == 302
    assert client.get("/figures/").status_code == 302


def test_saving_reads_vietnamese_numbers_and_shows_them_back(login: Login) -> None:
    client = login("muongkhuong.station")
    data = opened(client)
    data |= {name("I.2.3", "value"): "96,5", name("I.2.1", "value"): "70,1", "action": "save"}
    response = client.post(URL, data)
    assert response.status_code == 302
    assert response["Location"] == URL
    assert stored("I.2.3").value == Decimal("96.5")
    assert stored("I.2.3").status == ReviewStatus.DRAFT
    page = client.get(URL)
    fields = form_fields(text_of(page))
    assert fields[name("I.2.3", "value")] == "96,5"
    assert fields[name("I.2.3", "version")] == "1"
    assert "Đã lưu nháp 2 số liệu." in text_of(page)


def test_counts_accept_thousands_dots(login: Login) -> None:
    client = login("laocai.station")
    data = opened(client, LAOCAI_URL) | {name("III.9.10", "value", LAOCAI_PLAN): "1.381", "action": "save"}
    assert client.post(LAOCAI_URL, data).status_code == 302
    assert stored("III.9.10", LAOCAI_PLAN, "laocai-city-ta-phoi-tyt", "2024").value == Decimal(1381)
    assert form_fields(text_of(client.get(LAOCAI_URL)))[name("III.9.10", "value", LAOCAI_PLAN)] == "1.381"


def test_unreadable_number_is_refused_with_the_parsers_message_and_nothing_written(login: Login) -> None:
    client = login("muongkhuong.station")
    data = opened(client) | {name("I.2.3", "value"): "96.5.1", name("I.2.4", "value"): "97", "action": "save"}
    response = client.post(URL, data)
    assert response.status_code == 400
    body = text_of(response)
    assert "Không đọc được số: «96.5.1»" in body
    assert "Chưa lưu gì cả" in body
    assert not Actual.objects.filter(indicator__plan__slug=PLAN).exists()
    fields = form_fields(body)
    assert fields[name("I.2.3", "value")] == "96.5.1"  # what the user typed stays
    assert fields[name("I.2.4", "value")] == "97"


def test_percentage_above_100_is_refused_at_the_field_and_nothing_written(login: Login) -> None:
    client = login("muongkhuong.station")
    data = opened(client) | {name("I.2.3", "value"): "120", name("I.2.4", "value"): "96,5", "action": "save"}
    response = client.post(URL, data)
    assert response.status_code == 400
    body = text_of(response)
    assert "Tỷ lệ phần trăm phải nằm trong khoảng từ 0 đến 100." in body
    assert not Actual.objects.filter(indicator__plan__slug=PLAN).exists()
    assert form_fields(body)[name("I.2.3", "value")] == "120"
    assert form_fields(body)[name("I.2.4", "value")] == "96,5"


@pytest.mark.parametrize(
    ("typed", "message"),
    [("-5", "Số lượng không được âm."), ("2,5", "Số lượng phải là số nguyên.")],
)
def test_counts_must_be_whole_and_not_negative(typed: str, message: str, login: Login) -> None:
    client = login("laocai.station")
    data = opened(client, LAOCAI_URL) | {name("III.9.10", "value", LAOCAI_PLAN): typed, "action": "save"}
    response = client.post(LAOCAI_URL, data)
    assert response.status_code == 400
    assert message in text_of(response)
    assert not Actual.objects.filter(indicator__plan__slug=LAOCAI_PLAN).exists()


def test_too_many_decimals_are_refused(login: Login) -> None:
    client = login("muongkhuong.station")
    data = opened(client) | {name("I.2.3", "value"): "96,1234567", "action": "save"}
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "Chỉ viết tối đa 6 chữ số sau dấu phẩy." in text_of(response)


def test_a_value_changed_meanwhile_is_a_conflict_showing_the_current_value(login: Login) -> None:
    station = user("muongkhuong.station")
    actual = actual_create(
        indicator=indicator("I.2.3"),
        org_unit=OrgUnit.objects.get(code=STATION),
        period="2023",
        value=Decimal(90),
        by=station,
    )
    client = login("muongkhuong.station")
    data = opened(client)  # the user reads version 1 …
    actual_update(actual=actual, version=1, value=Decimal("80.5"), by=station)  # … a colleague saves meanwhile
    data |= {name("I.2.3", "value"): "91", name("I.2.4", "value"): "97", "action": "save"}
    response = client.post(URL, data)
    assert response.status_code == 409
    body = text_of(response)
    assert "Có người đã sửa số liệu này sau khi bạn mở nó" in body
    assert "80,5" in body  # the current value
    assert stored("I.2.3").value == Decimal("80.5")
    assert not entered("I.2.4")  # the other row of the same POST was not written either
    fields = form_fields(body)
    assert fields[name("I.2.3", "value")] == "91"
    assert fields[name("I.2.3", "version")] == "2"
    # Sending again, now knowing the current value, overwrites it.
    assert client.post(URL, fields | {"action": "save"}).status_code == 302
    assert stored("I.2.3").value == Decimal(91)


def test_submit_saves_and_submits_every_value_then_shows_them_read_only(login: Login) -> None:
    client = login("muongkhuong.station")
    data = opened(client) | {name("I.2.3", "value"): "96,5", name("I.2.4", "value"): "97", "action": "submit"}
    response = client.post(URL, data)
    assert response.status_code == 302
    assert {stored("I.2.3").status, stored("I.2.4").status} == {ReviewStatus.SUBMITTED}
    page = text_of(client.get(URL))
    assert "Đã gửi duyệt 2 số liệu." in page
    fields = form_fields(page)
    assert name("I.2.3", "value") not in fields  # read-only: no input
    assert name("I.2.5", "value") in fields


def test_a_saved_draft_is_submitted_without_retyping(login: Login) -> None:
    client = login("muongkhuong.station")
    client.post(URL, opened(client) | {name("I.2.3", "value"): "96,5", "action": "save"})
    assert client.post(URL, opened(client) | {"action": "submit"}).status_code == 302
    assert stored("I.2.3").status == ReviewStatus.SUBMITTED


def test_unusual_value_asks_for_a_note_before_submitting(login: Login) -> None:
    # A plan of 2020–2023 of a province of its own: the seed's plans are too short to hold, through
    # the figure services, the approved years that make a unit's history.
    plan = PlanFactory.create(start_year=2020, end_year=2023)
    unusual, usual = IndicatorFactory.create(plan=plan), IndicatorFactory.create(plan=plan)
    unit = plan.issuer_org_unit
    writer = writer_at(unit)
    for year, value in [(2020, 90), (2021, 91), (2022, 92)]:
        figures_entered(
            org_unit=unit, period=str(year), values=[(unusual, Decimal(value))], by=writer, status=ReviewStatus.APPROVED
        )
    url = f"/figures/{unit.code}/2023/?plan={plan.slug}"
    client = login(writer)
    page = text_of(client.get(url))
    assert "Kỳ trước (2022)" in page
    data = opened(client, url) | {f"i{unusual.pk}-value": "60", f"i{usual.pk}-value": "97", "action": "submit"}
    response = client.post(url, data)
    assert response.status_code == 400
    body = text_of(response)
    assert "Giá trị này có vẻ bất thường" in body
    assert "Khác xa giá trị kỳ trước (92)." in body
    assert "(90 – 92)." in body  # numbers written the Vietnamese way, not as Decimal's 9E+1
    this_year = Actual.objects.filter(org_unit=unit, period="2023")
    assert not this_year.exists()
    data[f"i{unusual.pk}-note"] = "Đợt cấp thẻ mới chưa hoàn thành"
    assert client.post(url, data).status_code == 302
    submitted = this_year.get(indicator=unusual)
    assert submitted.status == ReviewStatus.SUBMITTED
    assert submitted.note == "Đợt cấp thẻ mới chưa hoàn thành"


def test_returned_value_shows_the_reviewers_message_and_is_editable_again(login: Login) -> None:
    station, reviewer = user("muongkhuong.station"), user("laocai.reviewer")
    actual = actual_create(
        indicator=indicator("I.2.3"),
        org_unit=OrgUnit.objects.get(code=STATION),
        period="2023",
        value=Decimal(50),
        by=station,
    )
    actual = actual_submit(actual=actual, version=actual.version, by=station)
    actual_return(actual=actual, by=reviewer, message="Số thẻ BHYT chưa khớp báo cáo quý")
    client = login("muongkhuong.station")
    page = text_of(client.get(URL))
    assert "Số thẻ BHYT chưa khớp báo cáo quý" in page
    assert 'data-status="returned"' in page
    data = form_fields(page) | {name("I.2.3", "value"): "96,5", "action": "submit"}
    assert client.post(URL, data).status_code == 302
    assert stored("I.2.3").status == ReviewStatus.SUBMITTED
    assert stored("I.2.3").value == Decimal("96.5")


def test_approved_value_is_read_only_and_a_forged_post_cannot_change_it(login: Login) -> None:
    station = user("muongkhuong.station")
    actual = actual_create(
        indicator=indicator("I.2.3"),
        org_unit=OrgUnit.objects.get(code=STATION),
        period="2023",
        value=Decimal(97),
        by=station,
    )
    actual = actual_submit(actual=actual, version=actual.version, by=station)
    actual = actual_approve(actual=actual, by=user("laocai.reviewer"))
    client = login("muongkhuong.station")
    fields = opened(client)
    assert name("I.2.3", "value") not in fields
    forged = fields | {name("I.2.3", "value"): "50", name("I.2.3", "version"): str(actual.version), "action": "save"}
    response = client.post(URL, forged)
    assert response.status_code == 409
    assert "Số liệu này đã được duyệt và khóa." in text_of(response)
    assert stored("I.2.3").value == Decimal(97)
    assert stored("I.2.3").status == ReviewStatus.APPROVED


def test_unit_outside_reach_is_404(login: Login) -> None:
    client = login("laocai.station")
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"action": "save"}).status_code == 404
    client = login("quangngai.planner")
    assert client.get(URL).status_code == 404


@pytest.mark.parametrize("username", ["laocai.reviewer", "laocai.official", "national.viewer"])
def test_unit_in_reach_without_a_writer_role_is_403(username: str, login: Login) -> None:
    client = login(username)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "save", name("I.2.3", "value"): "50"}).status_code == 403
    assert not entered("I.2.3")


def test_planner_above_may_fill_a_station_form(login: Login) -> None:
    client = login("laocai.planner")
    data = opened(client) | {name("I.2.3", "value"): "96,5", "action": "save"}
    assert client.post(URL, data).status_code == 302
    assert stored("I.2.3").created_by == user("laocai.planner")


@pytest.mark.parametrize(
    "url",
    [
        f"/figures/{STATION}/2024/?plan={PLAN}",  # not a period of the plan
        f"/figures/{STATION}/2023H1/?plan={PLAN}",  # a yearly plan has no half-years
        f"/figures/{STATION}/hai-nghin/?plan={PLAN}",
        f"/figures/{STATION}/2023/?plan=quangngai-chi-thi-37",  # another tenant's plan
        f"/figures/{STATION}/2023/?plan=no-such-plan",
        "/figures/muongkhuong-tt/2023/?plan=muongkhuong-de-an-07-2023",  # the commune enters nothing
        "/figures/no-such-unit/2023/",
    ],
)
def test_unknown_plan_period_or_unit_is_404(url: str, login: Login) -> None:
    client = login("muongkhuong.station")
    assert client.get(url).status_code == 404


def test_a_link_without_plan_opens_the_only_plan_of_the_unit(login: Login) -> None:
    # Notifications link to /figures/<unit>/<period>/.
    response = login("muongkhuong.station").get(f"/figures/{STATION}/2023/")
    assert response.status_code == 302
    assert response["Location"] == URL


def test_figures_home_lists_the_forms_of_the_user(login: Login) -> None:
    body = text_of(login("muongkhuong.station").get("/figures/"))
    assert f'href="{URL}"' in body
    assert "laocai-city" not in body
    planner_forms = fillable_forms(user("laocai.planner"))
    laocai_city = {(entry.unit.code, entry.period.code) for entry in planner_forms if entry.plan.slug == LAOCAI_PLAN}
    assert ("laocai-city-ta-phoi-tyt", "2024H1") in laocai_city
    assert ("laocai-city", "2024") in laocai_city  # indicators entered by the city itself
    assert len({code for code, _period in laocai_city if code.endswith("-tyt")}) == 17
    assert {entry.plan.slug for entry in planner_forms} >= {LAOCAI_PLAN, PLAN}
    assert {entry.plan.tenant for entry in planner_forms} == {Tenant.objects.get(slug="lao-cai")}
    assert fillable_forms(user("laocai.reviewer")) == []


def test_figures_home_counts_statuses(login: Login) -> None:
    station = user("muongkhuong.station")
    actual_create(
        indicator=indicator("I.2.3"),
        org_unit=OrgUnit.objects.get(code=STATION),
        period="2023",
        value=Decimal(97),
        by=station,
    )
    body = text_of(login("muongkhuong.station").get("/figures/"))
    assert "1/20" in body


def test_form_queries_do_not_grow_with_indicators(login: Login, queries_for: QueriesFor) -> None:
    station = user("muongkhuong.station")
    unit = OrgUnit.objects.get(code=STATION)
    actual_create(indicator=indicator("I.2.3"), org_unit=unit, period="2023", value=Decimal(97), by=station)
    client = login("muongkhuong.station")
    before = queries_for(client, URL)
    plan = indicator("I.2.3").plan
    for n in range(8):
        extra = Indicator.objects.create(
            tenant=plan.tenant,
            plan=plan,
            order=500 + n,
            number=f"X.{n}",
            name=f"Chỉ tiêu thêm {n}",
            unit="%",
            unit_kind="percent",
            direction="higher",
            rollup="pooled",
            entry_level="station",
        )
        Target.objects.create(
            tenant=plan.tenant, indicator=extra, year=2023, comparator=">=", value=Decimal(n), text=f"{n}%"
        )
        Baseline.objects.create(indicator=extra, year=2020, value=Decimal(n), text=f"{n}%")
        actual_create(indicator=extra, org_unit=unit, period="2023", value=Decimal(n), by=station)
    assert queries_for(client, URL) == before
    assert "X.7" in text_of(client.get(URL))


def test_figures_home_queries_do_not_grow_with_units(login: Login, queries_for: QueriesFor) -> None:
    client = login("laocai.planner")
    before = queries_for(client, "/figures/")
    commune = OrgUnit.objects.get(code="laocai-city-bac-cuong")
    for n in range(6):
        commune = OrgUnit.objects.get(pk=commune.pk)
        OrgUnit.objects.add_child(
            commune,
            create_kwargs={
                "code": f"extra-tyt-{n}",
                "name": f"Trạm thêm {n}",
                "level": "facility",
                "facility_kind": "station",
                "tenant": commune.tenant,
            },
        )
    assert queries_for(client, "/figures/") == before
    assert "Trạm thêm 5" in text_of(client.get("/figures/"))
