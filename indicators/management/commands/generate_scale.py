"""Generate national-size data for the benchmarks: provinces, communes with their health stations,
one national plan of 50 indicators reported every half-year for ten years, and the stations'
figures with their history.

    manage.py generate_scale --scale province   # 1 province, 150 stations, ~150,000 figures
    manage.py generate_scale --scale nation     # 34 provinces, 3,321 stations, ~3.3 million

Deterministic: the same --seed gives the same rows. The figures are written with COPY, as the
services would have left them after create → submit → approve | return (status, version, who and
when); their history (ActualEvent) is derived from those rows in one INSERT … SELECT per step. The
one thing the services would also have done and this does not: a notification per returned figure.
It writes around the figure services on purpose (tests/core/test_write_paths.py names it): they
check, lock and write through the ORM, which for 3.3 million figures and their history would take
hours, and the benchmarks need the rows, not the path.
Every row satisfies the database's constraints; units are placed with treebeard's path scheme.
"""

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from healthplans.models import OrgUnit, Role, RoleAssignment, Tenant, User
from healthplans.periods import plan_periods
from healthplans.workflow import Action, ReviewStatus
from indicators.models import (
    Actual,
    ActualEvent,
    Baseline,
    Direction,
    EntryLevel,
    Group,
    Indicator,
    Rollup,
    Target,
    UnitKind,
)
from plans.models import Plan

# (provinces, stations) per scale; "tiny" and "small" are for tests.
SCALES = {"tiny": (2, 6), "small": (2, 24), "province": (1, 150), "nation": (34, 3321)}
PREFIX = "scale"  # of every code, slug and user name the generator makes
START_YEAR, END_YEAR = 2016, 2025
INDICATORS = 50
PASSWORD_NOTE = "the demo password (settings.DEMO_PASSWORD)"  # noqa: S105  # names the setting, holds no password
RETURN_MESSAGE = "Đề nghị kiểm tra lại số liệu"


@dataclass(frozen=True)
class Kind:
    """An indicator shape: how its figures roll up and what they look like."""

    name: str
    unit: str
    unit_kind: str
    rollup: str
    direction: str


KINDS = [
    Kind("Số lượt khám chữa bệnh tại trạm y tế", "lượt", UnitKind.COUNT, Rollup.SUM, Direction.HIGHER),
    Kind("Số trẻ em dưới 1 tuổi được tiêm chủng đầy đủ", "trẻ", UnitKind.COUNT, Rollup.SUM, Direction.HIGHER),
    Kind("Số người được quản lý tăng huyết áp", "người", UnitKind.COUNT, Rollup.SUM, Direction.HIGHER),
    Kind("Số ca mắc sốt xuất huyết", "ca", UnitKind.COUNT, Rollup.SUM, Direction.LOWER),
    Kind("Tỷ lệ phụ nữ đẻ được khám thai ít nhất 4 lần", "%", UnitKind.PERCENT, Rollup.POOLED, Direction.HIGHER),
    Kind("Tỷ lệ dân số được quản lý sức khỏe", "%", UnitKind.PERCENT, Rollup.POOLED, Direction.HIGHER),
    Kind("Tỷ lệ trẻ được uống vitamin A", "%", UnitKind.PERCENT, Rollup.POOLED, Direction.HIGHER),
    Kind("Tỷ lệ hộ gia đình có nhà tiêu hợp vệ sinh", "%", UnitKind.PERCENT, Rollup.POOLED, Direction.HIGHER),
    Kind("Tỷ lệ trẻ dưới 5 tuổi suy dinh dưỡng thể thấp còi", "%", UnitKind.PERCENT, Rollup.POOLED, Direction.LOWER),
    Kind("Số bác sĩ làm việc tại trạm", "người", UnitKind.COUNT, Rollup.NONE, Direction.HIGHER),
]


@dataclass(frozen=True)
class Shape:
    number: int
    kind: Kind
    level: int  # a station's typical count per half-year, or its typical rate


def _shapes(rng: random.Random) -> list[Shape]:
    shapes = []
    for n in range(INDICATORS):
        kind = KINDS[n % len(KINDS)]
        if kind.unit_kind == UnitKind.PERCENT:
            level = rng.randint(10, 30) if kind.direction == Direction.LOWER else rng.randint(60, 95)
        elif kind.rollup == Rollup.NONE:
            level = rng.randint(1, 4)
        else:
            level = rng.randint(20, 600)
        shapes.append(Shape(n + 1, kind, level))
    return shapes


def _tsv(value: Any) -> str:
    return "\\N" if value is None else str(value)


def _at(period_end: datetime, days: int, rng: random.Random) -> datetime:
    return period_end + timedelta(days=days, seconds=rng.randint(8 * 3600, 17 * 3600))


class Command(BaseCommand):
    help = "Generate benchmark data: provinces, stations, a national plan and ten years of figures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), default="province")
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument("--prefix", default=PREFIX, help="of the generated codes, slugs and user names")

    def handle(self, *args: Any, scale: str, seed: int, prefix: str, verbosity: int, **options: Any) -> None:
        if Plan.objects.filter(slug=plan_slug(prefix)).exists():
            raise CommandError(f"This database holds generated data already (plan {plan_slug(prefix)}).")
        provinces, stations = SCALES[scale]
        started = time.monotonic()
        with transaction.atomic():
            figures = generate(provinces=provinces, stations=stations, seed=seed, prefix=prefix)
        if verbosity:
            self.stdout.write(
                f"Generated {provinces} province(s), {stations} stations and {figures} figures "
                f"in {time.monotonic() - started:.0f} s; users {prefix}.planner, "
                f"{prefix}.reviewer, {prefix}.reporter, {prefix}.national with {PASSWORD_NOTE}."
            )
        if connection.in_atomic_block:
            return  # VACUUM runs outside transactions only (not inside a test's)
        # Statistics for the planner, and the visibility map that index-only scans need.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def plan_slug(prefix: str) -> str:
    return f"{prefix}-national-plan"


def _root() -> OrgUnit:
    root = OrgUnit.objects.get_root_nodes().filter(level=OrgUnit.Level.NATION).first()
    if root is None:
        root = OrgUnit.objects.add_root(create_kwargs={"code": "vn", "name": "Việt Nam", "level": "nation"})
    return root


def _children_paths(parent: OrgUnit, count: int) -> list[str]:
    return [OrgUnit._get_path(parent.path, parent.depth + 1, n) for n in range(1, count + 1)]


def _units(root: OrgUnit, provinces: int, stations: int, prefix: str) -> list[tuple[OrgUnit, list[OrgUnit]]]:
    """Provinces under the root, each with its communes and one station per commune."""
    per_province = [stations // provinces + (1 if n < stations % provinces else 0) for n in range(provinces)]
    result = []
    for p, count in enumerate(per_province, start=1):
        tenant = Tenant.objects.create(slug=f"{prefix}-p{p:02d}", name=f"Tỉnh mẫu {p:02d}")
        province = OrgUnit.objects.add_child(
            OrgUnit.objects.get(pk=root.pk),
            create_kwargs={
                "code": f"{prefix}-p{p:02d}",
                "name": f"Tỉnh mẫu {p:02d}",
                "level": OrgUnit.Level.PROVINCE,
                "tenant": tenant,
            },
        )
        communes = [
            OrgUnit(
                path=path,
                depth=province.depth + 1,
                numchild=1,
                code=f"{province.code}-x{c:04d}",
                name=f"Xã mẫu {c} ({province.name})",
                level=OrgUnit.Level.COMMUNE,
                tenant=tenant,
            )
            for c, path in enumerate(_children_paths(province, count), start=1)
        ]
        OrgUnit.objects.bulk_create(communes, batch_size=1000)
        province_stations = [
            OrgUnit(
                path=_children_paths(commune, 1)[0],
                depth=commune.depth + 1,
                numchild=0,
                code=f"{commune.code}-tyt",
                name=f"Trạm Y tế {commune.name}",
                level=OrgUnit.Level.FACILITY,
                facility_kind=OrgUnit.FacilityKind.STATION,
                tenant=tenant,
            )
            for commune in communes
        ]
        OrgUnit.objects.bulk_create(province_stations, batch_size=1000)
        OrgUnit.objects.filter(pk=province.pk).update(numchild=count)
        result.append((province, province_stations))
    return result


def _users(root: OrgUnit, first_province: OrgUnit, prefix: str) -> dict[str, User]:
    password = make_password(settings.DEMO_PASSWORD)
    roles = {
        "planner": (first_province, Role.PLANNER),
        "reviewer": (first_province, Role.REVIEWER),
        "reporter": (first_province, Role.STATION_REPORTER),
        "national": (root, Role.NATIONAL_VIEWER),
    }
    users = {}
    for name, (unit, role) in roles.items():
        user = User.objects.create(username=f"{prefix}.{name}", password=password)
        RoleAssignment.objects.create(user=user, org_unit=unit, role=role)
        users[name] = user
    return users


def _plan(root: OrgUnit, shapes: list[Shape], stations: int, prefix: str) -> tuple[Plan, list[Indicator]]:
    plan = Plan.objects.create(
        slug=plan_slug(prefix),
        kind=Plan.Kind.STRATEGY,
        issuer="Bộ Y tế",
        issuer_org_unit=root,
        title="Kế hoạch mẫu: chăm sóc sức khỏe ban đầu tại trạm y tế xã 2016–2025",
        start_year=START_YEAR,
        end_year=END_YEAR,
        reporting_frequencies=[Plan.Frequency.HALF_YEAR],
    )
    indicators = Indicator.objects.bulk_create(
        [
            Indicator(
                plan=plan,
                order=shape.number,
                number=str(shape.number),
                name=f"{shape.kind.name} ({shape.number})",
                group=[Group.INPUT, Group.ACTIVITY, Group.OUTPUT][shape.number % 3],
                unit=shape.kind.unit,
                unit_kind=shape.kind.unit_kind,
                direction=shape.kind.direction,
                rollup=shape.kind.rollup,
                entry_level=EntryLevel.STATION,
            )
            for shape in shapes
        ]
    )
    baselines, targets = [], []
    for indicator, shape in zip(indicators, shapes, strict=True):
        # Counts are targeted for the whole country in a year; rates and the rest per unit.
        whole = shape.level * 2 * stations if shape.kind.rollup == Rollup.SUM else shape.level
        baselines.append(Baseline(indicator=indicator, year=START_YEAR - 1, value=Decimal(whole), text=str(whole)))
        lower = shape.kind.direction == Direction.LOWER
        for year in range(START_YEAR, END_YEAR + 1):
            step = Decimal(1) + Decimal(year - START_YEAR) * Decimal("0.01") * (-1 if lower else 1)
            value = (Decimal(whole) * step).quantize(Decimal("0.1") if shape.kind.unit_kind == "percent" else 1)
            if shape.kind.unit_kind == UnitKind.PERCENT:
                value = min(value, Decimal(100))
            targets.append(
                Target(
                    indicator=indicator,
                    year=year,
                    comparator="<=" if lower else ">=",
                    value=value,
                    text=f"{'≤' if lower else '≥'} {value}",
                )
            )
    Baseline.objects.bulk_create(baselines)
    Target.objects.bulk_create(targets)
    return plan, indicators


def _status(rng: random.Random, recent: bool) -> str:
    roll = rng.random()
    if recent:
        bounds = [(0.7, ReviewStatus.APPROVED), (0.85, ReviewStatus.SUBMITTED), (0.9, ReviewStatus.RETURNED)]
    else:
        bounds = [(0.98, ReviewStatus.APPROVED), (0.99, ReviewStatus.SUBMITTED), (0.995, ReviewStatus.RETURNED)]
    return next((status for bound, status in bounds if roll < bound), ReviewStatus.DRAFT)


def _figure(shape: Shape, rng: random.Random) -> tuple[Decimal, int | None, int | None]:
    drift = rng.uniform(-0.15, 0.15)
    if shape.kind.unit_kind == UnitKind.PERCENT:
        denominator = rng.randint(300, 3000)
        numerator = min(denominator, max(0, round(shape.level * (1 + drift) * denominator / 100)))
        # As resolve_value computes it.
        value = (Decimal(numerator) / Decimal(denominator) * 100).quantize(Decimal("0.000001"))
        return value, numerator, denominator
    return Decimal(max(0, round(shape.level * (1 + drift)))), None, None


def _actual_rows(
    units: list[tuple[OrgUnit, list[OrgUnit]]],
    indicators: list[Indicator],
    shapes: list[Shape],
    users: dict[str, User],
    rng: random.Random,
) -> Iterator[str]:
    periods = plan_periods(start_year=START_YEAR, end_year=END_YEAR, frequencies=[Plan.Frequency.HALF_YEAR])
    planner, reporter, reviewer = users["planner"].pk, users["reporter"].pk, users["reviewer"].pk
    for _province, stations in units:
        for position, station in enumerate(stations):
            for index, period in enumerate(periods):
                # Each province's first station has not reported its last half-year yet.
                if position == 0 and index == len(periods) - 1:
                    continue
                end = datetime(period.end.year, period.end.month, period.end.day, tzinfo=UTC)
                recent = index >= len(periods) - 2
                for indicator, shape in zip(indicators, shapes, strict=True):
                    status = _status(rng, recent)
                    value, numerator, denominator = _figure(shape, rng)
                    created = _at(end, rng.randint(1, 5), rng)
                    submitted: datetime | None = None
                    reviewed: datetime | None = None
                    version = 1
                    if status != ReviewStatus.DRAFT:
                        submitted, version = created + timedelta(days=rng.randint(0, 3)), 2
                    if submitted is not None and status in {ReviewStatus.APPROVED, ReviewStatus.RETURNED}:
                        reviewed, version = submitted + timedelta(days=rng.randint(1, 7)), 3
                    author = reporter if position % 2 else planner
                    yield (
                        "\t".join(
                            _tsv(item)
                            for item in (
                                status,
                                RETURN_MESSAGE if status == ReviewStatus.RETURNED else "",
                                version,
                                author,
                                created.isoformat(),
                                author if submitted else None,
                                submitted.isoformat() if submitted else None,
                                reviewer if reviewed else None,
                                reviewed.isoformat() if reviewed else None,
                                station.tenant_id,
                                indicator.pk,
                                station.pk,
                                period.code,
                                value,
                                numerator,
                                denominator,
                                "",
                                "",
                                "f",
                            )
                        )
                        + "\n"
                    )


ACTUAL_COLUMNS = [
    "status",
    "message",
    "version",
    "created_by_id",
    "created_at",
    "submitted_by_id",
    "submitted_at",
    "reviewed_by_id",
    "reviewed_at",
    "tenant_id",
    "indicator_id",
    "org_unit_id",
    "period",
    "value",
    "numerator",
    "denominator",
    "note",
    "source",
    "is_demo",
]


def _copy_actuals(rows: Iterator[str]) -> int:
    count = 0
    table = Actual._meta.db_table
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(ACTUAL_COLUMNS)}) FROM STDIN") as copy:
        chunk: list[str] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == 20000:
                copy.write("".join(chunk))
                count += len(chunk)
                chunk = []
        copy.write("".join(chunk))
        count += len(chunk)
    return count


def _history(plan: Plan) -> None:
    """Each figure's history as the services record it: created, then submitted, then reviewed."""
    events, actuals, indicators = ActualEvent._meta.db_table, Actual._meta.db_table, Indicator._meta.db_table
    steps = [
        (Action.CREATE, "created_at", "created_by_id", "NULL", "a.note", "TRUE"),
        (Action.SUBMIT, "submitted_at", "submitted_by_id", "a.value", "a.note", "a.submitted_at IS NOT NULL"),
        (Action.APPROVE, "reviewed_at", "reviewed_by_id", "a.value", "''", "a.status = 'approved'"),
        (Action.RETURN, "reviewed_at", "reviewed_by_id", "a.value", "a.message", "a.status = 'returned'"),
    ]
    with connection.cursor() as cursor:
        for action, at, by, old, message, condition in steps:
            # The names are the models' own tables and fixed expressions above; values are parameters.
            cursor.execute(
                f"INSERT INTO {events} (actual_id, at, by_id, action, old_value, new_value, message) "  # noqa: S608
                f"SELECT a.id, a.{at}, a.{by}, %s, {old}, a.value, {message} FROM {actuals} a "
                f"JOIN {indicators} i ON i.id = a.indicator_id WHERE i.plan_id = %s AND {condition} ORDER BY a.id",
                [action.value, plan.pk],
            )


def generate(*, provinces: int, stations: int, seed: int, prefix: str = PREFIX) -> int:
    """Write the units, users, plan and figures; returns the number of figures."""
    rng = random.Random(seed)  # noqa: S311  # repeatable demo data, not a secret
    root = _root()
    units = _units(root, provinces, stations, prefix)
    users = _users(root, units[0][0], prefix)
    shapes = _shapes(rng)
    plan, indicators = _plan(root, shapes, stations, prefix)
    count = _copy_actuals(_actual_rows(units, indicators, shapes, users, rng))
    _history(plan)
    return count
