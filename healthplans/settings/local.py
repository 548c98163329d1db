"""The one-command local run: SQLite under var/, eager Celery, DEBUG on unless told otherwise."""

from healthplans.settings.base import *  # noqa: F403
from healthplans.settings.base import SECRET_KEY, env_bool

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "local-only-insecure-key-never-used-in-production"
