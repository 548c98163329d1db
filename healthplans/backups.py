"""Backups of a deployment: the PostgreSQL database (pg_dump, custom format) and the stored files
under MEDIA_ROOT (report PDFs, signed or not), in one timestamped directory with a manifest of
SHA-256 sums; and their restore, which checks the sums before it touches anything.

`make backup` / `make restore BACKUP=<dir>` run the `backup` and `restore` commands. The keys of
the signing PKI (REPORT_PKI_DIR) are secrets and are not part of a backup.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

DUMP_NAME = "database.dump"
FILES_NAME = "media.tar.gz"
MANIFEST_NAME = "manifest.json"


class BackupError(Exception):
    pass


def _database() -> dict[str, Any]:
    database = dict(settings.DATABASES["default"])
    if "postgresql" not in str(database["ENGINE"]):
        raise BackupError("Backups need PostgreSQL: set DATABASE_URL (the local SQLite run has nothing to back up).")
    return database


def _pg_env() -> dict[str, str]:
    """libpq's variables for the database of the settings, so that no password is on a command line."""
    database = _database()
    env = {
        **os.environ,
        "PGDATABASE": str(database["NAME"]),
        "PGHOST": str(database.get("HOST") or "127.0.0.1"),
        "PGPORT": str(database.get("PORT") or 5432),
        "PGUSER": str(database.get("USER") or ""),
    }
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return env


def _pg_program(name: str) -> str:
    # PG_BINDIR picks the client matching the server (pg_dump refuses servers newer than itself).
    bindir = os.environ.get("PG_BINDIR")
    return str(Path(bindir) / name) if bindir else name


def _run(command: list[str]) -> str:
    try:
        # Our own argument list (pg_dump/psql and their options), never a shell line.
        done = subprocess.run(command, env=_pg_env(), capture_output=True, text=True)  # noqa: S603
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} is not installed (the PostgreSQL client programs are needed).") from error
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")
    return done.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup_create(*, into: Path) -> Path:
    """A new directory under `into` named after the time (UTC): the dump, the files, the manifest."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    into.mkdir(parents=True, exist_ok=True)
    target = into / stamp
    suffix = 1
    while target.exists():
        suffix += 1
        target = into / f"{stamp}-{suffix}"
    work = Path(tempfile.mkdtemp(prefix=f".{stamp}-", dir=into))
    try:
        _run([_pg_program("pg_dump"), "--format=custom", f"--file={work / DUMP_NAME}"])
        media = Path(settings.MEDIA_ROOT)
        with tarfile.open(work / FILES_NAME, "w:gz") as archive:
            if media.is_dir():
                for child in sorted(media.iterdir()):
                    archive.add(child, arcname=child.name)
        manifest = {
            "created_at": timezone.now().isoformat(),
            "database": _database()["NAME"],
            "pg_dump": _run([_pg_program("pg_dump"), "--version"]).strip(),
            "sha256": {name: _sha256(work / name) for name in (DUMP_NAME, FILES_NAME)},
        }
        (work / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        # Complete or absent: the directory gets its final name only once everything is written.
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def backup_check(source: Path) -> dict[str, object]:
    """The manifest of a backup whose files are all there and unchanged."""
    manifest_path = source / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a backup (no {MANIFEST_NAME}).")
    manifest = json.loads(manifest_path.read_text())
    for name, expected in manifest["sha256"].items():
        path = source / name
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"{path} is missing or damaged (its SHA-256 differs from the manifest).")
    return dict(manifest)


def backup_restore(*, source: Path) -> None:
    """The database of the settings and MEDIA_ROOT made what they were when the backup was taken.

    The database is restored in one transaction (pg_restore --clean --if-exists drops and
    recreates every object of the dump), so a failed restore leaves it as it was. The files
    replace MEDIA_ROOT whole, so that files written since the backup do not linger."""
    backup_check(source)
    _run(
        [
            _pg_program("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={_database()['NAME']}",
            str(source / DUMP_NAME),
        ]
    )
    media = Path(settings.MEDIA_ROOT)
    media.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=".media-restore-", dir=media.parent))
    incoming.chmod(media.stat().st_mode & 0o777 if media.exists() else 0o755)
    with tarfile.open(source / FILES_NAME, "r:gz") as archive:
        archive.extractall(incoming, filter="data")
    if media.exists():
        shutil.rmtree(media)
    incoming.rename(media)
