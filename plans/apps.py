from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = _("Plans")

    def ready(self) -> None:
        # A reorganisation's preview counts the plans issued by the units it ends.
        from healthplans.reorganisation import register_impact
        from plans.selectors import plans_issued_by

        register_impact(plans_issued_by)
