"""A progress report rendered to PDF in the Vietnamese administrative format (Nghị định
30/2020/NĐ-CP, Phụ lục I): A4 with the decree's margins, the two-column header (issuing body and
issuer, national motto, number, place and date), title, body, Nơi nhận and the signature block,
in an embedded Times-compatible serif. Tables too long for the body go to a landscape appendix.

Everything is read, nothing is written: the workflow stores the bytes and the signer signs them.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.db.models import Count, Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import pgettext
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from budgets.models import BudgetExecution, BudgetLine
from budgets.selectors import BudgetSummary, line_period, period_years, summarise
from healthplans.models import Agency, OrgUnit
from healthplans.periods import Period, parse_period
from healthplans.vnnumber import COMPARATOR_SYMBOLS, format_money, format_number
from healthplans.workflow import ReviewStatus
from indicators.models import Actual, Group, Indicator, Target, UnitKind
from indicators.progress import MET, NO_DATA, NO_TARGET, NOT_MET, IndicatorProgress, completeness, plan_progress
from plans.models import Assignment, Plan, Task
from reporting.models import Report

# Debian's fonts-liberation2 (the body: metrically compatible with Times New Roman, as the decree
# asks) and fonts-noto-core (glyphs Liberation lacks). Only these and the app's own files are read.
FONT_DIRS = (Path("/usr/share/fonts/truetype/liberation2"), Path("/usr/share/fonts/truetype/noto"))
BODY_FONT = {
    "regular": "LiberationSerif-Regular.ttf",
    "bold": "LiberationSerif-Bold.ttf",
    "italic": "LiberationSerif-Italic.ttf",
    "bold_italic": "LiberationSerif-BoldItalic.ttf",
}
FALLBACK_FONT = {
    "regular": "NotoSerif-Regular.ttf",
    "bold": "NotoSerif-Bold.ttf",
    "italic": "NotoSerif-Italic.ttf",
    "bold_italic": "NotoSerif-BoldItalic.ttf",
}
REPORT_TIME_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# A table longer than this leaves the body for the landscape appendix (the body keeps a summary).
BODY_TABLE_ROWS = 15
KEY_INDICATORS = 6
UNITS_PER_APPENDIX_TABLE = 10
# Figures keep as many decimal places as the document writes its targets with, at most this many.
MAX_PLACES = 3
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


class ReportRenderingError(RuntimeError):
    """A report that cannot be rendered; the message says why, for the planner to read."""


class FetchRefused(ValueError):
    """A resource outside the app's own files: the renderer never fetches it."""


def allowed_roots() -> list[Path]:
    roots = [Path(settings.BASE_DIR) / "static", Path(settings.BASE_DIR) / "templates", *FONT_DIRS]
    roots += [Path(directory) for directory in getattr(settings, "STATICFILES_DIRS", [])]
    return [root.resolve() for root in roots]


class LocalFilesFetcher(URLFetcher):
    """Lets WeasyPrint read `data:` URIs and `file://` paths under the app's static and template
    directories and the font directories; anything else (http, ftp, other files) is refused.

    `fail_on_errors` turns a refusal into a stop of the whole render rather than a warning and a
    silently missing image: the template is ours, so a foreign URL in it is a bug to surface."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True)
        self.roots = allowed_roots()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            parts = urlsplit(url)
            path = Path(url2pathname(parts.path)).resolve()
            if parts.netloc in ("", "localhost") and path.is_file() and any(path.is_relative_to(r) for r in self.roots):
                return super().fetch(path.as_uri(), headers)
        raise FetchRefused(f"Refused to fetch {url!r}: reports use only the application's own files.")


# --- What the report says -----------------------------------------------------------------------


@dataclass(frozen=True)
class ResultRow:
    number: int
    name: str
    unit: str
    baseline: str
    target: str
    actual: str
    provisional: bool
    status: str
    status_label: str
    progress: str


@dataclass(frozen=True)
class ResultGroup:
    heading: str
    rows: list[ResultRow]
    counts: dict[str, int]


@dataclass(frozen=True)
class ChartBar:
    """One bar; coordinates are preformatted so that no locale ever writes "12,5" into the SVG."""

    x: str
    y: str
    width: str
    height: str
    cx: str
    value_y: str
    value_inside: bool
    label: str
    value: str
    kind: str  # baseline, actual, provisional


@dataclass(frozen=True)
class ChartMark:
    x1: str
    x2: str
    y: str


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    bars: list[ChartBar]
    targets: list[ChartMark]
    target_text: str
    width: int
    height: int
    base_y: str
    label_y: str
    legend_y: str


@dataclass(frozen=True)
class MatrixTable:
    """Rows of indicators against columns (periods or units), one table of an appendix."""

    columns: list[str]
    rows: list[tuple[int, str, str, list[tuple[str, str]]]]  # number, name, unit, [(target, actual)]
    with_targets: bool


@dataclass(frozen=True)
class BudgetRow:
    code: str
    name: str
    depth: int
    agency: str
    source: str
    amount: str
    allocated: str
    disbursed: str
    rate: str


@dataclass(frozen=True)
class AgencyRow:
    name: str
    roles: str
    assignments: int
    tasks: int
    amount: str


@dataclass(frozen=True)
class CompletenessRow:
    unit: str
    expected: int
    approved: int
    submitted: int
    returned: int
    draft: int
    state_label: str


@dataclass
class Block:
    """A table of the body, or of the appendix (numbered) when it is long."""

    template: str
    title: str
    data: Any
    appendix: str = ""


@dataclass
class Narrative:
    heading: str
    paragraphs: list[str] = field(default_factory=list)


def status_labels() -> dict[str, str]:
    return {
        MET: pgettext("report", "Met"),
        NOT_MET: pgettext("report", "Not met"),
        NO_DATA: pgettext("report", "No data"),
        NO_TARGET: pgettext("report", "No target"),
    }


def completeness_labels() -> dict[str, str]:
    return {
        "approved": pgettext("report", "approved"),
        "submitted": pgettext("report", "submitted, awaiting approval"),
        "returned": pgettext("report", "returned for correction"),
        "in_progress": pgettext("report", "being entered"),
        "late": pgettext("report", "late"),
        "not_started": pgettext("report", "not started"),
    }


def period_label(period: Period) -> str:
    year = period.start.year
    if period.kind == "half_year":
        if period.code.endswith("H1"):
            return pgettext("report", "first six months of %(year)s") % {"year": year}
        return pgettext("report", "last six months of %(year)s") % {"year": year}
    if period.kind == "five_year":
        return pgettext("report", "period %(start)s-%(end)s") % {"start": year, "end": period.end.year}
    return pgettext("report", "year %(year)s") % {"year": year}


def short_period_label(code: str) -> str:
    period = parse_period(code)
    if period.kind == "half_year":
        if code.endswith("H1"):
            return pgettext("report", "H1 %(year)s") % {"year": period.start.year}
        return pgettext("report", "H2 %(year)s") % {"year": period.start.year}
    return period.code


def kind_label(plan: Plan) -> str:
    return {
        Plan.Kind.PLAN: pgettext("report", "Plan"),
        Plan.Kind.SCHEME: pgettext("report", "Scheme"),
        Plan.Kind.DIRECTIVE: pgettext("report", "Directive"),
        Plan.Kind.STRATEGY: pgettext("report", "Strategy"),
        Plan.Kind.PROJECT: pgettext("report", "Project"),
        Plan.Kind.DECISION: pgettext("report", "Decision"),
    }.get(Plan.Kind(plan.kind), pgettext("report", "Plan"))


def report_subject(plan: Plan, period: Period) -> str:
    """ "Kết quả thực hiện Kế hoạch <title> <period>", without saying the period twice."""
    title = " ".join(plan.title.split())
    # A title in capitals stays so (its proper nouns would be lost); else it continues the sentence.
    if title != title.upper():
        title = title[:1].lower() + title[1:]
    label = period_label(period)
    if title.lower().rstrip('.”"').endswith(label.lower()):
        tail = ""
    elif re.search(r"\d{4}\W*$", title):
        tail = f" ({label})"
    else:
        tail = f" {label}"
    return pgettext("report", "Results of implementing the %(kind)s %(title)s%(tail)s") % {
        "kind": kind_label(plan),
        "title": title,
        "tail": tail,
    }


def issued_on_text(plan: Plan) -> str:
    if plan.issued_on is not None:
        return plan.issued_on.strftime("%d/%m/%Y")
    return ""


def years_text(plan: Plan) -> str:
    years = f"{plan.start_year}-{plan.end_year}" if plan.end_year != plan.start_year else str(plan.start_year)
    if plan.vision_year:
        return pgettext("report", "%(years)s, with a vision to %(vision)s") % {
            "years": years,
            "vision": plan.vision_year,
        }
    return years


def date_line(place: str, day: date) -> str:
    # The decree writes days and months below 10 with a leading zero: "ngày 05 tháng 01 năm 2025".
    return pgettext("report", "%(place)s, day %(day)s month %(month)s year %(year)s") % {
        "place": place,
        "day": f"{day.day:02d}",
        "month": f"{day.month:02d}",
        "year": day.year,
    }


def place_of(plan: Plan) -> str:
    if plan.place:
        return plan.place
    # "Tỉnh Bắc Kạn" dates its documents "Bắc Kạn, ngày …".
    return re.sub(r"^(tỉnh|huyện)\s+", "", plan.issuer_org_unit.name, flags=re.IGNORECASE)


def document_number(report: Report, plan: Plan) -> str:
    if report.document_number:
        return report.document_number
    # The issuer's symbol as the plan writes it ("/KH-UBND" → "BC-UBND"); the number is left blank
    # for the clerk, as on paper.
    match = re.search(r"-([A-ZĐ][A-ZĐ0-9&]*)\s*$", plan.document_number or "")
    symbol = match[1] if match else "UBND"
    return "\u00a0" * 6 + f"/BC-{symbol}"


def figure_places(indicator: Indicator) -> int:
    if indicator.unit_kind == UnitKind.COUNT:
        return 0
    written = [target.value for target in indicator.targets.all()]
    baseline = getattr(indicator, "baseline", None)
    if baseline is not None:
        written.append(baseline.value)
    exponents = [value.normalize().as_tuple().exponent for value in written]
    decimals = [-exponent for exponent in exponents if isinstance(exponent, int)]
    return min(max([1, *decimals]), MAX_PLACES)


def shown(value: Decimal | None, places: int) -> str:
    if value is None:
        return ""
    return format_number(value, places)


def written(value: Decimal) -> str:
    """A target or baseline as the document writes it: its own decimal places, no trailing zeros."""
    return format_number(value.normalize())


def unit_of(indicator: Indicator) -> str:
    return indicator.unit or str(UnitKind(indicator.unit_kind).label)


def target_text(target: Target | None) -> str:
    if target is None:
        return ""
    return f"{COMPARATOR_SYMBOLS.get(target.comparator, target.comparator)}\u00a0{written(target.value)}"


def baseline_text(indicator: Indicator) -> str:
    baseline = getattr(indicator, "baseline", None)
    if baseline is None:
        return ""
    symbol = COMPARATOR_SYMBOLS.get(baseline.comparator, "")
    value = f"{symbol}\u00a0{written(baseline.value)}" if symbol else written(baseline.value)
    return f"{value} ({baseline.year})"


def group_heading(group: str) -> str:
    headings: dict[str, str] = {
        Group.INPUT: pgettext("report", "Input indicators"),
        Group.ACTIVITY: pgettext("report", "Activity indicators"),
        Group.OUTPUT: pgettext("report", "Output indicators"),
    }
    return headings.get(group, pgettext("report", "Other indicators"))


def result_groups(items: list[IndicatorProgress]) -> list[ResultGroup]:
    labels = status_labels()
    by_group: dict[str, list[ResultRow]] = {}
    for number, item in enumerate(items, start=1):
        indicator = item.indicator
        places = figure_places(indicator)
        row = ResultRow(
            number=number,
            name=indicator.name,
            unit=unit_of(indicator),
            baseline=baseline_text(indicator),
            target=target_text(item.target),
            actual=shown(item.actual.value, places),
            provisional=item.actual.provisional and item.actual.value is not None,
            status=item.status,
            status_label=labels[item.status],
            progress=format_number(item.progress) if item.progress is not None else "",
        )
        by_group.setdefault(indicator.group, []).append(row)
    # Headings only where the plan groups its indicators (input / activity / output).
    grouped = len(by_group) > 1
    order = [Group.INPUT, Group.ACTIVITY, Group.OUTPUT, ""]
    return [
        ResultGroup(
            heading=group_heading(group) if grouped else "",
            rows=by_group[group],
            counts={status: sum(row.status == status for row in by_group[group]) for status in labels},
        )
        for group in sorted(by_group, key=lambda g: order.index(g) if g in order else len(order))
    ]


def _coordinate(value: float) -> str:
    return f"{value:.2f}"


def chart_of(item: IndicatorProgress, period: Period, unit: OrgUnit) -> Chart:
    """Bars of the baseline and of each period up to the reported one, the targets as dashes."""
    indicator = item.indicator
    places = figure_places(indicator)
    targets = targets_by_year(indicator, unit)
    points: list[tuple[str, Decimal, str, Target | None]] = []
    baseline = getattr(indicator, "baseline", None)
    if baseline is not None:
        label = pgettext("report", "Baseline %(year)s") % {"year": baseline.year}
        points.append((label, baseline.value, "baseline", None))
    for code, value in item.trend:
        if value is None or parse_period(code).end > period.end:
            continue
        kind = "provisional" if code == period.code and item.actual.provisional else "actual"
        points.append((short_period_label(code), value, kind, targets.get(parse_period(code).target_year)))
    if not any(kind != "baseline" for _label, _value, kind, _target in points) and item.actual.value is not None:
        points.append((short_period_label(period.code), item.actual.value, "actual", item.target))
    values = [value for _label, value, _kind, _target in points]
    values += [target.value for _label, _value, _kind, target in points if target is not None]
    top = max([*values, Decimal(0)])
    top = top if top > 0 else Decimal(1)
    width, height, left, bottom, headroom = 240, 132, 6, 34, 14
    slot = (width - 2 * left) / max(len(points), 1)
    bar_width = min(slot * 0.6, 36)
    plot = height - bottom - headroom
    base_y = height - bottom
    bars, marks = [], []
    for index, (label, value, kind, target) in enumerate(points):
        x = left + slot * index + (slot - bar_width) / 2
        bar_height = float(max(value, Decimal(0)) / top) * plot
        text = written(value) if kind == "baseline" else shown(value, places)
        bars.append(
            ChartBar(
                x=_coordinate(x),
                y=_coordinate(base_y - bar_height),
                width=_coordinate(bar_width),
                height=_coordinate(bar_height),
                cx=_coordinate(x + bar_width / 2),
                # Inside the top of a tall bar, so that a target dash near it never covers it.
                value_y=_coordinate(base_y - bar_height + 10 if bar_height > 14 else base_y - bar_height - 3),
                value_inside=bar_height > 14,
                label=label,
                value=text,
                kind=kind,
            )
        )
        if target is not None:
            y = base_y - float(max(target.value, Decimal(0)) / top) * plot
            marks.append(ChartMark(_coordinate(x - 4), _coordinate(x + bar_width + 4), _coordinate(y)))
    return Chart(
        title=indicator.name,
        unit=unit_of(indicator),
        bars=bars,
        targets=marks,
        target_text=target_text(item.target),
        width=width,
        height=height,
        base_y=_coordinate(base_y),
        label_y=_coordinate(base_y + 11),
        legend_y=_coordinate(height - 4),
    )


def targets_by_year(indicator: Indicator, unit: OrgUnit) -> dict[int, Target]:
    """The targets that apply at `unit`: its own where set, else the plan-wide ones."""
    own_last = sorted(indicator.targets.all(), key=lambda target: target.org_unit_id is not None)
    return {target.year: target for target in own_last if target.org_unit_id in (None, unit.pk)}


def period_matrix(items: list[IndicatorProgress], period: Period, unit: OrgUnit) -> MatrixTable | None:
    """Every indicator's targets over the whole plan (its roadmap), with the actuals up to the
    reported period."""
    codes = [code for code, _value in items[0].trend] if items else []
    if len(codes) < 2:
        return None
    reported = {code for code in codes if parse_period(code).end <= period.end}
    rows = []
    for number, item in enumerate(items, start=1):
        indicator = item.indicator
        places = figure_places(indicator)
        targets = targets_by_year(indicator, unit)
        values = dict(item.trend)
        cells = [
            (
                target_text(targets.get(parse_period(code).target_year)),
                shown(values.get(code), places) if code in reported else "",
            )
            for code in codes
        ]
        rows.append((number, indicator.name, unit_of(indicator), cells))
    return MatrixTable([short_period_label(code) for code in codes], rows, with_targets=True)


def unit_matrices(plan: Plan, indicators: list[Indicator], period: Period, unit: OrgUnit) -> list[MatrixTable]:
    """Each indicator's figure at each unit that reported one, in tables of a few units each."""
    actuals = (
        Actual.objects.filter(
            indicator__plan=plan,
            period=period.code,
            org_unit__path__startswith=unit.path,
            status__in=[ReviewStatus.APPROVED, ReviewStatus.SUBMITTED],
            value__isnull=False,
        )
        .select_related("org_unit")
        .only("indicator_id", "value", "status", "org_unit__name", "org_unit__path")
    )
    cells: dict[tuple[int, int], Actual] = {}
    units: dict[int, OrgUnit] = {}
    for actual in actuals:
        cells[(actual.indicator_id, actual.org_unit_id)] = actual
        units[actual.org_unit_id] = actual.org_unit
    if len(units) < 2:
        return []
    columns = sorted(units.values(), key=lambda u: u.path)
    numbered = [(n, i) for n, i in enumerate(indicators, start=1) if any((i.pk, u.pk) in cells for u in columns)]
    tables = []
    for start in range(0, len(columns), UNITS_PER_APPENDIX_TABLE):
        chunk = columns[start : start + UNITS_PER_APPENDIX_TABLE]
        rows = []
        for number, indicator in numbered:
            places = figure_places(indicator)
            row_cells = []
            for column in chunk:
                cell = cells.get((indicator.pk, column.pk))
                text = shown(cell.value, places) if cell is not None else ""
                if cell is not None and cell.status == ReviewStatus.SUBMITTED:
                    text += "*"
                row_cells.append(("", text))
            rows.append((number, indicator.name, unit_of(indicator), row_cells))
        tables.append(MatrixTable([u.name for u in chunk], rows, with_targets=False))
    return tables


def budget_rows(plan: Plan, period: Period) -> tuple[list[BudgetRow], BudgetSummary | None]:
    """The plan's budget lines of the period with what was allocated and disbursed (approved
    amounts), as the budget page and the dashboard count them."""
    lines = list(
        BudgetLine.objects.filter(plan=plan, year__in=period_years(period))
        .select_related("agency", "funding_source")
        .order_by("order")
    )
    if not lines:
        return [], None
    wanted = {(line.pk, line_period(line, period)) for line in lines}
    executions = [
        execution
        for execution in BudgetExecution.objects.filter(budget_line__in=lines, status=ReviewStatus.APPROVED)
        if (execution.budget_line_id, execution.period) in wanted
    ]
    summary = summarise(plan=plan, period=period, lines=lines, executions=executions)
    rows = [
        BudgetRow(
            code=figures.line.code,
            name=figures.line.name,
            depth=figures.depth,
            agency=figures.line.agency.name if figures.line.agency else "",
            source=figures.line.funding_source.name if figures.line.funding_source else "",
            amount=format_money(figures.planned),
            allocated=_money_or_blank(figures.allocated),
            disbursed=_money_or_blank(figures.disbursed),
            rate=f"{format_number(figures.rate)} %" if figures.rate is not None else "",
        )
        for figures in summary.lines
    ]
    return rows, summary


def _money_or_blank(amount: int | None) -> str:
    return "" if amount is None else format_money(amount)


def agency_rows(plan: Plan) -> list[AgencyRow]:
    """Who leads and who coordinates, with the tasks each agency leads and their planned cost."""
    assignments = list(Assignment.objects.filter(plan=plan).select_related("agency").order_by("order"))
    led: dict[int, tuple[int, int | None]] = {
        row["lead_id"]: (row["n"], row["amount"])
        for row in Task.objects.filter(section__plan=plan, lead__isnull=False)
        .values("lead_id")
        .annotate(n=Count("id"), amount=Sum("amount"))
    }
    agencies: dict[int, Agency] = {}
    roles: dict[int, list[str]] = {}
    counts: dict[int, int] = {}
    for assignment in assignments:
        agencies.setdefault(assignment.agency_id, assignment.agency)
        role = (
            pgettext("report", "lead") if assignment.role == Assignment.Role.LEAD else pgettext("report", "coordinate")
        )
        if role not in roles.setdefault(assignment.agency_id, []):
            roles[assignment.agency_id].append(role)
        counts[assignment.agency_id] = counts.get(assignment.agency_id, 0) + 1
    missing = [agency_id for agency_id in led if agency_id not in agencies]
    for agency in Agency.objects.filter(pk__in=missing).order_by("name"):
        agencies[agency.pk] = agency
        roles[agency.pk] = [pgettext("report", "lead")]
    return [
        AgencyRow(
            name=agency.name,
            roles=", ".join(roles.get(agency_id, [])),
            assignments=counts.get(agency_id, 0),
            tasks=led.get(agency_id, (0, None))[0],
            amount=format_money(amount) if (amount := led.get(agency_id, (0, None))[1]) else "",
        )
        for agency_id, agency in agencies.items()
    ]


def narrative_sections(report: Report) -> dict[str, Narrative]:
    headings = {
        "achievements": pgettext("report", "Results achieved"),
        "shortcomings": pgettext("report", "Shortcomings and limitations"),
        "causes": pgettext("report", "Causes"),
        "directions": pgettext("report", "Directions and tasks for the coming period"),
        "recommendations": pgettext("report", "Recommendations and proposals"),
    }
    text = report.narrative if isinstance(report.narrative, dict) else {}
    return {
        key: Narrative(heading, [line.strip() for line in str(text.get(key) or "").splitlines() if line.strip()])
        for key, heading in headings.items()
    }


def qr_svg(url: str) -> SafeString:
    # Generated here from our own URL (no user text reaches it), so it may go in unescaped.
    return mark_safe(segno.make(url, error="m", micro=False).svg_inline(border=2, omitsize=True))


def font_faces() -> list[tuple[str, str, str, str]]:
    """(family, weight, style, file URI) of every face the report may use."""
    faces = []
    for family, files in (("Report Serif", BODY_FONT), ("Report Serif Fallback", FALLBACK_FONT)):
        for face, name in files.items():
            path = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
            if path is None:
                raise ReportRenderingError(
                    pgettext("report", "The font %(name)s of the reports is not installed.") % {"name": name}
                )
            weight = "bold" if "bold" in face else "normal"
            style = "italic" if "italic" in face else "normal"
            faces.append((family, weight, style, path.as_uri()))
    return faces


def report_context(report: Report) -> dict[str, Any]:
    """Everything the template shows, gathered with the progress functions (reads only)."""
    plan = Plan.objects.select_related("issuer_org_unit").get(pk=report.plan_id)
    period = parse_period(report.period)
    unit = report.org_unit
    created = timezone.localtime(report.created_at or timezone.now(), REPORT_TIME_ZONE)
    indicators = Indicator.objects.filter(plan=plan).order_by("order")
    # Figures sent but not yet approved are shown, marked as provisional.
    items = plan_progress(plan=plan, indicators=indicators, period=period, unit=unit, include_submitted=True)
    labels = status_labels()
    groups = result_groups(items)
    rows_count = sum(len(group.rows) for group in groups)
    totals = {status: sum(group.counts[status] for group in groups) for status in labels}

    blocks: dict[str, Block] = {}
    appendices: list[Block] = []

    def place(key: str, block: Block, rows: int, *, always_appendix: bool = False) -> None:
        if always_appendix or rows > BODY_TABLE_ROWS:
            block.appendix = ROMAN[len(appendices)] if len(appendices) < len(ROMAN) else str(len(appendices) + 1)
            appendices.append(block)
        blocks[key] = block

    place(
        "results",
        Block("reporting/pdf/_results.html", pgettext("report", "Results against the targets"), groups),
        rows_count,
    )
    matrix = period_matrix(items, period, unit)
    if matrix is not None:
        place(
            "periods",
            Block("reporting/pdf/_matrix.html", pgettext("report", "Targets and results over the periods"), [matrix]),
            len(matrix.rows),
            always_appendix=True,
        )
    unit_tables = unit_matrices(plan, [item.indicator for item in items], period, unit)
    if unit_tables:
        place(
            "units",
            Block("reporting/pdf/_matrix.html", pgettext("report", "Figures of the reporting units"), unit_tables),
            len(unit_tables[0].rows),
            always_appendix=True,
        )
    budget, budget_summary = budget_rows(plan, period)
    if budget:
        place("budget", Block("reporting/pdf/_budget.html", pgettext("report", "Budget"), budget), len(budget))
    agencies = agency_rows(plan)
    if agencies:
        place(
            "agencies",
            Block("reporting/pdf/_agencies.html", pgettext("report", "Tasks by responsible agency"), agencies),
            len(agencies),
        )
    entries = completeness(plan=plan, period=period, within=unit, today=created.date())
    state_labels = completeness_labels()
    completeness_table = [
        CompletenessRow(
            unit=entry.unit.name,
            expected=entry.expected,
            approved=entry.counts.get(ReviewStatus.APPROVED, 0),
            submitted=entry.counts.get(ReviewStatus.SUBMITTED, 0),
            returned=entry.counts.get(ReviewStatus.RETURNED, 0),
            draft=entry.counts.get(ReviewStatus.DRAFT, 0),
            state_label=state_labels[entry.state],
        )
        for entry in entries
    ]
    if completeness_table:
        place(
            "completeness",
            Block(
                "reporting/pdf/_completeness.html",
                pgettext("report", "Submissions of the reporting units"),
                completeness_table,
            ),
            len(completeness_table),
        )
    states = [(state_labels[state], sum(e.state == state for e in entries)) for state in state_labels]

    key_items = [item for item in items if item.status in (MET, NOT_MET)][:KEY_INDICATORS]
    charts = [chart_of(item, period, unit) for item in key_items]
    verify_url = f"{settings.SITE_URL}/verify/{report.verification_code}/"
    number = document_number(report, plan)
    return {
        "report": report,
        "plan": plan,
        "period": period,
        "period_label": period_label(period),
        "unit": unit,
        "issuer_parent": plan.issuer_parent,
        "issuer": plan.issuer,
        "document_number": number,
        "date_line": date_line(place_of(plan), created.date()),
        "created": created,
        "subject": report_subject(plan, period),
        "kind": kind_label(plan),
        "issued_on": issued_on_text(plan),
        "years": years_text(plan),
        "fonts": font_faces(),
        "total": rows_count,
        "totals": [(status, labels[status], totals[status]) for status in labels],
        "not_met": [row for group in groups for row in group.rows if row.status == NOT_MET],
        "provisional": any(row.provisional for group in groups for row in group.rows),
        "blocks": blocks,
        "appendices": appendices,
        "chart_rows": [charts[start : start + 2] for start in range(0, len(charts), 2)],
        "budget_total": _money_or_blank(budget_summary.total.planned) if budget_summary else "",
        "budget_allocated": _money_or_blank(budget_summary.total.allocated) if budget_summary else "",
        "budget_disbursed": _money_or_blank(budget_summary.total.disbursed) if budget_summary else "",
        "budget_rate": format_number(budget_summary.total.rate)
        if budget_summary and budget_summary.total.rate is not None
        else "",
        "states": [(label, count) for label, count in states if count],
        "units_count": len(entries),
        "narrative": narrative_sections(report),
        "authority": [line.strip() for line in plan.signer_authority.splitlines() if line.strip()],
        "recipients": [line.strip() for line in plan.recipients if str(line).strip()],
        "verify_url": verify_url,
        "qr": qr_svg(verify_url),
    }


def html_to_pdf(html: str) -> bytes:
    """The PDF of a report page; only the app's files and the fonts are read."""
    base_url = (Path(settings.BASE_DIR) / "templates" / "reporting" / "pdf").resolve().as_uri() + "/"
    try:
        document = HTML(string=html, base_url=base_url, url_fetcher=LocalFilesFetcher(), media_type="print")
        pdf: bytes = document.write_pdf()
    except FatalURLFetchingError as error:
        # A BaseException in WeasyPrint: turned into an ordinary error the workflow can report.
        detail = str(error.__cause__ or error)
        raise ReportRenderingError(
            pgettext("report", "The report refers to a file outside the application: %(detail)s") % {"detail": detail}
        ) from error
    return pdf


def render_report_pdf(report: Report, *, on_progress: Callable[[int], None] | None = None) -> bytes:
    """The report as PDF bytes, in Vietnamese whatever the request's language."""

    def progress(percent: int) -> None:
        if on_progress is not None:
            on_progress(percent)

    with translation.override("vi"):
        context = report_context(report)
        progress(10)
        html = render_to_string("reporting/pdf/report.html", context)
        del context
        progress(60)
        pdf = html_to_pdf(html)
    progress(100)
    return pdf
