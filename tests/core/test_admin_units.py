"""Today's Vietnam and the units before it, as the package `vietnamadminunits` carries them, loaded
into the tree by `healthplans.adminunits` through the reorganisation service."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count

from healthplans.adminunits import CHANGE_2025, Official, admin_units_load
from healthplans.models import AuditEvent, AuditKind, OrgUnit, Reorganisation, RoleAssignment, UnitSuccession
from healthplans.reorganisation import Changes, Succession, reorganisation_apply, reorganisation_preview
from healthplans.workflow import Invalid
from tests.factories import UserFactory, two_communes_merged

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)
BEFORE = date(2025, 6, 30)


def valid(level: str, day: date) -> Any:
    return OrgUnit.objects.filter(OrgUnit.valid_on_q(day), level=level)


def test_today_there_are_34_provinces_and_3321_communes() -> None:
    assert valid(OrgUnit.Level.PROVINCE, TODAY).count() == 34
    assert valid(OrgUnit.Level.COMMUNE, TODAY).count() == 3321
    assert not valid(OrgUnit.Level.DISTRICT, TODAY).exists()
    types = set(valid(OrgUnit.Level.COMMUNE, TODAY).values_list("unit_type", flat=True))
    assert types == {"xa", "phuong", "dac_khu"}
    provinces = valid(OrgUnit.Level.PROVINCE, TODAY)
    assert sorted(set(provinces.values_list("unit_type", flat=True))) == ["thanh_pho", "tinh"]
    assert provinces.filter(unit_type="thanh_pho").count() == 6


def test_every_commune_of_today_has_its_station_and_coordinates() -> None:
    communes = valid(OrgUnit.Level.COMMUNE, TODAY)
    stations = OrgUnit.objects.filter(facility_kind=OrgUnit.FacilityKind.STATION, valid_from=CHANGE_2025)
    assert stations.count() == 3321
    assert not communes.filter(latitude__isnull=True).exists()
    assert OrgUnit.objects.get(code="s02680").name == "Trạm Y tế xã Hợp Thành"


def test_before_the_change_63_provinces_and_every_former_commune_with_a_successor() -> None:
    data = Official.read()
    assert valid(OrgUnit.Level.PROVINCE, BEFORE).count() == 63
    assert valid(OrgUnit.Level.DISTRICT, BEFORE).count() == 696
    former = valid(OrgUnit.Level.COMMUNE, BEFORE)
    assert former.count() == sum(1 for row in data.former if row["wardCode"])
    assert not former.annotate(n=Count("successions")).filter(n=0).exists()
    assert not valid(OrgUnit.Level.PROVINCE, BEFORE).annotate(n=Count("successions")).filter(n=0).exists()


def successors(code: str) -> set[tuple[str, Decimal]]:
    return {(s.successor.name, s.share) for s in UnitSuccession.objects.filter(predecessor__code=code)}


def test_the_units_of_the_issue_go_where_the_resolutions_put_them() -> None:
    assert successors("laocai-city-bac-cuong") == {("Phường Cam Đường", Decimal(1))}
    assert successors("laocai-city-ta-phoi") == {("Xã Hợp Thành", Decimal(1))}
    assert successors("laocai-city-dong-tuyen") == {("Xã Cốc San", Decimal(1))}
    assert successors("muongkhuong-tt") == {("Xã Mường Khương", Decimal(1))}
    assert OrgUnit.objects.get(code="muongkhuong-xa").official_code == "02761"
    assert successors("laichau-city-tan-phong") == {("Phường Tân Phong", Decimal(1))}
    assert successors("laocai") == {("Tỉnh Lào Cai", Decimal(1))}
    assert successors("backan") == {("Tỉnh Thái Nguyên", Decimal(1))}
    assert {row.predecessor.name for row in OrgUnit.objects.get(code="laocai-2025").inheritances.all()} == {
        "Tỉnh Lào Cai",
        "Tỉnh Yên Bái",
    }


def test_a_divided_commune_names_its_successors_with_shares_adding_up_to_one() -> None:
    divided = (
        UnitSuccession.objects.values("predecessor").annotate(n=Count("pk")).filter(n__gt=1).order_by("predecessor")
    )
    assert divided.count() > 400
    row = divided.first()
    assert row is not None
    parts = UnitSuccession.objects.filter(predecessor_id=row["predecessor"])
    assert sum(part.share for part in parts) == Decimal(1)
    assert [part.is_default for part in parts].count(True) == 1


def test_former_provinces_belong_to_their_successors_tenant() -> None:
    backan = OrgUnit.objects.get(code="backan")
    assert backan.tenant.slug == "thai-nguyen"
    assert not OrgUnit.objects.filter(path__startswith=backan.path).exclude(tenant__slug="thai-nguyen").exists()
    assert OrgUnit.objects.get(name="Tỉnh Kon Tum", valid_to=BEFORE).tenant.slug == "quang-ngai"
    assert OrgUnit.objects.get(name="Tỉnh Yên Bái", valid_to=BEFORE).tenant.slug == "lao-cai"


def test_loading_again_changes_nothing_and_says_so() -> None:
    count = OrgUnit.objects.count()
    summary = admin_units_load(codes={}, tenant_names={})
    assert (summary.created, summary.updated, summary.reorganisation) == (0, 0, "already applied")
    assert OrgUnit.objects.count() == count


# ---- the API ----------------------------------------------------------------------------


def test_the_api_lists_units_valid_on_a_day_by_name_or_code(api_as: Any) -> None:
    client = api_as("laocai.planner")
    rows = client.get("/api/org-units/", {"valid_on": "2026-12-01", "code": "02761"}).json()["results"]
    [unit] = rows
    assert (unit["name"], unit["type"], unit["valid_from"]) == ("Xã Mường Khương", "xa", "2025-07-01")
    assert {p["code"] for p in unit["predecessors"]} >= {"muongkhuong-tt"}
    assert unit["latitude"] is not None
    before = client.get("/api/org-units/", {"valid_on": "2025-06-30", "code": "02761"}).json()["results"]
    assert [(u["name"], u["successors"][0]["code"]) for u in before] == [("Thị trấn Mường Khương", "muongkhuong-xa")]
    # By a former name: today's commune that took it over.
    found = client.get("/api/org-units/", {"valid_on": "2026-12-01", "q": "Tả Phời", "level": "commune"}).json()
    assert [u["name"] for u in found["results"]] == ["Xã Hợp Thành"]


def test_the_lineage_of_a_unit_across_the_change(api_as: Any) -> None:
    client = api_as("laocai.planner")
    unit = OrgUnit.objects.get(code="laocai-city-ta-phoi")
    body = client.get(f"/api/org-units/{unit.pk}/lineage/").json()
    hop_thanh = OrgUnit.objects.get(code="laocai-city-hop-thanh").successions.get().successor
    assert [row["successor"] for row in body["after"]] == [hop_thanh.pk]
    assert hop_thanh.code in {u["code"] for u in body["units"]}
    # Another province's user does not reach it.
    assert api_as("quangngai.planner").get(f"/api/org-units/{unit.pk}/lineage/").status_code == 404


def test_reorganisations_are_listed(api_as: Any) -> None:
    rows = api_as("laocai.station").get("/api/reorganisations/").json()["results"]
    assert [row["effective_on"] for row in rows] == ["2025-07-01"]


# ---- a reorganisation of the future ------------------------------------------------------


def test_a_merge_is_previewed_then_applied_ending_units_and_moving_roles() -> None:
    effective_on = date(2027, 1, 1)
    reorganisation = two_communes_merged(effective_on)
    roles_before = RoleAssignment.objects.filter(org_unit__code__in=["s02671", "s02680"]).count()
    preview = reorganisation_preview(reorganisation=reorganisation)
    assert preview.problems == []
    assert (preview.created, preview.moved, preview.successions) == (2, 1, 4)
    # The two communes end with their stations and sites.
    subtrees = [OrgUnit.objects.get(code=code).path for code in ["c02671", "c02680"]]
    assert preview.ended == sum(OrgUnit.objects.filter(path__startswith=path).count() for path in subtrees)
    assert preview.roles == roles_before
    assert OrgUnit.objects.get(code="c02680").valid_to is None  # a preview changes nothing

    reorganisation_apply(reorganisation=reorganisation, by=UserFactory.create(is_superuser=True))
    ended = OrgUnit.objects.get(code="c02680")
    assert ended.valid_to == date(2026, 12, 31)
    assert OrgUnit.objects.get(code="s02680").valid_to == date(2026, 12, 31)
    new = OrgUnit.objects.get(code="c99001")
    assert (new.valid_from, new.tenant.slug) == (effective_on, "lao-cai")
    site = OrgUnit.objects.get(code="site-02677")
    assert site.path.startswith(OrgUnit.objects.get(code="s99001").path)
    # laocai.station and camduong.station now report for the new station; each move is audited.
    assert RoleAssignment.objects.get(user__username="camduong.station").org_unit.code == "s99001"
    moved = AuditEvent.objects.filter(kind=AuditKind.ROLE_MOVED)
    assert set(moved.values_list("username", flat=True)) == {"camduong.station", "laocai.station"}
    # Applying twice is refused; nothing was deleted.
    with pytest.raises(Invalid):
        reorganisation_apply(reorganisation=reorganisation, by=None)


def test_a_reorganisation_with_wrong_shares_or_unknown_units_is_refused_whole() -> None:
    changes = Changes(
        ended=["c02671"],
        successions=[
            Succession(predecessor="c02671", successor="c02680", share=Decimal("0.5")),
            Succession(predecessor="c02671", successor="c00000", share=Decimal("0.3"), is_default=False),
        ],
    )
    reorganisation = Reorganisation.objects.create(
        title="sai", effective_on=date(2027, 1, 1), changes=changes.as_json()
    )
    problems = reorganisation_preview(reorganisation=reorganisation).problems
    assert any("c00000" in problem for problem in problems)
    assert any("0.8" in problem for problem in problems)
    with pytest.raises(Invalid):
        reorganisation_apply(reorganisation=reorganisation, by=None)
    assert OrgUnit.objects.get(code="c02671").valid_to is None
