"""The figures API: entry, every transition and every refusal, history, and progress roll-ups."""

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from healthplans.models import Notification, OrgUnit, User
from indicators.models import Actual, Indicator
from indicators.services import actual_approve, actual_create, actual_submit
from tests.conftest import CountQueries

pytestmark = pytest.mark.django_db

MK_PLAN = "muongkhuong-de-an-07-2023"
CITY_PLAN = "laocai-city-de-an-07-2024"


def indicator(plan: str, **lookup: Any) -> Indicator:
    found = Indicator.objects.filter(plan__slug=plan, **lookup).order_by("order").first()
    assert found is not None, lookup
    return found


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def create(client: Any, ind: Indicator, org_unit: OrgUnit, period: str, value: str | None, **extra: Any) -> Any:
    body = {"indicator": ind.pk, "org_unit": org_unit.pk, "period": period, "value": value, **extra}
    return client.post("/api/actuals/", body, format="json")


@pytest.fixture
def station(api_as: Any) -> Any:
    return api_as("muongkhuong.station")


@pytest.fixture
def percent() -> Indicator:
    return indicator(MK_PLAN, unit_kind="percent")


def test_station_creates_a_draft_and_walks_it_to_approval(station: Any, api_as: Any, percent: Indicator) -> None:
    response = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "96.5", note="Số liệu quý IV")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["version"], body["value"]) == ("draft", 1, "96.5")
    pk = body["id"]

    changed = station.patch(f"/api/actuals/{pk}/", {"value": "97", "version": 1}, format="json")
    assert changed.status_code == 200
    assert changed.json()["version"] == 2

    submitted = station.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    assert submitted.json()["status"] == "submitted"
    approved = api_as("laocai.reviewer").post(f"/api/actuals/{pk}/approve/", {}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["reviewed_by"] == "laocai.reviewer"

    history = station.get(f"/api/actuals/{pk}/history/").json()
    assert [step["action"] for step in history] == ["create", "change", "submit", "approve"]
    assert (history[1]["old_value"], history[1]["new_value"], history[1]["by"]) == ("96.5", "97", "muongkhuong.station")


def test_stale_version_is_a_conflict_showing_the_current_value(station: Any, percent: Indicator) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    assert station.patch(f"/api/actuals/{pk}/", {"value": "91", "version": 1}, format="json").status_code == 200
    stale = station.patch(f"/api/actuals/{pk}/", {"value": "92", "version": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert stale.json()["current"]["value"] == "91"
    assert Actual.objects.get(pk=pk).value == Decimal(91)


def test_locked_value_answers_409_locked_and_nobody_edits_it(station: Any, api_as: Any, percent: Indicator) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    station.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    api_as("laocai.reviewer").post(f"/api/actuals/{pk}/approve/", {}, format="json")
    version = Actual.objects.get(pk=pk).version
    for client in (station, api_as("laocai.planner")):
        refused = client.patch(f"/api/actuals/{pk}/", {"value": "10", "version": version}, format="json")
        assert refused.status_code == 409
        assert refused.json()["code"] == "locked"
    assert Actual.objects.get(pk=pk).value == Decimal(90)


def test_submitted_value_cannot_be_edited_until_reviewed(station: Any, percent: Indicator) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    station.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    refused = station.patch(f"/api/actuals/{pk}/", {"value": "10", "version": 2}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "status_submitted")


def test_return_needs_a_message_notifies_and_mails_the_submitter(
    station: Any, api_as: Any, percent: Indicator, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(username="muongkhuong.station").update(email="tyt.muongkhuong@example.vn")
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    station.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    reviewer = api_as("laocai.reviewer")
    empty = reviewer.post(f"/api/actuals/{pk}/return/", {"message": " "}, format="json")
    assert empty.status_code == 400
    assert "message" in empty.json()["errors"]
    with django_capture_on_commit_callbacks(execute=True):
        returned = reviewer.post(f"/api/actuals/{pk}/return/", {"message": "Kiểm tra lại mẫu số"}, format="json")
    assert returned.json()["status"] == "returned"
    assert returned.json()["message"] == "Kiểm tra lại mẫu số"
    notification = Notification.objects.get(user__username="muongkhuong.station")
    assert "Kiểm tra lại mẫu số" in notification.text
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["tyt.muongkhuong@example.vn"]
    # The reporter fixes the value and submits again.
    fixed = station.patch(f"/api/actuals/{pk}/", {"value": "91", "version": returned.json()["version"]}, format="json")
    assert fixed.json()["status"] == "returned"
    assert station.post(f"/api/actuals/{pk}/submit/", {}, format="json").json()["status"] == "submitted"


def test_unlock_needs_a_reason_and_returns_the_value_to_draft(station: Any, api_as: Any, percent: Indicator) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    station.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    reviewer = api_as("laocai.reviewer")
    reviewer.post(f"/api/actuals/{pk}/approve/", {}, format="json")
    assert reviewer.post(f"/api/actuals/{pk}/unlock/", {"reason": ""}, format="json").status_code == 400
    unlocked = reviewer.post(f"/api/actuals/{pk}/unlock/", {"reason": "Sai đơn vị tính"}, format="json")
    assert unlocked.json()["status"] == "draft"
    assert station.get(f"/api/actuals/{pk}/history/").json()[-1] == {
        **station.get(f"/api/actuals/{pk}/history/").json()[-1],
        "action": "unlock",
        "message": "Sai đơn vị tính",
    }


@pytest.mark.parametrize(
    ("username", "action", "status"),
    [
        ("muongkhuong.station", "approve", 403),  # a reporter does not review
        ("laocai.official", "approve", 403),  # nor does an official
        ("national.viewer", "approve", 403),  # the national viewer writes nothing
        ("quangngai.reviewer", "approve", 404),  # another tenant's reviewer cannot even see it
        ("laocai.station", "approve", 404),  # a sibling station cannot see it
        ("laocai.reviewer", "submit", 403),  # a reviewer does not submit for a station
    ],
)
def test_forbidden_transitions(
    station: Any, api_as: Any, percent: Indicator, username: str, action: str, status: int
) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    if action == "approve":
        station.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    before = Actual.objects.get(pk=pk)
    assert api_as(username).post(f"/api/actuals/{pk}/{action}/", {}, format="json").status_code == status
    after = Actual.objects.get(pk=pk)
    assert (after.status, after.version) == (before.status, before.version)


def test_second_approval_of_the_same_value_is_a_clear_conflict(station: Any, api_as: Any, percent: Indicator) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    version = station.post(f"/api/actuals/{pk}/submit/", {}, format="json").json()["version"]
    first = api_as("laocai.reviewer").post(f"/api/actuals/{pk}/approve/", {"version": version}, format="json")
    second = api_as("admin").post(f"/api/actuals/{pk}/approve/", {"version": version}, format="json")
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["code"] == "locked"
    assert Actual.objects.get(pk=pk).events.filter(action="approve").count() == 1


@pytest.mark.parametrize(
    ("lookup", "value", "field_fragment"),
    [
        ({"unit_kind": "percent"}, "120", "value"),
        ({"unit_kind": "count"}, "-3", "value"),
        ({"unit_kind": "count"}, "2.5", "value"),
    ],
)
def test_values_outside_their_unit_are_refused_and_nothing_written(
    api_as: Any, lookup: dict[str, str], value: str, field_fragment: str
) -> None:
    ind = indicator(CITY_PLAN, entry_level="station", **lookup)
    response = create(api_as("laocai.station"), ind, unit("laocai-city-ta-phoi-tyt"), "2024H1", value)
    assert response.status_code == 400
    assert field_fragment in response.json()["errors"]
    assert not Actual.objects.filter(indicator=ind).exists()


def test_unreadable_number_and_unknown_period_are_400(station: Any, percent: Indicator) -> None:
    assert create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "abc").status_code == 400
    bad_period = create(station, percent, unit("muongkhuong-tt-tyt"), "2023Q3", "5")
    assert bad_period.status_code == 400
    assert "period" in bad_period.json()["errors"]
    assert not Actual.objects.exists()


def test_station_may_not_enter_for_a_unit_or_level_outside_its_own(
    api_as: Any, station: Any, percent: Indicator
) -> None:
    other = create(api_as("laocai.station"), percent, unit("muongkhuong-tt-tyt"), "2023", "5")
    assert other.status_code == 400
    assert "org_unit" in other.json()["errors"]
    province_level = indicator("quangngai-chi-thi-37", entry_level="province")
    foreign = create(station, province_level, unit("quangngai"), "2025", "5")
    assert foreign.status_code == 400
    assert set(foreign.json()["errors"]) == {"indicator", "org_unit"}
    assert not Actual.objects.exists()


def test_unusual_value_asks_for_a_note_before_submit(api_as: Any) -> None:
    planner = User.objects.get(username="quangngai.planner")
    reviewer = User.objects.get(username="quangngai.reviewer")
    population = indicator("quangngai-chi-thi-37", entry_level="province", unit_kind="count")
    province = unit("quangngai-2025")  # today's province, which took the plan's issuer's place
    for period, value in (("2025", 1_250_197), ("2026", 1_252_000), ("2027", 1_254_100)):
        actual = actual_create(indicator=population, org_unit=province, period=period, value=Decimal(value), by=planner)
        actual_approve(actual=actual_submit(actual=actual, version=1, by=planner), by=reviewer)
    client = api_as("quangngai.planner")
    pk = create(client, population, province, "2028", "12560000").json()["id"]  # a digit too many
    refused = client.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    assert refused.status_code == 400
    assert len(refused.json()["errors"]["note"]) == 2
    assert Actual.objects.get(pk=pk).status == "draft"
    accepted = client.post(f"/api/actuals/{pk}/submit/", {"note": "Theo số liệu Cục Thống kê"}, format="json")
    assert accepted.json()["status"] == "submitted"
    usual = create(client, population, province, "2029", "1256000").json()["id"]
    assert client.post(f"/api/actuals/{usual}/submit/", {}, format="json").json()["status"] == "submitted"


def test_progress_pools_rates_rather_than_averaging_them(api_as: Any) -> None:
    ind = indicator(CITY_PLAN, entry_level="station", unit_kind="percent", rollup="pooled")
    planner = User.objects.get(username="laocai.planner")
    reviewer = User.objects.get(username="laocai.reviewer")
    for code, num, den in (("laocai-city-ta-phoi-tyt", 1, 10), ("laocai-city-duyen-hai-tyt", 90, 100)):
        actual = actual_create(
            indicator=ind,
            org_unit=unit(code),
            period="2024",
            value=None,
            numerator=Decimal(num),
            denominator=Decimal(den),
            by=planner,
        )
        actual_approve(actual=actual_submit(actual=actual, version=1, by=planner), by=reviewer)
    body = api_as("laocai.planner").get(f"/api/plans/{ind.plan_id}/progress/?period=2024").json()
    assert body["org_unit"] == unit("laocai-city").pk
    row = next(item for item in body["indicators"] if item["indicator"] == ind.pk)
    assert row["actual"] == "82.727273"  # 91/110, not the mean 50 of 10 % and 90 %
    assert row["units"] == 2
    assert row["status"] in {"met", "not_met"}


def test_progress_counts_sum_and_compare_with_the_target(api_as: Any) -> None:
    ind = indicator(CITY_PLAN, entry_level="station", unit_kind="count", rollup="sum")
    target = ind.targets.get(year=2024)
    planner = User.objects.get(username="laocai.planner")
    reviewer = User.objects.get(username="laocai.reviewer")
    half = (target.value / 2).to_integral_value()
    for code in ("laocai-city-ta-phoi-tyt", "laocai-city-duyen-hai-tyt"):
        actual = actual_create(indicator=ind, org_unit=unit(code), period="2024", value=half, by=planner)
        actual_approve(actual=actual_submit(actual=actual, version=1, by=planner), by=reviewer)
    client = api_as("laocai.planner")
    row = next(
        item
        for item in client.get(f"/api/plans/{ind.plan_id}/progress/?period=2024").json()["indicators"]
        if item["indicator"] == ind.pk
    )
    assert Decimal(row["actual"]) == 2 * half
    assert row["target"]["comparator"] == target.comparator
    station_view = api_as("laocai.station").get(f"/api/plans/{ind.plan_id}/progress/?period=2024").json()
    assert station_view["org_unit"] == unit("laocai-city-ta-phoi-tyt").pk  # the station sees its own unit
    other = api_as("laocai.station").get(
        f"/api/plans/{ind.plan_id}/progress/?period=2024&org_unit={unit('laocai-city').pk}"
    )
    assert other.status_code == 404


def test_submitted_values_count_only_when_asked_and_are_marked(station: Any, percent: Indicator) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    station.post(f"/api/actuals/{pk}/submit/", {}, format="json")
    url = f"/api/plans/{percent.plan_id}/progress/?period=2023"
    approved_only = next(i for i in station.get(url).json()["indicators"] if i["indicator"] == percent.pk)
    assert approved_only["status"] == "no_data"
    with_submitted = next(
        i for i in station.get(url + "&include_submitted=1").json()["indicators"] if i["indicator"] == percent.pk
    )
    assert with_submitted["actual"] == "90"
    assert with_submitted["provisional"] is True


def test_actual_list_is_isolated_and_its_queries_do_not_grow(
    api_as: Any, station: Any, percent: Indicator, count_queries: CountQueries
) -> None:
    create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90")
    assert api_as("quangngai.planner").get("/api/actuals/").json()["results"] == []
    assert api_as("laocai.station").get("/api/actuals/").json()["results"] == []  # a sibling station
    client = api_as("laocai.planner")
    with count_queries() as before:
        assert len(client.get("/api/actuals/").json()["results"]) == 1
    for other in Indicator.objects.filter(plan__slug=MK_PLAN).exclude(pk=percent.pk)[:5]:
        value = "1" if other.unit_kind != "percent" else "50"
        assert create(station, other, unit("muongkhuong-tt-tyt"), "2023", value).status_code == 201
    with count_queries() as after:
        assert len(client.get("/api/actuals/").json()["results"]) == 6
    assert len(after) == len(before)


def test_actual_list_pages_in_order_without_a_total(api_as: Any, station: Any) -> None:
    """Unit by unit, then by plan, indicator and period; ?page= walks it, with no "count" to compute."""
    indicators = list(Indicator.objects.filter(plan__slug=MK_PLAN).order_by("order")[:3])
    for ind in reversed(indicators):
        for period in ("2023H2", "2023H1"):
            value = "50" if ind.unit_kind == "percent" else "1"
            assert create(station, ind, unit("muongkhuong-tt-tyt"), period, value).status_code == 201
    client = api_as("laocai.planner")
    first = client.get("/api/actuals/?page_size=4").json()
    assert set(first) == {"next", "previous", "results"}
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/actuals/?page=2&page_size=4"
    second = client.get(first["next"]).json()
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/actuals/?page_size=4"
    listed = [(row["indicator"], row["period"]) for row in first["results"] + second["results"]]
    assert listed == [(ind.pk, period) for ind in indicators for period in ("2023H1", "2023H2")]
    assert client.get("/api/actuals/?page_size=4&page=3").status_code == 404  # past the end
    assert client.get("/api/actuals/?page=0").status_code == 404
    assert client.get("/api/actuals/?page=last").status_code == 404  # would need the total


def test_progress_queries_do_not_grow_with_actuals(api_as: Any, count_queries: CountQueries) -> None:
    ind = indicator(CITY_PLAN, entry_level="station", unit_kind="count")
    planner = User.objects.get(username="laocai.planner")
    client = api_as("laocai.planner")
    url = f"/api/plans/{ind.plan_id}/progress/?period=2024&include_submitted=1"
    with count_queries() as before:
        client.get(url)
    for station in OrgUnit.objects.filter(facility_kind="station", path__startswith=unit("laocai-city").path)[:8]:
        actual = actual_create(indicator=ind, org_unit=station, period="2024", value=Decimal(3), by=planner)
        actual_submit(actual=actual, version=1, by=planner)
    with count_queries() as after:
        client.get(url)
    assert len(after) == len(before)


@pytest.mark.parametrize("username", ["quangngai.planner", "laocai.station"])
def test_another_tenant_or_a_sibling_station_gets_404_everywhere(
    station: Any, api_as: Any, percent: Indicator, username: str
) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    client = api_as(username)
    for url in (f"/api/actuals/{pk}/", f"/api/actuals/{pk}/history/"):
        assert client.get(url).status_code == 404, url
    assert client.patch(f"/api/actuals/{pk}/", {"value": "1", "version": 1}, format="json").status_code == 404
    assert client.post(f"/api/actuals/{pk}/submit/", {}, format="json").status_code == 404
    if username == "quangngai.planner":
        assert client.get(f"/api/plans/{percent.plan_id}/progress/?period=2023").status_code == 404
    assert Actual.objects.get(pk=pk).version == 1


def test_history_queries_do_not_grow_with_steps(station: Any, percent: Indicator, count_queries: CountQueries) -> None:
    pk = create(station, percent, unit("muongkhuong-tt-tyt"), "2023", "90").json()["id"]
    with count_queries() as before:
        station.get(f"/api/actuals/{pk}/history/")
    for version, value in ((1, "91"), (2, "92"), (3, "93")):
        station.patch(f"/api/actuals/{pk}/", {"value": value, "version": version}, format="json")
    with count_queries() as after:
        assert len(station.get(f"/api/actuals/{pk}/history/").json()) == 4
    assert len(after) == len(before)
