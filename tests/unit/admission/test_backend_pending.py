"""A route whose DocumentSource is still to be reconciled waits for its Service rather than
report BackendNotFound (``gatewayroute.backend_pending``), over a Context built from the real
index functions (``admission_support``)."""

from typing import Any

from admission_support import context, route, service, source, tenant

from greenshift.controllers.gatewayroute import backend_pending


def reconciled(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "metadata": {**body["metadata"], "generation": 2}, "status": {"observedGeneration": 2}}


def fresh(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "metadata": {**body["metadata"], "generation": 1}}


def test_a_source_not_yet_reconciled_is_pending() -> None:
    ctx = context([tenant(), fresh(source())])
    assert backend_pending(ctx, "wallet-bosa", route())


def test_a_reconciled_source_without_a_service_is_not_found_not_pending() -> None:
    ctx = context([tenant(), reconciled(source())])
    assert not backend_pending(ctx, "wallet-bosa", route())


def test_a_source_whose_service_exists_is_not_pending() -> None:
    ctx = context([tenant(), fresh(source()), service("identity")])
    assert not backend_pending(ctx, "wallet-bosa", route())


def test_a_missing_source_or_a_service_backend_is_not_pending() -> None:
    ctx = context([tenant()])
    assert not backend_pending(ctx, "wallet-bosa", route())
    plain = route(backend={"service": {"name": "identity", "port": 8080}})
    assert not backend_pending(context([tenant(), fresh(source())]), "wallet-bosa", plain)
