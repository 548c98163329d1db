"""The whole figures loop in a real browser: a station enters its year, a reviewer returns one
value, the station fixes it, the reviewer approves all; the value is locked, the dashboard and
the history show it."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PLAN = "muongkhuong-de-an-07-2023"
STATION = "muongkhuong-tt-tyt"
FORM = f"/figures/{STATION}/2023/?plan={PLAN}"
# Every indicator of the plan, as the station writes its figures: "," before decimals.
VALUES = {
    "I.2.1": "72,3",
    "I.2.2": "6,5",
    "I.2.3": "120",  # a percentage above 100: refused at the field
    "I.2.4": "97,2",
    "I.2.5": "18,5",
    "I.2.6": "14",
    "I.2.7": "30,1",
    "I.2.8": "15,9",
    "I.2.9": "36,5",  # outside the station's earlier range: submitting asks for a note
    "I.2.10": "85",
    "I.2.11": "1",
    "I.2.12": "1,2",
    "I.2.13": "112",
    "I.2.14": "30",
    "I.2.15": "55",
    "I.2.16": "60",
    "I.2.17": "4,5",
    "I.2.18": "86",
    "II.3.1": "96",
    "II.3.2": "95,5",
}


def stored(live_site: Any) -> dict[str, tuple[str, Any, int]]:
    """The station's 2023 figures in the served database: number → (status, value, version)."""
    rows = live_site.sql(
        "SELECT i.number, a.status, a.value, a.version FROM indicators_actual a "
        "JOIN indicators_indicator i ON i.id = a.indicator_id JOIN healthplans_orgunit u ON u.id = a.org_unit_id "
        "WHERE u.code = %s AND a.period = '2023'",
        STATION,
    )
    return {number: (status, value, version) for number, status, value, version in rows}


def row(scope: Any, number: str) -> Any:
    """An indicator's row within a page or a part of one."""
    return scope.locator(f'tr[data-indicator-number="{number}"]')


def click_and_wait(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_station_enters_reviewer_returns_station_fixes_reviewer_approves(
    page_as: Any, live_site: Any, screenshot: Any
) -> None:
    assert stored(live_site) == {}, "the served database already holds Mường Khương's 2023 figures"
    # Three approved years before the plan: the station's history against which values are judged.
    # Written in SQL: the figure services refuse periods outside the plan's years (2023), and the
    # roll-ups of these years are never read or cached, so the roll-up cache cannot miss them.
    live_site.sql(
        "INSERT INTO indicators_actual (tenant_id, indicator_id, org_unit_id, period, value, note, source, status,"
        " message, version, is_demo, created_at) "
        "SELECT u.tenant_id, i.id, u.id, y.period, y.value, '', '', 'approved', '', 1, false, now() "
        "FROM healthplans_orgunit u, indicators_indicator i JOIN plans_plan p ON p.id = i.plan_id, "
        "(VALUES ('2020', 20), ('2021', 25), ('2022', 30)) AS y(period, value) "
        "WHERE u.code = %s AND p.slug = %s AND i.number = 'I.2.9' RETURNING id",
        STATION,
        PLAN,
    )

    # The station fills every value; one percentage is 120.
    station = page_as("muongkhuong.station")
    station.click("nav.mainnav >> text=Số liệu")
    form_link = station.locator(f'tr[data-unit="{STATION}"][data-period="2023"] a')
    expect(form_link).to_have_attribute("href", FORM)
    screenshot(station, "figures-00-home")
    click_and_wait(station, f'tr[data-unit="{STATION}"][data-period="2023"] a')
    numbers = (
        row(station, "")
        .page.locator("tr[data-indicator-number]")
        .evaluate_all("rows => rows.map(r => r.dataset.indicatorNumber)")
    )
    assert sorted(numbers) == sorted(VALUES)
    expect(row(station, "I.2.9").locator("td.num")).to_contain_text("30")  # last period's value
    for number, value in VALUES.items():
        row(station, number).locator("input.figure").fill(value)
    click_and_wait(station, "button[value=save]")
    expect(row(station, "I.2.3").locator(".field-error")).to_have_text(
        "Tỷ lệ phần trăm phải nằm trong khoảng từ 0 đến 100."
    )
    expect(station.locator(".form-error")).to_contain_text("Chưa lưu gì cả")
    expect(row(station, "I.2.3").locator("input.figure")).to_have_value("120")
    expect(row(station, "I.2.4").locator("input.figure")).to_have_value("97,2")
    screenshot(station, "figures-01-percentage-refused")
    assert stored(live_site) == {}

    # Fixed, saved as drafts: shown back the Vietnamese way.
    row(station, "I.2.3").locator("input.figure").fill("96,5")
    click_and_wait(station, "button[value=save]")
    expect(station.locator(".message.success")).to_have_text("Đã lưu nháp 20 số liệu.")
    expect(row(station, "I.2.3").locator("input.figure")).to_have_value("96,5")
    assert {status for status, _value, _version in stored(live_site).values()} == {"draft"}
    assert str(stored(live_site)["I.2.3"][1]) == "96.500000"

    # A second look: one value changes, then everything goes to review; the unusual value asks for a note.
    row(station, "I.2.3").locator("input.figure").fill("97,5")
    click_and_wait(station, "button[value=submit]")
    expect(row(station, "I.2.9").locator(".note-cell .field-error").first).to_contain_text(
        "Giá trị này có vẻ bất thường"
    )
    expect(row(station, "I.2.9").locator(".note-cell")).to_contain_text("(20 – 30)")
    screenshot(station, "figures-02-note-asked")
    assert {status for status, _value, _version in stored(live_site).values()} == {"draft"}
    assert str(stored(live_site)["I.2.3"][1]) == "96.500000"  # nothing written
    row(station, "I.2.9").locator("input.note").fill("Đã triển khai hồ sơ sức khỏe điện tử toàn thị trấn")
    click_and_wait(station, "button[value=submit]")
    expect(station.locator(".message.success")).to_have_text("Đã gửi duyệt 20 số liệu.")
    assert {status for status, _value, _version in stored(live_site).values()} == {"submitted"}
    assert str(stored(live_site)["I.2.3"][1]) == "97.500000"
    expect(station.locator("input.figure")).to_have_count(0)
    screenshot(station, "figures-03-submitted")

    # The reviewer sees the unit's year and returns one value with a message.
    reviewer = page_as("laocai.reviewer")
    reviewer.goto(live_site.url + "/review/")
    group = reviewer.locator(f'section.review-group[data-unit="{STATION}"][data-period="2023"]')
    expect(group.locator("tr[data-actual]")).to_have_count(20)
    expect(row(group, "I.2.9")).to_contain_text("Nằm ngoài khoảng giá trị đã báo cáo")
    expect(row(group, "I.2.9")).to_contain_text("Đã triển khai hồ sơ sức khỏe điện tử")
    expect(row(group, "I.2.3").locator("[data-value]")).to_contain_text("97,5")
    screenshot(reviewer, "figures-04-review-queue")
    message = "Tỷ lệ 97,5% cao hơn số thẻ BHYT đã cấp, đề nghị kiểm tra lại"
    row(group, "I.2.3").locator("input[name=message]").fill(message)
    with reviewer.expect_navigation():
        row(group, "I.2.3").locator("button.return").click()
    expect(reviewer.locator(".message.success")).to_contain_text("Đã trả lại")
    assert stored(live_site)["I.2.3"][0] == "returned"

    # The reporter sees the message on the form and among the notifications, and fixes the value.
    station.goto(live_site.url + FORM)
    expect(row(station, "I.2.3")).to_have_attribute("data-status", "returned")
    expect(row(station, "I.2.3").locator(".returned-message")).to_contain_text(message)
    expect(station.locator("#nav-notifications .unread")).to_have_text("(1)")
    screenshot(station, "figures-05-returned-on-form")
    station.goto(live_site.url + "/notifications/")
    expect(station.locator("li.notification.unread")).to_contain_text(message)
    screenshot(station, "figures-06-notifications")
    expect(station.locator("#nav-notifications .unread")).to_have_count(0)
    click_and_wait(station, "li.notification a")
    assert station.url.endswith(FORM)
    row(station, "I.2.3").locator("input.figure").fill("96,8")
    row(station, "I.2.3").locator("input.note").fill("Đã đối chiếu với BHXH huyện")
    click_and_wait(station, "button[value=submit]")
    expect(station.locator(".message.success")).to_have_text("Đã gửi duyệt 1 số liệu.")
    assert stored(live_site)["I.2.3"][:2][0] == "submitted"

    # Before approval the dashboard has no approved figure of the indicator …
    dashboard = f"{live_site.url}/plans/{PLAN}/dashboard/?period=2023"
    reviewer.goto(dashboard)
    status_before = reviewer.locator('[data-indicator-number="I.2.17"][data-status]').first.get_attribute("data-status")

    # … the reviewer approves the whole group.
    reviewer.goto(live_site.url + "/review/")
    expect(group.locator("tr[data-actual]")).to_have_count(20)
    with reviewer.expect_navigation():
        group.locator("form.approve-group button").click()
    expect(reviewer.locator(".message.success")).to_have_text("Đã duyệt 20 số liệu.")
    expect(group).to_have_count(0)
    screenshot(reviewer, "figures-07-all-approved")
    assert {status for status, _value, _version in stored(live_site).values()} == {"approved"}

    # Locked: the form shows it read-only, and a forged POST changing it is refused.
    station.goto(live_site.url + FORM)
    expect(row(station, "I.2.3")).to_have_attribute("data-status", "approved")
    expect(row(station, "I.2.3").locator("input")).to_have_count(0)
    expect(row(station, "I.2.3").locator(".value-read-only")).to_have_text("96,8")
    screenshot(station, "figures-08-locked")
    indicator_id, version = live_site.sql(
        "SELECT a.indicator_id, a.version FROM indicators_actual a JOIN indicators_indicator i ON i.id = a.indicator_id"
        " JOIN healthplans_orgunit u ON u.id = a.org_unit_id WHERE u.code = %s AND a.period = '2023'"
        " AND i.number = 'I.2.3'",
        STATION,
    )[0]
    token = station.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    forged = station.request.post(
        live_site.url + FORM,
        form={
            "csrfmiddlewaretoken": token or "",
            f"i{indicator_id}-value": "50",
            f"i{indicator_id}-version": str(version),
            "action": "save",
        },
    )
    assert forged.status == 409
    assert "Số liệu này đã được duyệt và khóa." in forged.text()
    assert stored(live_site)["I.2.3"][0] == "approved"
    assert str(stored(live_site)["I.2.3"][1]) == "96.800000"

    # The dashboard shows the approved figures' status.
    reviewer.goto(dashboard)
    assert reviewer.locator('[data-indicator-number="I.2.17"][data-status]').first.get_attribute("data-status") == "met"
    assert status_before != "met"
    assert reviewer.locator('[data-indicator-number="I.2.3"][data-status]').first.get_attribute("data-status") == (
        "not_met"
    )
    screenshot(reviewer, "figures-09-dashboard")

    # The history shows every step, in Vietnamese.
    station.goto(live_site.url + FORM)
    click_and_wait(station, 'tr[data-indicator-number="I.2.3"] a.history-link')
    actions = station.locator("table.history tr[data-action]").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions == ["create", "change", "submit", "return", "change", "submit", "approve"]
    history = station.locator("table.history").inner_text()
    for shown in ("đã tạo", "đã sửa", "đã gửi", "trả lại", "đã duyệt", "96,5", "97,5", "96,8", message):
        assert shown in history
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", history)
    screenshot(station, "figures-10-history")
