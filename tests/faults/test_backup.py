"""`make backup` then `make restore` round trip: a seeded database with a generated report, backed
up, damaged (a table dropped, rows changed, the report file deleted, a stray file added), restored:
every table has its rows back, byte for byte, and so has the report file."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# pytest-django creates its test database only for marked tests; it is the throwaway one's template.
pytestmark = pytest.mark.django_db

VENV = Path(sys.executable).parent.parent
REPORT = ("laocai-city-de-an-07-2024", "2024H1", "laocai.planner")
# Generates a report in-process (no broker: Celery runs the task eagerly) and prints its file's path.
GENERATE = """
from django.conf import settings
from healthplans.models import User
from plans.models import Plan
from reporting.services import report_request
plan, period, by = {report!r}
report = report_request(plan=Plan.objects.get(slug=plan), period=period, by=User.objects.get(username=by))
report.refresh_from_db()
assert report.status == "ready", report.error
print(settings.MEDIA_ROOT / report.pdf.name)
"""


def make(target: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["make", "-s", "-C", str(settings.BASE_DIR), f"VENV={VENV}", "-o", f"{VENV}/bin/.installed", target, *args],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def tables(services: Any, database: str) -> dict[str, tuple[int, str]]:
    """Every table of the database: its row count and a digest of all its rows."""
    names = [
        name
        for (name,) in services.postgres.sql(
            database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    return {
        name: services.postgres.sql(
            database,
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{name}\" t",
        )[0]
        for name in names
    }


def test_backup_and_restore_bring_back_every_row_and_the_report_files(services: Any, tmp_path: Path) -> None:
    database = services.postgres.create_database()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "healthplans.settings.local",
        "DATABASE_URL": services.postgres.url(database),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "HEALTHPLANS_VAR_DIR": str(tmp_path / "var"),
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    generated = subprocess.run(
        [*manage, "shell", "-c", GENERATE.format(report=REPORT)], env=env, capture_output=True, text=True
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    pdf = Path(generated.stdout.strip().splitlines()[-1])
    pdf_bytes = pdf.read_bytes()
    before = tables(services, database)
    assert before["reporting_report"][0] == 1
    assert before["healthplans_user"][0] > 10

    backup = Path(make("backup", env).strip().splitlines()[-1])
    assert backup.parent == tmp_path / "backups"
    assert sorted(path.name for path in backup.iterdir()) == ["database.dump", "manifest.json", "media.tar.gz"]

    services.postgres.sql(database, "DROP TABLE reporting_report")
    services.postgres.sql(database, "UPDATE healthplans_user SET first_name = 'changed'")
    services.postgres.sql(database, "DELETE FROM indicators_target WHERE id IN (SELECT min(id) FROM indicators_target)")
    pdf.unlink()
    stray = tmp_path / "var" / "media" / "reports" / "stray.pdf"
    stray.write_bytes(b"not from the backup")
    assert tables(services, database) != before

    make("restore", env, f"BACKUP={backup}", "NOINPUT=1")

    assert tables(services, database) == before
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == hashlib.sha256(pdf_bytes).hexdigest()
    assert not stray.exists()
    services.postgres.sql("postgres", f'DROP DATABASE "{database}" WITH (FORCE)')


def test_a_damaged_backup_is_refused_before_anything_is_touched(services: Any, tmp_path: Path) -> None:
    database = services.postgres.create_database()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "healthplans.settings.local",
        "DATABASE_URL": services.postgres.url(database),
        "HEALTHPLANS_VAR_DIR": str(tmp_path / "var"),
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    backup = Path(make("backup", env).strip().splitlines()[-1])
    services.postgres.sql(database, "UPDATE healthplans_user SET first_name = 'after the backup'")
    with (backup / "database.dump").open("ab") as dump:
        dump.write(b"damage")
    before = tables(services, database)

    done = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(settings.BASE_DIR),
            f"VENV={VENV}",
            "-o",
            f"{VENV}/bin/.installed",
            "restore",
            f"BACKUP={backup}",
            "NOINPUT=1",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "database.dump is missing or damaged" in done.stderr
    assert tables(services, database) == before
    services.postgres.sql("postgres", f'DROP DATABASE "{database}" WITH (FORCE)')
