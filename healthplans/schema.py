"""OpenAPI components named after where their serializer lives: one API class per operation
with nested Input/OutputSerializers (HackSoft style) would otherwise give many components
called "Input" and "Output", and a wrong schema."""

from typing import Any

from drf_spectacular.openapi import AutoSchema


class Schema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        # "ActualHistoryAPI.OutputSerializer" → "ActualHistoryOutputSerializer" ("…Serializer" is cut later).
        return type(serializer).__qualname__.replace("API.", "").replace("Serializer.", "").replace(".", "")
