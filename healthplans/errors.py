"""Refusals of the services (`healthplans.workflow.ServiceError`) translated once: for the API by
a DRF exception handler, for pages by a middleware. Views call services and let refusals rise;
a page that shows a refusal next to a field catches `Invalid` itself."""

from collections.abc import Callable, Collection
from typing import Any, Protocol

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.response import Response
from rest_framework.views import exception_handler

from healthplans.workflow import Conflict, Forbidden, ServiceError

# How the API shows a record that a conflict carries, by the record's model: each app registers
# the output serializer of its reviewed records (`current_shown_by`).
_CURRENT_SERIALIZERS: dict[type[Model], Callable[[Any], Any]] = {}


def current_shown_by(model: type[Model], serializer: Callable[[Any], Any]) -> None:
    _CURRENT_SERIALIZERS[model] = serializer


def error_body(error: ServiceError) -> dict[str, Any]:
    """{"code", "detail", "errors", …extra}, and the stored record when the refusal is a conflict."""
    body: dict[str, Any] = {"code": error.code, "detail": error.message, "errors": error.fields, **error.extra}
    if isinstance(error, Conflict) and (serializer := _CURRENT_SERIALIZERS.get(type(error.current))):
        body["current"] = serializer(error.current).data
    return body


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return Response(error_body(exc), status=exc.status)
    return exception_handler(exc, context)


def back_to(request: HttpRequest, fallback: str) -> str:
    """Where a page sends the user after a POST: the form's `next`, if it is ours, else `fallback`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


class FormRow(Protocol):
    """A row of a page's form that shows what a service refused of it."""

    conflict: Any
    errors: list[str]

    @property
    def prefix(self) -> str: ...

    @property
    def form(self) -> forms.Form | None: ...


def refusal_on_row(row: FormRow, exc: ServiceError, data: QueryDict, *, fields: Collection[str]) -> None:
    """A service's refusal of one row, shown on it: a conflict with the stored record (the form now
    carries its version, so that saving again overwrites it knowingly); problems of the `fields`
    next to them, and a note asked for (the problems are then warnings) with the refusal's words;
    anything else on the row. A forbidden write is never a row's, nor a refusal of a row without a
    form: they rise."""
    if isinstance(exc, Forbidden):
        raise exc
    if isinstance(exc, Conflict):
        row.conflict = exc.current
        row.errors.append(exc.message)
        if exc.current is not None:
            data[f"{row.prefix}-version"] = str(exc.current.version)
        return
    form = row.form
    if form is None:
        # A row the user may only read has no field to show it by: it rises, as a page's refusal.
        raise exc
    for name, problems in exc.fields.items():
        if name == "note":
            form.add_error("note", [exc.message, *problems])
        elif name in fields:
            form.add_error(name, problems)
        else:
            row.errors.extend(problems)
    if not exc.fields:
        row.errors.append(exc.message)


class ServiceErrorMiddleware:
    """A refusal that a page did not handle itself: forbidden answers 403; any other is shown as a
    message on the page the user came from (its `next`, or the same address), with nothing written."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Forbidden):
            raise PermissionDenied(exception.message) from exception
        if isinstance(exception, ServiceError) and not request.path.startswith("/api/"):
            messages.error(request, exception.message)
            return HttpResponseRedirect(back_to(request, request.get_full_path()))
        return None
