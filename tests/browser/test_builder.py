"""The plan builder in a real browser: a planner builds a small plan from nothing (two indicators,
targets per year and per commune, two budget lines, two agencies), issues it and revises one
target with its reason and decision; a station reporter then finds it in its form, and the
dashboard marks the revised target."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

STATION = "laocai-city-ta-phoi-tyt"
RATE = "Tỷ lệ trẻ em được tiêm chủng đầy đủ (lập thử)"
COUNT = "Số lượt khám sức khỏe định kỳ (lập thử)"


def submit(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)
    expect(page.locator(".message.error")).to_have_count(0)


def add(page: Page, part: str, fields: dict[str, str], selects: dict[str, str] | None = None) -> None:
    """Fills one part's form of the builder (text fields by name, selects by their option's label)."""
    for name, value in fields.items():
        page.fill(f"#id_{part}-{name}", value)
    for name, label in (selects or {}).items():
        page.select_option(f"#id_{part}-{name}", label=label)
    submit(page, f"button[name=save-{part}]")


def test_planner_builds_issues_and_revises_a_plan(page_as: Any, live_site: Any, screenshot: Any) -> None:
    planner = page_as("laocai.planner")
    planner.click("#builder-new")
    planner.select_option("#id_issuer_org_unit", index=1)  # the one unit the planner plans for
    planner.fill("#id_title", "Kế hoạch tiêm chủng và khám sức khỏe năm 2025-2026 (lập thử)")
    planner.fill("#id_document_number", "99/KH-UBND")
    planner.fill("#id_place", "Lào Cai")
    planner.fill("#id_start_year", "2025")
    planner.fill("#id_end_year", "2026")
    planner.fill("#id_legal_bases", "Căn cứ Luật Khám bệnh, chữa bệnh năm 2023;")
    planner.check("#plan-form input[value=year]")
    submit(planner, "#plan-form button[type=submit]")
    match = re.search(r"/builder/([^/]+)/", planner.url)
    assert match, planner.url
    slug = match[1]

    add(planner, "agency", {"name": "Trung tâm Kiểm soát bệnh tật tỉnh (lập thử)"})
    add(planner, "agency", {"name": "Trung tâm Y tế thành phố Lào Cai (lập thử)"})
    add(planner, "assignment", {"text": "Chủ trì triển khai tiêm chủng."},
        {"agency": "Trung tâm Kiểm soát bệnh tật tỉnh (lập thử)", "role": "chủ trì"})  # fmt: skip
    add(planner, "indicator", {"number": "1", "name": RATE, "unit": "%"}, {"entry_level": "trạm y tế xã"})
    add(planner, "indicator", {"number": "2", "name": COUNT, "unit": "lượt"}, {"entry_level": "trạm y tế xã"})
    add(planner, "baseline", {"year": "2024", "text": "93,5"}, {"indicator": f"1. {RATE}"})
    for year, text in (("2025", "≥95%"), ("2026", "≥97%")):
        add(planner, "target", {"year": year, "text": text}, {"indicator": f"1. {RATE}"})
    add(planner, "target", {"year": "2025", "text": "≥90%"}, {"indicator": f"1. {RATE}", "org_unit": "Xã Tả Phời"})
    add(planner, "target", {"year": "2025", "text": "1.200"}, {"indicator": f"2. {COUNT}"})
    add(planner, "line", {"code": "I", "name": "Tiêm chủng mở rộng", "year": "2025", "amount_text": "2,5 tỷ"})
    add(planner, "line", {"code": "II", "name": "Khám sức khỏe định kỳ", "year": "2025", "amount_text": "300 triệu"})
    table = planner.locator("#builder-indicators")
    expect(table).to_contain_text("≥95%")
    expect(table).to_contain_text("Xã Tả Phời: ≥90%")
    expect(planner.locator("#builder-lines")).to_contain_text("2,5 tỷ")

    submit(planner, "#issue")
    expect(planner.locator("#plan-status")).to_have_text("ban hành")
    add(
        planner,
        "revise",
        {"year": "2025", "text": "≥96%", "reason": "Bổ sung nguồn vắc xin", "decision_number": "123/QĐ-UBND",
         "decision_date": "2025-06-15"},
        {"indicator": f"1. {RATE}"},
    )  # fmt: skip
    expect(table).to_contain_text("≥96%")
    rows = live_site.sql(
        "SELECT r.old_text, r.new_text, r.reason FROM indicators_targetrevision r JOIN indicators_target t "
        "ON t.id = r.target_id JOIN indicators_indicator i ON i.id = t.indicator_id JOIN plans_plan p "
        "ON p.id = i.plan_id WHERE p.slug = %s",
        slug,
    )
    assert rows == [("≥95%", "≥96%", "Bổ sung nguồn vắc xin")]
    screenshot(planner, "builder-issued")

    station = page_as("laocai.station")
    station.goto(f"{live_site.url}/figures/{STATION}/2025/?plan={slug}")
    expect(station.locator("body")).to_contain_text(RATE)
    expect(station.locator("body")).to_contain_text(COUNT)

    planner.goto(f"{live_site.url}/plans/{slug}/dashboard/?period=2025")
    revised = planner.locator(".revised")
    expect(revised).to_contain_text("đã điều chỉnh")
    expect(revised).to_contain_text("123/QĐ-UBND")
    screenshot(planner, "builder-dashboard-revised")
