"""Deploy checks: the production settings pass `manage.py check --deploy` with nothing to warn
about, take every secret from the environment, and keep DEBUG off unless told otherwise.

Each check runs in a fresh interpreter, since settings are read once per process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
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


# ---- the image (Docker cannot build here: its files are checked by reading them) -------------

BASE_DIR = Path(settings.BASE_DIR)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each line of the Dockerfile, continuations joined."""
    text = (BASE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_image_installs_dependencies_before_copying_the_code() -> None:
    # A change of the code then rebuilds only the layers after `COPY . .`, not the dependencies.
    steps = dockerfile_instructions()
    copies = [(i, args) for i, (op, args) in enumerate(steps) if op == "COPY"]
    assert copies[0][1].split() == ["pyproject.toml", "./"], copies
    code = next(i for i, args in copies if args.split()[0] == ".")
    installs = [i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install" in args]
    assert any(copies[0][0] < i < code for i in installs), "the dependencies are installed before the code is copied"
    after = [steps[i][1] for i in installs if i > code]
    assert after, after
    assert all("--no-deps" in args for args in after), after
    assert any("collectstatic" in args for op, args in steps[code:] if op == "RUN")


def test_image_runs_as_a_user_who_is_not_root() -> None:
    steps = dockerfile_instructions()
    users = [(i, args.split(":")[0]) for i, (op, args) in enumerate(steps) if op == "USER"]
    assert users, "no USER in the Dockerfile: the processes would run as root"
    last, user = users[-1]
    assert user not in {"root", "0"}
    assert all(op not in {"RUN", "COPY", "ADD"} for op, _ in steps[last:]), "USER comes after every build step"
    assert any(op == "CMD" for op, _ in steps[last:])


def test_dockerignore_keeps_local_state_and_history_out_of_the_image() -> None:
    patterns = {
        line.strip().rstrip("/").removeprefix("/")
        for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    # var/ holds the demo signing keys and the SQLite database; .git the whole history.
    assert {".venv", "var", "backups", ".git", "artefacts", "**/__pycache__"} <= patterns


def test_collected_static_files_are_not_hidden_by_the_runtime_volume() -> None:
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    mounts = [Path(volume.split(":")[1]) for volume in web["volumes"]]
    # The settings as the web container reads them: the compose file's environment at runtime.
    runtime = {name: str(value) for name, value in web["environment"].items() if "${" not in str(value)}
    env = production_env(**runtime)
    env.pop("STATIC_ROOT", None)
    code = "from django.conf import settings; print(settings.STATIC_ROOT); print(settings.MEDIA_ROOT)"
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    static_root, media_root = (Path(line) for line in result.stdout.split()[-2:])
    assert not any(static_root.is_relative_to(mount) for mount in mounts), (static_root, mounts)
    assert static_root.is_relative_to(BASE_DIR)  # /app in the image, where collectstatic writes at build time
    assert any(media_root.is_relative_to(mount) for mount in mounts), (media_root, mounts)  # the data is kept
