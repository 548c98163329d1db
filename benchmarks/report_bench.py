"""Report generation benchmark: render and sign time, pages and peak memory for each seed plan.

    DJANGO_SETTINGS_MODULE=healthplans.settings.test .venv/bin/python benchmarks/report_bench.py

creates a PostgreSQL database of its own next to DATABASE_URL's (default: the test settings'
postgres://postgres@127.0.0.1:5432/…), migrates it, loads the seed (with the demo figures, so that
the reports carry values and charts), and drops it at the end (--keep keeps it). --database-url
uses an already seeded database instead. Each plan is measured in a fresh process, as a worker
child would render it: its peak memory is that process's maximum resident set size (WeasyPrint's
memory is mostly outside Python's heap, so tracemalloc would miss it). Signing uses a demo PKI
made in a temporary directory with a benchmark-only passphrase.

Prints a table, then the same figures as JSON. --json PATH writes `make bench`'s object for them
(benchmarks/run.py): {"name": "report", "scale": "seed", "p50_ms", "p95_ms"} are the median and
the largest render-and-sign time per page over the seed plans, "pages" and "peak_mb" those of the
largest plan (most pages) and the highest peak of any; there is no SQL floor ("baseline_ms" null):
rendering the PDF is the work.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
SEED_REPORTS = [
    ("laocai-city-de-an-07-2024", "2024"),
    ("backan-gsd-2025-2030", "2025"),
    ("quangngai-chi-thi-37", "2024"),
    ("laichau-city-chien-luoc-89", "2024"),
    ("muongkhuong-de-an-07-2023", "2023"),
]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/healthplans"


def peak_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(slug: str, period: str) -> dict[str, Any]:
    """In the child process: render the plan's report twice (cold, then warm) and sign it."""
    import django

    django.setup()
    from datetime import datetime
    from io import BytesIO
    from zoneinfo import ZoneInfo

    from pyhanko.pdf_utils.reader import PdfFileReader

    from plans.models import Plan
    from reporting.models import Report
    from reporting.rendering import render_report_pdf
    from reporting.services import SIGNING_REASON, new_verification_code
    from reporting.signing import sign_pdf

    plan = Plan.objects.select_related("tenant", "issuer_org_unit").get(slug=slug)
    version = (
        Report.objects.filter(plan=plan, period=period).order_by("-version").first() or Report(version=0)
    ).version
    # A bare row for the renderer to read; the benchmark measures rendering, not the workflow.
    report = Report.objects.create(
        tenant=plan.tenant,
        plan=plan,
        period=period,
        org_unit=plan.issuer_org_unit,
        version=version + 1,
        verification_code=new_verification_code(),
    )
    before = peak_mib()
    started = time.perf_counter()
    pdf = render_report_pdf(report)
    cold = time.perf_counter() - started
    after_render = peak_mib()
    started = time.perf_counter()
    render_report_pdf(report)
    warm = time.perf_counter() - started
    started = time.perf_counter()
    signed = sign_pdf(
        pdf,
        tenant_slug=plan.tenant.slug if plan.tenant else "",
        signer_name=plan.signer_name or "Benchmark",
        signer_title=plan.signer_title,
        reason=SIGNING_REASON,
        location=plan.place or plan.issuer_org_unit.name,
        signed_at=datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")),
    )
    sign_seconds = time.perf_counter() - started
    pages = int(PdfFileReader(BytesIO(signed)).root["/Pages"]["/Count"])
    report.delete()
    return {
        "plan": slug,
        "period": period,
        "pages": pages,
        "render_s": round(cold, 3),
        "render_warm_s": round(warm, 3),
        "sign_s": round(sign_seconds, 3),
        "s_per_page": round(cold / pages, 3),
        "pdf_kib": round(len(pdf) / 1024, 1),
        "signed_kib": round(len(signed) / 1024, 1),
        "rss_before_mib": round(before, 1),
        "peak_rss_render_mib": round(after_render, 1),
        "peak_rss_mib": round(peak_mib(), 1),
    }


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL)


def create_database(server_url: str, name: str, env: dict[str, str], demo_figures: bool) -> str:
    import psycopg

    admin = server_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    env = {**env, "DATABASE_URL": url}
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    run([*manage, "migrate", "--noinput", "-v0"], env)
    run([*manage, "load_seed", *([] if demo_figures else ["--without-demo-figures"])], env)
    return url


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    admin = server_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table(rows: list[dict[str, Any]]) -> str:
    columns = [
        ("plan", "plan", 28),
        ("period", "period", 7),
        ("pages", "pages", 5),
        ("render_s", "render s", 8),
        ("render_warm_s", "warm s", 7),
        ("sign_s", "sign s", 7),
        ("s_per_page", "s/page", 7),
        ("peak_rss_mib", "peak MiB", 8),
    ]
    lines = [
        "  ".join(
            title.ljust(width) if key in {"plan", "period"} else title.rjust(width) for key, title, width in columns
        )
    ]
    for row in rows:
        lines.append(
            "  ".join(
                str(row[key]).ljust(width) if key in {"plan", "period"} else str(row[key]).rjust(width)
                for key, _title, width in columns
            )
        )
    return "\n".join(lines)


def bench_object(rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_page = sorted((row["render_s"] + row["sign_s"]) / row["pages"] * 1000 for row in rows)
    largest = max(rows, key=lambda row: row["pages"])
    return {
        "name": "report",
        "scale": "seed",
        "p50_ms": round(per_page[len(per_page) // 2], 1),
        "p95_ms": round(per_page[-1], 1),
        "queries": None,
        "baseline_ms": None,
        "ratio": None,
        "n": len(rows),
        "pages": largest["pages"],
        "peak_mb": max(row["peak_rss_mib"] for row in rows),
        "largest_plan": largest["plan"],
        "largest_s": round(largest["render_s"] + largest["sign_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="an already migrated and seeded database to use")
    parser.add_argument("--keep", action="store_true", help="keep the database this run creates")
    parser.add_argument("--without-demo-figures", action="store_true", help="seed without the demo figures")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write make bench's result object to PATH")
    parser.add_argument("--child", nargs=2, metavar=("PLAN", "PERIOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "healthplans.settings.test"),
    }
    env.setdefault("REPORT_SIGNING_PASSPHRASE", "benchmark-only-passphrase")
    env.setdefault("REPORT_PKI_DIR", str(Path(tempfile.gettempdir()) / "healthplans-bench-pki"))
    env["LOG_LEVEL"] = "WARNING"
    server_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    name = f"healthplans_bench_{uuid.uuid4().hex[:8]}"
    created = args.database_url is None
    env["DATABASE_URL"] = args.database_url or create_database(server_url, name, env, not args.without_demo_figures)
    try:
        rows = []
        for slug, period in SEED_REPORTS:
            child = subprocess.run(
                [sys.executable, __file__, "--child", slug, period],
                env=env,
                cwd=BASE_DIR,
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
            print(f"measured {slug}", file=sys.stderr)
    finally:
        if created and not args.keep:
            drop_database(server_url, name)
    print(table(rows))
    print(json.dumps({"reports": rows}, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps([bench_object(rows)], indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(BASE_DIR))
    main()
