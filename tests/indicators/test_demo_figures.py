"""Demo figures go through the services, are marked as demo, and load once."""

from datetime import date

import pytest

from indicators.demo import demo_figures_load
from indicators.models import Actual

pytestmark = pytest.mark.django_db


def test_demo_figures_cover_closed_periods_once_with_history() -> None:
    # On 20 January 2024 only 2023 has closed: Mường Khương township's year.
    added = demo_figures_load(today=date(2024, 1, 20))
    assert added == Actual.objects.count() > 0
    assert set(Actual.objects.values_list("indicator__plan__slug", "period").distinct()) == {
        ("muongkhuong-de-an-07-2023", "2023")
    }
    assert not Actual.objects.filter(is_demo=False).exists()
    assert all(actual.events.filter(action="create").exists() for actual in Actual.objects.all())
    assert Actual.objects.filter(status="approved").count() > added / 2
    assert demo_figures_load(today=date(2024, 1, 20)) == 0


def test_demo_figures_of_every_seed_plan_pass_the_services_checks() -> None:
    # By 20 July 2024 the first half of Lào Cai city's 2024 has closed too: every figure (whole
    # counts, rates from their parts, percentages up to 100) went through actual_create, which
    # refuses anything its unit does not allow.
    added = demo_figures_load(today=date(2024, 7, 20))
    periods = set(Actual.objects.values_list("indicator__plan__slug", "period").distinct())
    assert periods == {("laocai-city-de-an-07-2024", "2024H1"), ("muongkhuong-de-an-07-2023", "2023")}
    assert added == Actual.objects.count()
    counts = Actual.objects.filter(indicator__unit_kind="count")
    assert counts.exists()
    assert all(a.value == a.value.to_integral_value() for a in counts if a.value is not None)
