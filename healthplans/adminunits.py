"""Vietnam's administrative units, from the maintained package `vietnamadminunits` (PyPI, MIT):
the 63 provinces, 696 districts and 10,040 communes in force until 30 June 2025, the 34 provinces
and 3,321 communes since 1 July 2025 with their official codes and coordinates, and the mapping
from old to new (an old commune divided between several new ones names them all, the default
one first-class, with the new communes' areas).

`admin_units_load` builds the tree from it, idempotently: first the former units (each former
province beneath the tenant of today's province it went into), then the 2025 change itself as a
`Reorganisation` applied through `healthplans.reorganisation` — today's provinces and communes,
a Trạm Y tế in each commune and a site (điểm trạm) for each former commune merged into it,
successions with their shares, each former province moved beneath today's. A second run changes
only names, types and coordinates the package corrects, and says what changed.

Shares of a divided commune: the package carries each new commune's area, not the area of the
part it took from the old one, so the share is the new communes' areas in proportion — an
approximation, said as such in the README.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from healthplans.models import OrgUnit, Reorganisation, Tenant
from healthplans.reorganisation import (
    Changes,
    Move,
    NewUnit,
    Succession,
    reorganisation_apply,
    units_create,
)

CHANGE_2025 = date(2025, 7, 1)
REORGANISATION_2025 = "Sắp xếp đơn vị hành chính cấp tỉnh và cấp xã năm 2025"
DECISIONS_2025 = (
    "Nghị quyết 202/2025/QH15 ngày 12/6/2025 của Quốc hội; Nghị quyết 203/2025/QH15 ngày 16/6/2025; "
    "các nghị quyết của Ủy ban Thường vụ Quốc hội về sắp xếp đơn vị hành chính cấp xã năm 2025"
)
NATION = "vn"

_TYPES = {
    "Tỉnh": OrgUnit.UnitType.PROVINCE,
    "Thành phố": OrgUnit.UnitType.CITY,
    "Huyện": OrgUnit.UnitType.RURAL_DISTRICT,
    "Quận": OrgUnit.UnitType.URBAN_DISTRICT,
    "Thị xã": OrgUnit.UnitType.TOWN,
    "Xã": OrgUnit.UnitType.COMMUNE,
    "Phường": OrgUnit.UnitType.WARD,
    "Thị trấn": OrgUnit.UnitType.TOWNSHIP,
    "Đặc khu": OrgUnit.UnitType.SPECIAL_ZONE,
}


def _type_of(name: str) -> str:
    return next((value for label, value in _TYPES.items() if name.startswith(label + " ")), "")


def _lowered(name: str) -> str:
    """“Xã Hợp Thành” → “xã Hợp Thành”, as a unit's name reads after “Trạm Y tế”."""
    return name[:1].lower() + name[1:]


def _coordinate(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


def _shares(areas: list[Any]) -> list[Decimal]:
    """Shares in proportion to the areas, adding up to exactly 1 (rounding lands on the last);
    equal shares where an area is unknown (the package has a few zeros)."""
    known = [Decimal(str(area)) if area else Decimal(0) for area in areas]
    if not all(known):
        known = [Decimal(1)] * len(areas)
    total = sum(known)
    shares = [(area / total).quantize(Decimal("0.0001"), ROUND_HALF_UP) for area in known]
    shares[-1] += Decimal(1) - sum(shares)
    return shares


def tenant_slug(short_name: str) -> str:
    """“Lào Cai” → lao-cai (đ has no decomposition, so it is spelt d first)."""
    return slugify(short_name.replace("đ", "d").replace("Đ", "D"))


def former_code(kind: str, code: str) -> str:
    return f"old-{kind}{code}"


def today_code(kind: str, code: str) -> str:
    return f"{kind}{code}"


def _province(row: dict[str, Any], code: str, tenant: str) -> NewUnit:
    """A province of the package's row (before or since 2025), under the nation, in `tenant`."""
    return NewUnit(
        code=code,
        name=row["province"],
        level=OrgUnit.Level.PROVINCE,
        parent=NATION,
        unit_type=_type_of(row["province"]),
        official_code=row["provinceCode"],
        latitude=_coordinate(row["provinceLat"]),
        longitude=_coordinate(row["provinceLon"]),
        tenant=tenant,
    )


@dataclass
class Official:
    """The package's rows, read once."""

    today: list[dict[str, Any]]
    former: list[dict[str, Any]]
    provinces: dict[str, list[str]]  # today's province key → the former provinces' keys
    merged: dict[str, dict[str, list[str]]]  # province key → today's commune key → former keys
    divided: dict[str, dict[str, list[dict[str, Any]]]]  # province key → former key → new communes

    @classmethod
    def read(cls) -> "Official":
        from vietnamadminunits.converter import converter_2025
        from vietnamadminunits.database import get_data

        return cls(
            today=get_data(table="admin_units"),
            former=get_data(table="admin_units_legacy"),
            provinces=converter_2025.DICT_PROVINCE,
            merged=converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED,
            divided=converter_2025.DICT_PROVINCE_WARD_DIVIDED,
        )


@dataclass
class LoadSummary:
    created: int = 0
    updated: int = 0
    reorganisation: str = ""
    changes: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self, data: Official, codes: Mapping[str, str]) -> None:
        self.data = data
        self.codes = codes  # generated code → the code the fixtures know the unit by
        self.province_of_former: dict[str, dict[str, Any]] = {}
        today_provinces = {row["provinceKey"]: row for row in data.today}
        for key, former_keys in data.provinces.items():
            for former in former_keys:
                self.province_of_former[former] = today_provinces[key]

    def code(self, generated: str) -> str:
        return self.codes.get(generated, generated)

    def former_units(self) -> list[NewUnit]:
        rows: dict[str, NewUnit] = {}
        for row in self.data.former:
            today = self.province_of_former[row["provinceKey"]]
            province = self.code(former_code("p", row["provinceCode"]))
            district = self.code(former_code("d", row["districtCode"]))
            rows.setdefault(province, _province(row, province, tenant_slug(today["provinceShort"])))
            rows.setdefault(
                district,
                NewUnit(
                    code=district,
                    name=row["district"],
                    level=OrgUnit.Level.DISTRICT,
                    parent=province,
                    unit_type=(row["districtType"] and _TYPES.get(row["districtType"], "")) or "",
                    official_code=row["districtCode"],
                    latitude=_coordinate(row["districtLat"]),
                    longitude=_coordinate(row["districtLon"]),
                ),
            )
            if row["wardCode"]:
                commune = self.code(former_code("c", row["wardCode"]))
                rows[commune] = NewUnit(
                    code=commune,
                    name=row["ward"],
                    level=OrgUnit.Level.COMMUNE,
                    parent=district,
                    unit_type=_TYPES.get(row["wardType"] or "", ""),
                    official_code=row["wardCode"],
                    latitude=_coordinate(row["wardLat"]),
                    longitude=_coordinate(row["wardLon"]),
                )
        return list(rows.values())

    def former_by_key(self) -> dict[str, dict[str, Any]]:
        """Former communes (and the island districts that had none) by the package's key."""
        return {f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey'] or ''}": row for row in self.data.former}

    def former_unit_code(self, row: dict[str, Any]) -> str:
        if row["wardCode"]:
            return self.code(former_code("c", row["wardCode"]))
        return self.code(former_code("d", row["districtCode"]))

    def changes_2025(self, stations: Mapping[str, str]) -> Changes:
        """The 2025 change; `stations` maps a former commune's code to its station's code where the
        tree holds one (a station the documents name), which becomes a site of today's station."""
        changes = Changes()
        today_by_key: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.data.today:
            today_by_key[(row["provinceKey"], row["wardKey"])] = row
        provinces: dict[str, str] = {}
        for row in self.data.today:
            province = self.code(today_code("p", row["provinceCode"]))
            if province not in provinces.values():
                provinces[row["provinceKey"]] = province
                changes.created.append(_province(row, province, tenant_slug(row["provinceShort"])))
            commune = self.code(today_code("c", row["wardCode"]))
            changes.created.append(
                NewUnit(
                    code=commune,
                    name=row["ward"],
                    level=OrgUnit.Level.COMMUNE,
                    parent=province,
                    unit_type=_TYPES.get(row["wardType"], ""),
                    official_code=row["wardCode"],
                    latitude=_coordinate(row["wardLat"]),
                    longitude=_coordinate(row["wardLon"]),
                )
            )
            changes.created.append(
                NewUnit(
                    code=self.station_code(row["wardCode"]),
                    name=f"Trạm Y tế {_lowered(row['ward'])}",
                    level=OrgUnit.Level.FACILITY,
                    facility_kind=OrgUnit.FacilityKind.STATION,
                    parent=commune,
                    latitude=_coordinate(row["wardLat"]),
                    longitude=_coordinate(row["wardLon"]),
                )
            )
        for former_key, key in ((f, k) for k, formers in self.data.provinces.items() for f in formers):
            former = next(r for r in self.data.former if r["provinceKey"] == former_key)
            code = self.code(former_code("p", former["provinceCode"]))
            changes.ended.append(code)
            changes.successions.append(Succession(predecessor=code, successor=provinces[key]))
            changes.moved.append(Move(unit=code, parent=provinces[key]))
        former_by_key = self.former_by_key()
        for province_key, communes in self.data.merged.items():
            for ward_key, former_keys in communes.items():
                today = today_by_key[(province_key, ward_key)]
                for former_key in former_keys:
                    self.succeed(changes, former_by_key[former_key], today, Decimal(1), True, stations)
        for province_key, formers in self.data.divided.items():
            for former_key, parts in formers.items():
                shares = _shares([part["newWardAreaKm2"] for part in parts])
                for part, share in zip(parts, shares, strict=True):
                    today = today_by_key[(province_key, part["newWardKey"])]
                    default = bool(part["isDefaultNewWard"])
                    self.succeed(changes, former_by_key[former_key], today, share, default, stations)
        return changes

    def station_code(self, ward_code: str) -> str:
        return self.code(today_code("s", ward_code))

    def succeed(
        self,
        changes: Changes,
        former: dict[str, Any],
        today: dict[str, Any],
        share: Decimal,
        default: bool,
        stations: Mapping[str, str],
    ) -> None:
        code = self.former_unit_code(former)
        changes.successions.append(
            Succession(
                predecessor=code,
                successor=self.code(today_code("c", today["wardCode"])),
                share=share,
                is_default=default,
            )
        )
        if not default or not former["wardCode"]:
            return
        # The former commune's station carries on as a site of today's station.
        site = self.code(today_code("site-", former["wardCode"]))
        changes.created.append(
            NewUnit(
                code=site,
                name=f"Điểm trạm {_lowered(former['ward'])}",
                level=OrgUnit.Level.FACILITY,
                facility_kind=OrgUnit.FacilityKind.SITE,
                parent=self.station_code(today["wardCode"]),
                latitude=_coordinate(former["wardLat"]),
                longitude=_coordinate(former["wardLon"]),
            )
        )
        if code in stations:
            changes.successions.append(Succession(predecessor=stations[code], successor=site))


def tenants_ensure(data: Official, names: Mapping[str, str]) -> dict[str, Tenant]:
    """A tenant per province of today (its Department of Health), named as the fixtures name it
    or plainly (“Sở Y tế tỉnh Lào Cai”)."""
    tenants = {tenant.slug: tenant for tenant in Tenant.objects.all()}
    for row in data.today:
        slug = tenant_slug(row["provinceShort"])
        name = names.get(slug) or f"Sở Y tế {_lowered(row['province'])}"
        tenant = tenants.get(slug)
        if tenant is None:
            tenants[slug] = Tenant.objects.create(slug=slug, name=name)
        elif tenant.name != name:
            tenant.name = name
            tenant.save(update_fields=["name"])
    return tenants


_REFRESHED = ("name", "unit_type", "official_code", "latitude", "longitude")


def _refresh(rows: list[NewUnit], summary: LoadSummary) -> list[NewUnit]:
    """Updates the units that exist from the package's rows; returns the rows still missing."""
    existing = OrgUnit.objects.in_bulk([row.code for row in rows], field_name="code")
    changed = []
    for row in rows:
        unit = existing.get(row.code)
        if unit is None:
            continue
        fields = [name for name in _REFRESHED if getattr(row, name) != getattr(unit, name)]
        if fields:
            summary.changes += [
                f"{unit.code}: {name} {getattr(unit, name)!r} → {getattr(row, name)!r}" for name in fields
            ]
            for name in fields:
                setattr(unit, name, getattr(row, name))
            changed.append(unit)
    OrgUnit.objects.bulk_update(changed, list(_REFRESHED), batch_size=2000)
    summary.updated += len(changed)
    return [row for row in rows if row.code not in existing]


@transaction.atomic
def admin_units_load(
    *,
    codes: Mapping[str, str] | None = None,
    tenant_names: Mapping[str, str] | None = None,
    before_2025: Any = None,
) -> LoadSummary:
    """Loads or updates the units (see the module's docstring). `codes` gives fixture codes to
    units the documents name; `before_2025`, if given, is called once the former units exist and
    before the 2025 change is applied (the seed loader places the documents' own facilities)."""
    data = Official.read()
    builder = _Builder(data, codes or {})
    summary = LoadSummary()
    tenants_ensure(data, tenant_names or {})
    if not OrgUnit.objects.filter(code=NATION).exists():
        OrgUnit.objects.add_root(create_kwargs={"code": NATION, "name": "Việt Nam", "level": OrgUnit.Level.NATION})
    missing = _refresh(builder.former_units(), summary)
    reorganisation = Reorganisation.objects.filter(title=REORGANISATION_2025, effective_on=CHANGE_2025).first()
    if missing and reorganisation is None:
        units_create(missing, valid_from=None)
        summary.created += len(missing)
    elif missing:
        summary.changes.append(f"{len(missing)} former units the package now lists are not in the tree")
    if before_2025 is not None:
        before_2025()
    stations = _former_stations()
    changes = builder.changes_2025(stations)
    if reorganisation is None:
        reorganisation = Reorganisation.objects.create(
            title=REORGANISATION_2025, decision=DECISIONS_2025, effective_on=CHANGE_2025, changes=changes.as_json()
        )
        reorganisation_apply(reorganisation=reorganisation, by=None)
        summary.created += len(changes.created)
        summary.reorganisation = "applied"
    else:
        new_missing = _refresh(changes.created, summary)
        summary.reorganisation = "already applied"
        if new_missing:
            summary.changes.append(f"{len(new_missing)} units of today the package now lists are not in the tree")
    return summary


def _former_stations() -> dict[str, str]:
    """Former communes' stations in the tree (those the documents name): commune code → station code."""
    stations: dict[str, str] = {}
    communes = dict(
        OrgUnit.objects.filter(level=OrgUnit.Level.COMMUNE, valid_from__isnull=True).values_list("path", "code")
    )
    by_parent: dict[str, list[str]] = defaultdict(list)
    for path, code in OrgUnit.objects.filter(
        facility_kind=OrgUnit.FacilityKind.STATION, valid_from__isnull=True
    ).values_list("path", "code"):
        by_parent[path[: -OrgUnit.steplen]].append(code)
    for path, station_codes in by_parent.items():
        if path in communes:
            stations[communes[path]] = station_codes[0]
    return stations
