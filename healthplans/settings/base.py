"""Settings shared by every environment; everything that differs comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from fontpkg_noto_serif import ROOT as NOTO_SERIF_ROOT  # type: ignore[import-untyped]

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("HEALTHPLANS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "treebeard",
    "import_export",
    "healthplans",
    "plans",
    "indicators",
    "budgets",
    "reporting",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "healthplans.audit.AuditContextMiddleware",
    # Refusals of the services that a page left to rise: 403, or a message on the page.
    "healthplans.errors.ServiceErrorMiddleware",
    # Last: turns a refused login into the lockout page (or JSON answer).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "healthplans.urls"
WSGI_APPLICATION = "healthplans.wsgi.application"
AUTH_USER_MODEL = "healthplans.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "healthplans.context_processors.navigation",
            ],
        },
    },
]

# Absent DATABASE_URL: a SQLite file for the one-command local run.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'healthplans.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes): a username is locked out from one address after
# AXES_FAILURE_LIMIT failed logins, on the login page and the API token endpoint alike, for
# AXES_COOLOFF_MINUTES; a successful login clears its count. The lockout is answered by
# healthplans.audit.lockout_response (429, Vietnamese page or JSON).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "healthplans.audit.lockout_response"
# Logins are recorded in the audit history (healthplans.AuditEvent), not twice.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Content-Security-Policy (Django's own middleware): scripts and styles only from our static
# files, no inline <script>, no style= attributes, no frames.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Collected static files belong to the code, not to the data under VAR_DIR (a volume in
# docker-compose.yml, which would hide what the image's collectstatic wrote there).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Without a broker (the local run) Celery runs every task eagerly in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# A Redis outage reads as cache misses, never as failed pages (healthplans/cache.py); the short
# timeouts keep a page from waiting on an unreachable Redis.
CACHES = {
    "default": (
        {
            "BACKEND": "healthplans.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

MAILERS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": os.environ.get("MAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")}
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "healthplans@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "healthplans.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "healthplans.schema.Schema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "healthplans.errors.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "healthplans API",
    "DESCRIPTION": "Plans, indicators, targets and budget lines of Vietnamese health administrations.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "ReviewStatusEnum": "healthplans.workflow.ReviewStatus",
        "ReportStatusEnum": "reporting.models.ReportStatus",
        "PlanStatusEnum": "plans.models.Plan.Status",
        "PlanKindEnum": "plans.models.Plan.Kind",
        "AgencyKindEnum": "healthplans.models.Agency.Kind",
        "ObjectiveKindEnum": "plans.models.Objective.Kind",
        "EntryLevelEnum": "indicators.models.EntryLevel",
        "OrgUnitLevelEnum": "healthplans.models.OrgUnit.Level",
        "ComparatorEnum": "indicators.models.COMPARATOR_VALUES",
        "ComparatorSymbolEnum": "indicators.models.COMPARATORS",
    },
}

# The seed documents and demo users; the password of every demo user comes from here.
SEEDS_DIR = Path(os.environ.get("HEALTHPLANS_SEEDS_DIR", BASE_DIR.parent / "shared" / "seeds"))
FIXTURES_DIR = BASE_DIR / "fixtures"
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "healthplans-demo")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Plan roll-ups (dashboard, comparison, reports) are cached this long at most; an approval (or any
# other review step) replaces them at once. 0 turns the cache off.
FIGURES_CACHE_SECONDS = int(os.environ.get("FIGURES_CACHE_SECONDS", "300"))

# Figures of a period are due this many days after it ends (the statistics deadlines).
FIGURES_GRACE_DAYS = int(os.environ.get("FIGURES_GRACE_DAYS", "15"))

# --- Reports: Celery worker, queue, time limits, beat ---------------------------------------
# Report generation runs on its own queue, so that a long WeasyPrint render never delays other
# tasks: `celery -A healthplans worker -Q celery,reports`.
# The daily scheduler (reports_schedule_due) is light and stays on the default queue.
CELERY_TASK_ROUTES = {"reporting.tasks.report_generate": {"queue": "reports"}}
# A worker takes one report at a time (acks_late: a message is acknowledged only when done), and
# a child process is replaced once it has held this many KiB: WeasyPrint keeps whole documents in
# memory and does not give it all back.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_MEMORY_PER_CHILD = int(os.environ.get("CELERY_WORKER_MAX_MEMORY_PER_CHILD", str(600 * 1024)))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Seconds before a report's render is interrupted (soft: it fails with a reason) or killed (hard).
REPORT_SOFT_TIME_LIMIT = int(os.environ.get("REPORT_SOFT_TIME_LIMIT", "300"))
REPORT_TIME_LIMIT = int(os.environ.get("REPORT_TIME_LIMIT", "360"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message taken by a worker that died is handed out again after this many seconds; it must
    # be longer than the longest task (REPORT_TIME_LIMIT), or a running render would be repeated.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    # How often (seconds, and every how many rounds) a worker looks for such messages.
    "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", "10")),
    "unacked_restore_throttle": int(os.environ.get("CELERY_UNACKED_RESTORE_THROTTLE", "10")),
    # A web request handing a task over gives up within a second or two when Redis is away,
    # instead of kombu's connection retries (celery/celery#4627); the task waits for beat.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": 2,
}
# The draft report of a period is made this many days after the period ends.
REPORT_GRACE_DAYS = int(os.environ.get("REPORT_GRACE_DAYS", "15"))
CELERY_BEAT_SCHEDULE = {
    "reports-schedule-due": {
        "task": "reporting.tasks.reports_schedule_due",
        "schedule": crontab(hour=1, minute=30),
    },
    "reports-fail-stalled": {
        "task": "reporting.tasks.reports_fail_stalled_task",
        "schedule": crontab(minute="*/10"),
    },
    # Versions requested while Redis was away are handed to the worker once it is back.
    "reports-hand-over-delayed": {
        "task": "reporting.tasks.reports_hand_over_delayed_task",
        "schedule": float(os.environ.get("REPORT_HAND_OVER_SECONDS", "60")),
    },
}

# The public address printed on reports and encoded in their QR code (/verify/<code>/).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# ---- Report signing (reporting/pki.py, reporting/signing.py) ---------------------------------
# The demo PKI (root CA, TSA, CRL, a key per tenant) that `make run` creates; never committed.
REPORT_PKI_DIR = Path(os.environ.get("REPORT_PKI_DIR", VAR_DIR / "pki"))
# Passphrase of the signing key files and of the demo CA's keys. No default here: local and
# test settings may give a demo one; production takes it from the environment only.
REPORT_SIGNING_PASSPHRASE = os.environ.get("REPORT_SIGNING_PASSPHRASE", "")
# A real key file per tenant: REPORT_SIGNING_P12_LAO_CAI=/run/secrets/lao-cai.p12, with its own
# passphrase in REPORT_SIGNING_PASSPHRASE_LAO_CAI if it differs (slug upper-cased, "-" → "_").
REPORT_SIGNING_P12 = {
    name.removeprefix("REPORT_SIGNING_P12_").lower().replace("_", "-"): Path(value)
    for name, value in os.environ.items()
    if name.startswith("REPORT_SIGNING_P12_") and value
}
REPORT_SIGNING_PASSPHRASES = {
    name.removeprefix("REPORT_SIGNING_PASSPHRASE_").lower().replace("_", "-"): value
    for name, value in os.environ.items()
    if name.startswith("REPORT_SIGNING_PASSPHRASE_") and value
}
# Or a PKCS#11 token holding every tenant's key ("{slug}" in the label becomes the tenant's slug).
REPORT_PKCS11_MODULE = os.environ.get("REPORT_PKCS11_MODULE", "")
REPORT_PKCS11_TOKEN_LABEL = os.environ.get("REPORT_PKCS11_TOKEN_LABEL", "")
REPORT_PKCS11_PIN = os.environ.get("REPORT_PKCS11_PIN", "")
REPORT_PKCS11_KEY_LABEL = os.environ.get("REPORT_PKCS11_KEY_LABEL", "{slug}")
# An RFC 3161 time-stamping service; without one the demo TSA stamps in-process.
REPORT_TSA_URL = os.environ.get("REPORT_TSA_URL", "")
# Roots (PEM or DER files) trusted for signing and for /verify/, besides the demo root.
REPORT_TRUST_ROOTS = env_list("REPORT_TRUST_ROOTS", "")
# Whether the signing worker may fetch CRLs / OCSP responses of real certificates (PAdES B-LT).
REPORT_FETCH_REVOCATION_INFO = env_bool("REPORT_FETCH_REVOCATION_INFO", False)
# The stamp's font: 1000 units per em, since pyHanko 0.38 spreads the letters of 2048-unit fonts;
# by default the reports' own Noto Serif, installed with the project (its default instance is Regular).
REPORT_STAMP_FONT = Path(os.environ.get("REPORT_STAMP_FONT", NOTO_SERIF_ROOT / "files" / "NotoSerif[wdth,wght].ttf"))
# Revocation data the verifier reads for real certificates, whatever a file embeds: CRL files
# the operator keeps fresh, or URLs fetched and cached this long (the demo CA's CRL is read too).
REPORT_REVOCATION_CRLS = env_list("REPORT_REVOCATION_CRLS", "")
REPORT_REVOCATION_CACHE_SECONDS = int(os.environ.get("REPORT_REVOCATION_CACHE_SECONDS", "3600"))
# Anonymous verification (/verify/, /api/verify/) is bounded: signature fields and revisions
# examined, seconds spent, and verifications per client address per window (then 429).
# Reports are a few MB; an upload is read into memory.
VERIFY_MAX_UPLOAD_BYTES = int(os.environ.get("VERIFY_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
VERIFY_MAX_SIGNATURE_FIELDS = int(os.environ.get("VERIFY_MAX_SIGNATURE_FIELDS", "20"))
VERIFY_MAX_REVISIONS = int(os.environ.get("VERIFY_MAX_REVISIONS", "50"))
# A signed report holds a few hundred objects; a file declaring far more is not a report.
VERIFY_MAX_OBJECTS = int(os.environ.get("VERIFY_MAX_OBJECTS", "20000"))
VERIFY_TIME_BUDGET_SECONDS = float(os.environ.get("VERIFY_TIME_BUDGET_SECONDS", "8"))
VERIFY_RATE_LIMIT = int(os.environ.get("VERIFY_RATE_LIMIT", "20"))
VERIFY_RATE_WINDOW_SECONDS = int(os.environ.get("VERIFY_RATE_WINDOW_SECONDS", "60"))
# ---- end of report signing -------------------------------------------------------------------

# ---- spreadsheet imports ---------------------------------------------------------------------
# Uploads above this many bytes are refused from their Content-Length, before the body is read.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
# A workbook unpacking to more than this is refused before openpyxl reads it (a zip bomb): a
# 20,000-row entry template unpacks to about 15 MB.
SHEET_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("SHEET_MAX_UNCOMPRESSED_BYTES", str(50 * 1024 * 1024)))
# Imports of more data rows than this run as a Celery task, with a progress bar on the page.
IMPORT_ASYNC_ROWS = int(os.environ.get("IMPORT_ASYNC_ROWS", "2000"))
# The admin's import and export of reference data (django-import-export): importing needs the
# model's add permission, exporting its view permission; exported cells that a spreadsheet would
# run as a formula are neutralised, as in the plans' exports.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
# ---- end of spreadsheet imports --------------------------------------------------------------
