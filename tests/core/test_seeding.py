"""Loading the seed is idempotent and keeps the tree, the users and their roles as listed."""

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


def test_station_reporters_hold_their_station() -> None:
    assignment = RoleAssignment.objects.get(user__username="muongkhuong.station")
    assert (assignment.role, assignment.org_unit.name) == ("station_reporter", "Trạm Y tế thị trấn Mường Khương")
    assert RoleAssignment.objects.get(user__username="laocai.station").org_unit.level == "facility"


def test_tree_keeps_abolished_units_with_their_successor() -> None:
    township = OrgUnit.objects.get(code="muongkhuong-tt")
    assert township.valid_to is not None
    assert township.successor == OrgUnit.objects.get(code="muongkhuong-xa")
    assert OrgUnit.objects.get(code="backan").successor.name == "Tỉnh Thái Nguyên"
    nation = OrgUnit.objects.get(code="vn")
    assert nation.is_root()
    assert OrgUnit.objects.get_ancestors(OrgUnit.objects.get(code="muongkhuong-tt-tyt")).first() == nation


def test_demo_units_are_marked_in_their_name_and_flag() -> None:
    demo = set(OrgUnit.objects.filter(is_demo=True).values_list("code", flat=True))
    named = set(OrgUnit.objects.filter(name__contains="(demo)").values_list("code", flat=True))
    assert demo
    assert demo == named
    assert not OrgUnit.objects.filter(code="laocai-city-duyen-hai", is_demo=True).exists()
