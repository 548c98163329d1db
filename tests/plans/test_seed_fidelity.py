"""The seed plans hold the documents' figures exactly. The expected values are read from the
source documents themselves (../shared/seeds), not from the fixtures, so a transcription slip fails."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from budgets.models import BudgetLine
from healthplans.quality import checks_for
from healthplans.vnnumber import parse_figure
from indicators.models import Indicator
from plans.models import Assignment, Plan

pytestmark = pytest.mark.django_db

GROUP_HEADINGS = {"Chỉ tiêu đầu vào": "input", "Chỉ tiêu hoạt động": "activity", "Chỉ tiêu đầu ra": "output"}


def seed_lines(prefix: str) -> list[str]:
    (path,) = Path(settings.SEEDS_DIR).glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8").splitlines()


def gsd_appendix() -> list[tuple[str, str, str, list[str]]]:
    """Rows (number, name, unit, six yearly cells) of the GSD appendix, one cell per line."""
    lines = seed_lines("001")
    start = lines.index("2030", lines.index("CHỈ SỐ CHÍNH ĐÁNH GIÁ DUY TRÌ KẾT QUẢ DỰ ÁN GIAI ĐOẠN 2025-2030")) + 1
    cells = [line.strip() for line in lines[start:] if line.strip()]
    rows = [cells[i : i + 9] for i in range(0, 16 * 9, 9)]
    return [(row[0], row[1], row[2], row[3:]) for row in rows]


def quangngai_table() -> list[tuple[str, str, str, list[str]]]:
    """Rows (group, number, name, [2024, 2025, 2030]) of Quảng Ngãi's §II table, tab-separated."""
    rows, group = [], ""
    for line in seed_lines("002"):
        heading = line.strip()
        if heading in GROUP_HEADINGS:
            group = GROUP_HEADINGS[heading]
        elif group and line[:1].isdigit() and "\t" in line:
            number, name, *cells = line.split("\t")
            rows.append((group, number, name, cells))
        elif heading.startswith("III."):
            break
    return rows


def test_gsd_appendix_has_16_indicators_and_96_targets_as_written() -> None:
    appendix = gsd_appendix()
    assert [number for number, *_ in appendix] == [str(n) for n in range(1, 17)]
    indicators = {i.number: i for i in Indicator.objects.filter(plan__slug="backan-gsd-2025-2030")}
    assert len(indicators) == 16
    checked = 0
    for number, name, unit, cells in appendix:
        indicator = indicators[number]
        assert indicator.name == name
        assert indicator.unit == unit
        targets = {t.year: t for t in indicator.targets.filter(org_unit=None)}
        assert sorted(targets) == list(range(2025, 2031))
        for year, cell in zip(range(2025, 2031), cells, strict=True):
            figure = parse_figure(cell)
            assert targets[year].text == cell
            assert targets[year].value == figure.value
            assert targets[year].comparator == (figure.comparator or ">=")
            checked += 1
    assert checked == 96


def test_gsd_comparators_inside_cells_are_kept() -> None:
    texts = set(Indicator.objects.filter(plan__slug="backan-gsd-2025-2030").values_list("targets__text", flat=True))
    assert {"≥0,8", "≥80", "≥80%", "≥ 65", "≥ 95"} <= texts


def test_quangngai_19_indicators_match_groups_baselines_and_targets() -> None:
    table = quangngai_table()
    assert [number for _, number, _, _ in table] == [str(n) for n in range(1, 20)]
    plan = Plan.objects.get(slug="quangngai-chi-thi-37")
    indicators = {i.number: i for i in plan.indicators.select_related("baseline")}
    for group, number, name, (done_2024, plan_2025, plan_2030) in table:
        indicator = indicators[number]
        assert indicator.group == group
        assert name.startswith(indicator.name) or indicator.name in name, (number, indicator.name, name)
        assert indicator.baseline.year == 2024
        assert indicator.baseline.text == done_2024.strip()
        assert indicator.baseline.value == parse_figure(done_2024).value
        targets = {t.year: t for t in indicator.targets.all()}
        for year, cell in ((2025, plan_2025), (2030, plan_2030)):
            assert targets[year].text == cell.strip()
            assert targets[year].value == parse_figure(cell).value


def test_quangngai_quirks_are_kept_and_flagged() -> None:
    indicators = {i.number: i for i in Indicator.objects.filter(plan__slug="quangngai-chi-thi-37")}
    assert "Số được sỹ" in indicators["2"].name
    assert indicators["11"].baseline.text == "00"
    assert indicators["14"].baseline.value == Decimal(1248643)
    # The quirks are found by the plan quality checks, not marked by the fixtures.
    scale = {
        check.where.ref
        for check in checks_for(Plan.objects.get(slug="quangngai-chi-thi-37"))
        if check.code == "unit_scale"
    }
    assert {"12", "13", "14", "16"} <= scale
    hiv_2025 = indicators["19"].targets.get(year=2025)
    assert (hiv_2025.comparator, hiv_2025.value) == ("<", Decimal("0.05"))


def test_laocai_city_budget_tree_sums_to_the_document_total() -> None:
    lines = list(BudgetLine.objects.filter(plan__slug="laocai-city-de-an-07-2024"))
    (root,) = [line for line in lines if line.parent_id is None]
    assert root.amount == 14_676_220_000
    parents = {line.parent_id for line in lines if line.parent_id}
    assert len(parents) >= 3
    for line in lines:
        children = [child.amount for child in lines if child.parent_id == line.pk]
        if children:
            assert sum(children) == line.amount, line.name
    amounts = {line.amount for line in lines}
    assert {
        6_499_220_000,
        2_500_000_000,
        3_999_220_000,
        8_177_000_000,
        4_020_000_000,
        2_120_000_000,
        2_037_000_000,
    } <= amounts


@pytest.mark.parametrize(
    ("slug", "agencies"),
    [
        # §VI: ten headings (the document skips 9), heading 6 naming three agencies.
        ("laocai-city-de-an-07-2024", 12),
        ("backan-gsd-2025-2030", 8),
        ("quangngai-chi-thi-37", 17),
        ("laichau-city-chien-luoc-89", 11),
    ],
)
def test_each_seed_plan_assigns_the_agencies_the_document_names(slug: str, agencies: int) -> None:
    assigned = Assignment.objects.filter(plan__slug=slug).values("agency").distinct().count()
    assert assigned == agencies
    assert Assignment.objects.filter(plan__slug=slug, role="lead").exists()


@pytest.mark.parametrize(
    ("slug", "numbers"),
    [
        ("laocai-city-de-an-07-2024", ["1", "2", "3", "4", "5", "6", "7", "8", "10", "11"]),
        ("muongkhuong-de-an-07-2023", ["1", "3", "4", "6", "7", "8"]),
    ],
)
def test_assignment_numbering_is_kept_as_the_document_skips_it(slug: str, numbers: list[str]) -> None:
    kept = Assignment.objects.filter(plan__slug=slug).order_by("order").values_list("number", flat=True)
    assert list(dict.fromkeys(kept)) == numbers


def test_muongkhuong_township_plan_has_its_station_as_lead() -> None:
    leads = Assignment.objects.filter(plan__slug="muongkhuong-de-an-07-2023", role="lead")
    assert [a.agency.name for a in leads]
    assert all("Trạm Y tế" in a.agency.name or "Trạm y tế" in a.agency.name for a in leads)


def test_seed_plans_carry_their_slugs_and_parents() -> None:
    parents = dict(Plan.objects.filter(source__endswith=".txt").values_list("slug", "parent__slug"))
    assert parents == {
        "laocai-city-de-an-07-2024": "laocai-de-an-07",
        "backan-gsd-2025-2030": "gsd-project",
        "quangngai-chi-thi-37": "quangngai-chi-thi-37-tu",
        "laichau-city-chien-luoc-89": "laichau-999-2024",
        "muongkhuong-de-an-07-2023": "muongkhuong-district-115-2023",
    }
    assert Plan.objects.filter(slug="laichau-999-2024", parent__slug="vn-chien-luoc-89").exists()


@pytest.mark.parametrize(
    ("slug", "text", "comparator", "value"),
    [
        ("laocai-city-de-an-07-2024", "còn dưới 9,98%", "<", Decimal("9.98")),
        ("laocai-city-de-an-07-2024", "đạt trên 96,5%", ">", Decimal("96.5")),
        ("laocai-city-de-an-07-2024", "còn ≤ 18,5%", "<=", Decimal("18.5")),
        ("laocai-city-de-an-07-2024", "còn ≤ 12,5%", "<=", Decimal("12.5")),
        ("muongkhuong-de-an-07-2023", "70,1 tuổi", ">=", Decimal("70.1")),
        ("muongkhuong-de-an-07-2023", "còn dưới 05 ca", "<", Decimal(5)),
    ],
)
def test_prose_targets_keep_their_text_and_read_their_comparator(
    slug: str, text: str, comparator: str, value: Decimal
) -> None:
    from indicators.models import Target

    target = Target.objects.filter(indicator__plan__slug=slug, text=text).first()
    assert target is not None, text
    assert (target.comparator, target.value) == (comparator, value)


def test_reporting_frequencies_are_those_the_documents_state() -> None:
    plans = {plan.slug: plan for plan in Plan.objects.filter(source__endswith=".txt")}
    # 000 §V.8: "6 tháng/lần" only; its yearly period is the second half-year's report (the rules').
    laocai = plans["laocai-city-de-an-07-2024"]
    assert (laocai.reporting_frequencies, laocai.frequency_text) == (["half_year"], "6 tháng/lần")
    assert laocai.reported_kinds == ["half_year", "year"]
    # 001 and 004 name none ("theo quy định"): nothing invented, the regulations' yearly report applies.
    for slug in ("backan-gsd-2025-2030", "muongkhuong-de-an-07-2023"):
        assert (plans[slug].reporting_frequencies, plans[slug].frequency_text) == ([], "theo quy định")
        assert plans[slug].reported_kinds == ["year"]
    # A cited parent we know only the metadata of states nothing and is reported on nothing.
    assert Plan.objects.get(slug="laocai-de-an-07").reported_kinds == []


def test_laocai_city_mortality_targets_keep_the_documents_percent_and_con() -> None:
    indicators = {i.number: i for i in Indicator.objects.filter(plan__slug="laocai-city-de-an-07-2024")}
    for number, text in (("II.2.10", "còn ≤ 18,5%"), ("II.2.11", "còn ≤ 12,5%")):
        assert indicators[number].unit == "%"
        assert [target.text for target in indicators[number].targets.all()] == [text]
