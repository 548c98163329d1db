"""Celery task of spreadsheet imports: a file of more than settings.IMPORT_ASYNC_ROWS rows is
checked (or written) by a worker, which reports its progress for the import page's bar.

Delivered again once the import has finished (acks_late), the task does nothing; run twice at
once, the second writer is refused by the figures' versions and unique constraints, all or nothing."""

from celery import shared_task

from indicators.spreadsheets import import_work


@shared_task(ignore_result=True)
def import_run(import_id: str, user_id: int) -> None:
    import_work(import_id=import_id, user_id=user_id)
