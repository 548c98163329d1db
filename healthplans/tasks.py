"""The core's Celery tasks, here for the worker's autodiscovery (it imports each app's `tasks`
module): a large spreadsheet import runs by its kind in healthplans.spreadsheets.jobs, which also
hands it over, so the task lives beside it rather than importing it back."""

from healthplans.spreadsheets.jobs import import_run

__all__ = ["import_run"]
