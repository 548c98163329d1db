from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = _("Indicators")

    def ready(self) -> None:
        # The figures', matrix's and targets' sheets join the core's import and export.
        from indicators.spreadsheets.kinds import register_kinds

        register_kinds()
        # The checks of indicators and targets join the core's plan quality checks.
        import indicators.quality  # noqa: F401

        # A reorganisation's preview counts the figures its ended units still have open after it.
        from healthplans.reorganisation import register_impact
        from indicators.selectors import figures_open_after

        register_impact(figures_open_after)
