"""The report PDF in the Vietnamese administrative format, checked with poppler as a reader would
see it: text with its diacritics, embedded fonts, page sizes, and what a user typed kept as text."""

import re
import subprocess
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from healthplans.models import OrgUnit
from healthplans.periods import parse_period
from healthplans.workflow import ReviewStatus
from indicators.models import Actual, Indicator
from indicators.progress import entry_units
from plans.models import Plan
from reporting.models import Report
from reporting.rendering import FetchRefused, LocalFilesFetcher, ReportRenderingError, html_to_pdf, render_report_pdf
from reporting.rendering.pdf import FONTS
from tests.factories import figures_entered, reviewer_at, writer_at

pytestmark = pytest.mark.django_db

# 2025-01-04 18:30 UTC is already 5 January in Hà Nội: the date line follows Vietnam's clock.
CREATED_AT = datetime(2025, 1, 4, 18, 30, tzinfo=UTC)
DATE_SUFFIX = "ngày 05 tháng 01 năm 2025"
ARTEFACTS = Path(settings.BASE_DIR) / "artefacts" / "reports"

SEED_REPORTS = [
    ("laocai-city-de-an-07-2024", "2024H1", "6 tháng đầu năm 2024"),
    ("backan-gsd-2025-2030", "2025", "năm 2025"),
    ("quangngai-chi-thi-37", "2025", "năm 2025"),
    ("laichau-city-chien-luoc-89", "2026-2030", "giai đoạn 2026-2030"),
    ("muongkhuong-de-an-07-2023", "2023", "năm 2023"),
]


def make_report(slug: str, period: str, *, narrative: dict[str, str] | None = None) -> Report:
    """A report of the plan with a few figures: approved ones at target, one submitted below it."""
    plan = Plan.objects.select_related("issuer_org_unit").get(slug=slug)
    year = parse_period(period).target_year
    targeted = [
        indicator
        for indicator in Indicator.objects.filter(plan=plan).prefetch_related("targets").order_by("order")
        if any(target.year == year and target.org_unit_id is None for target in indicator.targets.all())
    ][:4]
    assert targeted, f"{slug} has no target for {year}"
    issuer = plan.issuer_org_unit
    for index, indicator in enumerate(targeted):
        target = next(t for t in indicator.targets.all() if t.year == year and t.org_unit_id is None)
        provisional = index == len(targeted) - 1 and index > 0
        meeting = {">": target.value + 1, "<": target.value * Decimal("0.9")}.get(target.comparator, target.value)
        # At the first unit of the plan's area in the period that enters the indicator (the issuer's
        # subtree, or the units that hold its territory since it ended): the report rolls it up.
        units = entry_units(plan=plan, level=indicator.entry_level, within=issuer, period=parse_period(period))
        unit = units.order_by("path").first() or issuer
        figures_entered(
            org_unit=unit,
            period=period,
            values=[(indicator, target.value / 2 if provisional else meeting)],
            by=writer_at(unit),
            status=ReviewStatus.SUBMITTED if provisional else ReviewStatus.APPROVED,
            # A note, since a value far from the previous one asks the writer for one.
            note="Số liệu báo cáo.",
        )
    report = Report.objects.create(
        tenant=plan.tenant,
        plan=plan,
        period=period,
        org_unit=plan.issuer_org_unit,
        version=1,
        verification_code=f"T{slug.replace('-', '')[:12].upper()}",
        narrative=narrative
        or {
            "achievements": "Các chỉ tiêu chủ yếu cơ bản đạt kế hoạch.",
            "shortcomings": "Một số trạm y tế báo cáo chậm.",
            "causes": "Thiếu nhân lực.",
            "directions": "Tiếp tục triển khai các nhiệm vụ.",
            "recommendations": "Đề nghị Sở Y tế hỗ trợ kinh phí.",
        },
    )
    Report.objects.filter(pk=report.pk).update(created_at=CREATED_AT)
    report.refresh_from_db()
    return report


def write(pdf: bytes, tmp_path: Path, name: str = "report.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def pdf_text(path: Path) -> str:
    """The text in drawing order (-raw keeps a table cell's lines together), NFC."""
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", out.stdout.decode("utf-8"))


def squeezed(text: str) -> str:
    # Lines wrap anywhere inside a table cell ("năm/" | "tổng"): compare without any whitespace.
    return "".join(unicodedata.normalize("NFC", text).split())


def font_rows(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def page_sizes(path: Path) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    found = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert found is not None
    pages = int(found[1])
    sized = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", str(pages), str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", sized, re.M)]


@pytest.mark.parametrize(("slug", "period", "period_label"), SEED_REPORTS)
def test_seed_plan_report_is_an_official_vietnamese_document(
    slug: str, period: str, period_label: str, tmp_path: Path
) -> None:
    report = make_report(slug, period)
    steps: list[int] = []

    pdf = render_report_pdf(report, on_progress=steps.append)

    assert pdf.startswith(b"%PDF-")
    assert steps == sorted(steps)
    assert steps[-1] == 100
    path = write(pdf, tmp_path)
    text = pdf_text(path)
    flat = squeezed(text)
    plan = report.plan
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "BÁO CÁO" in text
    assert squeezed(plan.issuer.upper()) in flat
    assert squeezed(plan.title) in flat
    for name in Indicator.objects.filter(plan=plan).values_list("name", flat=True):
        assert squeezed(name) in flat, name
    place = plan.place or plan.issuer_org_unit.name.removeprefix("Tỉnh ")
    assert squeezed(f"{place}, {DATE_SUFFIX}") in flat
    assert squeezed(period_label) in flat
    assert "Số:" in text
    assert "/BC-" in text
    assert "Nơi nhận:" in text
    assert squeezed(plan.signer_name) in flat
    assert "Đạt" in text
    assert squeezed(f"{settings.SITE_URL}/verify/{report.verification_code}/") in flat
    for section in ("Kết quả đạt được", "Tồn tại, hạn chế", "Nguyên nhân", "PHƯƠNG HƯỚNG", "KIẾN NGHỊ"):
        assert squeezed(section) in flat, section
    rows = font_rows(path)
    assert rows
    # Columns: name, type (one or two words), encoding, emb, sub, uni, object id, generation.
    assert all(row[-5] == "yes" for row in rows), rows
    sizes = page_sizes(path)
    width, height = sizes[0]
    assert (round(width), round(height)) == (595, 842)  # A4 portrait

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(path),
            str(ARTEFACTS / f"{slug}-page1"),
        ],
        check=True,
    )
    assert (ARTEFACTS / f"{slug}-page1.png").stat().st_size > 0


def test_long_tables_go_to_a_landscape_appendix(tmp_path: Path) -> None:
    # Bắc Kạn's GSD plan: 16 indicators with targets for each year 2025-2030.
    report = make_report("backan-gsd-2025-2030", "2025")

    path = write(render_report_pdf(report), tmp_path)

    sizes = page_sizes(path)
    portrait = [size for size in sizes if size[0] < size[1]]
    landscape = [size for size in sizes if size[0] > size[1]]
    assert portrait
    assert landscape
    # The body comes first, the appendix after it.
    assert sizes.index(landscape[0]) > 0
    assert all(size[0] > size[1] for size in sizes[sizes.index(landscape[0]) :])
    flat = squeezed(pdf_text(path))
    assert squeezed("PHỤ LỤC I") in flat
    assert squeezed("Chi tiết tại Phụ lục I kèm theo") in flat
    # The roadmap: every year of the plan is a column of the appendix.
    assert all(str(year) in flat for year in range(2025, 2031))


def test_what_users_typed_is_printed_as_text_never_as_markup(tmp_path: Path) -> None:
    plan = Plan.objects.get(slug="muongkhuong-de-an-07-2023")
    first = Indicator.objects.filter(plan=plan).order_by("order").first()
    assert first is not None
    Indicator.objects.filter(pk=first.pk).update(name="Chỉ số <b>in đậm</b> & <i>nghiêng</i>")
    report = make_report(
        "muongkhuong-de-an-07-2023",
        "2023",
        narrative={
            "achievements": "Đoạn một <script>alert('x')</script>\nĐoạn hai <b>không đậm</b>",
            "shortcomings": '<img src="https://example.com/track.png">',
            "causes": "",
            "directions": "",
            "recommendations": "",
        },
    )

    path = write(render_report_pdf(report), tmp_path)

    text = pdf_text(path)
    flat = squeezed(text)
    assert squeezed("Chỉ số <b>in đậm</b> & <i>nghiêng</i>") in flat
    assert squeezed("Đoạn một <script>alert('x')</script>") in flat
    assert squeezed("Đoạn hai <b>không đậm</b>") in flat
    assert squeezed('<img src="https://example.com/track.png">') in flat
    # Empty sections say so rather than vanish.
    assert "(chưa có nội dung)" in text


def test_fetcher_refuses_anything_but_the_apps_own_files() -> None:
    fetcher = LocalFilesFetcher()
    for url in (
        "https://example.com/logo.png",
        "http://127.0.0.1:8000/static/css/grid.css",
        "ftp://example.com/x",
        "file:///etc/passwd",
        f"file://{settings.BASE_DIR}/static/../../../etc/passwd",
        f"file://{settings.BASE_DIR}/healthplans/settings/base.py",
    ):
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)

    directory, files = FONTS["Report Serif"]
    font = fetcher.fetch((directory / files["normal"]).as_uri())
    try:
        assert font.read(4) == b"\x00\x01\x00\x00"  # a TrueType font
    finally:
        font.close()
    data = fetcher.fetch("data:text/plain;base64,eGlu")
    try:
        assert data.read() == b"xin"
    finally:
        data.close()


def test_an_external_resource_stops_the_render_instead_of_being_fetched() -> None:
    with pytest.raises(ReportRenderingError, match=r"example\.com"):
        html_to_pdf('<html><body><p>x</p><img src="https://example.com/pixel.png"></body></html>')


def test_provisional_figures_are_marked(tmp_path: Path) -> None:
    report = make_report("quangngai-chi-thi-37", "2025")

    text = pdf_text(write(render_report_pdf(report), tmp_path))

    assert "(*)" in text
    assert squeezed("Số liệu sơ bộ") in squeezed(text)


def test_budget_section_shows_allocation_disbursement_and_rate(tmp_path: Path) -> None:
    from budgets.models import BudgetLine
    from budgets.services import budget_execution_approve, budget_execution_create, budget_execution_submit

    hospital_training = BudgetLine.objects.get(plan__slug="laocai-city-de-an-07-2024", amount=2_120_000_000)
    issuer = hospital_training.plan.issuer_org_unit
    planner, reviewer = writer_at(issuer), reviewer_at(issuer)
    execution = budget_execution_create(
        budget_line=hospital_training, period="2024", allocated=2_120_000_000, disbursed=1_590_000_000, by=planner
    )
    execution = budget_execution_submit(execution=execution, version=execution.version, by=planner)
    budget_execution_approve(execution=execution, by=reviewer)
    path = write(render_report_pdf(make_report("laocai-city-de-an-07-2024", "2024")), tmp_path)
    text = squeezed(pdf_text(path))
    assert "14.676.220.000" in text  # planned, the document's total
    assert "1.590.000.000" in text
    assert "2.120.000.000" in text
    assert "75,0%" in text  # disbursed ÷ allocated of the approved amounts (spaces squeezed out)
    assert "Đãgiảingân" in text  # the column and the sentence, in Vietnamese


def test_a_report_of_2024_names_its_units_as_they_were_and_what_they_are_now(tmp_path: Path) -> None:
    """Lào Cai city's 2024 report keeps the stations of 2024 and says which commune of today each
    is now part of."""
    report = make_report("laocai-city-de-an-07-2024", "2024H1")
    indicator = next(
        i for i in Indicator.objects.filter(plan=report.plan).order_by("order") if i.entry_level == "station"
    )
    for code in ("laocai-city-ta-phoi-tyt", "laocai-city-bac-cuong-tyt"):
        station = OrgUnit.objects.get(code=code)
        if not Actual.objects.filter(indicator=indicator, org_unit=station, period="2024H1").exists():
            figures_entered(
                org_unit=station,
                period="2024H1",
                values=[(indicator, Decimal(50))],
                by=writer_at(station),
                status=ReviewStatus.APPROVED,
                note="Số liệu báo cáo.",
            )
    text = squeezed(pdf_text(write(render_report_pdf(report), tmp_path)))
    assert squeezed("Trạm Y tế xã Tả Phời nay thuộc Xã Hợp Thành.") in text
    assert squeezed("Trạm Y tế phường Bắc Cường nay thuộc Phường Cam Đường.") in text
