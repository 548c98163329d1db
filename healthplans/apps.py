from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthplansConfig(AppConfig):
    name = "healthplans"
    verbose_name = _("Tenancy and organisation")

    def ready(self) -> None:
        # Connects the audit history's receivers (logins, lockouts, roles, account flags).
        from healthplans import audit  # noqa: F401
