"""What a progress report says, gathered for its template: the document's header in the Vietnamese
administrative format, the results, tables (in the body, or numbered appendices when long), key
charts, the narrative and the verification link. Everything is read, nothing is written."""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import pgettext

from healthplans.formatting import period_label
from healthplans.periods import Period, parse_period
from healthplans.vnnumber import format_number
from indicators.models import Indicator
from indicators.progress import MET, NOT_MET, completeness, plan_progress
from plans.models import Plan
from reporting.formatting import ACHIEVEMENT_LABELS
from reporting.models import Report
from reporting.rendering.charts import chart_of
from reporting.rendering.pdf import font_faces
from reporting.rendering.tables import (
    agency_rows,
    budget_rows,
    completeness_labels,
    completeness_rows,
    money_or_blank,
    period_matrices,
    result_groups,
    unit_matrices,
)

REPORT_TIME_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# A table longer than this leaves the body for the landscape appendix (the body keeps a summary).
BODY_TABLE_ROWS = 15
KEY_INDICATORS = 6
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


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
    return mark_safe(segno.make(url, error="m", micro=False).svg_inline(border=2, omitsize=True))  # noqa: S308


def report_context(report: Report) -> dict[str, Any]:
    """Everything the template shows, gathered with the progress functions (reads only)."""
    plan = Plan.objects.select_related("issuer_org_unit").get(pk=report.plan_id)
    period = parse_period(report.period)
    unit = report.org_unit
    created = timezone.localtime(report.created_at or timezone.now(), REPORT_TIME_ZONE)
    indicators = Indicator.objects.filter(plan=plan).order_by("order")
    # Figures sent but not yet approved are shown, marked as provisional.
    items = plan_progress(plan=plan, indicators=indicators, period=period, unit=unit, include_submitted=True)
    groups = result_groups(items)
    rows_count = sum(len(group.rows) for group in groups)
    totals = {status: sum(group.counts[status] for group in groups) for status in ACHIEVEMENT_LABELS}

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
    roadmap = period_matrices(items, period, unit)
    if roadmap:
        place(
            "periods",
            Block("reporting/pdf/_matrix.html", pgettext("report", "Targets and results over the periods"), roadmap),
            len(roadmap[0].rows),
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
    completeness_table = completeness_rows(entries)
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
    states = [(label, sum(e.state == state for e in entries)) for state, label in completeness_labels().items()]

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
        "totals": [(status, str(label), totals[status]) for status, label in ACHIEVEMENT_LABELS.items()],
        "not_met": [row for group in groups for row in group.rows if row.status == NOT_MET],
        "provisional": any(row.provisional for group in groups for row in group.rows),
        "blocks": blocks,
        "appendices": appendices,
        "chart_rows": [charts[start : start + 2] for start in range(0, len(charts), 2)],
        "budget_total": money_or_blank(budget_summary.total.planned) if budget_summary else "",
        "budget_allocated": money_or_blank(budget_summary.total.allocated) if budget_summary else "",
        "budget_disbursed": money_or_blank(budget_summary.total.disbursed) if budget_summary else "",
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
