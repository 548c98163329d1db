"""OpenAPI components named after where their serializer lives: one API class per operation
with nested Input/OutputSerializers (HackSoft style) would otherwise give many components
called "Input" and "Output", and a wrong schema. Every operation also documents the error
answers it can give, so a client (and the API fuzzing test) knows every status it may get."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """A refusal: DRF's {"detail": …}, a service's {"code", "detail", "errors"}, or a form's field
    errors ({"field": ["message", …]}, which the open schema of an object allows)."""

    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    errors = serializers.DictField(required=False)  # type: ignore[assignment]  # the answer's key, as in ImportOutput


ERRORS = {
    "400": "The request is invalid; nothing was written.",
    "401": "No valid credentials were sent.",
    "403": "The user may not do this.",
    "404": "No such object within the user's reach.",
}
WRITE_ERRORS = {"409": "The object changed meanwhile or is not in a state that allows this."}
MEDIA_TYPE_ERRORS = {"415": "The request body is not of the media type the operation accepts."}


class Schema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        # "ActualHistoryAPI.OutputSerializer" → "ActualHistoryOutputSerializer" ("…Serializer" is cut later).
        return type(serializer).__qualname__.replace("API.", "").replace("Serializer.", "").replace(".", "")

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = ERRORS | (WRITE_ERRORS if self.method != "GET" else {})
        if self._accepts_multipart_only():
            # DRF answers 415 to a body of another media type (JSON, say) than its parsers read.
            errors |= MEDIA_TYPE_ERRORS
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        return responses

    def _accepts_multipart_only(self) -> bool:
        if self.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return False
        media_types = self.map_parsers()
        return bool(media_types) and all(media_type.startswith("multipart/") for media_type in media_types)
