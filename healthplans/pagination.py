# Kept apart from healthplans.api: DRF imports the pagination class while it builds GenericAPIView.
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class UncountedPagination(Pagination):
    """?page= and ?page_size= as in Pagination, without the total "count": for lists too long to
    count on every request (a planner's figures: 100,000 and more). A page is read with one row
    more than it shows, which tells whether there is a next one; a page past the end is a 404."""

    def paginate_queryset(  # type: ignore[override]  # a list of rows needs no pagination of this kind
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        self.url = request.build_absolute_uri()
        size = self.get_page_size(request) or self.page_size
        number = request.query_params.get(self.page_query_param) or "1"
        if not number.isdigit() or int(number) < 1:
            raise NotFound(self.invalid_page_message)
        self.number = int(number)
        start = (self.number - 1) * size
        # First the page's keys, then its rows by key: the database sorts narrow rows (a key and the
        # sort columns), not whole ones with their related rows.
        keys = list(queryset.values_list("pk", flat=True)[start : start + size + 1])
        if not keys and self.number > 1:
            raise NotFound(self.invalid_page_message)
        self.more = len(keys) > size
        by_key = {row.pk: row for row in queryset.filter(pk__in=keys[:size]).order_by()}
        return [by_key[key] for key in keys[:size]]

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        del paginated["properties"]["count"]
        paginated["required"] = ["results"]
        return paginated

    def get_next_link(self) -> str | None:
        if not self.more:
            return None
        return replace_query_param(self.url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number == 1:
            return None
        if self.number == 2:
            return remove_query_param(self.url, self.page_query_param)
        return replace_query_param(self.url, self.page_query_param, self.number - 1)
