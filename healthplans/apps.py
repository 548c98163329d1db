from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthplansConfig(AppConfig):
    name = "healthplans"
    verbose_name = _("Tenancy and organisation")
