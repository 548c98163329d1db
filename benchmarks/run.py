"""`make bench`: the figures of issue "Scale and speed", at the province and the nation scale.

    .venv/bin/python benchmarks/run.py [--scales province,nation] [--regenerate]
        [--skip report,import_10k,load,ingest] [--only actuals_list|import_10k|ingest]

Each scale has a PostgreSQL database of its own (hp_bench_province, hp_bench_nation on the server
of BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/), generated once by
`manage.py generate_scale` and reused afterwards (--regenerate drops and makes it again; a reused
one is migrated first, so new indexes apply). Settings: benchmarks.bench_settings (production's,
DEBUG off).

Every benchmark is timed in the same run as its baseline: the raw SQL that computes exactly the
numbers the endpoint returns. ratio = p50 / baseline p50; queries = SQL queries of one request.
Writes benchmarks/out/latest.json (a list of objects) and prints the same as a table.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
OUT = BASE_DIR / "benchmarks" / "out" / "latest.json"
SETTINGS = "benchmarks.bench_settings"
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/").rstrip("/") + "/"
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
PERIOD, OPEN_PERIOD = "2025H1", "2025H2"
SAVED_VALUES = 30
LOAD_SECONDS, LOAD_THREADS, LOAD_CONNECTIONS, GUNICORN_WORKERS = 10.0, 2, 8, 4


def database_url(scale: str) -> str:
    return f"{SERVER}hp_bench_{scale}"


def child_env(scale: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url(scale),
        "REDIS_URL": REDIS,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BASE_DIR),
    }


def manage(scale: str, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=child_env(scale), check=True)


def prepare(scale: str, regenerate: bool) -> None:
    """The scale's database: generated once, then reused (and migrated)."""
    import psycopg

    name = f"hp_bench_{scale}"
    with psycopg.connect(f"{SERVER}postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not regenerate:
            with psycopg.connect(database_url(scale)) as bench:
                table = bench.execute("SELECT to_regclass('plans_plan')").fetchone()
                generated = (
                    table
                    and table[0]
                    and bench.execute("SELECT 1 FROM plans_plan WHERE slug = 'scale-national-plan'").fetchone()
                )
            if generated:
                print(f"[{scale}] reusing {name}", file=sys.stderr)
                manage(scale, "migrate", "--noinput", "-v0")
                # Earlier runs wrote and deleted figures: fresh statistics, as after generating.
                with psycopg.connect(database_url(scale), autocommit=True) as bench:
                    bench.execute("VACUUM ANALYZE")
                return
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    print(f"[{scale}] generating {name}", file=sys.stderr)
    manage(scale, "migrate", "--noinput", "-v0")
    manage(scale, "generate_scale", "--scale", scale)


# --- Measuring ------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(call: Callable[[], Any], n: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def result(name: str, scale: str, samples: list[float], queries: int | None, baseline: list[float]) -> dict[str, Any]:
    p50, base = statistics.median(samples), statistics.median(baseline) if baseline else None
    return {
        "name": name,
        "scale": scale,
        "p50_ms": round(p50, 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "queries": queries,
        "baseline_ms": round(base, 2) if base is not None else None,
        "ratio": round(p50 / base, 2) if base else None,
        "n": len(samples),
    }


# --- In-process benchmarks (a child process per scale, Django set up) -------------------------


def in_process(scale: str, n: int, only: str = "") -> list[dict[str, Any]]:
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from rest_framework.authtoken.models import Token

    from healthplans.models import OrgUnit, User
    from indicators.models import Actual, Indicator
    from plans.models import Plan

    # Every run starts from an empty cache (Redis db of BENCH_REDIS_URL), so that the query
    # counts are those of a first request at every scale.
    cache.clear()
    plan = Plan.objects.get(slug="scale-national-plan")
    province = OrgUnit.objects.get(code="scale-p01")
    indicators = list(Indicator.objects.filter(plan=plan).order_by("order"))
    planner, reporter = User.objects.get(username="scale.planner"), User.objects.get(username="scale.reporter")
    token, _created = Token.objects.get_or_create(user=planner)
    api = Client(headers={"authorization": f"Token {token.key}"})
    pages = Client()
    pages.force_login(planner)

    def get(client: Client, url: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return call

    def count_queries(call: Callable[[], Any]) -> int:
        with CaptureQueriesContext(connection) as captured:
            call()
        return len(captured)

    def sql(query: str, params: list[Any]) -> Callable[[], Any]:
        def call() -> Any:
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall() if cursor.description else None

        return call

    def actuals_list() -> dict[str, Any]:
        """Its query count and raw-SQL floor here; its load figures come from gunicorn (load())."""
        list_url = "/api/actuals/?page=2"
        list_sql = """
            SELECT a.*, i.number, i.name, o.code, o.name, tn.slug FROM indicators_actual a
            JOIN indicators_indicator i ON i.id = a.indicator_id
            JOIN healthplans_orgunit o ON o.id = a.org_unit_id
            JOIN healthplans_tenant tn ON tn.id = a.tenant_id
            WHERE o.path LIKE %s
            ORDER BY o.path, i.plan_id, i.order, a.period LIMIT 50 OFFSET 50
        """
        return {
            "name": "actuals_list",
            "scale": scale,
            "queries": count_queries(get(api, list_url)),
            "baseline_ms": round(statistics.median(timed(sql(list_sql, [province.path + "%"]), n)), 2),
            "token": token.key,
            "url": list_url,
        }

    if only == "actuals_list":
        return [actuals_list()]

    results = []

    def bench(name: str, call: Callable[[], Any], baseline: Callable[[], Any], runs: int = n) -> None:
        queries = count_queries(call)
        samples = timed(call, runs)
        results.append(result(name, scale, samples, queries, timed(baseline, runs)))
        print(f"[{scale}] {name}: p50 {results[-1]['p50_ms']} ms", file=sys.stderr)

    def bench_rollup(name: str, call: Callable[[], Any], baseline: Callable[[], Any]) -> None:
        """As configured (roll-ups cached), then computed afresh on every request."""
        bench(name, call, baseline)
        with override_settings(FIGURES_CACHE_SECONDS=0):
            bench(f"{name}_uncached", call, baseline)

    # dashboard: the plan's indicators for one period over the province's subtree, with targets;
    # the page also shows each indicator's trend over the plan's half-years.
    rollup_sql = """
        SELECT i.id, t.comparator, t.value, b.value, r.period, r.total, r.num, r.den, r.n, r.any_value
        FROM indicators_indicator i
        LEFT JOIN indicators_target t ON t.indicator_id = i.id AND t.year = %s AND t.org_unit_id IS NULL
        LEFT JOIN indicators_baseline b ON b.indicator_id = i.id
        LEFT JOIN (
            SELECT a.indicator_id, a.period, SUM(a.value) AS total,
                   SUM(a.numerator) FILTER (WHERE a.denominator IS NOT NULL) AS num,
                   SUM(a.denominator) FILTER (WHERE a.numerator IS NOT NULL) AS den,
                   COUNT(*) AS n, MAX(a.value) AS any_value
            FROM indicators_actual a
            WHERE a.period = ANY(%s) AND a.status = 'approved' AND a.value IS NOT NULL
              AND a.org_unit_id IN (SELECT id FROM healthplans_orgunit WHERE path LIKE %s AND depth > %s)
              AND a.indicator_id IN (SELECT id FROM indicators_indicator WHERE plan_id = %s)
            GROUP BY a.indicator_id, a.period
        ) r ON r.indicator_id = i.id
        WHERE i.plan_id = %s
    """
    year = int(PERIOD[:4])
    trend = [f"{y}H{h}" for y in range(plan.start_year, plan.end_year + 1) for h in (1, 2)]
    subtree = province.path + "%"
    bench_rollup(
        "dashboard",
        get(api, f"/api/plans/{plan.pk}/progress/?period={PERIOD}&org_unit={province.pk}"),
        sql(rollup_sql, [year, [PERIOD], subtree, province.depth, plan.pk, plan.pk]),
    )
    bench_rollup(
        "dashboard_page",
        get(pages, f"/plans/{plan.slug}/dashboard/?period={PERIOD}&org_unit={province.pk}"),
        sql(rollup_sql, [year, trend, subtree, province.depth, plan.pk, plan.pk]),
    )
    # compare: one indicator's approved figures of every unit under the province, ranked, with
    # the province's own roll-up.
    indicator = indicators[4]
    compare_sql = """
        SELECT o.id, o.name, a.value, a.status FROM indicators_actual a
        JOIN healthplans_orgunit o ON o.id = a.org_unit_id
        WHERE a.indicator_id = %s AND a.period = %s AND a.status = 'approved' AND a.value IS NOT NULL
          AND o.path LIKE %s
        ORDER BY a.value DESC
    """
    one_indicator_sql = rollup_sql.replace("WHERE i.plan_id = %s", "WHERE i.id = %s")
    overall = sql(one_indicator_sql, [year, [PERIOD], subtree, province.depth, plan.pk, indicator.pk])
    ranked = sql(compare_sql, [indicator.pk, PERIOD, subtree])
    bench_rollup(
        "compare",
        get(pages, f"/plans/{plan.slug}/compare/?period={PERIOD}&org_unit={province.pk}&indicator={indicator.pk}"),
        lambda: (ranked(), overall()),
    )

    # station_form: a station that has not reported its last half-year opens the form, then saves 30.
    station = OrgUnit.objects.filter(path__startswith=province.path, facility_kind="station").order_by("path")[0]
    form = Client()
    form.force_login(reporter)
    url = f"/figures/{station.code}/{OPEN_PERIOD}/?plan={plan.slug}"
    Actual.objects.filter(org_unit=station, period=OPEN_PERIOD).delete()
    form_sql = """
        SELECT i.id, i.number, i.name, t.comparator, t.value, b.value, a.period, a.value, a.status, a.version
        FROM indicators_indicator i
        LEFT JOIN indicators_target t ON t.indicator_id = i.id AND t.year = %s
        LEFT JOIN indicators_baseline b ON b.indicator_id = i.id
        LEFT JOIN indicators_actual a ON a.indicator_id = i.id AND a.org_unit_id = %s AND a.period IN (%s, %s)
        WHERE i.plan_id = %s ORDER BY i.order
    """
    bench(
        "station_form", get(form, url), sql(form_sql, [int(OPEN_PERIOD[:4]), station.pk, OPEN_PERIOD, PERIOD, plan.pk])
    )

    posted = indicators[:SAVED_VALUES]
    data: dict[str, str] = {}
    for item in posted:
        value = "85,5" if item.unit_kind == "percent" else "120"
        data.update({f"i{item.pk}-value": value, f"i{item.pk}-note": "", f"i{item.pk}-version": ""})

    def save() -> None:
        response = form.post(url, data)
        assert response.status_code == 302, response.status_code

    def reset() -> None:
        Actual.objects.filter(org_unit=station, period=OPEN_PERIOD).delete()

    insert_sql = """
        WITH new AS (
            INSERT INTO indicators_actual (status, message, version, created_by_id, created_at, tenant_id,
                indicator_id, org_unit_id, period, value, note, source, is_demo)
            SELECT 'draft', '', 1, %s, now(), %s, i, %s, %s, v, '', '', false
            FROM unnest(%s::bigint[], %s::numeric[]) AS x(i, v)
            RETURNING id, value
        )
        INSERT INTO indicators_actualevent (actual_id, at, by_id, action, new_value, message)
        SELECT id, now(), %s, 'create', value, '' FROM new
    """
    values = [Decimal("85.5") if item.unit_kind == "percent" else Decimal(120) for item in posted]
    insert_params = [
        reporter.pk,
        station.tenant_id,
        station.pk,
        OPEN_PERIOD,
        [i.pk for i in posted],
        values,
        reporter.pk,
    ]
    queries = count_queries(save)
    reset()
    samples, baseline = [], []
    for _ in range(n):
        started = time.perf_counter()
        save()
        samples.append((time.perf_counter() - started) * 1000)
        reset()
        started = time.perf_counter()
        sql(insert_sql, insert_params)()
        baseline.append((time.perf_counter() - started) * 1000)
        reset()
    results.append(result("station_form_save", scale, samples, queries, baseline))
    print(f"[{scale}] station_form_save: p50 {results[-1]['p50_ms']} ms", file=sys.stderr)

    results.append(actuals_list())
    return results


# --- Load: gunicorn in its own processes, this process as the client -------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# wrk (Debian package `wrk`, C): a client in Python would spend the 2 cores' time it measures.
# Each connection asks for pages 1-20 in turn; done() prints the figures as one JSON line.
WRK_SCRIPT = """
local page = 0
request = function()
  page = page % 20 + 1
  return wrk.format("GET", wrk.path .. "?page=" .. page)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"n": %d, "p50_us": %d, "p95_us": %d, "errors": %d, "seconds": %f}\\n',
    summary.requests, latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.timeout + e.status, summary.duration / 1e6))
end
"""


def wrk(port: int, token: str, path: str, seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        command = ["wrk", f"--threads={LOAD_THREADS}", f"--connections={LOAD_CONNECTIONS}", f"--duration={seconds:g}s"]
        command += ["--script", script.name, "--header", f"Authorization: Token {token}"]
        output = subprocess.run(
            [*command, f"http://127.0.0.1:{port}{path}"], check=True, capture_output=True, text=True
        )
    return json.loads(output.stdout.strip().splitlines()[-1])


def load(scale: str, token: str, url: str) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise SystemExit("The load benchmark needs wrk (apt-get install wrk), or --skip load.")
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "healthplans.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={GUNICORN_WORKERS}",
            "--log-level=warning",
        ],
        cwd=BASE_DIR,
        env=child_env(scale),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        path = url.split("?")[0]
        wrk(port, token, path, 2)  # warm-up, not counted
        figures = wrk(port, token, path, LOAD_SECONDS)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p95_ms": round(figures["p95_us"] / 1000, 2),
        "n": figures["n"],
        "rps": round(figures["n"] / figures["seconds"], 1),
        "errors": figures["errors"],
    }


# --- Other engineers' benchmarks -------------------------------------------------------------

# The benchmarks of their own scripts that --only runs alone (they need no scale's database).
SCRIPTS = {"import_10k": "import_bench.py", "ingest": "ingest_bench.py"}


def external(script: str, scale_env: str) -> list[dict[str, Any]]:
    """Run benchmarks/<script> --json PATH and read its list of result objects."""
    path = BASE_DIR / "benchmarks" / script
    if not path.exists():
        return []
    out = BASE_DIR / "benchmarks" / "out" / f"{path.stem}.json"
    out.unlink(missing_ok=True)  # a script may append to what it finds
    env = {**child_env(scale_env), "DATABASE_URL": f"{SERVER}postgres"}
    subprocess.run([sys.executable, str(path), "--json", str(out)], cwd=BASE_DIR, env=env, check=True)
    loaded = json.loads(out.read_text())
    return loaded if isinstance(loaded, list) else [loaded]


COLUMNS = ["name", "scale", "p50_ms", "p95_ms", "queries", "baseline_ms", "ratio", "n", "rps", "peak_mb", "pages"]


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[("" if row.get(key) is None else str(row[key])) for key in COLUMNS] for row in rows]
    widths = [max(len(key), *(len(line[i]) for line in cells)) for i, key in enumerate(COLUMNS)]
    lines = ["  ".join(key.ljust(widths[i]) for i, key in enumerate(COLUMNS))]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) for line in cells]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="province,nation")
    parser.add_argument("--regenerate", action="store_true", help="drop and generate the scales' databases again")
    parser.add_argument("--skip", default="", help="comma-separated: report, import_10k, load, ingest")
    parser.add_argument(
        "--only",
        choices=["actuals_list", *SCRIPTS],
        help="only this benchmark; its rows replace theirs in latest.json",
    )
    parser.add_argument("-n", type=int, default=30, help="timed requests per benchmark")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(in_process(args.child, args.n, args.only or "")))
        return
    skip = set(filter(None, args.skip.split(",")))
    rows: list[dict[str, Any]] = []
    # The import and plans read from their documents (issue 14) make or need no scale's database.
    scales = [] if args.only in SCRIPTS else list(filter(None, args.scales.split(",")))
    if args.only in SCRIPTS:
        rows += external(SCRIPTS[args.only], "province")
    for scale in scales:
        prepare(scale, args.regenerate)
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                scale,
                "-n",
                str(args.n),
                *(["--only", args.only] if args.only else []),
            ],
            cwd=BASE_DIR,
            env=child_env(scale),
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        scale_rows = json.loads(child.stdout.strip().splitlines()[-1])
        for row in scale_rows:
            if row["name"] == "actuals_list":
                token, url = row.pop("token"), row.pop("url")
                if "load" in skip:
                    continue
                row.update(load(scale, token, url))
                base = row["baseline_ms"]
                row["ratio"] = round(row["p50_ms"] / base, 2) if base else None
                print(f"[{scale}] actuals_list: {row['rps']} requests/s", file=sys.stderr)
            rows.append(row)
    if args.only:
        # Only some rows were measured: they take their namesakes' places, the other rows stay.
        fresh = {(row["name"], row["scale"]): row for row in rows}
        earlier = json.loads(OUT.read_text()) if OUT.exists() else []
        rows = [fresh.pop((row["name"], row["scale"]), row) for row in earlier] + list(fresh.values())
    else:
        if "import_10k" not in skip:
            rows += external("import_bench.py", "province")
        if "report" not in skip:
            rows += external("report_bench.py", "province")
        if "ingest" not in skip:
            rows += external("ingest_bench.py", "province")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    print(table(rows))
    print(f"\nwritten to {OUT.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    sys.path.insert(0, str(BASE_DIR))
    main()
