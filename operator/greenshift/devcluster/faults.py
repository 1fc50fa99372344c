"""The fault hook: lets a test make chosen writes fail, e.g. with 503 and a ``Retry-After`` header.

The hook is consulted before every write (create, update, patch, apply, delete, deletecollection,
with a ``-status`` suffix for the status subresource), after the request is counted::

    def flaky(write: WriteRequest) -> Fault | None:
        if write.verb == "patch-status" and write.resource == "wallettenants.greenshift.io":
            return Fault(503, retry_after=1)
        return None

    async with DevCluster(faults=flaky) as cluster: ...

The hook can be swapped at runtime: ``cluster.faults = None``.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from .errors import ApiError

REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclasses.dataclass(frozen=True)
class WriteRequest:
    verb: str  # as in the request accounting: create, patch, apply, patch-status, delete, ...
    resource: str  # plural[.group], e.g. "deployments.apps"
    namespace: str | None
    name: str | None  # None for a create
    body: Any  # the parsed request body, if any


@dataclasses.dataclass(frozen=True)
class Fault:
    status: int
    message: str = "injected by the devcluster fault hook"
    retry_after: int | None = None  # seconds, sent as the Retry-After header

    def error(self) -> ApiError:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        details = {"retryAfterSeconds": self.retry_after} if self.retry_after is not None else {}
        return ApiError(
            self.status, REASONS.get(self.status, "InternalError"), self.message, details, headers
        )


FaultHook = Callable[[WriteRequest], Fault | None]
