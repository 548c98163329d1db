"""Production: every secret from the environment, DEBUG off unless told otherwise."""

import os

from django.core.exceptions import ImproperlyConfigured

from healthplans.settings.base import *  # noqa: F403
from healthplans.settings.base import env_bool


def required_env(name: str) -> str:
    """A secret the deployment must give; never a default in the code."""
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production.")
    return value


SECRET_KEY = required_env("SECRET_KEY")
REPORT_SIGNING_PASSPHRASE = required_env("REPORT_SIGNING_PASSPHRASE")
# base.py falls back to a SQLite file without DATABASE_URL; production never does.
required_env("DATABASE_URL")
DEBUG = env_bool("DEBUG", False)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

# Mail goes out through SMTP, configured only from the environment.
MAILERS = {
    "default": {
        "BACKEND": os.environ.get("MAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
        "OPTIONS": {
            "host": os.environ.get("SMTP_HOST", "localhost"),
            "port": int(os.environ.get("SMTP_PORT", "587")),
            "username": os.environ.get("SMTP_USER", ""),
            "password": os.environ.get("SMTP_PASSWORD", ""),
            "use_tls": env_bool("SMTP_USE_TLS", True),
        },
    }
}
