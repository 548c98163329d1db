"""The benchmark data generator makes valid, deterministic data; the progress pages' query counts do
not depend on how much of it there is; the roll-up cache never outlives an approval."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Count
from django.test.utils import override_settings
from rest_framework.test import APIClient

from healthplans.models import OrgUnit
from healthplans.workflow import Action, ReviewStatus
from indicators.management.commands.generate_scale import generate
from indicators.models import Actual, ActualEvent, Indicator
from indicators.services import is_entry_unit, resolve_value
from plans.models import Plan

pytestmark = pytest.mark.django_db

VERSIONS = {ReviewStatus.DRAFT: 1, ReviewStatus.SUBMITTED: 2, ReviewStatus.APPROVED: 3, ReviewStatus.RETURNED: 3}


def test_tiny_scale_makes_a_valid_tree_plan_and_figures() -> None:
    call_command("generate_scale", "--scale", "tiny", "--prefix", "t", verbosity=0)
    plan = Plan.objects.get(slug="t-national-plan")
    assert plan.issuer_org_unit.level == OrgUnit.Level.NATION
    assert all(not problems for problems in OrgUnit.objects.find_problems())
    stations = list(OrgUnit.objects.filter(code__startswith="t-p", facility_kind=OrgUnit.FacilityKind.STATION))
    assert len(stations) == 6
    indicators = list(plan.indicators.select_related("plan__issuer_org_unit", "baseline").annotate(n=Count("targets")))
    assert len(indicators) == 50
    assert all(indicator.n == 10 and indicator.baseline for indicator in indicators)
    assert all(is_entry_unit(indicator, station) for indicator in indicators for station in stations)

    actuals = Actual.objects.filter(indicator__plan=plan)
    # 6 stations × 50 indicators × 20 half-years, less each province's first station's last one.
    assert actuals.count() == 6 * 50 * 20 - 2 * 50
    assert actuals.filter(status=ReviewStatus.APPROVED).count() > 0.9 * actuals.count()
    by_pk = {indicator.pk: indicator for indicator in indicators}
    for actual in actuals.select_related("org_unit"):
        assert actual.version == VERSIONS[ReviewStatus(actual.status)]
        assert (actual.submitted_at is None) == (actual.status == ReviewStatus.DRAFT)
        assert (actual.reviewed_at is not None) == (actual.status in {ReviewStatus.APPROVED, ReviewStatus.RETURNED})
        assert actual.tenant_id == actual.org_unit.tenant_id
        if actual.numerator is not None:
            assert resolve_value(by_pk[actual.indicator_id], None, actual.numerator, actual.denominator) == actual.value

    events = ActualEvent.objects.filter(actual__indicator__plan=plan)
    assert events.filter(action=Action.CREATE).count() == actuals.count()
    assert events.filter(action=Action.SUBMIT).count() == actuals.exclude(status=ReviewStatus.DRAFT).count()
    assert events.filter(action=Action.APPROVE).count() == actuals.filter(status=ReviewStatus.APPROVED).count()
    assert events.filter(action=Action.RETURN).count() == actuals.filter(status=ReviewStatus.RETURNED).count()


def figures_of(prefix: str) -> list[tuple[Any, ...]]:
    return list(
        Actual.objects.filter(indicator__plan__slug=f"{prefix}-national-plan")
        .order_by("indicator__order", "org_unit__path", "period")
        .values_list("indicator__order", "period", "status", "value", "numerator", "denominator")
    )


def test_the_same_seed_gives_the_same_figures() -> None:
    generate(provinces=1, stations=2, seed=7, prefix="a")
    generate(provinces=1, stations=2, seed=7, prefix="b")
    generate(provinces=1, stations=2, seed=8, prefix="c")
    assert figures_of("a") == figures_of("b")
    assert figures_of("a") != figures_of("c")


def progress_urls(prefix: str) -> list[str]:
    plan = Plan.objects.get(slug=f"{prefix}-national-plan")
    province = OrgUnit.objects.get(code=f"{prefix}-p01")
    indicator = Indicator.objects.filter(plan=plan).order_by("order")[4]
    scope = f"period=2025H1&org_unit={province.pk}"
    return [
        f"/api/plans/{plan.pk}/progress/?{scope}",
        f"/plans/{plan.slug}/dashboard/?{scope}",
        f"/plans/{plan.slug}/compare/?{scope}&indicator={indicator.pk}",
        f"/api/actuals/?plan={plan.pk}&page=2",
    ]


def test_progress_query_counts_do_not_grow_with_the_data(login: Any, queries_for: Any) -> None:
    generate(provinces=1, stations=3, seed=1, prefix="small")
    generate(provinces=2, stations=40, seed=1, prefix="large")
    counts = {}
    for prefix in ("small", "large"):
        client = login(f"{prefix}.planner")
        counts[prefix] = [queries_for(client, url) for url in progress_urls(prefix)]
    assert counts["small"] == counts["large"]


@override_settings(
    FIGURES_CACHE_SECONDS=300,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rollup-test"}},
)
def test_an_approval_shows_at_once_through_the_roll_up_cache(api_as: Any, count_queries: Any) -> None:
    generate(provinces=1, stations=3, seed=1, prefix="cache")
    plan = Plan.objects.get(slug="cache-national-plan")
    province = OrgUnit.objects.get(code="cache-p01")
    waiting = Actual.objects.filter(indicator__plan=plan, period="2025H1", status=ReviewStatus.SUBMITTED).first()
    assert waiting is not None
    url = f"/api/plans/{plan.pk}/progress/?period=2025H1&org_unit={province.pk}"

    def units_reporting(client: APIClient) -> tuple[int, Decimal]:
        body = client.get(url).json()
        (item,) = [item for item in body["indicators"] if item["indicator"] == waiting.indicator_id]
        return item["units"], Decimal(item["actual"] or 0)

    planner = api_as("cache.planner")
    cache.clear()
    with count_queries() as missed:
        before = units_reporting(planner)
    with count_queries() as hit:
        assert units_reporting(planner) == before
    # The second read takes the roll-up from the cache.
    assert len(hit) < len(missed)

    response = api_as("cache.reviewer").post(f"/api/actuals/{waiting.pk}/approve/", {"version": waiting.version})
    assert response.status_code == 200, response.content
    after = units_reporting(planner)
    assert after[0] == before[0] + 1
    assert after != before
