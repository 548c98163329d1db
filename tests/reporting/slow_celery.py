"""The project's Celery app for a worker whose every report render first waits a minute, long
enough for test_worker.py to kill the worker in the middle of a generation (the version is then
running, claimed by the dead worker). Started with `celery -A tests.reporting.slow_celery worker`."""

import time
from typing import Any

from celery.signals import worker_process_init

from healthplans.celery import app

__all__ = ["app"]

RENDER_DELAY_SECONDS = 60


@worker_process_init.connect
def slow_renders(**kwargs: Any) -> None:
    # In the pool's process, where Django is set up and the tasks run.
    from reporting import rendering

    render = rendering.render_report_pdf

    def slow(*args: Any, **kwargs: Any) -> bytes:
        time.sleep(RENDER_DELAY_SECONDS)
        return render(*args, **kwargs)

    rendering.render_report_pdf = slow
