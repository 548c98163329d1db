"""Production: every secret from the environment, DEBUG off unless told otherwise."""

import os

from django.core.exceptions import ImproperlyConfigured

from healthplans.settings.base import *  # noqa: F403
from healthplans.settings.base import MIDDLEWARE, STORAGES, env_bool


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

# gunicorn serves the static files itself (WhiteNoise), right after the security middleware so
# that they get its headers and skip the rest. collectstatic (at the image's build) names each
# file by a hash of its content and compresses it; a hashed name is cached for good (immutable),
# so a new release is fetched through its new names.
_after_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [
    *MIDDLEWARE[:_after_security],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[_after_security:],
]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

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
