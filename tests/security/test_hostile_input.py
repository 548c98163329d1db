"""HTML and script typed into every free-text field — notes, reviewers' messages, a report's
narrative, the names of plans, indicators, units, agencies and budget lines — come back as text:
escaped on every page that shows them, literal in the plain-text notification mails, and printed
as characters in the report PDF, never interpreted."""

import re
import subprocess
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils.html import escape

from budgets.models import BudgetLine
from budgets.services import budget_execution_create, budget_execution_return, budget_execution_submit
from healthplans.models import Agency, OrgUnit, User
from indicators.models import Indicator
from indicators.services import actual_create, actual_return, actual_submit, actual_update
from plans.models import Plan
from reporting.models import Report, ReportStatus
from reporting.rendering import render_report_pdf

pytestmark = pytest.mark.django_db

PLAN = "laocai-city-de-an-07-2024"
STATION_UNIT = "laocai-city-ta-phoi-tyt"
PERIOD = "2024H1"
# What would run or load if it reached a page unescaped; the tag opens the rest of the payload.
RAW = re.compile(r"<script>alert|<img src=x")


def hostile(field: str) -> str:
    """A field's value: its name, then markup breaking out of an attribute and opening a script."""
    return f'{field} "><img src=x onerror=alert(1)><script>alert(1)</script> <b>đậm</b>'


def user(username: str) -> User:
    return User.objects.get(username=username)


@pytest.fixture
def world(django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """The city plan with hostile names, and a figure and amounts returned with hostile words."""
    plan = Plan.objects.select_related("issuer_org_unit").get(slug=PLAN)
    Plan.objects.filter(pk=plan.pk).update(title=hostile("plan title"), document_number=hostile("docno")[:100])
    indicator = Indicator.objects.get(plan=plan, number="II.2.8")
    Indicator.objects.filter(pk=indicator.pk).update(name=hostile("indicator name"), unit=hostile("unit")[:100])
    OrgUnit.objects.filter(code__in=[STATION_UNIT, plan.issuer_org_unit.code]).update(name=hostile("unit name"))
    Agency.objects.filter(tenant=plan.issuer_org_unit.tenant).update(name=hostile("agency name"))
    BudgetLine.objects.filter(plan=plan).update(name=hostile("budget line"))
    User.objects.filter(username__in=["laocai.station", "laocai.planner"]).update(email="user@example.vn")

    station, reviewer, planner = user("laocai.station"), user("laocai.reviewer"), user("laocai.planner")
    actual = actual_create(
        indicator=Indicator.objects.get(pk=indicator.pk),
        org_unit=OrgUnit.objects.get(code=STATION_UNIT),
        period=PERIOD,
        value=Decimal("96.5"),
        note=hostile("note"),
        by=station,
    )
    actual = actual_submit(actual=actual, version=actual.version, by=station)
    line = BudgetLine.objects.filter(plan=plan, parent__isnull=False).order_by("pk").first()
    assert line is not None
    execution = budget_execution_create(
        budget_line=line, period="2024", allocated=1_000_000, disbursed=0, note=hostile("budget note"), by=planner
    )
    execution = budget_execution_submit(execution=execution, version=execution.version, by=planner)
    with django_capture_on_commit_callbacks(execute=True):
        actual = actual_return(actual=actual, by=reviewer, message=hostile("return message"))
        budget_execution_return(execution=execution, by=reviewer, message=hostile("budget message"))
    # Sent again, so the reviewer's queue shows the note and the earlier message.
    actual = actual_update(actual=actual, version=actual.version, by=station, value=Decimal("97"))
    actual = actual_submit(actual=actual, version=actual.version, by=station)
    report = Report.objects.create(
        tenant=plan.tenant,
        plan=plan,
        period=PERIOD,
        org_unit=plan.issuer_org_unit,
        version=1,
        status=ReportStatus.READY,
        verification_code="THOSTILE0001",
        narrative={key: hostile(f"narrative {key}") for key in ("achievements", "shortcomings", "causes")},
    )
    return {"plan": Plan.objects.get(pk=plan.pk), "actual": actual, "execution": execution, "report": report}


def pages(world: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(user, page, the hostile fields it shows)."""
    actual, execution, report = world["actual"], world["execution"], world["report"]
    plan = f"/plans/{PLAN}"
    return [
        ("laocai.planner", "/", ["plan title"]),
        ("laocai.planner", f"{plan}/", ["plan title", "indicator name", "agency name"]),
        ("laocai.planner", f"{plan}/dashboard/", ["plan title", "indicator name"]),
        ("laocai.planner", f"{plan}/compare/", ["plan title", "unit name"]),
        ("laocai.planner", f"{plan}/completeness/", ["plan title", "unit name"]),
        ("laocai.planner", f"{plan}/budget/?period=2024", ["budget line", "budget note", "budget message"]),
        ("laocai.planner", f"/budgets/executions/{execution.pk}/history/", ["budget line", "budget message"]),
        ("laocai.planner", f"/grid/?plan={PLAN}&period={PERIOD}", ["indicator name", "unit name"]),
        ("laocai.planner", f"{plan}/reports/", ["plan title"]),
        ("laocai.planner", f"/reports/{report.pk}/", ["plan title", "narrative achievements"]),
        ("laocai.planner", "/notifications/", ["budget message"]),
        ("laocai.planner", f"/verify/{report.verification_code}/", ["plan title"]),
        ("laocai.station", "/figures/", ["plan title"]),
        ("laocai.station", f"/figures/{STATION_UNIT}/{PERIOD}/?plan={PLAN}", ["indicator name", "note"]),
        ("laocai.station", f"/figures/actuals/{actual.pk}/history/", ["indicator name", "return message"]),
        ("laocai.station", "/notifications/", ["return message"]),
        ("laocai.reviewer", "/review/", ["indicator name", "unit name", "note"]),
    ]


def test_pages_show_hostile_text_escaped(login: Any, world: dict[str, Any]) -> None:
    for username, url, fields in pages(world):
        response = login(username).get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert not RAW.search(body), f"{url} writes markup that a user typed: {RAW.search(body)}"
        for field in fields:
            assert escape(hostile(field)) in body, f"{url} does not show the {field}"


def test_notification_mails_carry_hostile_text_as_plain_text(world: dict[str, Any], mailoutbox: Any) -> None:
    assert len(mailoutbox) == 2
    for mail, field in zip(mailoutbox, ["return message", "budget message"], strict=True):
        # A text/plain mail shows characters as they are: escaping would print "&lt;".
        assert hostile(field) in mail.body
        assert "&lt;" not in mail.body
        assert "<" not in mail.subject
        for content, mimetype in getattr(mail, "alternatives", []):
            if mimetype == "text/html":
                assert not RAW.search(content)


def test_report_pdf_prints_hostile_text_as_characters(world: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(render_report_pdf(world["report"]))
    text = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    # Table cells wrap anywhere: compare without whitespace.
    flat = "".join(unicodedata.normalize("NFC", text.stdout.decode()).split())
    for field in ["plan title", "unit name", "narrative achievements", "narrative causes"]:
        # The tags are printed: none was taken as an element (an <img> or <b> would leave no text).
        assert "".join(hostile(field).split()) in flat, field
