"""API errors as the real API server reports them: a ``Status`` object with a reason and a code."""

from collections.abc import Mapping
from typing import Any

import attrs
from kmock import KubernetesError

VERSION = "v1"


@attrs.frozen
class ApiError(KubernetesError):
    """A :class:`kmock.KubernetesError` with extra response headers (e.g. ``Retry-After``)."""

    headers: Mapping[str, str] = attrs.field(factory=dict)

    def as_status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": VERSION,
            "metadata": {},
            "status": "Failure",
            "message": self.message or "",
            "reason": self.reason or "",
            "details": self.details or {},
            "code": self.status,
        }


def _details(resource: str, name: str | None, group: str) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": resource}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return details


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    message = f'{_qualified(resource, group)} "{name}" not found'
    return ApiError(404, "NotFound", message, _details(resource, name, group))


def no_such_route() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    message = f'{_qualified(resource, group)} "{name}" already exists'
    return ApiError(409, "AlreadyExists", message, _details(resource, name, group))


def conflict(resource: str, name: str, group: str = "", why: str = "") -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    message = f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(resource, name, group))


def invalid(kind: str, name: str, group: str, messages: list[str]) -> ApiError:
    details = _details(kind, name, group)
    details["causes"] = [{"reason": "FieldValueInvalid", "message": message} for message in messages]
    return ApiError(
        422, "Invalid", f'{kind}.{group or "core"} "{name}" is invalid: ' + "; ".join(messages), details
    )


def unprocessable(message: str) -> ApiError:
    return ApiError(422, "Invalid", message, {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message, {})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message, {})


def method_not_allowed(method: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", f"the server does not allow this method ({method}) here", {})


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}", {}
    )


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message, {})
