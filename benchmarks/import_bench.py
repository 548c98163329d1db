"""Spreadsheet import benchmark: 10,000 figures of one period, checked (dry run) and written
(confirm), against a raw COPY of the same rows.

    DJANGO_SETTINGS_MODULE=healthplans.settings.test .venv/bin/python benchmarks/import_bench.py [--json PATH]

creates a PostgreSQL database of its own next to DATABASE_URL's, migrates and seeds it (without
the demo figures), and drops it at the end (--keep keeps it; --database-url uses an already
seeded one). There it gives Lào Cai city's plan enough station indicators and commune stations
(bulk-created) for 10,000 empty cells of 2024H1, exports the entry template as the planner,
fills every value cell, and times what a worker does with the file: reading it and the import,
as a dry run and as a confirmed import (rolled back after each run, so every run starts from the
same empty cells). The baseline is a COPY of the same 10,000 rows into the figures' table.

Prints a table, then a JSON list of objects {"name", "scale", "p50_ms", "p95_ms", "queries",
"baseline_ms", "ratio", "n"}; --json PATH also appends them to the JSON list in PATH (created
if missing).
"""

import argparse
import io
import json
import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/healthplans"
PLAN = "laocai-city-de-an-07-2024"
PLANNER = "laocai.planner"
PERIOD = "2024H1"
CELLS = 10_000
INDICATORS = 20


def grow_plan() -> None:
    """Station indicators and stations until the plan has CELLS cells of PERIOD."""
    from django.db.models import Max

    from healthplans.models import OrgUnit
    from indicators.models import Direction, EntryLevel, Indicator, Rollup, UnitKind
    from plans.models import Plan

    plan = Plan.objects.select_related("issuer_org_unit").get(slug=PLAN)
    existing = Indicator.objects.filter(plan=plan, entry_level=EntryLevel.STATION).count()
    top = Indicator.objects.filter(plan=plan).aggregate(top=Max("order"))["top"] or 0
    Indicator.objects.bulk_create(
        Indicator(
            tenant=plan.tenant,
            plan=plan,
            order=top + n,
            number=f"B.{n}",
            name=f"Chỉ số thử {n}",
            unit="lượt",
            unit_kind=UnitKind.COUNT,
            direction=Direction.HIGHER,
            rollup=Rollup.SUM,
            entry_level=EntryLevel.STATION,
        )
        for n in range(1, max(0, INDICATORS - existing) + 1)
    )
    indicators = Indicator.objects.filter(plan=plan, entry_level=EntryLevel.STATION).count()
    stations = OrgUnit.objects.filter(
        path__startswith=plan.issuer_org_unit.path, level="facility", facility_kind="station"
    ).count()
    wanted = math.ceil(CELLS / indicators)
    parent = plan.issuer_org_unit
    for n in range(wanted - stations):
        OrgUnit.objects.add_child(
            parent,
            create_kwargs={
                "code": f"bench-station-{n}",
                "name": f"Trạm Y tế thử {n}",
                "level": "facility",
                "facility_kind": "station",
                "tenant": plan.tenant,
            },
        )
        parent = OrgUnit.objects.get(pk=parent.pk)  # treebeard counts children on the stored parent


def filled_template() -> bytes:
    """The planner's 2024H1 template with CELLS value cells filled, as .xlsx."""
    from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

    from healthplans.models import User
    from healthplans.spreadsheets.registry import export_bytes
    from indicators.spreadsheets.figures import COL_VALUE
    from plans.models import Plan

    planner = User.objects.get(username=PLANNER)
    plan = Plan.objects.select_related("issuer_org_unit").get(slug=PLAN)
    rows = list(
        load_workbook(
            io.BytesIO(export_bytes(fetched_by=planner, plan=plan, kind="actuals", fmt="xlsx", period=PERIOD))
        ).active.iter_rows(values_only=True)
    )
    value = rows[0].index(COL_VALUE)
    workbook = Workbook()
    workbook.active.append(rows[0])
    for n, row in enumerate(rows[1 : CELLS + 1], start=1):
        cells = list(row)
        cells[value] = str(n % 97)
        workbook.active.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def timed(run: Callable[[], Any]) -> tuple[float, int]:
    """Milliseconds and queries of one run, rolled back afterwards."""
    from django.db import connection, transaction

    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(count):
        started = time.perf_counter()
        run()
        elapsed = (time.perf_counter() - started) * 1000
        transaction.set_rollback(True)
    return elapsed, queries


def import_run(content: bytes, *, dry_run: bool) -> Callable[[], None]:
    from healthplans.models import User
    from healthplans.spreadsheets.files import read_table
    from healthplans.spreadsheets.jobs import run_import
    from plans.models import Plan

    planner = User.objects.get(username=PLANNER)
    plan = Plan.objects.select_related("issuer_org_unit").get(slug=PLAN)

    def run() -> None:
        table = read_table(content, name="bench.xlsx")
        result = run_import(plan=plan, kind="actuals", table=table, by=planner, dry_run=dry_run, import_id="bench")
        expected = "valid" if dry_run else "imported"
        if result.status != expected or len(result.rows) != CELLS:
            raise SystemExit(f"import {result.status} with {len(result.rows)} rows: {result.errors[:3]}")

    return run


def copy_run(content: bytes) -> Callable[[], None]:
    """The same rows straight into the table with COPY: no checks, no history, no versions."""
    from django.db import connection

    from healthplans.models import OrgUnit, User
    from healthplans.spreadsheets.files import read_table
    from indicators.models import Indicator
    from indicators.spreadsheets.figures import ACTUAL_HEADERS, COL_NUMBER, COL_ORG_CODE, COL_VALUE
    from plans.models import Plan

    plan = Plan.objects.get(slug=PLAN)
    planner = User.objects.get(username=PLANNER)
    indicators = dict(Indicator.objects.filter(plan=plan).values_list("number", "pk"))
    units = {code: (pk, tenant) for code, pk, tenant in OrgUnit.objects.values_list("code", "pk", "tenant_id")}
    table = read_table(content, name="bench.xlsx")
    number, code, value = (ACTUAL_HEADERS.index(c) for c in (COL_NUMBER, COL_ORG_CODE, COL_VALUE))
    columns = (
        "status, message, version, created_at, tenant_id, indicator_id, org_unit_id, period, note, source, is_demo, "
        "value, created_by_id"
    )

    def run() -> None:
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY indicators_actual ({columns}) FROM STDIN") as copy,
        ):
            for row in table[1:]:
                unit, tenant = units[row[code]]
                copy.write_row(
                    (
                        "draft",
                        "",
                        1,
                        "now",
                        tenant,
                        indicators[row[number]],
                        unit,
                        PERIOD,
                        "",
                        "",
                        False,
                        row[value],
                        planner.pk,
                    )
                )

    return run


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def measure(repeat: int) -> list[dict[str, Any]]:
    import django

    django.setup()
    grow_plan()
    content = filled_template()
    copies = [timed(copy_run(content))[0] for _ in range(repeat)]
    baseline = statistics.median(copies)
    runs: dict[str, list[tuple[float, int]]] = {"dry_run": [], "confirm": []}
    for _ in range(repeat):
        runs["dry_run"].append(timed(import_run(content, dry_run=True)))
        runs["confirm"].append(timed(import_run(content, dry_run=False)))
    both = [dry[0] + confirm[0] for dry, confirm in zip(runs["dry_run"], runs["confirm"], strict=True)]
    results = []
    for name, times, queries in [
        ("import_10k_dry_run", [t for t, _q in runs["dry_run"]], runs["dry_run"][0][1]),
        ("import_10k_confirm", [t for t, _q in runs["confirm"]], runs["confirm"][0][1]),
        ("import_10k", both, runs["dry_run"][0][1] + runs["confirm"][0][1]),
    ]:
        p50 = statistics.median(times)
        results.append(
            {
                "name": name,
                "scale": "province",
                "p50_ms": round(p50, 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "queries": queries,
                "baseline_ms": round(baseline, 1),
                "ratio": round(p50 / baseline, 1),
                "n": len(times),
            }
        )
    return results


def table(rows: list[dict[str, Any]]) -> str:
    keys = ["name", "p50_ms", "p95_ms", "queries", "baseline_ms", "ratio", "n"]
    widths = [20, 9, 9, 8, 12, 6, 3]
    lines = ["  ".join(k.ljust(w) if k == "name" else k.rjust(w) for k, w in zip(keys, widths, strict=True))]
    for row in rows:
        lines.append(
            "  ".join(
                str(row[k]).ljust(w) if k == "name" else str(row[k]).rjust(w) for k, w in zip(keys, widths, strict=True)
            )
        )
    return "\n".join(lines)


def append_json(path: Path, rows: list[dict[str, Any]]) -> None:
    existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() and path.stat().st_size else []
    path.write_text(json.dumps([*existing, *rows], indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="an already migrated and seeded database to use")
    parser.add_argument("--keep", action="store_true", help="keep the database this run creates")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="append the results to the JSON list in PATH")
    args = parser.parse_args()

    from report_bench import create_database, drop_database

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthplans.settings.test")
    os.environ["LOG_LEVEL"] = "WARNING"
    server_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    name = f"healthplans_bench_{uuid.uuid4().hex[:8]}"
    created = args.database_url is None
    os.environ["DATABASE_URL"] = args.database_url or create_database(server_url, name, dict(os.environ), False)
    try:
        rows = measure(args.repeat)
    finally:
        if created and not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(server_url, name)
    print(table(rows))
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    if args.json:
        append_json(args.json, rows)


if __name__ == "__main__":
    sys.path.insert(0, str(BASE_DIR))
    main()
