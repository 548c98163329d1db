from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # Registers the report tasks with Celery in every process: the services hand versions
        # over to `reporting.tasks.report_generate` by name, without importing the tasks module.
        from reporting import tasks  # noqa: F401
