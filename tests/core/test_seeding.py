"""Loading the seed is idempotent and keeps the tree, the users and their roles as listed."""

from datetime import date

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Max

from healthplans.models import OrgUnit, RoleAssignment, User
from healthplans.seeding import seed_all

pytestmark = pytest.mark.django_db

DEMO_USERS = [
    "admin",
    "national.viewer",
    "laocai.planner",
    "laocai.reviewer",
    "laocai.official",
    "camduong.station",
    "laocai.station",
    "muongkhuong.station",
    "backan.planner",
    "backan.reviewer",
    "backan.official",
    "quangngai.planner",
    "quangngai.reviewer",
    "quangngai.official",
    "laichau.planner",
    "laichau.reviewer",
    "laichau.official",
]


def snapshot() -> dict[str, tuple[int, int | None, str]]:
    """Per model: row count, highest id and a digest of every row's values."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in {"healthplans", "plans", "indicators", "budgets"}:
            rows = list(model._default_manager.order_by("pk").values())
            state[model._meta.label] = (len(rows), model._default_manager.aggregate(m=Max("pk"))["m"], repr(rows))
    return state


def sequences() -> list[tuple[str, int | None]]:
    """PostgreSQL's id sequences: a row created and removed again within a load still moves them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename")
        return cursor.fetchall()


def test_loading_the_seed_twice_changes_nothing() -> None:
    before, before_sequences = snapshot(), sequences()
    seed_all()
    assert snapshot() == before
    assert sequences() == before_sequences


def test_every_demo_user_logs_in_with_the_demo_password(client: object) -> None:
    assert sorted(User.objects.values_list("username", flat=True)) == sorted(DEMO_USERS)
    for username in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.check_password(settings.DEMO_PASSWORD), username


def test_station_reporters_hold_their_station_as_it_was_and_as_it_is() -> None:
    held = set(
        RoleAssignment.objects.filter(user__username="muongkhuong.station").values_list("role", "org_unit__name")
    )
    assert held == {
        ("station_reporter", "Trạm Y tế thị trấn Mường Khương"),
        ("station_reporter", "Trạm Y tế xã Mường Khương"),
    }
    assert RoleAssignment.objects.get(user__username="camduong.station").org_unit.name == "Trạm Y tế phường Cam Đường"
    assert set(
        RoleAssignment.objects.filter(user__username="laocai.station").values_list("org_unit__level", flat=True)
    ) == {"facility"}


def test_tree_keeps_abolished_units_with_their_successors() -> None:
    township = OrgUnit.objects.get(code="muongkhuong-tt")
    assert township.valid_to == date(2025, 6, 30)
    assert [s.successor.code for s in township.successions.all()] == ["muongkhuong-xa"]
    assert [s.successor.name for s in OrgUnit.objects.get(code="backan").successions.all()] == ["Tỉnh Thái Nguyên"]
    nation = OrgUnit.objects.get(code="vn")
    assert nation.is_root()
    # The former units hang beneath today's province that took them over.
    ancestors = OrgUnit.objects.get_ancestors(OrgUnit.objects.get(code="muongkhuong-tt-tyt"))
    assert [unit.code for unit in ancestors[:2]] == ["vn", "laocai-2025"]


def test_no_unit_is_invented() -> None:
    """Every administrative unit comes from the official list, with its code; the facilities the
    documents name are the only others, and nothing is a demo unit any more."""
    assert not OrgUnit.objects.filter(is_demo=True).exists()
    administrative = OrgUnit.objects.exclude(level__in=[OrgUnit.Level.NATION, OrgUnit.Level.FACILITY])
    assert not administrative.filter(official_code="").exists()
