"""The benchmarks' settings: production's, with safe local values for what production takes from
the environment (plain HTTP on the loopback, a benchmark-only secret key, quiet logs)."""

import os

os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-never-used-in-production")
os.environ.setdefault("REPORT_SIGNING_PASSPHRASE", "benchmark-only-passphrase")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from healthplans.settings.production import *  # noqa: F403

DEBUG = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# The pages are measured, not the static files: no collected manifest is needed to render them.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
