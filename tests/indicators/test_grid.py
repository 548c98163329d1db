"""The provincial entry grid: the page, saving many cells at once, submitting, and who may do what."""

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from healthplans.models import OrgUnit, Tenant, User
from healthplans.workflow import ReviewStatus
from indicators.models import Actual, Indicator, Target
from indicators.progress import entry_units
from indicators.services import actual_approve, actual_create, actual_submit
from tests.conftest import Login, QueriesFor

pytestmark = pytest.mark.django_db

CITY_PLAN = "laocai-city-de-an-07-2024"
GRID = f"/grid/?plan={CITY_PLAN}&period=2024H1"
TA_PHOI = "laocai-city-ta-phoi-tyt"
BAC_CUONG = "laocai-city-bac-cuong-tyt"


def user(username: str) -> User:
    return User.objects.get(username=username)


def indicator(number: str, plan: str = CITY_PLAN) -> Indicator:
    return Indicator.objects.get(plan__slug=plan, number=number)


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def cell(number: str, code: str, value: str, *, period: str = "2024H1", version: int | None = None) -> dict[str, Any]:
    return {
        "indicator": indicator(number).pk,
        "org_unit": unit(code).pk,
        "period": period,
        "value": value,
        "version": version,
    }


def post(client: Client, url: str, cells: list[dict[str, Any]], plan: str = CITY_PLAN) -> Any:
    return client.post(url, data=json.dumps({"plan": plan, "cells": cells}), content_type="application/json")


def save(client: Client, *cells: dict[str, Any], plan: str = CITY_PLAN) -> Any:
    return post(client, "/grid/save/", list(cells), plan)


def stored(number: str, code: str, period: str = "2024H1") -> Actual | None:
    return Actual.objects.filter(indicator=indicator(number), org_unit=unit(code), period=period).first()


def input_for(body: str, number: str, code: str, period: str = "2024H1") -> str | None:
    """The rendered <input> of a cell, or None when the grid has no cell there."""
    marker = f'data-indicator="{indicator(number).pk}" data-unit="{unit(code).pk}" data-period="{period}"'
    at = body.find(marker)
    if at < 0:
        return None
    return body[body.rfind("<input", 0, at) : body.find(">", at) + 1]


def cell_markup(body: str, number: str, code: str, period: str = "2024H1") -> str:
    marker = f'data-indicator="{indicator(number).pk}" data-unit="{unit(code).pk}" data-period="{period}"'
    at = body.index(marker)
    return body[body.rfind("<td", 0, at) : body.find("</td>", at)]


# --- the page -----------------------------------------------------------------------------------


def test_planner_sees_indicators_by_entry_units_with_targets(login: Login) -> None:
    body = login("laocai.planner").get(GRID).content.decode()
    assert "&lt; 9,98" in body  # II.2.4's 2024 target, the Vietnamese way
    assert "Tỷ lệ trẻ em dưới 5 tuổi SDD thể thấp còi" in body
    # A station indicator has a cell at every station, none at the city; a district one the reverse.
    assert input_for(body, "II.2.4", TA_PHOI) is not None
    assert input_for(body, "II.2.4", "laocai-city") is None
    assert input_for(body, "II.2.1", "laocai-city") is not None
    assert input_for(body, "II.2.1", TA_PHOI) is None
    assert input_for(body, "II.2.20", "laocai-city-bvdk") is not None
    plan = indicator("II.2.4").plan
    expected = sum(
        entry_units(plan=plan, level=i.entry_level, within=plan.issuer_org_unit).count() for i in plan.indicators.all()
    )
    assert body.count('class="cell ') == expected
    assert "Trạm Y tế xã Tả Phời" in body


def test_cells_show_values_the_vietnamese_way_and_their_status(login: Login) -> None:
    planner, reviewer = user("laocai.planner"), user("laocai.reviewer")
    draft = actual_create(
        indicator=indicator("II.2.8"), org_unit=unit(TA_PHOI), period="2024H1", value=Decimal("96.5"), by=planner
    )
    approved = actual_create(
        indicator=indicator("III.9.9"), org_unit=unit(TA_PHOI), period="2024H1", value=Decimal("1248"), by=planner
    )
    approved = actual_submit(actual=approved, version=approved.version, by=planner)
    actual_approve(actual=approved, by=reviewer)
    body = login("laocai.planner").get(GRID).content.decode()

    draft_input = input_for(body, "II.2.8", TA_PHOI)
    assert draft_input is not None
    assert 'value="96,5"' in draft_input
    assert f'data-version="{draft.version}"' in draft_input
    assert "readonly" not in draft_input
    assert "status-draft" in cell_markup(body, "II.2.8", TA_PHOI)
    assert 'title="nháp' in cell_markup(body, "II.2.8", TA_PHOI)

    locked = cell_markup(body, "III.9.9", TA_PHOI)
    assert 'value="1.248"' in locked
    assert "status-approved" in locked
    assert "readonly" in locked
    assert "đã duyệt" in locked


def test_years_grid_shows_one_indicator_over_the_years(login: Login) -> None:
    doctors = indicator("1", plan="quangngai-chi-thi-37")
    url = f"/grid/?plan=quangngai-chi-thi-37&indicator={doctors.pk}&from=2025&to=2030"
    body = login("quangngai.planner").get(url).content.decode()
    # The province as it was until 30 June 2025 (2025 only), and today's province that took its
    # place (2025 to 2030).
    assert body.count('class="cell ') == 1 + 6
    assert 'data-period="2025"' in body
    assert 'data-period="2030"' in body
    assert "≥ 8,25" in body
    assert "≥ 11" in body


def test_years_grid_of_a_merged_province_goes_on_at_its_successor(login: Login) -> None:
    """Bắc Kạn was merged into Thái Nguyên on 1 July 2025: its 2025–2030 plan's own figures are
    entered at Bắc Kạn for 2025 and at Thái Nguyên, which took its place, from 2025 on."""
    built = Indicator.objects.get(plan__slug="backan-gsd-2025-2030", number="1")
    url = f"/grid/?plan=backan-gsd-2025-2030&indicator={built.pk}"
    body = login("backan.planner").get(url).content.decode()
    assert body.count('class="cell ') == 1 + 6
    assert "Tỉnh Thái Nguyên" in body
    assert "readonly" not in body.split('id="entry-grid"')[1]


def test_picker_pages_list_plans_then_periods_and_indicators(login: Login) -> None:
    client = login("laocai.planner")
    assert CITY_PLAN in client.get("/grid/").content.decode()
    body = client.get(f"/grid/?plan={CITY_PLAN}").content.decode()
    assert '<option value="2024H1">' in body
    assert f'<option value="{indicator("II.2.4").pk}">' in body


@pytest.mark.parametrize(
    "query",
    ["period=2031", "period=nonsense", "indicator=999999", "indicator=1&from=2019", "period=2024H1&plan=x"],
)
def test_unknown_periods_and_indicators_are_404(query: str, login: Login) -> None:
    assert login("laocai.planner").get(f"/grid/?plan={CITY_PLAN}&{query}").status_code == 404


def test_grid_needs_a_login(client: Client) -> None:
    assert client.get(GRID).status_code == 302
    assert save(client, cell("II.2.8", TA_PHOI, "90")).status_code == 403
    assert not Actual.objects.exists()


def test_station_reporter_sees_only_its_station(login: Login) -> None:
    body = login("laocai.station").get(GRID).content.decode()
    assert input_for(body, "II.2.8", TA_PHOI) is not None
    assert input_for(body, "II.2.8", BAC_CUONG) is None
    assert input_for(body, "II.2.1", "laocai-city") is None


def test_reviewer_sees_the_grid_read_only(login: Login) -> None:
    body = login("laocai.reviewer").get(GRID).content.decode()
    ta_phoi = input_for(body, "II.2.8", TA_PHOI)
    assert ta_phoi is not None
    assert "readonly" in ta_phoi


# --- query counts ---------------------------------------------------------------------------------


def grow_city_plan() -> None:
    """More stations, indicators, targets and figures in the Lào Cai city plan."""
    tenant = Tenant.objects.get(slug="lao-cai")
    plan = indicator("II.2.4").plan
    planner = user("laocai.planner")
    for n in range(4):
        commune = OrgUnit.objects.get(code="laocai-city-ta-phoi")
        station = OrgUnit.objects.add_child(
            commune,
            create_kwargs={
                "code": f"grid-extra-{n}-tyt",
                "name": f"Trạm thêm {n}",
                "level": "facility",
                "facility_kind": "station",
                "tenant": tenant,
            },
        )
        extra = Indicator.objects.create(
            tenant=tenant,
            plan=plan,
            order=2000 + n,
            number=f"G{n}",
            name=f"Chỉ tiêu lưới {n}",
            unit="%",
            unit_kind="percent",
            direction="higher",
            rollup="pooled",
            entry_level="station",
        )
        Target.objects.create(tenant=tenant, indicator=extra, year=2024, comparator=">=", value=Decimal(n), text=str(n))
        actual_create(indicator=extra, org_unit=station, period="2024H1", value=Decimal(n), by=planner)
        actual_create(indicator=extra, org_unit=station, period="2024", value=Decimal(n), by=planner)


def test_period_grid_queries_do_not_grow_with_units_or_indicators(login: Login, queries_for: QueriesFor) -> None:
    client = login("laocai.planner")
    before = queries_for(client, GRID)
    cells_before = client.get(GRID).content.decode().count('class="cell ')
    grow_city_plan()
    assert client.get(GRID).content.decode().count('class="cell ') > cells_before
    assert queries_for(client, GRID) == before


def test_years_grid_queries_do_not_grow_with_units(login: Login, queries_for: QueriesFor) -> None:
    client = login("laocai.planner")
    url = f"/grid/?plan={CITY_PLAN}&indicator={indicator('II.2.8').pk}"
    before = queries_for(client, url)
    grow_city_plan()
    assert queries_for(client, url) == before


# --- saving -----------------------------------------------------------------------------------------


def test_save_creates_new_cells_and_updates_with_the_rendered_version(login: Login) -> None:
    client = login("laocai.planner")
    response = save(client, cell("II.2.8", TA_PHOI, "96,5"), cell("III.9.9", BAC_CUONG, "1.248"))
    assert response.status_code == 200, response.content
    saved = {(c["indicator"], c["org_unit"]): c for c in response.json()["cells"]}
    first = saved[(indicator("II.2.8").pk, unit(TA_PHOI).pk)]
    assert first == first | {"value": "96,5", "version": 1, "status": "draft", "editable": True}
    assert stored("II.2.8", TA_PHOI).value == Decimal("96.5")  # type: ignore[union-attr]
    assert stored("III.9.9", BAC_CUONG).value == Decimal("1248")  # type: ignore[union-attr]

    response = save(client, cell("II.2.8", TA_PHOI, "97,25", version=1))
    assert response.status_code == 200, response.content
    assert response.json()["cells"][0]["version"] == 2
    assert stored("II.2.8", TA_PHOI).value == Decimal("97.25")  # type: ignore[union-attr]


def test_empty_cells_change_nothing(login: Login) -> None:
    planner = user("laocai.planner")
    actual = actual_create(
        indicator=indicator("II.2.8"), org_unit=unit(TA_PHOI), period="2024H1", value=Decimal(90), by=planner
    )
    response = save(login("laocai.planner"), cell("II.2.8", TA_PHOI, "  ", version=1), cell("II.2.9", TA_PHOI, ""))
    assert response.status_code == 200
    assert response.json()["cells"] == []
    actual.refresh_from_db()
    assert (actual.value, actual.version) == (Decimal(90), 1)
    assert stored("II.2.9", TA_PHOI) is None


def test_an_invalid_cell_writes_nothing_and_names_every_bad_cell_in_vietnamese(login: Login) -> None:
    response = save(
        login("laocai.planner"),
        cell("II.2.8", TA_PHOI, "96,5"),  # fine on its own
        cell("II.2.9", TA_PHOI, "abc"),
        cell("II.2.12", TA_PHOI, "120"),  # a percentage
    )
    assert response.status_code == 400
    errors = {(e["indicator"], e["org_unit"], e["period"]): e["message"] for e in response.json()["errors"]}
    assert errors == {
        (indicator("II.2.9").pk, unit(TA_PHOI).pk, "2024H1"): "Không đọc được số: «abc»",
        (indicator("II.2.12").pk, unit(TA_PHOI).pk, "2024H1"): errors[
            (indicator("II.2.12").pk, unit(TA_PHOI).pk, "2024H1")
        ],
    }
    assert "0" in errors[(indicator("II.2.12").pk, unit(TA_PHOI).pk, "2024H1")]
    assert "100" in errors[(indicator("II.2.12").pk, unit(TA_PHOI).pk, "2024H1")]
    assert not Actual.objects.exists()


def test_a_count_must_be_whole(login: Login) -> None:
    response = save(login("laocai.planner"), cell("III.9.9", TA_PHOI, "12,5"))
    assert response.status_code == 400
    assert not Actual.objects.exists()


def test_a_stale_version_is_a_conflict_showing_the_current_value(login: Login) -> None:
    planner = user("laocai.planner")
    actual = actual_create(
        indicator=indicator("II.2.8"), org_unit=unit(TA_PHOI), period="2024H1", value=Decimal(90), by=planner
    )
    client = login("laocai.planner")
    # Someone else saves first: the page still holds version 1.
    assert save(client, cell("II.2.8", TA_PHOI, "91", version=1)).status_code == 200
    response = save(client, cell("II.2.8", TA_PHOI, "95", version=1), cell("II.2.9", TA_PHOI, "99"))
    assert response.status_code == 409
    (error,) = response.json()["errors"]
    assert error["code"] == "stale_version"
    assert error["current"] == error["current"] | {"value": "91", "version": 2, "status": "draft"}
    actual.refresh_from_db()
    assert actual.value == Decimal(91)
    assert stored("II.2.9", TA_PHOI) is None


def test_a_cell_entered_meanwhile_by_someone_else_is_a_conflict(login: Login) -> None:
    actual_create(
        indicator=indicator("II.2.8"),
        org_unit=unit(TA_PHOI),
        period="2024H1",
        value=Decimal(90),
        by=user("laocai.station"),
    )
    response = save(login("laocai.planner"), cell("II.2.8", TA_PHOI, "95"))
    assert response.status_code == 409
    assert response.json()["errors"][0]["current"]["value"] == "90"
    assert stored("II.2.8", TA_PHOI).value == Decimal(90)  # type: ignore[union-attr]


def test_an_approved_cell_is_locked(login: Login) -> None:
    planner = user("laocai.planner")
    actual = actual_create(
        indicator=indicator("II.2.8"), org_unit=unit(TA_PHOI), period="2024H1", value=Decimal(90), by=planner
    )
    actual = actual_submit(actual=actual, version=actual.version, by=planner)
    actual = actual_approve(actual=actual, by=user("laocai.reviewer"))
    response = save(login("laocai.planner"), cell("II.2.8", TA_PHOI, "95", version=actual.version))
    assert response.status_code == 409
    (error,) = response.json()["errors"]
    assert error["code"] == "locked"
    assert error["current"]["editable"] is False
    actual.refresh_from_db()
    assert (actual.value, actual.status) == (Decimal(90), ReviewStatus.APPROVED)


def test_a_reviewer_cannot_write_figures(login: Login) -> None:
    response = save(login("laocai.reviewer"), cell("II.2.8", TA_PHOI, "95"))
    assert response.status_code == 403
    assert not Actual.objects.exists()


def test_a_station_reporter_writes_only_its_own_station(login: Login) -> None:
    client = login("laocai.station")
    assert save(client, cell("II.2.8", TA_PHOI, "95")).status_code == 200
    response = save(client, cell("II.2.9", TA_PHOI, "95"), cell("II.2.8", BAC_CUONG, "95"))
    assert response.status_code == 403
    assert stored("II.2.9", TA_PHOI) is None
    assert stored("II.2.8", BAC_CUONG) is None


def test_a_cell_at_a_unit_where_the_indicator_is_not_entered_is_refused(login: Login) -> None:
    response = save(login("laocai.planner"), cell("II.2.1", TA_PHOI, "45"))
    assert response.status_code == 400
    assert not Actual.objects.exists()


@pytest.mark.parametrize(
    "body",
    ["not json", "{}", '{"plan": "x"}', '{"plan": 1, "cells": []}', '{"plan": "x", "cells": [{"indicator": 1}]}'],
)
def test_a_malformed_request_is_400(body: str, login: Login) -> None:
    response = login("laocai.planner").post("/grid/save/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_saving_needs_the_csrf_token(login: Login) -> None:
    client = login("laocai.planner", client=Client(enforce_csrf_checks=True))
    assert save(client, cell("II.2.8", TA_PHOI, "95")).status_code == 403
    assert not Actual.objects.exists()


# --- submitting -------------------------------------------------------------------------------------


def submit(client: Client, *cells: dict[str, Any]) -> Any:
    return post(client, "/grid/submit/", list(cells))


def test_submit_sends_the_draft_cells_for_review(login: Login) -> None:
    client = login("laocai.planner")
    saved = save(client, cell("II.2.8", TA_PHOI, "96,5"), cell("II.2.9", TA_PHOI, "98,5")).json()["cells"]
    response = submit(client, *({**c, "value": ""} for c in saved))
    assert response.status_code == 200, response.content
    assert {c["status"] for c in response.json()["cells"]} == {"submitted"}
    assert set(Actual.objects.values_list("status", flat=True)) == {ReviewStatus.SUBMITTED}


def test_submit_is_all_or_nothing(login: Login) -> None:
    client = login("laocai.planner")
    (saved,) = save(client, cell("II.2.8", TA_PHOI, "96,5")).json()["cells"]
    response = submit(client, saved, cell("II.2.9", TA_PHOI, ""))  # the second was never saved
    assert response.status_code == 400
    assert stored("II.2.8", TA_PHOI).status == ReviewStatus.DRAFT  # type: ignore[union-attr]


def test_submit_with_a_stale_version_is_a_conflict(login: Login) -> None:
    client = login("laocai.planner")
    (saved,) = save(client, cell("II.2.8", TA_PHOI, "96,5")).json()["cells"]
    save(client, {**saved, "value": "97"})
    response = submit(client, saved)
    assert response.status_code == 409
    assert response.json()["errors"][0]["current"]["value"] == "97"
    assert stored("II.2.8", TA_PHOI).status == ReviewStatus.DRAFT  # type: ignore[union-attr]


# --- isolation between tenants ---------------------------------------------------------------------


def test_another_tenants_grid_is_404(login: Login) -> None:
    client = login("quangngai.planner")
    assert client.get(GRID).status_code == 404
    assert client.get(f"/grid/?plan={CITY_PLAN}").status_code == 404
    assert CITY_PLAN not in client.get("/grid/").content.decode()


def test_another_tenants_plan_cannot_be_saved_into(login: Login) -> None:
    response = save(login("quangngai.planner"), cell("II.2.8", TA_PHOI, "95"))
    assert response.status_code == 404
    assert not Actual.objects.exists()


def test_a_lao_cai_cell_under_a_quang_ngai_plan_is_refused(login: Login) -> None:
    own = Indicator.objects.get(plan__slug="quangngai-chi-thi-37", number="1")
    lao_cai_cell = {"indicator": own.pk, "org_unit": unit(TA_PHOI).pk, "period": "2025", "value": "9", "version": None}
    lao_cai_indicator = {**cell("II.2.8", "quangngai", "95"), "period": "2025"}
    response = save(login("quangngai.planner"), lao_cai_cell, lao_cai_indicator, plan="quangngai-chi-thi-37")
    assert response.status_code == 403
    assert len(response.json()["errors"]) == 2
    assert not Actual.objects.exists()


def test_another_tenants_figures_cannot_be_submitted(login: Login) -> None:
    planner = user("laocai.planner")
    actual = actual_create(
        indicator=indicator("II.2.8"), org_unit=unit(TA_PHOI), period="2024H1", value=Decimal(90), by=planner
    )
    response = submit(login("quangngai.planner"), cell("II.2.8", TA_PHOI, "", version=actual.version))
    assert response.status_code == 404
    actual.refresh_from_db()
    assert actual.status == ReviewStatus.DRAFT
