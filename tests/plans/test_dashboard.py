"""Live progress pages: the plan dashboard, the comparison of units and the completeness of reporting."""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from healthplans.models import OrgUnit, User
from healthplans.workflow import ReviewStatus
from indicators.entries import NewFigure
from indicators.models import Actual, Baseline, Indicator, Target
from plans.models import Plan
from tests.conftest import Login
from tests.factories import figures_entered

pytestmark = pytest.mark.django_db

LAOCAI = "laocai-city-de-an-07-2024"
DASHBOARD = f"/plans/{LAOCAI}/dashboard/"
COMPARE = f"/plans/{LAOCAI}/compare/"
COMPLETENESS = f"/plans/{LAOCAI}/completeness/"


def indicator(number: str, plan: str = LAOCAI) -> Indicator:
    return Indicator.objects.get(plan__slug=plan, number=number)


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def actual(
    number: str,
    unit_code: str,
    value: str,
    *,
    period: str = "2024",
    status: str = ReviewStatus.APPROVED,
    numerator: str | None = None,
    denominator: str | None = None,
    plan: str = LAOCAI,
    province: str = "laocai",
) -> Actual:
    """A figure entered by the province's planner and taken to `status` by its reviewer (the services)."""
    figure = NewFigure(
        indicator(number, plan),
        Decimal(value),
        numerator=Decimal(numerator) if numerator is not None else None,
        denominator=Decimal(denominator) if denominator is not None else None,
    )
    (entered,) = figures_entered(
        org_unit=unit(unit_code),
        period=period,
        values=[figure],
        by=User.objects.get(username=f"{province}.planner"),
        status=status,
        reviewer=User.objects.get(username=f"{province}.reviewer"),
    )
    return entered


def page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def row_of(body: str, number: str) -> str:
    """The dashboard row of one indicator, from its opening tag to its end."""
    match = re.search(rf'<tr data-indicator-number="{re.escape(number)}" data-status="\w+">.*?</tr>', body, re.S)
    assert match, f"no row for indicator {number}"
    return match.group()


def status_of(body: str, number: str) -> str:
    match = re.search(r'data-status="(\w+)"', row_of(body, number))
    assert match
    return match.group(1)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- dashboard ----------------------------------------------------------------------------------


def test_dashboard_pools_a_rate_over_stations_rather_than_averaging_it(login: Login) -> None:
    # Two stations at 1/10 and 90/100: the city's rate is 91/110 = 82,7 %, not the mean 50 %.
    actual("II.2.8", "laocai-city-bac-cuong-tyt", "10", numerator="1", denominator="10")
    actual("II.2.8", "laocai-city-kim-tan-tyt", "90", numerator="90", denominator="100")
    body = page(login("laocai.planner"), f"{DASHBOARD}?period=2024")
    row = row_of(body, "II.2.8")
    assert "82,7" in text_of(row)
    assert "50" not in re.findall(r">\s*([\d.,]+)\s*<", row)
    # The target is "> 96,5": not met, and shown with its comparator the Vietnamese way.
    assert status_of(body, "II.2.8") == "not_met"
    assert "&gt; 96,5" in row or "> 96,5" in text_of(row)
    assert "Không đạt" in text_of(row)


def test_dashboard_status_follows_the_comparator(login: Login) -> None:
    actual("II.2.4", "laocai-city-bac-cuong-tyt", "5", numerator="5", denominator="100")  # < 9,98: met
    actual("II.2.9", "laocai-city-bac-cuong-tyt", "98", numerator="98", denominator="100")  # > 98: not met
    actual("II.2.13", "laocai-city-bac-cuong-tyt", "94", numerator="94", denominator="100")  # ≥ 94: met
    actual("III.9.2", "laocai-city-bac-cuong-tyt", "400")  # counts sum: ≥ 700 …
    actual("III.9.2", "laocai-city-kim-tan-tyt", "350")  # … 750 in all: met
    body = page(login("laocai.planner"), f"{DASHBOARD}?period=2024")
    assert status_of(body, "II.2.4") == "met"
    assert status_of(body, "II.2.9") == "not_met"
    assert status_of(body, "II.2.13") == "met"
    assert status_of(body, "III.9.2") == "met"
    assert "750" in text_of(row_of(body, "III.9.2"))
    assert status_of(body, "II.2.5") == "no_data"
    assert "Đạt" in text_of(row_of(body, "II.2.4"))
    assert "Chưa có số liệu" in text_of(row_of(body, "II.2.5"))
    # The summary counts what the rows say.
    summary = text_of(re.search(r'<section class="summary".*?</section>', body, re.S).group())  # type: ignore[union-attr]
    assert "3 Đạt" in summary
    assert "1 Không đạt" in summary
    assert "30 Chưa có số liệu" in summary


def test_dashboard_shows_submitted_figures_only_when_asked_and_marks_them(login: Login) -> None:
    actual("II.2.13", "laocai-city-bac-cuong-tyt", "96", status="submitted", numerator="96", denominator="100")
    client = login("laocai.planner")
    plain = page(client, f"{DASHBOARD}?period=2024")
    assert status_of(plain, "II.2.13") == "no_data"
    with_submitted = page(client, f"{DASHBOARD}?period=2024&include_submitted=1")
    row = row_of(with_submitted, "II.2.13")
    assert status_of(with_submitted, "II.2.13") == "met"
    assert "chưa duyệt" in text_of(row)
    assert 'name="include_submitted" value="1" checked' in with_submitted


def test_dashboard_defaults_to_the_latest_year_due_and_offers_the_plans_periods(login: Login) -> None:
    body = page(login("laocai.planner"), DASHBOARD)
    # 2024H2 and 2024 end together; the year, for which the targets are set, is preferred.
    assert '<option value="2024" selected>' in body
    assert re.findall(r'<option value="(2024(?:H[12])?)"', body) == ["2024H1", "2024", "2024H2"]
    assert "Thành phố Lào Cai" in text_of(re.search(r"<h1>.*?</h1>", body, re.S).group())  # type: ignore[union-attr]


def test_dashboard_trend_and_progress_are_inline_svg(login: Login) -> None:
    actual("II.2.13", "laocai-city-bac-cuong-tyt", "90", period="2024H1", numerator="90", denominator="100")
    actual("II.2.13", "laocai-city-bac-cuong-tyt", "95", period="2024H2", numerator="95", denominator="100")
    body = page(login("laocai.planner"), f"{DASHBOARD}?period=2024H2")
    row = row_of(body, "II.2.13")
    polyline = re.search(r'<polyline class="trend" points="([^"]+)"', row)
    assert polyline
    assert len(polyline.group(1).split()) == 2
    assert '<line class="target"' in row
    assert 'class="chart progress-chart"' in row


def test_dashboard_groups_indicators_and_flags_the_documents_quirks(login: Login) -> None:
    body = page(login("quangngai.planner"), "/plans/quangngai-chi-thi-37/dashboard/")
    headings = [text_of(h) for h in re.findall(r"<h2>.*?</h2>", body, re.S)]
    assert headings == ["Chỉ tiêu đầu vào", "Chỉ tiêu hoạt động", "Chỉ tiêu đầu ra", "Chỉ tiêu khác"]
    row = row_of(body, "12")
    flag = re.search(r'<span class="flag"[^>]*title="([^"]+)"', row)
    assert flag
    assert "đơn vị tính và thang đo" in flag.group(1)
    assert "chỉ tiêu đi ngược chiều" in flag.group(1)
    assert '<span class="flag"' not in row_of(body, "1")
    # Baselines as written, the 2025 target with its comparator.
    assert "2024: 2,07" in text_of(row)
    assert "≤ 2,5" in text_of(row)


def test_dashboard_of_another_tenants_plan_is_404(login: Login) -> None:
    client = login("quangngai.planner")
    for url in (DASHBOARD, COMPARE, COMPLETENESS):
        assert client.get(url).status_code == 404


def test_progress_pages_refuse_units_periods_and_indicators_out_of_reach(login: Login) -> None:
    client = login("laocai.station")
    city = unit("laocai-city").pk
    other_station = unit("laocai-city-kim-tan-tyt").pk
    for url in (DASHBOARD, COMPARE, COMPLETENESS):
        assert client.get(f"{url}?org_unit={city}").status_code == 404
        assert client.get(f"{url}?org_unit={other_station}").status_code == 404
        assert client.get(f"{url}?org_unit=abc").status_code == 404
        assert client.get(f"{url}?org_unit=99999999999999999999").status_code == 404
        assert client.get(f"{url}?period=2023").status_code == 404
        assert client.get(f"{url}?period=banana").status_code == 404
    foreign = indicator("1", "quangngai-chi-thi-37").pk
    assert client.get(f"{COMPARE}?indicator={foreign}").status_code == 404
    # A unit in reach but outside the plan's area.
    client = login("laocai.planner")
    assert client.get(f"{DASHBOARD}?org_unit={unit('muongkhuong').pk}").status_code == 404


def test_station_dashboard_shows_only_its_own_figures(login: Login) -> None:
    actual("II.2.8", "laocai-city-ta-phoi-tyt", "90", numerator="90", denominator="100")
    actual("II.2.8", "laocai-city-kim-tan-tyt", "10", numerator="1", denominator="10")
    body = page(login("laocai.station"), f"{DASHBOARD}?period=2024")
    assert "Trạm Y tế xã Tả Phời" in text_of(re.search(r"<h1>.*?</h1>", body, re.S).group())  # type: ignore[union-attr]
    assert "90" in text_of(row_of(body, "II.2.8"))
    options = re.findall(r'<select name="org_unit">(.*?)</select>', body, re.S)[0]
    assert text_of(options) == "Trạm Y tế xã Tả Phời"


# --- comparison ---------------------------------------------------------------------------------


def test_comparison_ranks_units_best_first_by_direction(login: Login) -> None:
    client = login("laocai.planner")
    higher = indicator("II.2.13")  # ≥ 94 %, higher is better
    actual("II.2.13", "laocai-city-bac-cuong-tyt", "80", numerator="80", denominator="100")
    actual("II.2.13", "laocai-city-kim-tan-tyt", "97.5", numerator="39", denominator="40")
    actual("II.2.13", "laocai-city-coc-leu-tyt", "94", numerator="94", denominator="100")
    actual("II.2.13", "laocai-city-pom-han-tyt", "99", numerator="99", denominator="100", status="draft")
    body = page(client, f"{COMPARE}?indicator={higher.pk}&period=2024")
    ranked = re.findall(r'<tr data-unit="([\w-]+)" data-status="(\w+)">', body)
    assert ranked == [
        ("laocai-city-kim-tan-tyt", "met"),
        ("laocai-city-coc-leu-tyt", "met"),
        ("laocai-city-bac-cuong-tyt", "not_met"),
    ]  # the draft of Pom Hán is not a reported figure
    assert "97,5" in body
    chart = re.search(r'<svg[^>]*class="chart ranking-chart".*?</svg>', body, re.S)
    assert chart
    assert chart.group().count("<rect") == 3
    assert '<line class="target"' in chart.group()

    lower = indicator("II.2.4")  # < 9,98 %, lower is better
    actual("II.2.4", "laocai-city-bac-cuong-tyt", "12", numerator="12", denominator="100")
    actual("II.2.4", "laocai-city-kim-tan-tyt", "3", numerator="3", denominator="100")
    body = page(client, f"{COMPARE}?indicator={lower.pk}&period=2024")
    assert re.findall(r'<tr data-unit="([\w-]+)" data-status="(\w+)">', body) == [
        ("laocai-city-kim-tan-tyt", "met"),
        ("laocai-city-bac-cuong-tyt", "not_met"),
    ]


def test_station_compares_only_its_own_station(login: Login) -> None:
    actual("II.2.13", "laocai-city-ta-phoi-tyt", "96", numerator="96", denominator="100")
    actual("II.2.13", "laocai-city-kim-tan-tyt", "80", numerator="80", denominator="100")
    body = page(login("laocai.station"), f"{COMPARE}?indicator={indicator('II.2.13').pk}&period=2024")
    assert re.findall(r'<tr data-unit="([\w-]+)"', body) == ["laocai-city-ta-phoi-tyt"]
    assert "Kim Tân" not in body


def test_comparison_without_an_indicator_shows_the_first(login: Login) -> None:
    body = page(login("laocai.planner"), COMPARE)
    first = Indicator.objects.filter(plan__slug=LAOCAI).order_by("order").first()
    assert first is not None
    assert f'<option value="{first.pk}" selected>' in body
    assert "Chưa có đơn vị nào báo cáo" in body


# --- completeness -------------------------------------------------------------------------------


def test_completeness_counts_figures_per_station_with_vietnamese_states(login: Login) -> None:
    station_numbers = list(
        Indicator.objects.filter(plan__slug=LAOCAI, entry_level="station").values_list("number", flat=True)
    )
    for number in station_numbers:
        actual(number, "laocai-city-bac-cuong-tyt", "1")
    actual(station_numbers[0], "laocai-city-kim-tan-tyt", "1", status="submitted")
    actual(station_numbers[1], "laocai-city-kim-tan-tyt", "1", status="returned")
    actual(station_numbers[0], "laocai-city-coc-leu-tyt", "1", status="draft")
    body = page(login("laocai.planner"), f"{COMPLETENESS}?period=2024")
    rows = dict(re.findall(r'<tr data-unit="([\w-]+)" data-state="(\w+)">', body))
    assert rows["laocai-city-bac-cuong-tyt"] == "approved"
    assert rows["laocai-city-kim-tan-tyt"] == "returned"
    # The 2024 figures were due on 15/01/2025: whoever has not sent them all is late.
    assert rows["laocai-city-coc-leu-tyt"] == "late"
    assert rows["laocai-city-ttyt"] == "late"  # the health centre enters the facility indicators
    assert len([code for code in rows if code.endswith("-tyt")]) == 17
    texts = {code: text_of(m) for code, m in re.findall(r'<tr data-unit="([\w-]+)".*?>(.*?)</tr>', body, re.S)}
    expected = len(station_numbers)
    assert texts["laocai-city-bac-cuong-tyt"].startswith(f"Trạm Y tế phường Bắc Cường {expected} {expected} 0 0 0")
    assert "đã duyệt" in texts["laocai-city-bac-cuong-tyt"]
    assert texts["laocai-city-kim-tan-tyt"].endswith("0 1 1 0 bị trả lại")
    assert "quá hạn" in texts["laocai-city-coc-leu-tyt"]
    assert "15/01/2025" in body
    totals = text_of(re.search(r'<tr class="totals">.*?</tr>', body, re.S).group())  # type: ignore[union-attr]
    assert totals.endswith(f"{expected} 1 1 1")


def test_completeness_before_the_deadline_says_not_started_or_in_progress(login: Login) -> None:
    plan = Plan.objects.get(slug="backan-gsd-2025-2030")
    number = plan.indicators.order_by("order").values_list("number", flat=True)[0]
    # Bắc Kạn ended in 2025: its own figures of 2030 are entered at Thái Nguyên, which took its place.
    actual(number, "thainguyen", "1", period="2030", status="draft", plan=plan.slug, province="backan")
    body = page(login("backan.planner"), f"/plans/{plan.slug}/completeness/?period=2030")
    # The province enters two indicators and has begun; its stations have not.
    states = dict(re.findall(r'<tr data-unit="([\w-]+)" data-state="(\w+)">', body))
    assert states.pop("thainguyen") == "in_progress"
    assert states
    assert set(states.values()) == {"not_started"}
    assert "đang nhập" in body


def test_station_sees_only_its_own_completeness(login: Login) -> None:
    body = page(login("laocai.station"), f"{COMPLETENESS}?period=2024")
    assert re.findall(r'<tr data-unit="([\w-]+)"', body) == ["laocai-city-ta-phoi-tyt"]
    assert "chưa nhập" in body or "quá hạn" in body


# --- a fixed number of queries ------------------------------------------------------------------


def grow(plan: Plan) -> None:
    """More stations, more indicators with targets and baselines, and their figures."""
    city = unit("laocai-city")
    tenant = city.tenant
    stations = list(OrgUnit.objects.filter(path__startswith=city.path, facility_kind="station")[:3])
    for n in range(3):
        city = OrgUnit.objects.get(pk=city.pk)
        commune = OrgUnit.objects.add_child(
            city, create_kwargs={"code": f"grow-{n}", "name": f"Xã thêm {n}", "level": "commune", "tenant": tenant}
        )
        stations.append(
            OrgUnit.objects.add_child(
                commune,
                create_kwargs={
                    "code": f"grow-{n}-tyt",
                    "name": f"Trạm thêm {n}",
                    "level": "facility",
                    "facility_kind": "station",
                    "tenant": tenant,
                },
            )
        )
    for n in range(4):
        extra = Indicator.objects.create(
            tenant=tenant,
            plan=plan,
            order=1000 + n,
            number=f"X{n}",
            name=f"Chỉ tiêu thêm {n}",
            unit="%",
            unit_kind="percent",
            direction="higher",
            rollup="pooled",
            entry_level="station",
        )
        Target.objects.create(
            tenant=tenant, indicator=extra, year=2024, comparator=">=", value=Decimal(50), text="≥ 50"
        )
        Baseline.objects.create(indicator=extra, year=2023, value=Decimal(40), text="40")
    figures = [
        NewFigure(indicator(number), Decimal(60), numerator=Decimal(60), denominator=Decimal(100))
        for number in ["II.2.8", "II.2.13", "X0", "X1", "III.9.2"]
    ]
    planner, reviewer = User.objects.get(username="laocai.planner"), User.objects.get(username="laocai.reviewer")
    for station in stations:
        for period, status in [("2024", "approved"), ("2024H1", "submitted"), ("2024H2", "approved")]:
            figures_entered(
                org_unit=station, period=period, values=figures, by=planner, status=status, reviewer=reviewer
            )


@pytest.mark.parametrize(
    "url",
    [
        DASHBOARD,
        f"{DASHBOARD}?period=2024H1&include_submitted=1",
        COMPARE + "?indicator={indicator}&include_submitted=1",
        COMPLETENESS,
        COMPLETENESS + "?period=2024H1",
    ],
)
@pytest.mark.parametrize("username", ["laocai.planner", "laocai.station"])
def test_progress_pages_run_a_fixed_number_of_queries(
    login: Login, queries_for: Callable[[Client, str], int], url: str, username: str
) -> None:
    plan = Plan.objects.get(slug=LAOCAI)
    url = url.format(indicator=indicator("II.2.13").pk)
    # The first seen figure of each kind so that the first measure is not of an empty page.
    actual("II.2.13", "laocai-city-ta-phoi-tyt", "70", numerator="70", denominator="100")
    client = login(username)
    before = queries_for(client, url)
    grow(plan)
    assert queries_for(client, url) == before


def test_the_dashboards_quality_checks_read_the_indicators_the_page_loaded(
    login: Login, count_queries: Callable[..., Any]
) -> None:
    """The plan's indicators (with their targets) are read once, for the progress and the checks."""
    plan = Plan.objects.get(slug=LAOCAI)
    client = login("laocai.planner")
    with count_queries() as queries:
        assert client.get(f"{DASHBOARD}?period=2024").status_code == 200
    own_indicators = f'"indicators_indicator"."plan_id" = {plan.pk}'
    reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('SELECT "indicators_indicator"."id"') and own_indicators in query["sql"]
    ]
    assert len(reads) == 1, [read[:120] for read in reads]


def test_national_viewer_reads_any_tenants_dashboard(login: Login) -> None:
    client = login("national.viewer")
    for slug in (LAOCAI, "quangngai-chi-thi-37", "backan-gsd-2025-2030"):
        assert client.get(f"/plans/{slug}/dashboard/").status_code == 200
        assert client.get(f"/plans/{slug}/completeness/").status_code == 200


def test_plan_page_links_to_its_dashboard(login: Login) -> None:
    body = page(login("laocai.planner"), f"/plans/{LAOCAI}/")
    assert f'href="{DASHBOARD}"' in body


def test_comparison_ranks_a_keep_at_indicator_by_closeness_to_its_target(login: Login) -> None:
    plan = Plan.objects.get(slug=LAOCAI)
    keep = Indicator.objects.create(
        tenant=plan.tenant,
        plan=plan,
        order=900,
        number="K.1",
        name="Giữ ổn định",
        unit="người",
        unit_kind="count",
        direction="keep",
        rollup="sum",
        entry_level="station",
    )
    Target.objects.create(tenant=plan.tenant, indicator=keep, year=2024, comparator="=", value=Decimal(17), text="17")
    actual("K.1", "laocai-city-bac-cuong-tyt", "30")
    actual("K.1", "laocai-city-kim-tan-tyt", "17")
    actual("K.1", "laocai-city-coc-leu-tyt", "15")
    body = page(login("laocai.planner"), f"{COMPARE}?indicator={keep.pk}&period=2024")
    assert re.findall(r'<tr data-unit="([\w-]+)"', body) == [
        "laocai-city-kim-tan-tyt",
        "laocai-city-coc-leu-tyt",
        "laocai-city-bac-cuong-tyt",
    ]


def test_dashboard_pools_a_sex_ratio_per_hundred_girls(login: Login) -> None:
    from indicators.services import resolve_value

    ratio = indicator("II.2.15")  # "≤ 112,5 trẻ nam/100 trẻ nữ", pooled
    for station, boys in [("laocai-city-bac-cuong-tyt", "120"), ("laocai-city-kim-tan-tyt", "118")]:
        value = resolve_value(ratio, None, Decimal(boys), Decimal(100))
        actual("II.2.15", station, str(value), numerator=boys, denominator="100")
    body = page(login("laocai.planner"), f"{DASHBOARD}?period=2024")
    # 238 boys per 200 girls is 119 per 100 girls: above the 112,5 ceiling.
    assert "119" in text_of(row_of(body, "II.2.15"))
    assert status_of(body, "II.2.15") == "not_met"
