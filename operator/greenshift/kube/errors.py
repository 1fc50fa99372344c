"""API errors, split the way the reconcile loop treats them: retry later, or report."""

from dataclasses import dataclass

TEMPORARY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


@dataclass
class ApiError(Exception):
    status: int
    reason: str
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"


class TemporaryApiError(ApiError):
    """Conflicts, throttling, server and network errors: the same request may pass later."""


class PermanentApiError(ApiError):
    """The request itself is wrong (400, 403, 404, 422): retrying it unchanged will not help."""


SCHEMA_MISMATCH = "failed to create typed patch object"
"""A server-side apply of a field the schema does not declare: the real API server answers 500,
whatever ``fieldValidation`` says, yet the same request fails the same way every time."""


def api_error(status: int, reason: str, message: str, retry_after: float | None = None) -> ApiError:
    temporary = (status in TEMPORARY_STATUSES or status == 0) and SCHEMA_MISMATCH not in message
    cls = TemporaryApiError if temporary else PermanentApiError
    return cls(status, reason, message, retry_after)
