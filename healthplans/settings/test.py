"""The test suite: PostgreSQL and Redis on this machine unless the environment says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/healthplans")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from healthplans.settings.base import *  # noqa: F403

SECRET_KEY = "test-only-key"  # noqa: S105  # the test suite's own, signs nothing real
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Tests that need a worker start a real one; the rest run tasks in-process.
CELERY_TASK_ALWAYS_EAGER = True
REPORT_SIGNING_PASSPHRASE = os.environ.get("REPORT_SIGNING_PASSPHRASE") or "healthplans-demo-pki"
# The verifier's per-address limit counts in the cache, which outlives a test: at the production
# default, tests that verify a few reports each would run into it by the order they run in. The
# limit's own test (tests/reporting/test_verify_bounds.py) sets a low one for itself.
VERIFY_RATE_LIMIT = 1000
