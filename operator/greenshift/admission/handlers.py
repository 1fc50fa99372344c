"""The validating admission webhook of the three kinds, as kopf admission handlers.

Each kind has one handler whose id is the URL path the ValidatingWebhookConfiguration
(``deploy/validatingwebhookconfiguration.yaml``) points at, e.g. ``/validate-gatewayroute``.
Only CREATE and UPDATE are reviewed; an UPDATE that leaves ``spec`` alone (labels,
finalizers, the operator's own writes) or a resource being deleted always passes, so a
resource that became invalid later can still be relabelled, finalized and deleted.
"""

from collections.abc import Callable, Mapping
from typing import Any

import kopf

from greenshift.admission.review import review_document_source, review_gateway_route, review_wallet_tenant
from greenshift.constants import KIND_ROUTE, KIND_SOURCE, KIND_TENANT
from greenshift.controllers.context import Context
from greenshift.controllers.wiring import Runtime
from greenshift.kube import ROUTES, SOURCES, TENANTS, ResourceRef
from greenshift.validation.problem import Problem

Body = Mapping[str, Any]
Review = Callable[[Context, Body], list[Problem]]

WEBHOOK_PATHS: dict[str, str] = {
    KIND_TENANT: "validate-wallettenant",
    KIND_SOURCE: "validate-documentsource",
    KIND_ROUTE: "validate-gatewayroute",
}
_REVIEWS: tuple[tuple[ResourceRef, Review], ...] = (
    (TENANTS, review_wallet_tenant),
    (SOURCES, review_document_source),
    (ROUTES, review_gateway_route),
)
STARTING = (
    "the Greenshift operator is still loading its view of the cluster (tenants, routes, services); "
    "retry in a few seconds"
)


def admission_problems(
    ctx: Context, review: Review, operation: str | None, old: Body | None, new: Body | None
) -> list[Problem]:
    """The problems of one admission request (pure but for index reads); none when it is not reviewed."""
    if new is None or operation not in ("CREATE", "UPDATE"):
        return []
    if (new.get("metadata") or {}).get("deletionTimestamp"):
        return []
    if operation == "UPDATE" and old is not None and old.get("spec") == new.get("spec"):
        return []
    return review(ctx, new)


def refusal(body: Body, errors: list[Problem]) -> str:
    """The message ``kubectl`` shows: the object, then each field and what to fix."""
    meta = body.get("metadata") or {}
    name = "/".join(str(part) for part in (meta.get("namespace"), meta.get("name")) if part)
    return f"{body.get('kind')} {name} is refused: " + "; ".join(map(str, errors))


def register_admission(registry: kopf.OperatorRegistry, runtime: Runtime) -> None:
    """Register the three validating handlers, answering from the operator's own indexes.

    Until the start-up LISTs have filled the indexes (``Runtime.loaded``), the webhook refuses
    with a retry message rather than judge from an empty view (which would call every
    namespace tenant-less).
    """
    for ref, review in _REVIEWS:
        kopf.on.validate(
            *ref.kopf_spec,
            registry=registry,
            id=WEBHOOK_PATHS[ref.kind],
            operations=["CREATE", "UPDATE"],
            persistent=True,
        )(_handler(runtime, review))


def _handler(runtime: Runtime, review: Review) -> Callable[..., Any]:
    async def handler(
        body: kopf.Body,
        old: kopf.Body | None,
        new: kopf.Body | None,
        operation: str | None,
        warnings: list[str],
        **_: Any,
    ) -> None:
        ctx = runtime.context
        if ctx is None or not runtime.loaded:
            raise kopf.AdmissionError(STARTING, code=503)
        problems = admission_problems(
            ctx, review, operation, None if old is None else dict(old), None if new is None else dict(new)
        )
        warnings.extend(str(p) for p in problems if p.severity == "warning")
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise kopf.AdmissionError(refusal(dict(body), errors), code=422)

    return handler
