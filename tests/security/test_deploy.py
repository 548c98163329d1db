"""Deploy checks: the production settings pass `manage.py check --deploy` with nothing to warn
about, take every secret from the environment, and keep DEBUG off unless told otherwise.

Each check runs in a fresh interpreter, since settings are read once per process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
SECRETS = ("SECRET_KEY", "REPORT_SIGNING_PASSPHRASE", "DATABASE_URL")


def production_env(**overrides: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in {*SECRETS, "DEBUG"}}
    env.update(
        DJANGO_SETTINGS_MODULE="healthplans.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        REPORT_SIGNING_PASSPHRASE=secrets.token_urlsafe(16),
        DATABASE_URL="postgres://healthplans@db.invalid:5432/healthplans",
        ALLOWED_HOSTS="healthplans.example.vn",
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, MANAGE, *args], env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_keeps_debug_off_and_cookies_secure() -> None:
    shown = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"]
    code = f"from django.conf import settings; print(*[getattr(settings, name) for name in {shown!r}])"
    result = manage("shell", "-c", code, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-len(shown) :] == ["False", "True", "True", "True", "31536000"]


@pytest.mark.parametrize("missing", SECRETS)
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    env = production_env()
    del env[missing]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} must be set in the environment for production." in result.stderr
