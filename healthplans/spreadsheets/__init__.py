"""Workbooks in and out, for any app: reading and writing .xlsx and .csv safely (`files`), the
kinds of sheet each app registers in its AppConfig.ready() (`registry`), and one import from
upload to confirmation, in the request or in a Celery worker (`jobs`).

Plain openpyxl and csv rather than django-import-export Resources: a Resource saves model
instances row by row through `save()`, while every figure and amount here must go through its
app's services (roles, workflow status, versions, history) in one transaction, its errors must be
reported by row and column in Vietnamese, and some sheets are wide (one column per year), which
a Resource's one-row-one-instance mapping does not model.

An export is the template of its import: imported unchanged it reports no error and writes
nothing (an unchanged cell is skipped, not rewritten).
"""
