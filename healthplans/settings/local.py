"""The one-command local run: SQLite under var/, eager Celery, DEBUG on unless told otherwise."""

import os

from healthplans.settings.base import *  # noqa: F403
from healthplans.settings.base import SECRET_KEY, env_bool

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "local-only-insecure-key-never-used-in-production"
# The demo PKI that `make run` creates (var/pki) is protected by a demo passphrase; a real
# deployment sets REPORT_SIGNING_PASSPHRASE, which production settings take from the environment only.
REPORT_SIGNING_PASSPHRASE = os.environ.get("REPORT_SIGNING_PASSPHRASE") or "healthplans-demo-pki"
