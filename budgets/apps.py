from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BudgetsConfig(AppConfig):
    name = "budgets"
    verbose_name = _("Budgets")

    def ready(self) -> None:
        # The budget lines' sheet joins the core's import and export.
        from budgets.spreadsheets import register_kinds

        register_kinds()
        # The checks of budget lines against each other and their tasks join the plan quality checks.
        import budgets.quality  # noqa: F401
