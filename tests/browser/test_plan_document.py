"""A plan read from its document in a real browser (issue 14, "Done when"): Quảng Ngãi's planner
uploads seed 002 as a .docx, reviews the draft — its 19 table rows, each with its 2024 baseline
("Thực hiện 2024") and its 2025 and 2030 targets, and the three targets §III.3 lists in prose — and
confirms; the plan created equals the seed plan on every one of those indicators, targets and
baselines, as the served site's database holds them.

The .docx is made from the seed's text as the ingestion bench makes it (benchmarks/ingest_bench.py:
python-docx, a tab-separated line a table row), so no office suite is needed."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import FilePayload, Page, expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seeds" / "002_18b8a13d7a81bcaf.txt"
FIXTURE = ROOT / "fixtures" / "plans" / "002_quangngai-chi-thi-37.yaml"
SEED_PLAN = "quangngai-chi-thi-37"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The targets §III.3 lists in its prose ("bảo đảm đạt được các chỉ tiêu cơ bản: có 11 Bác sĩ/vạn dân;
# 04 Dược sĩ/vạn dân; 20 Điều dưỡng/vạn dân"), read after the table's 19 rows. (The seed's III.6.1, a
# task's "tại 100% Trạm Y tế xã" that announces no target, is not read.)
LISTED = {"III.3.1", "III.3.2", "III.3.3"}

# What a plan's indicators are, with their baseline and plan-wide targets, in the served database.
INDICATORS = """
    SELECT i.number, i.name, i.unit, i.unit_kind, i.direction, i."group", i.value_type
    FROM indicators_indicator i JOIN plans_plan p ON p.id = i.plan_id WHERE p.slug = %s
"""
BASELINES = """
    SELECT i.number, b.year, b.comparator, b.value, b.text
    FROM indicators_baseline b JOIN indicators_indicator i ON i.id = b.indicator_id
    JOIN plans_plan p ON p.id = i.plan_id WHERE p.slug = %s
"""
TARGETS = """
    SELECT i.number, t.year, t.org_unit_id, t.comparator, t.value, t.text
    FROM indicators_target t JOIN indicators_indicator i ON i.id = t.indicator_id
    JOIN plans_plan p ON p.id = i.plan_id WHERE p.slug = %s
"""


def seed_docx() -> bytes:
    """Seed 002 as a Word document, made as the ingestion bench makes it."""
    from ingest_bench import as_docx  # benchmarks/, on the path below

    return as_docx(SEED.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _bench_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))


def table_rows() -> list[dict[str, Any]]:
    """The seed plan's 19 rows of the document's table (numbered 1-19; its prose items are III.x)."""
    return [row for row in yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["indicators"] if row["number"].isdigit()]


def of_plan(live_site: Any, query: str, slug: str, numbers: set[str]) -> set[tuple[Any, ...]]:
    return {row for row in live_site.sql(query, slug) if row[0] in numbers}


def test_a_planner_reads_002_from_its_docx_reviews_and_confirms(page_as: Any, live_site: Any, screenshot: Any) -> None:
    rows = table_rows()
    assert len(rows) == 19
    page: Page = page_as("quangngai.planner")
    page.goto(f"{live_site.url}/plan-documents/")
    docx = FilePayload(name="002.docx", mimeType=DOCX_TYPE, buffer=seed_docx())
    page.set_input_files("input[name=file]", files=[docx])
    with page.expect_navigation():
        page.click("form:has(input[name=file]) button[type=submit]")
    # Read at once here (no broker: Celery runs eagerly); a worker would show the progress first.
    expect(page.locator("form textarea#draft")).to_be_visible()

    # The review: each table row beside its baseline and its targets, as written.
    indicators = page.locator("h2:text-is('Chỉ tiêu') + table tbody tr")
    expect(indicators).to_have_count(19 + len(LISTED))
    for index, row in enumerate(rows):
        cells = indicators.nth(index).locator("td")
        expect(cells.nth(0)).to_have_text(row["number"])
        expect(cells.nth(1)).to_have_text(row["name"])
        expect(cells.nth(3)).to_have_text(f"{row['baseline']['year']}: {row['baseline']['text']}")
        targets = "; ".join(f"{target['year']}: {target['text']}" for target in row["targets"])
        expect(cells.nth(4)).to_have_text(targets)
        assert [target["year"] for target in row["targets"]] == [2025, 2030]
    screenshot(page, "plan-document-review-002")

    with page.expect_navigation():
        page.click("form:has(textarea#draft) button[type=submit]")
    expect(page.locator(".error")).to_have_count(0)
    match = re.search(r"/plans/([^/]+)/$", page.url)
    assert match, page.url
    slug = match[1]
    assert slug != SEED_PLAN

    # The plan created equals the seed plan on every indicator, target and baseline of the table.
    table = {row["number"] for row in rows}
    created = live_site.sql(INDICATORS, slug)
    assert {row[0] for row in created} == table | LISTED
    assert set(created) == of_plan(live_site, INDICATORS, SEED_PLAN, table | LISTED)
    baselines = of_plan(live_site, BASELINES, slug, table)
    assert len(baselines) == 19
    assert baselines == of_plan(live_site, BASELINES, SEED_PLAN, table)
    made = of_plan(live_site, TARGETS, slug, table)
    assert len(made) == 38
    assert made == of_plan(live_site, TARGETS, SEED_PLAN, table)
    # §III.3's targets too, but for their text: the seed keeps the number, the draft the words as
    # written with the measure after it ("11 Bác sĩ/vạn dân").
    listed = {row[:5] for row in of_plan(live_site, TARGETS, slug, LISTED)}
    assert len(listed) == 3
    assert listed == {row[:5] for row in of_plan(live_site, TARGETS, SEED_PLAN, LISTED)}
    [(title, issued_on, signer)] = live_site.sql(
        "SELECT title, issued_on, signer_name FROM plans_plan WHERE slug = %s", slug
    )
    assert (title, issued_on, signer) == live_site.sql(
        "SELECT title, issued_on, signer_name FROM plans_plan WHERE slug = %s", SEED_PLAN
    )[0]
    screenshot(page, "plan-document-confirmed-002")
